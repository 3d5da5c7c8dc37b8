#!/usr/bin/env bash
# fuzz/run.sh TARGET [SECONDS]: the one command to fuzz greenlight.
#
# Runs fuzz target TARGET (report_stream, aggregator_config, agent_config,
# health_json, prometheus_intake; see fuzz-harness/src/<TARGET>.rs) for
# SECONDS (default 600) with cargo fuzz (libFuzzer, nightly: rustup
# toolchain install nightly; cargo install cargo-fuzz), one process on one
# core. It reads the kept corpus fuzz/corpus/TARGET and the regressions
# fuzz/regressions/TARGET (and the tokens in fuzz/dict/TARGET.dict), adds
# what it finds to the corpus, then minimizes the corpus (cargo fuzz cmin,
# keeping the fewest inputs that cover every edge) so that what is
# committed stays small. A crash is written to fuzz/artifacts/TARGET/ (not
# committed): minimize it (cargo +nightly fuzz tmin --sanitizer none
# --debug-assertions TARGET FILE), fix the code, and keep the input under
# fuzz/regressions/TARGET/.
#
# The last line says what to record in docs/SECURITY.md: duration,
# executions, corpus size, result. The stable test
# fuzz-harness/tests/replay.rs replays the corpora in every test run.
#
# Built with debug assertions (overflow checks) and no sanitizer: the code
# fuzzed is safe Rust, where AddressSanitizer has little to find and slows
# every input.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

target=${1:?usage: fuzz/run.sh TARGET [SECONDS]}
seconds=${2:-600}
build=(--sanitizer none --debug-assertions)
# The target's tokens (keys, words, numbers that matter), when it has any.
dict=()
[[ -f dict/$target.dict ]] && dict=(-dict="dict/$target.dict")

mkdir -p "corpus/$target" "regressions/$target"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "==> cargo +nightly fuzz run ${build[*]} $target corpus/$target regressions/$target -- -max_total_time=$seconds -timeout=10 ${dict[*]}"
started=$(date +%s)
set +e
cargo +nightly fuzz run "${build[@]}" "$target" "corpus/$target" "regressions/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
took=$(($(date +%s) - started))
executions=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)

if ((status == 0)); then
    result="no crash"
    echo "==> cargo +nightly fuzz cmin $target"
    # Edges only, as a set cover: the fewest inputs that keep every edge
    # the corpus reaches (hit counts would keep thousands of files).
    cargo +nightly fuzz cmin "${build[@]}" "$target" "corpus/$target" -- \
        -set_cover_merge=1 -use_counters=0 >/dev/null 2>&1
else
    result="crash (exit $status): see fuzz/artifacts/$target/"
fi
files=$(find "corpus/$target" -type f | wc -l)
size=$(du -sk "corpus/$target" | cut -f1)
echo "==> $target: ${took}s, ${executions:-?} executions, corpus $files files (${size} KiB), $result"
exit "$status"
