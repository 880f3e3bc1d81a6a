#ifndef L0REPRO_FILE_SYSTEM_H
#define L0REPRO_FILE_SYSTEM_H

/// Exchanges the directory entries `first` and `second` atomically (Linux renameat2 with
/// RENAME_EXCHANGE): a reader of either path sees the old entry or the new one, never neither.
/// Returns 0, or -1 with errno set (EINVAL or ENOSYS where the file system or kernel cannot).
int l0_exchange_paths(const char *first, const char *second);

#endif
