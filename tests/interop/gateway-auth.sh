#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The dpvpn gateway's user scripts against stock OpenVPN 2.6 clients (same topology as gateway.sh).
#
# Cases:
#   verify   auth-user-pass-verify via-file: alice/wrong gets AUTH_FAILED and exits (auth-retry
#            none), alice/right connects and pings 10.8.0.1; no temp file is left behind
#   slow     the script sleeps 5 s for user "slow": client1 (user fast) pings every 50 ms while
#            client2 (user slow) connects; client1 loses nothing and sees no RTT over 100 ms,
#            client3 (user fast), started 0.5 s after client2, is up before it, client2 after ~5 s
#   connect  client-connect writes "ifconfig-push 10.8.0.77 255.255.255.0" for CN client2: it gets
#            10.8.0.77 and pings 10.8.0.1, client1 gets a pool address; the script's environment;
#            client-disconnect runs when client1 leaves
#
# usage: gateway-auth.sh DPVPN_EXE CASE
# Exit: 0 pass, 1 fail, 77 skip (as gateway.sh).
set -euo pipefail
dpvpn=${1:-}
case_name=${2:-}
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/gwlib.sh"

# write_scripts: the scripts and credentials of every case, in $IVG_DIR.
write_scripts() {
  mkdir -p "$IVG_DIR/tmp"
  cat >"$IVG_DIR/verify.sh" <<'EOF'
#!/bin/sh
# auth-user-pass-verify via-file: $1 holds "username\npassword\n".
{ read -r user; read -r pass; } <"$1"
[ "$user" = slow ] && sleep 5
[ "$pass" = right ] || exit 1
case "$user" in alice | fast | slow) exit 0 ;; esac
exit 1
EOF
  cat >"$IVG_DIR/connect.sh" <<'EOF'
#!/bin/sh
# client-connect: $1 is the file for per-client options.
env >"$(dirname "$0")/env-connect-$common_name"
[ "$common_name" = client2 ] && echo "ifconfig-push 10.8.0.77 255.255.255.0" >>"$1"
exit 0
EOF
  cat >"$IVG_DIR/disconnect.sh" <<'EOF'
#!/bin/sh
env >"$(dirname "$0")/env-disconnect-$common_name"
EOF
  chmod 755 "$IVG_DIR"/*.sh
  local u p
  for u in alice fast slow; do
    for p in right wrong; do printf '%s\n%s\n' "$u" "$p" >"$IVG_DIR/cred-$u-$p"; done
  done
  chmod 600 "$IVG_DIR"/cred-*
}

# start_auth_client I USER PASS: clientI with auth-user-pass credentials.
start_auth_client() {
  ivg_start_client "$1" extra="auth-user-pass $IVG_DIR/cred-$2-$3" extra="auth-nocache" extra="auth-retry none"
}

stop_and_check() {
  ivg_stop_dpvpn
  ivg_print_counters
  [[ $IVG_DP_RC == 0 ]] || ivp_fail "dpvpn exit status $IVG_DP_RC after SIGTERM (124: not within 10 s)"
  grep -q "mbufs in use at exit: 0 of" "$IVG_DP_LOG" || ivp_fail "dpvpn leaked mbufs (or did not report them)"
}

no_temp_files_left() {
  local left
  left=$(find "$IVG_DIR/tmp" -type f | wc -l)
  [[ $left == 0 ]] || ivp_fail "$left script temp file(s) left in $IVG_DIR/tmp"
}

case_verify() {
  local i loss
  ivg_setup "$dpvpn" 2
  write_scripts
  ivg_server_conf "$IVG_DIR/server.conf" "script-security 2" "tmp-dir $IVG_DIR/tmp" \
    "auth-user-pass-verify $IVG_DIR/verify.sh via-file"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  start_auth_client 1 alice wrong
  local pid1=$IVP_LAST_PID
  ivp_wait_log "${IVG_CLIENT_LOG[1]}" "AUTH_FAILED" 20 || ivp_fail "client1 (alice/wrong) did not get AUTH_FAILED"
  # auth-retry none: the client gives up on its own.
  for ((i = 0; i < 100; i++)); do kill -0 "$pid1" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid1" 2>/dev/null && ivp_fail "client1 still runs 10 s after AUTH_FAILED"
  grep -q "authentication failed: auth-user-pass-verify script: exit 1" "$IVG_DP_LOG" ||
    ivp_fail "dpvpn did not log the rejection with its reason"
  ivp_log "client1 (alice/wrong): AUTH_FAILED, exited"

  start_auth_client 2 alice right
  ivg_wait_client 2 || ivp_fail "client2 (alice/right) did not connect"
  loss=$(ivp_ping "$(ivg_ns_client 2)" "$IVG_TUN_GW" 10)
  [[ $loss == 0 ]] || ivp_fail "ping client2 -> $IVG_TUN_GW: ${loss}% loss"
  # The rejected client's pool address was released: the accepted one got the first address.
  [[ $(ivg_client_vpn_addr 2) == 10.8.0.2 ]] || ivp_fail "client2 got $(ivg_client_vpn_addr 2), expected 10.8.0.2"
  no_temp_files_left
  stop_and_check
  ivp_log "PASS verify"
}

case_slow() {
  local c1 out loss maxrtt t0 t1 t3 ms ms3
  ivg_setup "$dpvpn" 3
  write_scripts
  ivg_server_conf "$IVG_DIR/server.conf" "script-security 2" "tmp-dir $IVG_DIR/tmp" \
    "auth-user-pass-verify $IVG_DIR/verify.sh via-file"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  start_auth_client 1 fast right
  ivg_wait_client 1 || ivp_fail "client1 (fast) did not connect"
  c1=$(ivg_ns_client 1)
  ip netns exec "$c1" ping -n -c 3 -W 2 "$IVG_TUN_GW" >/dev/null 2>&1 || true  # warm up ARP/routes

  # 160 pings at 50 ms: 8 s, covering client2's whole 5 s wait for its script. Meanwhile client3
  # (user fast) does its whole handshake and must be up long before client2.
  ip netns exec "$c1" ping -n -c 160 -i 0.05 -W 1 "$IVG_TUN_GW" >"$IVG_DIR/ping1.log" 2>&1 &
  local ping_pid=$!
  sleep 0.5
  t0=$(date +%s%N)
  start_auth_client 2 slow right
  sleep 0.5
  start_auth_client 3 fast right
  ivg_wait_client 3 10 || ivp_fail "client3 (fast) did not connect while client2's script ran"
  t3=$(date +%s%N)
  grep -q "Initialization Sequence Completed" "${IVG_CLIENT_LOG[2]}" &&
    ivp_fail "client2 (slow) was up before client3: its script did not run for 5 s?"
  ivg_wait_client 2 20 || ivp_fail "client2 (slow) did not connect"
  t1=$(date +%s%N)
  wait "$ping_pid" || true
  out=$(<"$IVG_DIR/ping1.log")
  tail -n 2 <<<"$out"
  loss=$(sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p' <<<"$out")
  maxrtt=$(sed -nE 's|^rtt min/avg/max/mdev = [0-9.]+/[0-9.]+/([0-9.]+)/.*|\1|p' <<<"$out")
  [[ $loss == 0 ]] || ivp_fail "client1's pings while client2's script ran: ${loss:-100}% loss"
  [[ -n $maxrtt ]] || ivp_fail "no RTT summary from ping"
  if ! awk -v m="$maxrtt" 'BEGIN { exit !(m < 100) }'; then
    grep -E "time=[0-9]{3}" "$IVG_DIR/ping1.log" >&2 || true
    # A loaded machine (2 shared cores here) shows such spikes with nothing connecting at all:
    # measure that baseline; only when it stays under 100 ms is the spike the gateway's. Either
    # way a script that blocked the gateway would show a gap of seconds.
    local base
    base=$(ip netns exec "$c1" ping -n -c 160 -i 0.05 -W 1 "$IVG_TUN_GW" 2>&1 |
      sed -nE 's|^rtt min/avg/max/mdev = [0-9.]+/[0-9.]+/([0-9.]+)/.*|\1|p')
    awk -v b="${base:-0}" 'BEGIN { exit !(b >= 100) }' ||
      ivp_fail "client1's max RTT ${maxrtt} ms (a gap over 100 ms; idle baseline ${base:-?} ms)"
    awk -v m="$maxrtt" 'BEGIN { exit !(m < 1000) }' || ivp_fail "client1's max RTT ${maxrtt} ms"
    ivp_log "WARN: max RTT ${maxrtt} ms, but the machine is loaded: idle baseline ${base} ms"
  fi
  ms=$(((t1 - t0) / 1000000))
  ms3=$(((t3 - t0) / 1000000))
  ((ms >= 4500)) || ivp_fail "client2 connected after ${ms} ms, before its 5 s script finished?"
  loss=$(ivp_ping "$(ivg_ns_client 2)" "$IVG_TUN_GW" 5)
  [[ $loss == 0 ]] || ivp_fail "ping client2 -> $IVG_TUN_GW: ${loss}% loss"
  ivp_log "client1: 160 pings, 0 lost, max RTT ${maxrtt} ms; client3 up after ${ms3} ms; client2 (5 s script) after ${ms} ms"
  no_temp_files_left
  stop_and_check
  ivp_log "PASS slow"
}

case_connect() {
  local loss v1 v2 i
  ivg_setup "$dpvpn" 2
  write_scripts
  ivg_server_conf "$IVG_DIR/server.conf" "script-security 2" "tmp-dir $IVG_DIR/tmp" \
    "auth-user-pass-verify $IVG_DIR/verify.sh via-file" "client-connect $IVG_DIR/connect.sh" \
    "client-disconnect $IVG_DIR/disconnect.sh"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  start_auth_client 1 alice right
  local pid1=$IVP_LAST_PID
  start_auth_client 2 alice right
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  ivg_wait_client 2 || ivp_fail "client2 did not connect"
  v1=$(ivg_client_vpn_addr 1)
  v2=$(ivg_client_vpn_addr 2)
  [[ $v2 == 10.8.0.77 ]] || ivp_fail "client2 got '$v2', expected the pushed 10.8.0.77"
  [[ $v1 == 10.8.0.* && $v1 != 10.8.0.77 ]] || ivp_fail "client1 got '$v1', expected a pool address"
  grep -q "10.8.0.77" "${IVG_CLIENT_LOG[2]}" || ivp_fail "client2's log does not show 10.8.0.77"
  loss=$(ivp_ping "$(ivg_ns_client 2)" "$IVG_TUN_GW" 10)
  [[ $loss == 0 ]] || ivp_fail "ping client2 (10.8.0.77) -> $IVG_TUN_GW: ${loss}% loss"
  loss=$(ivp_ping "$IVG_NS_GW" 10.8.0.77 5)
  [[ $loss == 0 ]] || ivp_fail "ping gateway -> 10.8.0.77: ${loss}% loss"
  loss=$(ivp_ping "$(ivg_ns_client 1)" "$IVG_TUN_GW" 5)
  [[ $loss == 0 ]] || ivp_fail "ping client1 ($v1) -> $IVG_TUN_GW: ${loss}% loss"

  local env2=$IVG_DIR/env-connect-client2
  [[ -f $env2 ]] || ivp_fail "client-connect did not run for client2"
  grep -qx "script_type=client-connect" "$env2" || ivp_fail "client-connect: no script_type"
  grep -qx "trusted_ip=$(ivg_client_addr 2)" "$env2" || ivp_fail "client-connect: trusted_ip is not client2's address"
  grep -qx "username=alice" "$env2" || ivp_fail "client-connect: no username"
  grep -q "^ifconfig_pool_remote_ip=10.8.0." "$env2" || ivp_fail "client-connect: no ifconfig_pool_remote_ip"
  grep -q "^IV_VER=2.6" "$env2" || ivp_fail "client-connect: no IV_VER"
  grep -q "^password=" "$env2" && ivp_fail "client-connect sees the password"
  ivp_log "client1 $v1, client2 $v2 (ifconfig-push); connect env ok"

  # client-disconnect: client1 leaves (explicit-exit-notify), the gateway tears it down.
  kill -TERM "$pid1" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do [[ -f $IVG_DIR/env-disconnect-client1 ]] && break; sleep 0.1; done
  [[ -f $IVG_DIR/env-disconnect-client1 ]] || ivp_fail "client-disconnect did not run for client1"
  grep -q "^bytes_received=[1-9]" "$IVG_DIR/env-disconnect-client1" || ivp_fail "client-disconnect: no bytes_received"
  no_temp_files_left
  stop_and_check
  ivp_log "PASS connect"
}

case "$case_name" in
  verify) case_verify ;;
  slow) case_slow ;;
  connect) case_connect ;;
  *) echo "usage: $0 DPVPN_EXE verify|slow|connect" >&2; exit 2 ;;
esac
