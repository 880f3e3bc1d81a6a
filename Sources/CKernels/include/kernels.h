#ifndef L0REPRO_KERNELS_H
#define L0REPRO_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Inverted dropout of x[0, count): mask[i] = 0 when u_i < rate, else scale; y[i] = x[i]·mask[i],
/// with u_i the next uniform float of the xoshiro256** generator whose four state words are
/// `state` (advanced in place): u = (next >> 40)·2⁻²⁴, as RandomGenerator.uniformFloat draws it.
/// In C so the state stays in registers (a Swift class's four stored words are reloaded and stored
/// around every draw).
void l0_dropout_forward(uint64_t *restrict state, const float *restrict x, float *restrict mask, float *restrict y,
                        size_t count, float rate, float scale);

/// One Adam step on elements [0, count) of a parameter, then projection into [low, high] when
/// `bounded`, then the moving average avg = decay*avg + (1-decay)*theta when `average` is not NULL.
/// step_size = lr / (1 - beta1^t); inverse_root2 = 1 / sqrt(1 - beta2^t).
/// Written in C because Swift's square root on Linux is a libm call that cannot be vectorised.
void l0_adam_step(float *restrict theta, const float *restrict gradient, float *restrict first,
                  float *restrict second, float *restrict average, size_t count, float beta1, float beta2,
                  float epsilon, float step_size, float inverse_root2, float decay, int bounded, float low,
                  float high);

/// `l0_adam_step` fused with a pruning method's own step, element by element in the order they run
/// one after the other: the Adam step and projection, the moving average of the stepped value,
/// then, when `shrink`, selective decay (theta -= factor·theta where |gradient| < limit, `limit`
/// being τ times the layer's mean |gradient|, `l0_mean_abs`), then, when `mask` is not NULL, the
/// mask on the value, both moments and the average. Gives the same bits as the separate kernels.
void l0_adam_step_pruned(float *restrict theta, const float *restrict gradient, float *restrict first,
                         float *restrict second, float *restrict average, const float *restrict mask, size_t count,
                         float beta1, float beta2, float epsilon, float step_size, float inverse_root2, float decay,
                         int bounded, float low, float high, int shrink, float limit, float factor);

/// seen[i] = 1 where column i of x (rows, columns) is not 0 in some row (rectified: not <= 0), else 0.
void l0_mark_live_columns(const float *restrict x, size_t rows, size_t columns, int rectified,
                          unsigned char *restrict seen);

/// avg = decay*avg + (1-decay)*x on [0, count): the moving average of weights.
void l0_moving_average(float *restrict average, const float *restrict x, size_t count, float decay);

/// The mean of |x| over [0, count) (0 when empty), summed in double in eight interleaved partial
/// sums: the relevance scale of selective decay.
float l0_mean_abs(const float *restrict x, size_t count);

/// The selective weight decay step (DESIGN §1.9, our reading of Bonetta et al.): the mean of
/// |gradient| over [0, count) as m, then theta[i] -= factor·theta[i] wherever
/// |gradient[i]| < threshold·m (an irrelevant weight); relevant weights are left as they are.
/// Returns how many weights were shrunk.
size_t l0_selective_decay(float *restrict theta, const float *restrict gradient, size_t count, float threshold,
                          float factor);

/// Sets `mask` (count floats) to 0 at the `pruned` smallest |values| (ties by position, first
/// first) and 1 elsewhere; `histogram` holds 65,536 counts of working space.
void l0_magnitude_mask(const float *restrict values, float *restrict mask, uint32_t *restrict histogram, size_t count,
                       size_t pruned);

/// x[i] *= mask[i] on [0, count), for masks of 0 and 1: a pruned weight (and its optimiser moments
/// and average) stays exactly 0.
void l0_apply_mask(float *restrict x, const float *restrict mask, size_t count);

/// `l0_apply_mask` on each of `buffer_count` buffers of `count` floats, reading the mask once.
void l0_apply_mask_many(float *const *buffers, size_t buffer_count, const float *restrict mask, size_t count);

/// 2×2 max-pooling (stride 2; a trailing odd row or column dropped) of one map `height × width`
/// after a bias and a gate, then a ReLU: for each window, v = (x + bias)·gate at its first maximum
/// (top left, top right, bottom left, bottom right; a later value must be strictly larger),
/// output = v > 0 ? v : 0, argmax = the offset of that value in the map, pregate (when not NULL) =
/// x + bias there. Eight windows at a time with AVX2, then four, then one.
void l0_pool_2x2(const float *restrict source, size_t height, size_t width, float bias, float gate,
                 float *restrict output, int *restrict argmax, float *restrict pregate);

/// Backward through max-pooling and the ReLU for one image's `maps` maps of `pooled` windows: for
/// map c with row_of_map[c] ≥ 0, its row of `target` (`positions` values at row_of_map[c]·row_length)
/// is zeroed and gets dy·gate at the argmax of each window whose output is > 0; bias_gradient[c] +=
/// the sum of those values, and products[c] (when not NULL) = Σ dy·pregate over the same windows
/// (0 when pregate is NULL), each sum in window order. A closed map (row_of_map[c] < 0) gets
/// products[c] = 0 and nothing else. `gates` NULL means gate 1.
void l0_unpool(size_t maps, size_t pooled, size_t positions, const float *restrict dy, const float *restrict output,
               const int *restrict argmax, const float *restrict pregate, const float *restrict gates,
               const long *restrict row_of_map, float *restrict target, size_t row_length,
               float *restrict bias_gradient, float *restrict products);

/// A flag one thread raises and another waits for: `l0_flag_raise` stores 1 with release order,
/// `l0_flag_wait` spins until it reads 1 with acquire order (so what the raiser wrote before is seen).
void l0_flag_raise(int *flag);
void l0_flag_wait(const int *flag);
/// Stores `value` in `flag` and returns what it held (sequentially consistent).
int l0_flag_exchange(int *flag, int value);

/// The calling thread's SSE control and status word (MXCSR), and setting it. Flush-to-zero (bit 15)
/// and denormals-are-zero (bit 6) make float arithmetic treat subnormal results and operands as 0.
unsigned int l0_get_fp_control(void);
void l0_set_fp_control(unsigned int control);

/// The MXCSR bits for flush-to-zero and denormals-are-zero.
#define L0_FLUSH_SUBNORMALS 0x8040u

/// im2col of one image for a stride-1 unpadded convolution: for each of the `count` channels listed
/// (c = channels[n]) of x (channels, height, width), each tap (i, j) and each output row oh, the
/// row (n, i, j) of `columns` (rows `row_length` apart) gets x[c, oh + i, j ..< j + out_width] at
/// oh·out_width. A copy: the columns the Swift unfold writes, without its per-row overhead.
void l0_unfold_valid(const float *restrict x, const ptrdiff_t *restrict channels, size_t count, size_t height,
                     size_t width, size_t kernel, float *restrict columns, size_t row_length);

/// The transpose of l0_unfold_valid: adds each of the `count` listed channels' rows of `columns` (its
/// gradient, rows `row_length` apart) into dx at the positions the unfold read them from, in the
/// unfold's (channel, i, j, output row) order, so each value of dx sums its parts in that order.
void l0_fold_valid(const float *restrict columns, const ptrdiff_t *restrict channels, size_t count, size_t height,
                   size_t width, size_t kernel, size_t row_length, float *restrict dx);

#endif
