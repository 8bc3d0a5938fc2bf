#!/usr/bin/env bash
# Server memory per idle TLS connection with and without COMPRESS=DEFLATE, in one run
# (docs/performance.md, "COMPRESS=DEFLATE"): a release Roost with an implicit-TLS listener on
# a free loopback port, 10 users with a 20 KB message each, then bench/compress_memory.py.
#
# Usage: bench/compress_memory.sh [--connections N] [--upload OCTETS]
# Everything lives in a temp directory that is removed at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CONNECTIONS=1000
UPLOAD=0
while [ $# -gt 0 ]; do
    case "$1" in
        --connections) CONNECTIONS=$2; shift 2 ;;
        --upload) UPLOAD=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

(cd "$ROOT" && cargo build --release -q --bin roost)
ROOST="${CARGO_TARGET_DIR:-$ROOT/target}/release/roost"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d /tmp/roost-compress.XXXXXX)
SERVER=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/roost.toml" <<EOF
node_id = "bench"
data_dir = "$WORK/data"
[[listeners]]
address = "127.0.0.1:$PORT"
tls = "implicit"
[auth]
create_demo_user = false
[limits]
max_connections_per_ip = 100000
max_unauthenticated_per_ip = 100000
max_connections = 100000
[log]
format = "json"
EOF
for i in $(seq 1 10); do
    echo bench | "$ROOST" user --config "$WORK/roost.toml" add "user$i" --password-stdin >&2
done
"$ROOST" serve --config "$WORK/roost.toml" > "$WORK/roost.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
    [ -f "$WORK/data/tls/cert.pem" ] &&
        python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $PORT))" 2>/dev/null &&
        break
    sleep 0.1
done

python3 - "$PORT" "$WORK/data/tls/cert.pem" <<'EOF'
import imaplib, ssl, sys
context = ssl.create_default_context(cafile=sys.argv[2])
body = "".join(f"line {n} of a message that every connection fetches\r\n" for n in range(400))
for i in range(1, 11):
    m = imaplib.IMAP4_SSL("localhost", int(sys.argv[1]), ssl_context=context)
    m.login(f"user{i}", "bench")
    m.append("INBOX", None, None, ("Subject: hello\r\n\r\n" + body).encode())
    m.logout()
EOF

python3 "$ROOT/bench/compress_memory.py" --port "$PORT" --cafile "$WORK/data/tls/cert.pem" \
    --server-pid "$SERVER" --connections "$CONNECTIONS" --upload "$UPLOAD"
