#!/bin/bash
# An agent in cluster mode without valid credentials refuses to start, with one line that says
# what is wrong, and leaves nothing listening: no directory, a certificate of another node, a key
# that is not its certificate's, a certificate from another cluster's CA, a file that is not PEM.
# With its own credentials (mosctl cluster init) the same agent starts.
source "$(dirname "$0")/lib.sh"
port=$((20000 + RANDOM % 20000))
cat >"$T/nodes.textproto" <<MAP
nodes { name: "node1" address: "127.0.0.1:$port" }
nodes { name: "node2" address: "127.0.0.2:$port" }
MAP
"$MOSCTL" cluster init "$T/nodes.textproto" --out "$T/creds" >/dev/null || fail "cluster init failed"
"$MOSCTL" cluster init "$T/nodes.textproto" --out "$T/other" >/dev/null || fail "a second cluster init failed"
[[ -s $T/creds/node1/node.key && -s $T/creds/node2/node.crt ]] || fail "cluster init made no credentials"

# config DIR: a map for node1 whose credentials are in DIR.
config() { { echo "this_node: \"node1\""; echo "tls_dir: \"$1\""; cat "$T/nodes.textproto"; } >"$T/node1.textproto"; }
# refused WHAT EXPECTED: mosixd must end at once, non-zero, with one line naming EXPECTED.
refused() {
  local out="$T/refused.out" st=0
  timeout 30 "$MOSIXD" --config "$T/node1.textproto" >"$out" 2>&1 </dev/null || st=$?
  [[ $st != 0 && $st != 124 ]] || fail "$1: mosixd did not refuse to start (status $st)"
  [[ $(wc -l <"$out") == 1 ]] || fail "$1: not one line: $(cat "$out")"
  grep -q "node node1 has no valid credentials: .*$2" "$out" || fail "$1: the line does not say why: $(cat "$out")"
  ! [[ -S $MOSIX_SOCKET ]] || fail "$1: a socket was left behind"
  echo "  $1: $(cat "$out")"
}
mkdir -p "$T/bad"
cfg() { rm -rf "$T/bad"; mkdir -p "$T/bad"; cp "$T/creds/node1/"* "$T/bad/"; config "$T/bad"; }

config "$T/nowhere"
refused "no credentials at all" "cannot read $T/nowhere/ca.crt"
cfg; cp "$T/creds/node2/node.crt" "$T/creds/node2/node.key" "$T/bad/"
refused "node2's certificate and key" "is node node2's certificate, not node1's"
cfg; cp "$T/creds/node2/node.key" "$T/bad/"
refused "a key that is not the certificate's" "is not the key of"
cfg; cp "$T/other/node1/ca.crt" "$T/bad/"
refused "another cluster's CA" "$T/bad/node.crt"
cfg; echo "not a certificate" >"$T/bad/node.crt"
refused "a certificate that is not PEM" "$T/bad/node.crt"
pass "an agent without valid credentials refuses to start with one line that says why"

config "$T/creds/node1"
bg_clean "$T/good.out" "$MOSIXD" --config "$T/node1.textproto"
wait_until "the agent with its own credentials to answer" "$MOSCTL" status
grep -q "(TLS)" "$T/good.out" || fail "the agent did not say it runs with TLS: $(cat "$T/good.out")"
pass "with its own credentials the agent starts, with TLS"
