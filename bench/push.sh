#!/usr/bin/env bash
# Cross-node push latency alone (docs/performance.md, scenario 5): two release Roost nodes
# sharing a data directory and one Redis, `roost-bench push` appending on node A and timing
# the EXISTS at an IDLE client on node B. compare.sh runs the same after its other scenarios.
#
# Usage: bench/push.sh [--samples N] [--interval-ms MS] [--out FILE]
# ROOST=path/to/roost measures that server binary instead of building this tree's.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SAMPLES=1000
INTERVAL=20
OUT=
while [ $# -gt 0 ]; do
    case "$1" in
        --samples) SAMPLES=$2; shift 2 ;;
        --interval-ms) INTERVAL=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BENCH="$TARGET_DIR/release/roost-bench"
if [ -n "${ROOST:-}" ]; then
    [ -x "$BENCH" ] || (cd "$ROOT" && cargo build --release -q -p roost-bench)
else
    (cd "$ROOT" && cargo build --release -q -p roost -p roost-bench)
    ROOST="$TARGET_DIR/release/roost"
fi

WORK=$(mktemp -d /tmp/roost-push.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 1
    if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
. "$ROOT/bench/lib.sh"
wait_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
PIDS+=($!)
wait_port "$REDIS_PORT"
PORTS=()
for n in a b; do
    port=$(free_port)
    link=$(free_port)
    PORTS+=("$port")
    cat >"$WORK/node-$n.toml" <<EOF
node_id = "node-$n"
data_dir = "$WORK/data"
[[listeners]]
address = "127.0.0.1:$port"
tls = "none"
[auth]
create_demo_user = false
allow_plaintext = true
cache_size = 10000
[log]
format = "json"
filter = "info"
[http]
listen = "127.0.0.1:0"
[cluster]
redis_url = "redis://127.0.0.1:$REDIS_PORT/"
link_listen = "127.0.0.1:$link"
advertise_address = "127.0.0.1:$link"
lease_ttl_ms = 10000
link_plaintext = true
EOF
    if [ "$n" = a ]; then
        echo "bench-1" | "$ROOST" user --config "$WORK/node-a.toml" add user1 --password-stdin >/dev/null 2>&1
    fi
    "$ROOST" serve --config "$WORK/node-$n.toml" 2>>"$WORK/node-$n.log" &
    PIDS+=($!)
    wait_port "$port"
done
"$BENCH" push --addr "127.0.0.1:${PORTS[0]}" --idle-addr "127.0.0.1:${PORTS[1]}" \
    --samples "$SAMPLES" --interval-ms "$INTERVAL" --label roost ${OUT:+--json "$OUT"}
