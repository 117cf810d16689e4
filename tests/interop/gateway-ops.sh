#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Running the dpvpn gateway as a new user would (gwlib.sh topology), against stock OpenVPN 2.6
# clients:
#
#   netns P-gw: dpvpn (af_packet on gw-wan), tun0 10.8.0.1/24
#        |  br0 in P-sw
#   netns P-c1 (client1)
#
# Cases:
#   qpairs   one worker lcore (-l 0) with qpairs=2: dpvpn refuses to start, says to give
#            qpairs=1, and exits non-zero (the second fanout socket would get half the flows and
#            nobody would poll it); with qpairs=1 the same config serves client1
#   cdpaths  `dpvpn -- --cd DIR --config server.conf --status status.log 1`, and the config names
#            its keys, client-config-dir (with ccd-exclusive) and status file by relative paths:
#            they resolve against DIR, as openvpn's do (client1 gets its CCD address, the status
#            file appears in DIR)
#   scriptname  `auth-user-pass-verify auth.sh via-file` (a bare name) with --cd DIR: the script in
#            DIR runs (execve semantics, as openvpn; no PATH search): alice/right connects,
#            alice/wrong gets AUTH_FAILED
#   inline   <ca>, <cert>, <key>, <crl-verify> and <tls-crypt> blocks in server.conf: client1
#            connects and pings, the revoked client is refused, and dpvpn writes no file to /tmp
#            (the blocks were copied to /tmp/dpvpn-inline-* files, the private key included)
#   noengine IPsec-MB cannot give a worker its crypto manager (LD_PRELOAD makes alloc_mb_mgr fail):
#            dpvpn refuses to start with a message instead of running without one
#   routefull client1's CCD iroutes fill the IPv4 route table (max-clients 2: 4162 rules), so
#            client2's own /32 cannot be added: client2's session ends with a log line instead
#            of staying up unrouted; client1 keeps working
#   refusedlog max-clients 1 held by client1, then 20 dpvpn-loadgen sessions whose handshakes are
#            refused (again at each retransmit) for 14 s: at most 10 "max-clients reached" lines
#            per 10 s, a summary line counts the rest, the exit counters too
#
# usage: gateway-ops.sh DPVPN_EXE CASE      Exit: 0 pass, 1 fail, 77 skip (as gateway.sh).
set -euo pipefail
dpvpn=${1:-}
case_name=${2:-}
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/gwlib.sh"

expect_loss() {  # NS ADDR COUNT WANT
  local loss
  loss=$(ivp_ping "$1" "$2" "$3")
  [[ $loss == "$4" ]] || ivp_fail "ping $2 in $1: ${loss}% loss, expected $4%"
}

case_qpairs() {
  local rc=0 log
  ivg_setup "$dpvpn" 1
  ivg_server_conf "$IVG_DIR/server.conf"
  log=$IVG_DIR/refused.log
  timeout 60 ip netns exec "$IVG_NS_GW" "$IVG_DPVPN" --no-huge -m 1024 --no-shconf --no-pci -l 0 \
    --file-prefix "$IVG_PREFIX" --vdev=net_af_packet0,iface=gw-wan,qpairs=2 -- --config "$IVG_DIR/server.conf" \
    >"$log" 2>&1 || rc=$?
  if grep -Eq "dpvpn: (EAL init failed|no WAN port)" "$log"; then
    ivp_log "SKIP: DPDK EAL or the af_packet port is unavailable here:"
    tail -n 20 "$log" >&2
    exit 77
  fi
  cat "$log" >&2
  ((rc != 0 && rc != 124)) || ivp_fail "dpvpn with 1 worker and qpairs=2: exit status $rc, expected a refusal"
  grep -q "has 2 RX queues but only 1 worker" "$log" || ivp_fail "no message about the unpolled queue"
  grep -q "qpairs=1" "$log" || ivp_fail "the message does not say to give qpairs=1"
  grep -q "control thread up" "$log" && ivp_fail "dpvpn started its control thread anyway"

  IVG_DP_LCORES=0 IVG_DP_QPAIRS=1 ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not connect with one worker and qpairs=1"
  expect_loss "$(ivg_ns_client 1)" "$IVG_TUN_GW" 5 0
  stop_and_check
  ivp_log "PASS qpairs"
}

# The gateway config in $IVG_DIR/etc with relative paths: pki/ (a link to the PKI) for the keys.
relative_conf() {
  mkdir -p "$IVG_DIR/etc/ccd"
  ln -s "$IVP_PKI" "$IVG_DIR/etc/pki"
  ivg_server_conf "$IVG_DIR/etc/server.conf" "$@"
  sed -i "s|$IVP_PKI/|pki/|" "$IVG_DIR/etc/server.conf"
  grep -q "^ca pki/ca.crt$" "$IVG_DIR/etc/server.conf" || ivp_fail "relative_conf: no relative ca line"
}

case_cdpaths() {
  ivg_setup "$dpvpn" 1
  relative_conf "client-config-dir ccd" "ccd-exclusive"
  echo "ifconfig-push 10.8.0.50 255.255.255.0" >"$IVG_DIR/etc/ccd/client1"
  # Started from a directory that holds none of these files.
  ivg_start_dpvpn -- --cd "$IVG_DIR/etc" --config server.conf --status status.log 1
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not connect (relative ccd or key paths not found in --cd DIR?)"
  [[ $(ivg_client_vpn_addr 1) == 10.8.0.50 ]] || ivp_fail "client1 got $(ivg_client_vpn_addr 1), not its CCD address"
  expect_loss "$(ivg_ns_client 1)" "$IVG_TUN_GW" 5 0
  ivp_wait_log "$IVG_DIR/etc/status.log" "client1" 5 || ivp_fail "no status file with client1 in the --cd directory"
  stop_and_check
  ivp_log "PASS cdpaths"
}

case_scriptname() {
  ivg_setup "$dpvpn" 2
  relative_conf "script-security 2" "auth-user-pass-verify auth.sh via-file" "tmp-dir tmp"
  mkdir -p "$IVG_DIR/etc/tmp"
  cat >"$IVG_DIR/etc/auth.sh" <<'EOF'
#!/bin/sh
# auth-user-pass-verify via-file: $1 holds "username\npassword\n".
{ read -r user; read -r pass; } <"$1"
echo "$user" >>called.log
[ "$user" = alice ] && [ "$pass" = right ]
EOF
  chmod 755 "$IVG_DIR/etc/auth.sh"
  printf 'alice\nright\n' >"$IVG_DIR/cred-right"
  printf 'alice\nwrong\n' >"$IVG_DIR/cred-wrong"
  ivg_start_dpvpn -- --cd "$IVG_DIR/etc" --config server.conf
  ivg_start_client 1 extra="auth-user-pass $IVG_DIR/cred-right" extra="auth-nocache" extra="auth-retry none"
  ivg_wait_client 1 || ivp_fail "client1 (alice/right) did not connect: the bare script name did not run?"
  expect_loss "$(ivg_ns_client 1)" "$IVG_TUN_GW" 3 0
  ivg_start_client 2 extra="auth-user-pass $IVG_DIR/cred-wrong" extra="auth-nocache" extra="auth-retry none"
  ivp_wait_log "${IVG_CLIENT_LOG[2]}" "AUTH_FAILED" 20 || ivp_fail "client2 (alice/wrong) did not get AUTH_FAILED"
  [[ $(grep -c alice "$IVG_DIR/etc/called.log") == 2 ]] || ivp_fail "auth.sh was not run twice in the --cd directory"
  grep -q "cannot run auth.sh" "$IVG_DP_LOG" && ivp_fail "dpvpn could not run auth.sh"
  stop_and_check
  ivp_log "PASS scriptname"
}

case_inline() {
  local t left
  ivg_setup "$dpvpn" 2
  ivg_server_conf "$IVG_DIR/server.conf"
  sed -i -E "/^(ca|cert|key|tls-crypt) /d" "$IVG_DIR/server.conf"
  for t in ca:ca.crt cert:server.crt key:server.key crl-verify:crl.pem tls-crypt:tls-crypt.key; do
    { echo "<${t%%:*}>"; cat "$IVP_PKI/${t#*:}"; echo "</${t%%:*}>"; } >>"$IVG_DIR/server.conf"
  done
  grep -q "^<key>$" "$IVG_DIR/server.conf" || ivp_fail "no inline key in the config"
  touch "$IVG_DIR/start-mark"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not connect with inline keys"
  expect_loss "$(ivg_ns_client 1)" "$IVG_TUN_GW" 3 0
  ivg_start_client 2 cert=revoked
  ivp_wait_log "$IVG_DP_LOG" "$(ivg_client_addr 2):[0-9]+: session closed: TLS error.*revoked" 20 ||
    ivp_fail "the revoked client was not refused by the inline CRL"
  ivg_wait_client 2 3 2>/dev/null && ivp_fail "the revoked client connected"
  left=$(find /tmp -maxdepth 1 -name 'dpvpn-inline-*' -newer "$IVG_DIR/start-mark" 2>/dev/null)
  [[ -z $left ]] || ivp_fail "dpvpn wrote inline blocks to disk: $left"
  stop_and_check
  ivp_log "PASS inline"
}

case_noengine() {
  local rc=0 log=$IVG_DIR/noengine.log
  command -v cc >/dev/null 2>&1 || { ivp_log "SKIP: no C compiler for the LD_PRELOAD stub"; exit 77; }
  ivg_setup "$dpvpn" 0
  printf 'void *alloc_mb_mgr(unsigned long long flags) { (void)flags; return 0; }\n' >"$IVG_DIR/nomgr.c"
  cc -shared -fPIC -o "$IVG_DIR/nomgr.so" "$IVG_DIR/nomgr.c" || ivp_fail "cannot build the stub"
  ivg_server_conf "$IVG_DIR/server.conf"
  timeout 30 ip netns exec "$IVG_NS_GW" env LD_PRELOAD="$IVG_DIR/nomgr.so" "$IVG_DPVPN" --no-huge -m 1024 --no-shconf \
    --no-pci -l 0 --file-prefix "$IVG_PREFIX" --vdev=net_af_packet0,iface=gw-wan,qpairs=1 -- \
    --config "$IVG_DIR/server.conf" >"$log" 2>&1 || rc=$?
  cat "$log" >&2
  ((rc != 0 && rc != 124)) || ivp_fail "dpvpn without a crypto manager: exit status $rc, expected a refusal"
  grep -q "could not allocate or initialise a crypto manager" "$log" || ivp_fail "no message about the crypto manager"
  grep -q "control thread up" "$log" && ivp_fail "dpvpn started its control thread anyway"
  ivp_log "PASS noengine"
}

case_routefull() {
  local i
  ivg_setup "$dpvpn" 2
  mkdir -p "$IVG_DIR/ccd"
  for ((i = 0; i < 4200; i++)); do echo "iroute 10.$((100 + i / 256)).$((i % 256)).0 255.255.255.0"; done \
    >"$IVG_DIR/ccd/client1"
  ivg_server_conf "$IVG_DIR/server.conf" "max-clients 2" "max-routes-per-client 5000" "client-config-dir $IVG_DIR/ccd"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  grep -q "cannot add iroute.*No space left" "$IVG_DP_LOG" || ivp_fail "client1's iroutes did not fill the route table"
  ivg_start_client 2
  ivp_wait_log "$IVG_DP_LOG" "client2/.*session closed: cannot add route 10\.8\.0\.3/32: No space left on device" 30 ||
    ivp_fail "client2 was not ended when its route could not be added"
  expect_loss "$(ivg_ns_client 1)" "$IVG_TUN_GW" 3 0
  stop_and_check
  ivp_log "PASS routefull"
}

case_refusedlog() {
  local loadgen lines held
  loadgen=$(dirname "$dpvpn")/tools/dpvpn-loadgen
  [[ -x $loadgen ]] || { ivp_log "SKIP: no $loadgen"; exit 77; }
  ivg_setup "$dpvpn" 2
  ivg_server_conf "$IVG_DIR/server.conf" "max-clients 1"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  ip netns exec "$(ivg_ns_client 2)" timeout 14 "$loadgen" --remote "$IVG_GW_ADDR:$IVP_PORT" --pki "$IVP_PKI" \
    --cert client2 --clients 20 --duration 1 >"$IVG_DIR/loadgen.log" 2>&1 || true
  expect_loss "$(ivg_ns_client 1)" "$IVG_TUN_GW" 3 0
  stop_and_check
  lines=$(grep -c "max-clients reached" "$IVG_DP_LOG" | head -n 1)
  grep -q "more refusal(s) not logged" "$IVG_DP_LOG" || ivp_fail "no summary of the refusals not logged ($lines logged)"
  ((lines <= 24)) || ivp_fail "$lines 'max-clients reached' lines for 14 s of refusals (at most 10 per 10 s)"
  held=$(sed -nE 's/.*log lines held back ([0-9]+).*/\1/p' "$IVG_DP_LOG" | tail -n 1)
  ((${held:-0} > 0)) || ivp_fail "the exit counters do not count the lines held back"
  ivp_log "PASS refusedlog ($lines lines logged, $held held back)"
}

case "$case_name" in
  qpairs) case_qpairs ;;
  refusedlog) case_refusedlog ;;
  noengine) case_noengine ;;
  routefull) case_routefull ;;
  inline) case_inline ;;
  cdpaths) case_cdpaths ;;
  scriptname) case_scriptname ;;
  *) echo "usage: $0 DPVPN_EXE qpairs|cdpaths|scriptname|inline|noengine|routefull|refusedlog" >&2; exit 2 ;;
esac
