#!/usr/bin/env bash
# Roost against Dovecot on this machine, in one run: scenarios 1-4 of docs/performance.md run
# against both servers alternately (the order flips from scenario to scenario), then scenario 5
# (cross-node push, Roost only: Dovecot has no equivalent) on two Roost nodes and a Redis.
#
# Usage: bench/compare.sh [--duration SECS] [--users N] [--idle N] [--large N]
#                         [--push-samples N] [--out FILE] [--no-push] [--stay-clients "50 200"]
#                         [--scenarios "mixed stay append idle large sort lmtp login"]
# Defaults: 20 s per timed scenario and server, 50 users / 50 clients, 1,000 IDLE connections,
# a 20,000-message mailbox (--large 100000 for the issue's full size; prepare then takes a few
# minutes per server), 500 push samples; results appended to docs/bench-results/<date>.json.
# `login` (not run by default) measures logins per second (LOGIN + LOGOUT, argon2id hashes)
# with each server's login cache off, then on (Roost `auth.cache_size`, Dovecot
# `auth_cache_size`).
#
# Needs root for apt-get (Dovecot is installed from Debian's dovecot-imapd and dovecot-lmtpd when missing), for a
# `roostbench` system user that owns Dovecot's mail, and to raise fs.inotify.max_user_instances
# (Dovecot's IDLE uses one inotify instance per connection). Everything else lives in a temp
# directory that is removed at the end; only loopback addresses are used.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=20
USERS=50
IDLE=1000
LARGE=20000
PUSH_SAMPLES=500
PUSH=1
STAY_CLIENTS=""
SCENARIOS="mixed stay append idle large sort lmtp"
OUT="$ROOT/docs/bench-results/$(date +%F).json"
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION=$2; shift 2 ;;
        --users) USERS=$2; shift 2 ;;
        --idle) IDLE=$2; shift 2 ;;
        --large) LARGE=$2; shift 2 ;;
        --push-samples) PUSH_SAMPLES=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --no-push) PUSH=0; shift ;;
        --stay-clients) STAY_CLIENTS=$2; shift 2 ;;
        --scenarios) SCENARIOS=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
LARGE_USER=$((USERS + 1))
STAY_CLIENTS=${STAY_CLIENTS:-$USERS}

want() { case " $SCENARIOS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
log() { printf '\n### %s\n' "$*" >&2; }

# --- build and install
log "building (release)"
(cd "$ROOT" && cargo build --release -q -p roost -p roost-bench)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
ROOST="$TARGET_DIR/release/roost"
BENCH="$TARGET_DIR/release/roost-bench"

if ! command -v dovecot >/dev/null; then
    log "installing dovecot-imapd"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null
fi
if [ ! -x /usr/lib/dovecot/lmtp ]; then
    log "installing dovecot-lmtpd"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-lmtpd >/dev/null
fi
# The package may start a system Dovecot; ours has its own config and base_dir.
id roostbench >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin roostbench
sysctl -qw fs.inotify.max_user_instances=65536 || echo "could not raise inotify instances" >&2
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d /tmp/roost-compare.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -f "$WORK/dovecot/run/master.pid" ] && kill "$(cat "$WORK/dovecot/run/master.pid")" 2>/dev/null || true
    sleep 1
    if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 10000))
        ss -ltnH "sport = :$p" | grep -q . || { echo "$p"; return; }
    done
}
wait_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2; return 1
}

# --- Roost
RPORT=$(free_port)
mkdir -p "$WORK/roost"
roost_config() { # data_dir port [extra toml]
    cat <<EOF
node_id = "bench"
data_dir = "$1"

[[listeners]]
address = "127.0.0.1:$2"
tls = "none"

[auth]
create_demo_user = false
allow_plaintext = true
cache_size = 10000

[limits]
max_connections_per_ip = 100000
max_unauthenticated_per_ip = 100000
max_connections = 100000

[log]
format = "json"
filter = "info"

[http]
listen = "127.0.0.1:0"
${3:-}
EOF
}
roost_config "$WORK/roost/data" "$RPORT" >"$WORK/roost/roost.toml"
RLPORT=$(free_port)
printf '\n[[listeners]]\naddress = "127.0.0.1:%s"\nprotocol = "lmtp"\n' "$RLPORT" >>"$WORK/roost/roost.toml"
log "creating $LARGE_USER users (argon2id hashes, shared with Dovecot)"
for i in $(seq "$LARGE_USER"); do
    echo "bench-$i" | "$ROOST" user --config "$WORK/roost/roost.toml" add "user$i" --password-stdin >/dev/null
done
ROOST_PID=
start_roost() {
    "$ROOST" serve --config "$WORK/roost/roost.toml" 2>>"$WORK/roost/log" &
    ROOST_PID=$!
    PIDS+=("$ROOST_PID")
    wait_port "$RPORT"
}
stop_roost() {
    kill -TERM "$ROOST_PID"; wait "$ROOST_PID" 2>/dev/null || true
}

# --- Dovecot: same users with the same argon2id hashes, maildir, fsync always, no TLS.
DPORT=$(free_port)
DLPORT=$(free_port)
D="$WORK/dovecot"
mkdir -p "$D/run" "$D/state" "$D/mail"
chown roostbench "$D/mail"
# A users-file line is `name:ARGON2 [SCRAM-SHA-256 secret]`: Dovecot gets the argon2id hash
# alone (with the SCRAM secret after it, every Dovecot login failed).
sed 's/^\([^:]*\):\([^ ]*\).*$/\1:{ARGON2ID}\2/' "$WORK/roost/data/users" >"$D/passwd"
cat >"$D/dovecot.conf" <<EOF
# roost-bench: Dovecot on loopback with a private config (docs/performance.md lists why).
base_dir = $D/run
state_dir = $D/state
log_path = $D/log
protocols = imap lmtp
listen = 127.0.0.1
# LMTP recipients are user@bench.example; mailboxes are named by the local part.
auth_username_format = %Ln
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_cache_size = 0
# Cached entries are still checked against the argon2id hash; by default the single auth
# master process does that, which would make the cache a bottleneck.
auth_cache_verify_password_with_worker = yes
mail_location = maildir:$D/mail/%u
mail_fsync = always
mail_uid = roostbench
mail_gid = roostbench
first_valid_uid = 1
mail_max_userip_connections = 100000
default_process_limit = 20000
default_client_limit = 20000
default_vsz_limit = 1G
passdb {
  driver = passwd-file
  args = $D/passwd
}
userdb {
  driver = static
  args = uid=roostbench gid=roostbench home=$D/mail/%u
}
# The high-performance login service (Dovecot's documented fast setup): login processes
# serve many connections each and are started ahead; so are imap processes.
service imap-login {
  service_count = 0
  process_min_avail = 2
  inet_listener imap {
    address = 127.0.0.1
    port = $DPORT
  }
  inet_listener imaps {
    port = 0
  }
}
service imap {
  process_limit = 20000
  process_min_avail = 4
}
service lmtp {
  process_min_avail = 4
  inet_listener lmtp {
    address = 127.0.0.1
    port = $DLPORT
  }
}
EOF
start_dovecot() {
    dovecot -c "$D/dovecot.conf"
    wait_port "$DPORT"
    # The listener can be up before the master writes its pid file (seen on a loaded machine).
    local waited=0
    while [ ! -s "$D/run/master.pid" ] && [ "$waited" -lt 300 ]; do sleep 0.1; waited=$((waited + 1)); done
    DOVECOT_PID=$(cat "$D/run/master.pid")
}
stop_dovecot() {
    local pid
    pid=$(cat "$D/run/master.pid")
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

start_roost
start_dovecot
addr() { [ "$1" = roost ] && echo "127.0.0.1:$RPORT" || echo "127.0.0.1:$DPORT"; }
pid() { [ "$1" = roost ] && echo "$ROOST_PID" || echo "$DOVECOT_PID"; }
bench() { # server subcommand args...
    local server=$1 cmd=$2; shift 2
    "$BENCH" "$cmd" --addr "$(addr "$server")" --label "$server" --json "$OUT" "$@"
}
mkdir -p "$(dirname "$OUT")"

# --- scenarios, alternating the order
if want mixed || want idle || want stay; then
log "preparing $USERS mailboxes of 200 messages on both"
for s in dovecot roost; do "$BENCH" prepare --addr "$(addr "$s")" --users "$USERS" --messages 200 >/dev/null; done
fi

want mixed && {
log "1. mixed workload: $USERS users / $USERS clients, ${DURATION}s each"
for s in dovecot roost; do
    bench "$s" run --mix mixed --users "$USERS" --clients "$USERS" --duration "$DURATION" --server-pid "$(pid "$s")"
done
}

want stay && {
log "1b. stay-logged-in workload (LIST/STATUS/SELECT/FETCH/STORE with keywords/EXPUNGE/APPEND,
     no LOGOUT): $USERS users / $USERS clients, ${DURATION}s each, three alternating rounds"
for clients in $STAY_CLIENTS; do
    for round in 1 2 3; do
        for s in dovecot roost; do
            bench "$s" run --mix stay --scenario "stay-$clients" --users "$USERS" --clients "$clients" \
                --duration "$DURATION" --server-pid "$(pid "$s")"
        done
    done
done
}

want append && {
log "4. APPEND throughput (fsync on both): $USERS clients, ${DURATION}s each"
for s in roost dovecot; do
    bench "$s" run --mix append --users "$USERS" --clients "$USERS" --duration "$DURATION" --server-pid "$(pid "$s")"
done
}

want idle && {
log "2. $IDLE IDLE connections over $USERS users (servers restarted first: memory freed by the
     earlier scenarios would otherwise be reused and hide the cost of a connection)"
stop_roost; start_roost
stop_dovecot; start_dovecot
for s in dovecot roost; do
    bench "$s" idle --users "$USERS" --connections "$IDLE" --server-pid "$(pid "$s")"
done
}

want large && {
log "3. large mailbox: $LARGE messages (filled, then each server restarted so SELECT is cold)"
for s in roost dovecot; do
    "$BENCH" prepare --addr "$(addr "$s")" --first-user "$LARGE_USER" --users 1 --messages "$LARGE" --small --batch 500 >/dev/null
done
stop_roost; start_roost
stop_dovecot; start_dovecot
for s in dovecot roost; do
    bench "$s" large --user "$LARGE_USER" --messages "$LARGE" --server-pid "$(pid "$s")"
done
}
want sort && {
log "8. webmail on a large mailbox: SORT (REVERSE DATE) and THREAD REFERENCES of $LARGE messages
     (servers restarted first, so the first round is cold)"
want large || for s in roost dovecot; do
    "$BENCH" prepare --addr "$(addr "$s")" --first-user "$LARGE_USER" --users 1 --messages "$LARGE" --small --batch 500 >/dev/null
done
stop_roost; start_roost
stop_dovecot; start_dovecot
for s in roost dovecot; do
    bench "$s" sort --user "$LARGE_USER" --messages "$LARGE"
done
}
want lmtp && {
log "6. LMTP deliveries (fsync on both): 20 MTA connections to $USERS users, ${DURATION}s each"
for s in dovecot roost; do
    port=$([ "$s" = roost ] && echo "$RLPORT" || echo "$DLPORT")
    "$BENCH" lmtp --addr "127.0.0.1:$port" --label "$s" --json "$OUT" \
        --clients 20 --users "$USERS" --duration "$DURATION"
done
}
want login && {
log "7. logins per second (argon2id): $USERS clients, ${DURATION}s each, login cache off then on"
for cache in off on; do
    if [ "$cache" = off ]; then rsize=0; dsize=0; else rsize=10000; dsize=10M; fi
    sed -i "s/^cache_size = .*/cache_size = $rsize/" "$WORK/roost/roost.toml"
    sed -i "s/^auth_cache_size = .*/auth_cache_size = $dsize/" "$D/dovecot.conf"
    stop_roost; start_roost
    stop_dovecot; start_dovecot
    for s in dovecot roost; do
        bench "$s" run --mix login --scenario "login-cache-$cache" --users "$USERS" \
            --clients "$USERS" --duration "$DURATION" --server-pid "$(pid "$s")"
    done
done
}
stop_dovecot
stop_roost

# --- 5. cross-node push: two Roost nodes sharing a data directory and a Redis.
if [ "$PUSH" = 1 ]; then
    log "5. cross-node push latency (Roost, two nodes), $PUSH_SAMPLES samples"
    REDIS_PORT=$(free_port)
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
    PIDS+=($!)
    wait_port "$REDIS_PORT"
    NODE_PORTS=()
    for n in a b; do
        port=$(free_port); link=$(free_port)
        NODE_PORTS+=("$port")
        roost_config "$WORK/roost/data" "$port" "
[cluster]
redis_url = \"redis://127.0.0.1:$REDIS_PORT/\"
link_listen = \"127.0.0.1:$link\"
advertise_address = \"127.0.0.1:$link\"
lease_ttl_ms = 10000
link_plaintext = true" | sed "s/^node_id = .*/node_id = \"node-$n\"/" >"$WORK/roost/node-$n.toml"
        "$ROOST" serve --config "$WORK/roost/node-$n.toml" 2>>"$WORK/roost/node-$n.log" &
        PIDS+=($!)
        wait_port "$port"
    done
    "$BENCH" push --addr "127.0.0.1:${NODE_PORTS[0]}" --idle-addr "127.0.0.1:${NODE_PORTS[1]}" \
        --samples "$PUSH_SAMPLES" --label roost --json "$OUT"
fi

log "Dovecot vs Roost (ratio = roost / dovecot) — results in $OUT"
"$BENCH" table "$OUT"
