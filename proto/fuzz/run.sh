#!/usr/bin/env bash
# Runs every fuzz target of roost-proto for a bounded time: proto/fuzz/run.sh [seconds]
#
# Each target runs for the given number of seconds (default 60) from its corpus in
# corpus/<target>/ (the committed seed-* files plus whatever earlier runs added). The
# toolchain here is stable, so RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z sanitizer flags.
# Prints executions and crashes per target and exits non-zero if any target crashed; a
# crashing input is saved under artifacts/<target>/ (reproduce with
# `RUSTC_BOOTSTRAP=1 cargo fuzz run <target> artifacts/<target>/<file>`).
set -uo pipefail
secs="${1:-60}"
cd "$(dirname "$0")"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1

mkdir -p target
failed=0
summary=""
for t in $(cargo fuzz list); do
    mkdir -p "corpus/$t"
    log="target/fuzz-$t.log"
    echo "== $t: ${secs}s"
    cargo fuzz run "$t" -- -max_total_time="$secs" >"$log" 2>&1
    status=$?
    runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' | tail -1)
    crashes=$(find "artifacts/$t" -type f 2>/dev/null | wc -l)
    if [ "$status" -ne 0 ]; then
        failed=1
        tail -n 40 "$log"
    fi
    summary+="$t: exit $status, ${runs:-?} execs in ${secs}s, $crashes crash artifact(s)"$'\n'
done
echo "== summary"
printf '%s' "$summary"
exit "$failed"
