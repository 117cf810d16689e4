#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Self-test of lib.sh with no dpvpn code: stock openvpn server <-> stock openvpn client,
# tls-crypt + AES-256-GCM, 10 pings through the tunnel with 0% loss.
#
#   ivp-selftest-s: openvpn server, veth 10.201.X.1, tun 10.202.X.1
#   ivp-selftest-c: openvpn client, veth 10.201.X.2, tun 10.202.X.2   --ping--> 10.202.X.1
#
# Exit: 0 pass, 1 fail, 77 skip (not root, no /dev/net/tun, tools missing).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ivp_setup selftest
ivp_pki "$IVP_DIR/pki"
ivp_server_conf "$IVP_DIR/server.conf" wrap=tls-crypt ciphers=AES-256-GCM
ivp_client_conf "$IVP_DIR/client.conf" wrap=tls-crypt ciphers=AES-256-GCM

ivp_run_openvpn "$IVP_NS_S" "$IVP_DIR/server.conf" "$IVP_DIR/server.log"
ivp_wait_log "$IVP_DIR/server.log" "Initialization Sequence Completed" 15 || ivp_fail "server did not start"
ivp_run_openvpn "$IVP_NS_C" "$IVP_DIR/client.conf" "$IVP_DIR/client.log"
ivp_wait_log "$IVP_DIR/client.log" "Initialization Sequence Completed" 30 || ivp_fail "client did not connect"
grep -q "AES-256-GCM" "$IVP_DIR/client.log" || ivp_fail "client log does not name AES-256-GCM"

loss=$(ivp_ping "$IVP_NS_C" "$IVP_TUN_SERVER" 10)
[[ $loss == 0 ]] || ivp_fail "ping $IVP_TUN_SERVER: ${loss}% loss"
ivp_log "PASS: stock server <-> stock client, 10/10 pings"
