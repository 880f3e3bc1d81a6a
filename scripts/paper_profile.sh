#!/usr/bin/env bash
# Times the whole paper profile: trains its eight runs (the MLP and LeNet-5, each with L0, L0-sep,
# dropout and dense; 200 epochs, batch 100, seed 1) from nothing into a scratch runs directory, and
# prints each run's wall time and the total. The runs are the ones the report uses (same run ids);
# compare their log.json with Reports/runs/<id>/log.json to check the bytes.
#
#   scripts/paper_profile.sh [--dataset mnist|fashion-mnist] [--data-dir DIR] [--jobs J] [--threads N] [--runs-dir DIR]
#
# --jobs J trains J runs at a time, longest first (default 1: one after the other, in the report's
# order), each on --threads threads (default: the cores divided among the jobs). Run logs do not
# depend on either. Defaults: MNIST from its usual locations, a new directory under /tmp.
# Takes about 67 minutes with --jobs 2 on two cores (AVX-512 AMD EPYC; see docs/performance.md),
# longer one run after the other.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=.build/release/l0repro
[ -x "$binary" ] || { echo "paper_profile: $binary not found; run scripts/setup.sh first" >&2; exit 1; }
runs_dir="" jobs=1 threads="" pass=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs-dir) runs_dir="${2:?--runs-dir needs a directory}"; shift 2 ;;
        --jobs) jobs="${2:?--jobs needs a number}"; shift 2 ;;
        --threads) threads="${2:?--threads needs a number}"; shift 2 ;;
        --dataset|--data-dir) pass+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "paper_profile: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case "$jobs" in
    '' | *[!0-9]* | 0) echo "paper_profile: --jobs takes a whole number of at least 1, got '$jobs'" >&2; exit 2 ;;
esac
cores=$(nproc)
[ -n "$threads" ] || threads=$(( cores / jobs > 8 ? 8 : (cores / jobs > 0 ? cores / jobs : 1) ))
[ -n "$runs_dir" ] || runs_dir=$(mktemp -d /tmp/l0repro-paper-profile.XXXXXX)
if [ -n "$(ls -A "$runs_dir" 2>/dev/null)" ]; then
    echo "paper_profile: $runs_dir is not empty; give an empty or new --runs-dir (finished runs would not be retrained)" >&2
    exit 2
fi
mkdir -p "$runs_dir"
# The report's order one at a time; with several jobs, the longest runs first, so that the
# short MLP runs fill in at the end.
if [ "$jobs" -eq 1 ]; then
    runs="mlp:l0 mlp:l0-sep mlp:dropout mlp:dense lenet5:l0 lenet5:l0-sep lenet5:dropout lenet5:dense"
else
    runs="lenet5:dropout lenet5:dense lenet5:l0 lenet5:l0-sep mlp:dropout mlp:dense mlp:l0-sep mlp:l0"
fi
echo "paper_profile: training into $runs_dir, $jobs at a time on $threads threads each ($cores cores)"

train() {  # network variant: trains one run and prints its wall time
    local start end
    start=$(date +%s.%N)
    if ! "$binary" train "$1" --variant "$2" --threads "$threads" --runs-dir "$runs_dir" ${pass[@]+"${pass[@]}"} \
        > "$runs_dir/$1-$2.out" 2>&1; then
        echo "paper_profile: $1 $2 failed; see $runs_dir/$1-$2.out" >&2
        return 1
    fi
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" -v n="$1" -v v="$2" 'BEGIN { printf "%-7s %-8s %8.1f s\n", n, v, b - a }'
}

total_start=$(date +%s.%N)
failed=0
for run in $runs; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || failed=1; done
    [ "$failed" -eq 0 ] || break
    train "${run%%:*}" "${run#*:}" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || failed=1; done
if [ "$failed" -ne 0 ]; then
    echo "paper_profile: stopped; the runs that finished are in $runs_dir" >&2
    exit 1
fi
total_end=$(date +%s.%N)
seconds=$(awk -v a="$total_start" -v b="$total_end" 'BEGIN { print b - a }')
awk -v s="$seconds" -v c="$cores" -v j="$jobs" -v t="$threads" \
    'BEGIN { printf "total: %.1f s (%.1f min) on %d cores, %d at a time on %d threads each\n", s, s / 60, c, j, t }'
