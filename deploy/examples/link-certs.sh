#!/bin/sh
# Node-link certificates for the compose example: a throwaway cluster CA and one certificate
# naming every node, for both server and client authentication (node links are mutual TLS).
#
#   deploy/examples/link-certs.sh roost-1 roost-2 roost-3
#
# Writes deploy/examples/link-tls/{ca.crt,tls.crt,tls.key} (mounted into the nodes) and keeps
# the CA's key in deploy/examples/link-ca/ (never mounted). Run it again to renew the node
# certificate with the same CA; running nodes pick the new files up within
# cluster.link_tls.reload_interval_secs. OUT and CA_DIR override the two directories;
# EXTRA_SANS adds names (e.g. EXTRA_SANS=IP:127.0.0.1).
#
# One certificate for all nodes keeps out anyone without the CA's signature, but lets any
# node claim to be any other; per-node certificates, each naming only its node, close that
# too (docs/clustering.md, "Security").
set -eu

[ "$#" -gt 0 ] || { echo "usage: $0 NODE_ID..." >&2; exit 2; }
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$here/link-tls}"
ca_dir="${CA_DIR:-$here/link-ca}"
mkdir -p "$out" "$ca_dir"
ec() { printf '%s' "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"; }

if [ ! -f "$ca_dir/ca.key" ]; then
  # shellcheck disable=SC2046
  openssl req -x509 $(ec) -days 3650 -subj "/CN=roost cluster CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$ca_dir/ca.key" -out "$ca_dir/ca.crt" 2>/dev/null
  chmod 0600 "$ca_dir/ca.key"
fi

sans=""
for node in "$@"; do sans="${sans:+$sans,}DNS:$node"; done
[ -z "${EXTRA_SANS:-}" ] || sans="$sans,$EXTRA_SANS"
ext="$(mktemp)"
trap 'rm -f "$ext" "$out/tls.csr"' EXIT
cat >"$ext" <<CNF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$sans
CNF
# shellcheck disable=SC2046
openssl req -new $(ec) -subj "/CN=$1" -keyout "$out/tls.key" -out "$out/tls.csr" 2>/dev/null
openssl x509 -req -in "$out/tls.csr" -CA "$ca_dir/ca.crt" -CAkey "$ca_dir/ca.key" \
  -CAcreateserial -days 90 -extfile "$ext" -out "$out/tls.crt" 2>/dev/null
cp "$ca_dir/ca.crt" "$out/ca.crt"
chmod 0644 "$out/tls.key" # readable by uid 10001 in the containers
echo "wrote $out/tls.crt for $sans (CA: $out/ca.crt)"
