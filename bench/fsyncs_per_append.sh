#!/usr/bin/env bash
# fsyncs per APPEND, by kind (docs/performance.md): starts one Roost node on a temporary
# directory, APPENDs 100 small messages one by one over one session, and prints the
# difference of `roost_store_fsync_duration_seconds_count{kind}` on /metrics. A count, not a
# time: the same on a busy or an idle machine.
#
# Usage: bench/fsyncs_per_append.sh [path/to/roost]   (default: target/release/roost)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROOST=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/release/roost}
WORK=$(mktemp -d /tmp/roost-fsyncs.XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
. "$ROOT/bench/lib.sh"
IMAP=$(free_port)
HTTP=$(free_port)
cat > "$WORK/roost.toml" <<EOT
data_dir = "$WORK/data"
[[listeners]]
address = "127.0.0.1:$IMAP"
tls = "none"
[auth]
create_demo_user = false
allow_plaintext = true
[http]
listen = "127.0.0.1:$HTTP"
EOT
echo pw | "$ROOST" -c "$WORK/roost.toml" user add u1 --password-stdin > /dev/null
"$ROOST" -c "$WORK/roost.toml" serve > "$WORK/roost.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
    curl -sf "127.0.0.1:$HTTP/metrics" > /dev/null && break
    sleep 0.1
done
counts() { curl -s "127.0.0.1:$HTTP/metrics" | grep '^roost_store_fsync_duration_seconds_count' || true; }
APPENDS=100
imap() {
    python3 - "$IMAP" "$1" <<'PY'
import socket, sys
port, appends = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
f.readline()
def until(tag):
    while True:
        line = f.readline()
        if not line:
            sys.exit("connection closed")
        if line.startswith(tag + b" "):
            if not line.startswith(tag + b" OK"):
                sys.exit(line.decode())
            return
s.sendall(b"a LOGIN u1 pw\r\nb SELECT INBOX\r\n")
until(b"a")
until(b"b")
msg = b"Subject: fsync count\r\n\r\nhello\r\n"
for i in range(appends):
    s.sendall(b"x%d APPEND INBOX {%d+}\r\n%s\r\n" % (i, len(msg), msg))
    until(b"x%d" % i)
PY
}
imap 0
before=$(counts)
imap "$APPENDS"
after=$(counts)
echo "fsyncs per APPEND ($APPENDS APPENDs, $ROOST):"
for kind in log file dir; do
    b=$(echo "$before" | sed -n "s/.*kind=\"$kind\"} //p")
    a=$(echo "$after" | sed -n "s/.*kind=\"$kind\"} //p")
    python3 -c "print(f'  {\"$kind\":5} {(${a:-0} - ${b:-0}) / $APPENDS:.2f}')"
done
