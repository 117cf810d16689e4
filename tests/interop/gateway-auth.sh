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
#   token    auth-gen-token: alice connects (auth-nocache) and is pushed a token; SIGUSR1 makes her
#            client reconnect with it (renewed at a renegotiation, reneg-sec 10, before that):
#            up again, auth-user-pass-verify still called once,
#            client-connect twice (session_state Initial, then Authenticated, same session_id);
#            dpvpn restarted (a new random key): the token is refused, the client retries with
#            its password (2nd script call) and is up a third time
#   tlsverify  tls-verify refuses CN=client2 after 3 s: client1 is up and its script saw depth 1
#            (the CA) first, then depth 0 (subject, serial, digest, X509_* variables); while
#            client2's script runs client1 pings every 100 ms with no loss and no RTT over
#            100 ms; client2 gets AUTH_FAILED
#   nocert   verify-client-cert none: a client with no certificate (auth-user-pass only,
#            username-as-common-name) connects; optional: it and a client with a certificate
#            connect; require (the default): the certificate-less client is refused in TLS
#   tlsopts  tls-version-max 1.2, tls-cipher one ECDHE-ECDSA AES-GCM suite (IANA spelling),
#            tls-groups secp256r1, x509-username-field emailAddress, remote-cert-eku "TLS Web
#            Client Authentication": client1 (email1's certificate) is up with TLSv1.2 and that
#            cipher, and dpvpn names it by its e-mail address; client2 (no emailAddress) and
#            client3 (emailAddress, no EKU) are refused in TLS with the reason in dpvpn's log
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
  cat >"$IVG_DIR/count.sh" <<'EOF'
#!/bin/sh
# auth-user-pass-verify that counts its calls (one line each).
{ read -r user; read -r pass; } <"$1"
echo "$user" >>"$(dirname "$0")/calls"
[ "$user" = alice ] && [ "$pass" = right ]
EOF
  cat >"$IVG_DIR/connect-count.sh" <<'EOF'
#!/bin/sh
echo "$common_name $session_state $session_id" >>"$(dirname "$0")/connects"
exit 0
EOF
  cat >"$IVG_DIR/tlsverify.sh" <<'EOF'
#!/bin/sh
# tls-verify DEPTH SUBJECT: logs its arguments and environment; refuses CN=client2 after 3 s.
d=$(dirname "$0")
echo "$1|$2" >>"$d/tlsverify.log"
env >"$d/tlsverify-env-$1-$$"
case "$2" in *CN=client2*) sleep 3; exit 1 ;; esac
exit 0
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

# count_lines FILE: its number of lines (0 when it does not exist).
count_lines() { if [[ -f $1 ]]; then wc -l <"$1"; else echo 0; fi; }

# wait_up_count I N TIMEOUT_S: 0 once clientI's log shows N "Initialization Sequence Completed".
wait_up_count() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    (($(grep -c "Initialization Sequence Completed" "${IVG_CLIENT_LOG[$1]}" 2>/dev/null || true) >= $2)) && return 0
    sleep 0.1
  done
  return 1
}

# stop_client PID: SIGTERM, then up to 5 s for it to exit.
stop_client() {
  local i
  kill -TERM "$1" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}

case_token() {
  local pid1 loss sid1 sid2
  ivg_setup "$dpvpn" 1
  write_scripts
  ivg_server_conf "$IVG_DIR/server.conf" "script-security 2" "tmp-dir $IVG_DIR/tmp" \
    "auth-user-pass-verify $IVG_DIR/count.sh via-file" "client-connect $IVG_DIR/connect-count.sh" \
    "auth-gen-token" "reneg-sec 10" "hand-window 5"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  # auth-retry nointeract: after a refused token the client asks again with its password (it
  # drops a refused token whatever auth-retry says; this keeps it from exiting on a later refusal).
  ivg_start_client 1 extra="auth-user-pass $IVG_DIR/cred-alice-right" extra="auth-nocache" \
    extra="auth-retry nointeract"
  pid1=$IVP_LAST_PID
  ivg_wait_client 1 || ivp_fail "client1 (alice) did not connect"
  [[ $(count_lines "$IVG_DIR/calls") == 1 ]] ||
    ivp_fail "auth-user-pass-verify ran $(count_lines "$IVG_DIR/calls") times, expected 1"
  grep -qE "^client1 Initial [A-Za-z0-9+/]{16}$" "$IVG_DIR/connects" ||
    ivp_fail "client-connect did not see session_state=Initial and a session_id: $(cat "$IVG_DIR/connects")"

  # reneg-sec 10: the renegotiation renews the token (a PUSH_REPLY with only auth-token).
  ivp_wait_log "${IVG_CLIENT_LOG[1]}" "'PUSH_REPLY,auth-token" 25 || ivp_fail "no renewed token after a renegotiation"
  # A soft restart: a new session whose password is the (renewed) token.
  kill -USR1 "$pid1"
  wait_up_count 1 2 30 || ivp_fail "client1 did not reconnect after SIGUSR1"
  grep -q "auth-token accepted for user 'alice'" "$IVG_DP_LOG" || ivp_fail "dpvpn did not log the accepted token"
  [[ $(count_lines "$IVG_DIR/calls") == 1 ]] ||
    ivp_fail "auth-user-pass-verify ran $(count_lines "$IVG_DIR/calls") times, expected 1 (the token replaces it)"
  [[ $(count_lines "$IVG_DIR/connects") == 2 ]] ||
    ivp_fail "client-connect ran $(count_lines "$IVG_DIR/connects") times, expected 2"
  grep -q "^client1 Authenticated " "$IVG_DIR/connects" || ivp_fail "client-connect did not see session_state=Authenticated"
  sid1=$(sed -n '1s/.* //p' "$IVG_DIR/connects")
  sid2=$(sed -n '2s/.* //p' "$IVG_DIR/connects")
  [[ $sid1 == "$sid2" ]] || ivp_fail "the renewed token has another session id ($sid1 -> $sid2)"
  loss=$(ivp_ping "$(ivg_ns_client 1)" "$IVG_TUN_GW" 5)
  [[ $loss == 0 ]] || ivp_fail "ping client1 -> $IVG_TUN_GW after the token reconnect: ${loss}% loss"
  ivp_log "token: reconnected with the token; auth-user-pass-verify calls 1, client-connect calls 2, session $sid1"

  # A restarted dpvpn has a new random key: the token is refused, the password works.
  ivg_stop_dpvpn
  cp "$IVG_DP_LOG" "$IVG_DIR/dpvpn-1.log"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  wait_up_count 1 3 60 || ivp_fail "client1 did not come back after the dpvpn restart"
  grep -q "auth-token invalid" "$IVG_DP_LOG" || ivp_fail "dpvpn did not log the refused token"
  grep -q "AUTH_FAILED" "${IVG_CLIENT_LOG[1]}" || ivp_fail "client1 saw no AUTH_FAILED for its old token"
  [[ $(count_lines "$IVG_DIR/calls") == 2 ]] ||
    ivp_fail "auth-user-pass-verify ran $(count_lines "$IVG_DIR/calls") times, expected 2 (the password after the token)"
  loss=$(ivp_ping "$(ivg_ns_client 1)" "$IVG_TUN_GW" 5)
  [[ $loss == 0 ]] || ivp_fail "ping client1 -> $IVG_TUN_GW after the restart: ${loss}% loss"
  ivp_log "token: after the restart the old token was refused and the password accepted"
  no_temp_files_left
  stop_and_check
  ivp_log "PASS token"
}

case_tlsverify() {
  local c1 out loss maxrtt f ca_subject ping_pid
  ivg_setup "$dpvpn" 2
  write_scripts
  ivg_server_conf "$IVG_DIR/server.conf" "script-security 2" "tmp-dir $IVG_DIR/tmp" "tls-verify $IVG_DIR/tlsverify.sh"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  ca_subject=$(openssl x509 -in "$IVP_PKI/ca.crt" -noout -subject -nameopt sep_comma_plus_space | sed 's/^subject= *//')
  grep -qxF "1|$ca_subject" "$IVG_DIR/tlsverify.log" ||
    ivp_fail "tls-verify did not see depth 1 '$ca_subject': $(cat "$IVG_DIR/tlsverify.log")"
  grep -qE "^0\|.*CN=client1$" "$IVG_DIR/tlsverify.log" || ivp_fail "tls-verify did not see depth 0 CN=client1"
  [[ $(head -n 1 "$IVG_DIR/tlsverify.log") == 1\|* ]] || ivp_fail "tls-verify did not run for the CA first"
  f=$(grep -l "^X509_0_CN=client1$" "$IVG_DIR"/tlsverify-env-0-* | head -n 1)
  [[ -n $f ]] || ivp_fail "no depth 0 environment with X509_0_CN=client1"
  grep -qx "script_type=tls-verify" "$f" || ivp_fail "tls-verify: no script_type"
  grep -qE "^tls_serial_0=[0-9]+$" "$f" || ivp_fail "tls-verify: no tls_serial_0"
  grep -qE "^tls_digest_sha256_0=([0-9a-f]{2}:){31}[0-9a-f]{2}$" "$f" || ivp_fail "tls-verify: no tls_digest_sha256_0"
  grep -q "^X509_1_CN=" "$f" || ivp_fail "tls-verify (depth 0): no X509_1_CN from the CA"
  grep -qx "untrusted_ip=$(ivg_client_addr 1)" "$f" || ivp_fail "tls-verify: no untrusted_ip"
  grep -q "^username=" "$f" && ivp_fail "tls-verify sees a username"
  ivp_log "tlsverify: client1 up; the script saw depth 1 ($ca_subject) then depth 0"

  c1=$(ivg_ns_client 1)
  ip netns exec "$c1" ping -n -c 3 -W 2 "$IVG_TUN_GW" >/dev/null 2>&1 || true
  ip netns exec "$c1" ping -n -c 60 -i 0.1 -W 1 "$IVG_TUN_GW" >"$IVG_DIR/ping1.log" 2>&1 &
  ping_pid=$!
  sleep 0.5
  ivg_start_client 2
  ivp_wait_log "${IVG_CLIENT_LOG[2]}" "AUTH_FAILED" 20 || ivp_fail "client2 did not get AUTH_FAILED"
  grep -q "authentication failed: tls-verify script (depth 0): exit 1" "$IVG_DP_LOG" ||
    ivp_fail "dpvpn did not log the tls-verify refusal"
  grep -q "Initialization Sequence Completed" "${IVG_CLIENT_LOG[2]}" && ivp_fail "client2 came up"
  wait "$ping_pid" || true
  out=$(<"$IVG_DIR/ping1.log")
  tail -n 2 <<<"$out"
  loss=$(sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p' <<<"$out")
  maxrtt=$(sed -nE 's|^rtt min/avg/max/mdev = [0-9.]+/[0-9.]+/([0-9.]+)/.*|\1|p' <<<"$out")
  [[ $loss == 0 ]] || ivp_fail "client1's pings while client2's tls-verify ran: ${loss:-100}% loss"
  [[ -n $maxrtt ]] || ivp_fail "no RTT summary from ping"
  awk -v m="$maxrtt" 'BEGIN { exit !(m < 100) }' || ivp_fail "client1's max RTT ${maxrtt} ms: a gap over 100 ms"
  ivp_log "tlsverify: client1 60 pings at 100 ms during client2's 3 s script, 0 lost, max RTT ${maxrtt} ms"
  no_temp_files_left
  stop_and_check
  ivp_log "PASS tlsverify"
}

case_nocert() {
  local mode loss pid1 pid2
  ivg_setup "$dpvpn" 2
  write_scripts
  for mode in none optional require; do
    ivg_server_conf "$IVG_DIR/server-$mode.conf" "script-security 2" "tmp-dir $IVG_DIR/tmp" \
      "auth-user-pass-verify $IVG_DIR/verify.sh via-file" "username-as-common-name" "verify-client-cert $mode"
    ivg_start_dpvpn "$IVG_DIR/server-$mode.conf"
    ivg_start_client 1 cert=none extra="auth-user-pass $IVG_DIR/cred-alice-right" extra="auth-nocache"
    pid1=$IVP_LAST_PID
    if [[ $mode == require ]]; then
      ivp_wait_log "$IVG_DP_LOG" "TLS error.*certificate" 20 ||
        ivp_fail "require: dpvpn did not refuse the certificate-less client"
      ivp_log "require: $(grep -m 1 "TLS error.*certificate" "$IVG_DP_LOG")"
      sleep 2
      grep -q "Initialization Sequence Completed" "${IVG_CLIENT_LOG[1]}" &&
        ivp_fail "require: the client without a certificate came up"
    else
      ivg_wait_client 1 || ivp_fail "$mode: the client without a certificate did not connect"
      loss=$(ivp_ping "$(ivg_ns_client 1)" "$IVG_TUN_GW" 5)
      [[ $loss == 0 ]] || ivp_fail "$mode: ping from the certificate-less client: ${loss}% loss"
      grep -q "alice/$(ivg_client_addr 1)" "$IVG_DP_LOG" || ivp_fail "$mode: dpvpn does not name the client by its username"
    fi
    if [[ $mode == optional ]]; then
      ivg_start_client 2 extra="auth-user-pass $IVG_DIR/cred-alice-right" extra="auth-nocache"
      pid2=$IVP_LAST_PID
      ivg_wait_client 2 || ivp_fail "optional: the client with a certificate did not connect"
      loss=$(ivp_ping "$(ivg_ns_client 2)" "$IVG_TUN_GW" 5)
      [[ $loss == 0 ]] || ivp_fail "optional: ping from the client with a certificate: ${loss}% loss"
      stop_client "$pid2"
    fi
    stop_client "$pid1"
    ivp_log "nocert: verify-client-cert $mode ok"
    stop_and_check
    cp "$IVG_DP_LOG" "$IVG_DIR/dpvpn-$mode.log"
  done
  no_temp_files_left
  ivp_log "PASS nocert"
}

case_tlsopts() {
  local pid1 pid
  ivg_setup "$dpvpn" 3
  ivg_server_conf "$IVG_DIR/server.conf" "tls-version-max 1.2" \
    "tls-cipher TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256" "tls-groups secp256r1" \
    "x509-username-field emailAddress" "remote-cert-eku \"TLS Web Client Authentication\""
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1 cert=email1
  pid1=$IVP_LAST_PID
  ivg_wait_client 1 || ivp_fail "client1 (email1) did not connect"
  grep -q "Control Channel: TLSv1.2, cipher TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256" "${IVG_CLIENT_LOG[1]}" ||
    ivp_fail "client1: not TLSv1.2 with ECDHE-ECDSA-AES128-GCM-SHA256: $(grep -m 1 "Control Channel:" "${IVG_CLIENT_LOG[1]}")"
  ivp_log "tlsopts: $(grep -m 1 -o "Control Channel: .*" "${IVG_CLIENT_LOG[1]}")"
  grep -qF "email1@example.test/$(ivg_client_addr 1)" "$IVG_DP_LOG" ||
    ivp_fail "dpvpn does not name client1 by its emailAddress"
  [[ $(ivp_ping "$(ivg_ns_client 1)" "$IVG_TUN_GW" 5) == 0 ]] || ivp_fail "client1: ping loss"
  ivp_log "tlsopts: $(grep -m 1 -F "email1@example.test/" "$IVG_DP_LOG")"

  # Refused: client2's certificate has no emailAddress, client3's no extended key usage.
  ivg_start_client 2 cert=client2
  pid=$IVP_LAST_PID
  ivp_wait_log "$IVG_DP_LOG" "TLS error.*x509-username-field: the certificate has no usable emailAddress" 20 ||
    ivp_fail "dpvpn did not refuse client2 (no emailAddress) in TLS"
  grep -q "Initialization Sequence Completed" "${IVG_CLIENT_LOG[2]}" && ivp_fail "client2 came up"
  stop_client "$pid"
  ivg_start_client 3 cert=emailnoeku
  pid=$IVP_LAST_PID
  ivp_wait_log "$IVG_DP_LOG" "TLS error.*remote-cert-eku: the certificate has no extended key usage" 20 ||
    ivp_fail "dpvpn did not refuse client3 (no EKU) in TLS"
  grep -q "Initialization Sequence Completed" "${IVG_CLIENT_LOG[3]}" && ivp_fail "client3 came up"
  stop_client "$pid"
  ivp_log "tlsopts: $(grep -m 1 -o "TLS error.*remote-cert-eku.*" "$IVG_DP_LOG")"
  stop_client "$pid1"
  stop_and_check
  ivp_log "PASS tlsopts"
}

case "$case_name" in
  verify) case_verify ;;
  slow) case_slow ;;
  connect) case_connect ;;
  token) case_token ;;
  tlsverify) case_tlsverify ;;
  nocert) case_nocert ;;
  tlsopts) case_tlsopts ;;
  *) echo "usage: $0 DPVPN_EXE verify|slow|connect|token|tlsverify|nocert|tlsopts" >&2; exit 2 ;;
esac
