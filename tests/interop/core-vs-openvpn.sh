#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The protocol core against the real openvpn 2.6 binary, over kernel UDP in two namespaces.
#
#   ivp-CASE-s: server side, veth 10.201.X.1    ivp-CASE-c: client side, veth 10.201.X.2
#   role "server": dpvpn-interop server (our server role, answers ICMP inside the tunnel)
#                  <- stock `openvpn` client, which pings 10.202.X.1 through its tun
#   role "client": stock `openvpn --server` (tun 10.202.X.1)
#                  <- dpvpn-interop client (our client role), which sends ICMP echo to 10.202.X.1
#
# usage: core-vs-openvpn.sh HARNESS CASE
# Exit: 0 pass, 1 fail, 77 skip (not root, no /dev/net/tun, tools missing).
set -euo pipefail
harness=$1
case_name=$2
source "$(dirname "$0")/lib.sh"

role=${case_name%%-*}
wrap=tls-crypt ciphers=AES-256-GCM auth=SHA1 ekm=1 reneg=0 pings=20
case "$case_name" in
  server-gcm256-tlscrypt|client-gcm256-tlscrypt) ;;
  server-gcm128-tlsauth|client-gcm128-tlsauth) wrap=tls-auth ciphers=AES-128-GCM ;;
  server-chacha-tcv2|client-chacha-tcv2) wrap=tls-crypt-v2 ciphers=CHACHA20-POLY1305 ;;
  server-cbc-none|client-cbc-none) wrap=none ciphers=AES-256-CBC auth=SHA256 ;;
  server-prf|client-prf) ekm=0 ;;
  server-reneg|client-reneg) reneg=5 pings=70 ;;      # renegotiation started by the server side
  server-reneg-peer) reneg=5 pings=70 ;;               # started by the stock client
  *) echo "unknown case $case_name" >&2; exit 2 ;;
esac

ivp_setup "$case_name"
ivp_pki "$IVP_DIR/pki"
ours=(--pki "$IVP_PKI" --wrap "$wrap" --ciphers "$ciphers" --auth "$auth")
((ekm)) || ours+=(--no-ekm)
net=${IVP_TUN_NET%.0}

if [[ $role == server ]]; then
  ourreneg=$reneg peerreneg=0
  [[ $case_name == server-reneg-peer ]] && ourreneg=0 peerreneg=$reneg
  ivp_run "$IVP_NS_S" "$IVP_DIR/ours.log" "$harness" server --listen "$IVP_SERVER_ADDR:$IVP_PORT" \
    --net "$net" --reneg-sec "$ourreneg" "${ours[@]}"
  ivp_wait_log "$IVP_DIR/ours.log" "^ready" 10 || ivp_fail "harness did not start"
  copts=(wrap=$wrap ciphers=$ciphers auth=$auth)
  ((peerreneg)) && copts+=(reneg=$peerreneg)
  ivp_client_conf "$IVP_DIR/client.conf" "${copts[@]}"
  ivp_run_openvpn "$IVP_NS_C" "$IVP_DIR/client.conf" "$IVP_DIR/client.log"
  ivp_wait_log "$IVP_DIR/client.log" "Initialization Sequence Completed" 30 || ivp_fail "client did not connect"
  grep -q "Data Channel: cipher '$ciphers'" "$IVP_DIR/client.log" || ivp_fail "client did not negotiate $ciphers"
  if ((ekm)); then want="tls-ekm"; else want="cipher $ciphers'\$"; fi
  grep -q "PUSH: Received control message: .*$([[ $ekm == 1 ]] && echo tls-ekm)" "$IVP_DIR/client.log" ||
    ivp_fail "push reply not as expected"
  if ! ((ekm)) && grep -q "tls-ekm" "$IVP_DIR/client.log"; then ivp_fail "EKM used although disabled"; fi
  loss=$(ivp_ping "$IVP_NS_C" "$IVP_TUN_SERVER" "$pings")
  [[ $loss == 0 ]] || ivp_fail "ping $IVP_TUN_SERVER through our server: ${loss}% loss"
  if ((reneg)); then
    n=$(grep -c "^keys kid=" "$IVP_DIR/ours.log" || true)
    ((n >= 3)) || ivp_fail "expected >= 2 renegotiations, saw $((n - 1))"
  fi
  ivp_log "PASS $case_name: $pings/$pings pings answered by our server role"
else
  sopts=(wrap=$wrap ciphers=$ciphers auth=$auth)
  ((reneg)) && sopts+=(reneg=$reneg)
  ivp_server_conf "$IVP_DIR/server.conf" "${sopts[@]}"
  ivp_run_openvpn "$IVP_NS_S" "$IVP_DIR/server.conf" "$IVP_DIR/server.log"
  ivp_wait_log "$IVP_DIR/server.log" "Initialization Sequence Completed" 15 || ivp_fail "stock server did not start"
  # tls-crypt-v2: our client uses the client key made from the server key by openvpn --genkey.
  if ip netns exec "$IVP_NS_C" timeout 40 "$harness" client --remote "$IVP_SERVER_ADDR:$IVP_PORT" \
      --ping-target "$IVP_TUN_SERVER" --pings "$pings" "${ours[@]}" >"$IVP_DIR/ours.log" 2>&1; then :; else
    IVP_LOGS+=("$IVP_DIR/ours.log")
    ivp_fail "our client: not all pings answered"
  fi
  IVP_LOGS+=("$IVP_DIR/ours.log")
  grep -q "keys kid=0 cipher=$ciphers ekm=$ekm" "$IVP_DIR/ours.log" || ivp_fail "our client: wrong cipher/derivation"
  if ((reneg)); then
    n=$(grep -c "^keys kid=" "$IVP_DIR/ours.log" || true)
    ((n >= 3)) || ivp_fail "expected >= 2 renegotiations, saw $((n - 1))"
  fi
  ivp_log "PASS $case_name: $pings/$pings pings through the stock server answered"
fi
