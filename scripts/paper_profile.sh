#!/usr/bin/env bash
# Times the whole paper profile: trains its eight runs (the MLP and LeNet-5, each with L0, L0-sep,
# dropout and dense; 200 epochs, batch 100, seed 1) from nothing, one after the other, into a scratch
# runs directory, and prints each run's wall time and the total. The runs are the ones the report
# uses (same run ids); compare their log.json with Reports/runs/<id>/log.json to check the bytes.
#
#   scripts/paper_profile.sh [--dataset mnist|fashion-mnist] [--data-dir DIR] [--threads N] [--runs-dir DIR]
#
# Defaults: MNIST from its usual locations, all cores (at most 8), a new directory under /tmp.
# Takes about an hour and a half on two cores (AVX-512 AMD EPYC; see docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/.."
binary=.build/release/l0repro
[ -x "$binary" ] || { echo "paper_profile: $binary not found; run scripts/setup.sh first" >&2; exit 1; }
runs_dir="" pass=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs-dir) runs_dir="${2:?--runs-dir needs a directory}"; shift 2 ;;
        --dataset|--data-dir|--threads) pass+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "paper_profile: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$runs_dir" ] || runs_dir=$(mktemp -d /tmp/l0repro-paper-profile.XXXXXX)
if [ -n "$(ls -A "$runs_dir" 2>/dev/null)" ]; then
    echo "paper_profile: $runs_dir is not empty; give an empty or new --runs-dir (finished runs would not be retrained)" >&2
    exit 2
fi
mkdir -p "$runs_dir"
echo "paper_profile: training into $runs_dir"
total_start=$(date +%s.%N)
for network in mlp lenet5; do
    for variant in l0 l0-sep dropout dense; do
        start=$(date +%s.%N)
        "$binary" train "$network" --variant "$variant" --runs-dir "$runs_dir" ${pass[@]+"${pass[@]}"} > "$runs_dir/$network-$variant.out" 2>&1 \
            || { echo "paper_profile: $network $variant failed; see $runs_dir/$network-$variant.out" >&2; exit 1; }
        end=$(date +%s.%N)
        awk -v a="$start" -v b="$end" -v n="$network" -v v="$variant" 'BEGIN { printf "%-7s %-8s %8.1f s\n", n, v, b - a }'
    done
done
total_end=$(date +%s.%N)
seconds=$(awk -v a="$total_start" -v b="$total_end" 'BEGIN { print b - a }')
awk -v s="$seconds" -v c="$(nproc)" 'BEGIN { printf "total: %.1f s (%.1f min) on %d cores\n", s, s / 60, c }'
