#!/usr/bin/env bash
# Server memory per IDLE connection over TLS at scale (docs/performance.md, "idle TLS
# connections at 50,000"): a release Roost with an implicit-TLS listener (and a plain one for
# filling the mailboxes), 50 users with 200 messages each, then `roost-bench idle` over TLS:
# every connection does LOGIN, SELECT INBOX, a FETCH of a ~7 KB message, then IDLE. The
# growth over the second half of the connections, per connection, is the figure.
#
# Usage: bench/idle_tls.sh [--connections N] [--users N] [--messages N] [--out FILE]
#                          [--settle SECS] [--env "VAR=value ..."] (for the server)
#                          [--plain] (no TLS: the same over the plain listener)
# ROOST=path/to/roost measures that server binary instead of building this tree's.
# Raises the open-file limit for the server and the bench (past the hard limit only with
# CAP_SYS_RESOURCE), and spreads the connections over loopback source addresses 127.0.0.1..8 (one address has
# only ~28,000 ephemeral ports). Everything lives in a temp directory removed at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CONNECTIONS=50000
USERS=50
MESSAGES=200
SETTLE=5
OUT=
SERVER_ENV=
PLAIN=
while [ $# -gt 0 ]; do
    case "$1" in
        --connections) CONNECTIONS=$2; shift 2 ;;
        --users) USERS=$2; shift 2 ;;
        --messages) MESSAGES=$2; shift 2 ;;
        --settle) SETTLE=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --env) SERVER_ENV=$2; shift 2 ;;
        --plain) PLAIN=1; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BENCH="$TARGET_DIR/release/roost-bench"
if [ -n "${ROOST:-}" ]; then # a server binary to measure instead (an older build, say)
    [ -x "$BENCH" ] || (cd "$ROOT" && cargo build --release -q -p roost-bench)
else
    (cd "$ROOT" && cargo build --release -q -p roost -p roost-bench)
    ROOST="$TARGET_DIR/release/roost"
fi
# One descriptor per connection in the server, and in the bench, plus some to spare. Raising
# the hard limit needs CAP_SYS_RESOURCE, which containers often withhold (then the hard limit
# caps the connections: 20,000 on the machine of docs/performance.md).
FILES=$((CONNECTIONS + 1000))
ulimit -n "$FILES" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt "$FILES" ]; then
    echo "open-file limit $(ulimit -n) (hard $(ulimit -Hn)) is below the $FILES needed" >&2
    exit 1
fi

WORK=$(mktemp -d /tmp/roost-idle-tls.XXXXXX)
SERVER=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

. "$ROOT/bench/lib.sh"
TLS_PORT=$(free_port)
PLAIN_PORT=$(free_port)
cat > "$WORK/roost.toml" <<EOF
node_id = "bench"
data_dir = "$WORK/data"
[[listeners]]
address = "127.0.0.1:$TLS_PORT"
tls = "implicit"
[[listeners]]
address = "127.0.0.1:$PLAIN_PORT"
tls = "none"
[auth]
create_demo_user = false
allow_plaintext = true
cache_size = 10000
[limits]
max_connections_per_ip = 1000000
max_unauthenticated_per_ip = 1000000
max_connections = 1000000
[log]
format = "json"
filter = "info"
[http]
listen = "127.0.0.1:0"
EOF
for i in $(seq 1 "$USERS"); do
    echo "bench-$i" | "$ROOST" user --config "$WORK/roost.toml" add "user$i" --password-stdin >/dev/null 2>&1
done
# shellcheck disable=SC2086 # SERVER_ENV is a list of VAR=value words
env $SERVER_ENV "$ROOST" serve --config "$WORK/roost.toml" > "$WORK/roost.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
    [ -f "$WORK/data/tls/cert.pem" ] && (exec 3<>"/dev/tcp/127.0.0.1/$TLS_PORT") 2>/dev/null && break
    sleep 0.1
done
"$BENCH" prepare --addr "127.0.0.1:$PLAIN_PORT" --users "$USERS" --messages "$MESSAGES" >/dev/null
if [ -n "$PLAIN" ]; then
    TRANSPORT=(--addr "127.0.0.1:$PLAIN_PORT")
else
    TRANSPORT=(--addr "127.0.0.1:$TLS_PORT" --tls-ca "$WORK/data/tls/cert.pem")
fi
"$BENCH" idle "${TRANSPORT[@]}" --label roost ${OUT:+--json "$OUT"} \
    --source-addrs 8 --fetch-octets 7000 \
    --users "$USERS" --connections "$CONNECTIONS" --server-pid "$SERVER" --settle "$SETTLE"
