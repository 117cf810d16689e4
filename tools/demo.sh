#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# dpvpn demo: a stock openvpn 2.6 client connects to dpvpn's server role and pings through it.
#
#   netns ivp-demo-s                               netns ivp-demo-c
#   +------------------------------+               +-------------------------------+
#   | dpvpn-interop server         |  veth pair    | openvpn 2.6 (stock client)    |
#   | 10.201.X.1:1194/udp          |===============| 10.201.X.2, tun0 10.202.X.2   |
#   | answers ICMP in the tunnel   |               | ping 10.202.X.1 -> tunnel     |
#   +------------------------------+               +-------------------------------+
# Everything lives in throwaway namespaces that are removed on exit. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-deps.sh
[[ -f build/build.ninja ]] || meson setup build >/dev/null
ninja -C build tests/interop/dpvpn-interop >/dev/null
source tests/interop/lib.sh
ivp_setup demo
ivp_pki "$IVP_DIR/pki"
net=${IVP_TUN_NET%.0}
ivp_run "$IVP_NS_S" "$IVP_DIR/dpvpn.log" build/tests/interop/dpvpn-interop server \
  --listen "$IVP_SERVER_ADDR:$IVP_PORT" --net "$net" --pki "$IVP_PKI" --wrap tls-crypt
ivp_wait_log "$IVP_DIR/dpvpn.log" "^ready" 10 || ivp_fail "dpvpn did not start"
ivp_client_conf "$IVP_DIR/client.conf" wrap=tls-crypt ciphers=AES-256-GCM:CHACHA20-POLY1305
ivp_run_openvpn "$IVP_NS_C" "$IVP_DIR/client.conf" "$IVP_DIR/client.log"
ivp_wait_log "$IVP_DIR/client.log" "Initialization Sequence Completed" 30 || ivp_fail "client did not connect"
echo "== openvpn client log (excerpt)"
grep -E "Control Channel:|PUSH: Received|Data Channel:|Initialization Sequence" "$IVP_DIR/client.log" | cut -c1-220
echo "== dpvpn events"
cat "$IVP_DIR/dpvpn.log"
echo "== ping through the tunnel: client (tun0) -> $IVP_TUN_SERVER (answered by dpvpn)"
ip netns exec "$IVP_NS_C" ping -n -c 10 -i 0.2 "$IVP_TUN_SERVER"
echo "== demo ok"
