#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# learn-address, up/down, writepid, setenv, session-timeout, push-remove, inactive and
# connect-freq-initial on the dpvpn gateway
# against stock OpenVPN 2.6 clients (gwlib.sh topology):
#
#   netns P-gw: dpvpn, tun0 10.8.0.1/24 (+ fd00:8::1/64 in `learn`); its scripts log to $IVG_DIR
#        |  br0 in P-sw
#   netns P-c1 (client1)   netns P-c2 (client2)
#
# Cases:
#   learn       learn-address: client1 (CCD iroute 192.168.77.0/24, server-ipv6) gets add for
#               10.8.0.2, fd00:8::1000 and 192.168.77.0/24 with its CN, in that order, and after
#               its exit a delete (no CN) for each, never before the add. The script fails
#               client2's adds: client2 still connects (openvpn pushes anyway) but its address is
#               not routed (pings 100% lost, counted as spoofed_src), and it gets no delete.
#   updown      up/down get "tun0 1500 0 10.8.0.1 255.255.255.0 init" and openvpn's environment
#               (down: signal=sigterm); writepid holds dpvpn's pid and goes at exit; setenv and
#               setenv-safe reach a client-connect script; a failing up stops start-up
#   timeout     session-timeout 5: the session ends ~5 s after it began, without a message (as
#               openvpn 2.6); the client notices by its ping-restart and connects again
#   pushremove  `push-remove dhcp-option` in client1's CCD file: client1's PUSH_REPLY has the
#               global route but not the DNS option; client2's has both
#   ccdtimeout  server.conf `session-timeout 60`, client1's CCD file `session-timeout 4`: client1's
#               session ends ~4 s after it began, client2 (no CCD file) stays connected
#   inactive    `inactive 3` with keepalive 1: 5 s of tunnel pings keep client1; once they stop,
#               the keepalive pings alone do not, and the session ends ~3 s later, silently
#   freqinitial `connect-freq-initial 1 60`: client1 gets the window's one reply and connects;
#               client2's resets get none (counted, logged once), so it does not connect
#
# usage: gateway-scripts.sh DPVPN_EXE CASE      Exit: 0 pass, 1 fail, 77 skip (as gateway.sh).
set -euo pipefail
dpvpn=${1:-}
case_name=${2:-}
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/gwlib.sh"

expect_loss() {  # NS ADDR COUNT WANT [ping options...]
  local ns=$1 addr=$2 count=$3 want=$4 loss
  shift 4
  loss=$({ ip netns exec "$ns" ping -n -c "$count" -i 0.2 -W 2 "$@" "$addr" 2>&1 || true; } |
    sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p')
  loss=${loss:-100}
  [[ ${loss%%.*} == "$want" ]] || ivp_fail "ping $* $addr in $ns: ${loss}% loss, expected ${want}%"
}

drop_count() {  # NAME: the exit counter's total (0 when absent)
  awk -v k="$1" '/counters \(exit\):/ { on = 1 } on { for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) n = substr($i, length(k) + 2) }
    END { print n + 0 }' "$IVG_DP_LOG"
}

line_of() {  # FILE LINE: the 1-based number of the first line equal to LINE, 0 if none
  awk -v l="$2" '$0 == l { print NR; found = 1; exit } END { if (!found) print 0 }' "$1"
}

# A script in $IVG_DIR, executable, from stdin.
script() {
  cat >"$IVG_DIR/$1"
  chmod 755 "$IVG_DIR/$1"
}

case_learn() {
  local c1 c2 a add del c1pid
  ivg_setup "$dpvpn" 2
  c1=$(ivg_ns_client 1)
  c2=$(ivg_ns_client 2)
  for a in 1 2; do ip netns exec "$(ivg_ns_client "$a")" sysctl -qw net.ipv6.conf.default.disable_ipv6=0; done
  mkdir -p "$IVG_DIR/ccd"
  echo "iroute 192.168.77.0 255.255.255.0" >"$IVG_DIR/ccd/client1"
  # Logs "ARGS" per call; refuses client2's add/update, slowly, so that ordering is tested too.
  script learn.sh <<EOF
#!/bin/sh
echo "\$*" >>"$IVG_DIR/learn.log"
[ "\$script_type" = learn-address ] || echo "bad script_type '\$script_type'" >>"$IVG_DIR/learn.log"
if [ "\$3" = client2 ]; then sleep 0.3; exit 1; fi
exit 0
EOF
  ivg_server_conf "$IVG_DIR/server.conf" "script-security 2" "learn-address $IVG_DIR/learn.sh" \
    "server-ipv6 fd00:8::/64" "client-config-dir $IVG_DIR/ccd" "route 192.168.77.0 255.255.255.0"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  c1pid=$IVP_LAST_PID
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  for a in "add 10.8.0.2 client1" "add fd00:8::1000 client1" "add 192.168.77.0/24 client1"; do
    [[ $(line_of "$IVG_DIR/learn.log" "$a") != 0 ]] || ivp_fail "learn-address was not called with '$a'"
  done
  (($(line_of "$IVG_DIR/learn.log" "add 10.8.0.2 client1") < $(line_of "$IVG_DIR/learn.log" "add 192.168.77.0/24 client1"))) ||
    ivp_fail "client1's iroute was learned before its address"
  expect_loss "$c1" "$IVG_TUN_GW" 5 0
  expect_loss "$c1" fd00:8::1 5 0

  ivg_start_client 2
  ivg_wait_client 2 || ivp_fail "client2 did not connect (openvpn connects a client whose learn-address add failed)"
  [[ $(line_of "$IVG_DIR/learn.log" "add 10.8.0.3 client2") != 0 ]] || ivp_fail "no learn-address add for client2"
  grep -q "learn-address add 10.8.0.3 failed" "$IVG_DP_LOG" || ivp_fail "the failed add is not in the gateway log"
  expect_loss "$c2" "$IVG_TUN_GW" 5 100
  expect_loss "$c1" "$IVG_TUN_GW" 3 0

  # client1 leaves (explicit-exit-notify): a delete for each of its addresses, after the add.
  kill -TERM "$c1pid"
  ivp_wait_log "$IVG_DIR/learn.log" "^delete 192.168.77.0/24$" 20 || ivp_fail "no delete for client1's iroute"
  for a in 10.8.0.2 fd00:8::1000 192.168.77.0/24; do
    del=$(line_of "$IVG_DIR/learn.log" "delete $a")
    add=$(line_of "$IVG_DIR/learn.log" "add $a client1")
    ((del != 0)) || ivp_fail "no 'delete $a' after client1 left"
    ((del > add)) || ivp_fail "'delete $a' (line $del) came before its add (line $add)"
  done
  stop_and_check
  grep -q "delete 10.8.0.3" "$IVG_DIR/learn.log" && ivp_fail "client2's address was never learned but got a delete"
  grep -q "bad script_type" "$IVG_DIR/learn.log" && ivp_fail "learn-address saw a wrong script_type"
  (($(drop_count spoofed_src) >= 5)) || ivp_fail "client2's pings were not dropped as spoofed_src ($(drop_count spoofed_src))"
  ivp_log "learn-address calls:"
  cat "$IVG_DIR/learn.log" >&2
  ivp_log "PASS learn"
}

case_updown() {
  local want pid rc
  ivg_setup "$dpvpn" 1
  for s in up down; do
    script "$s.sh" <<EOF
#!/bin/sh
echo "\$*" >"$IVG_DIR/$s.log"
echo "script_type=\$script_type dev=\$dev dev_type=\$dev_type tun_mtu=\$tun_mtu ifconfig_local=\$ifconfig_local ifconfig_netmask=\$ifconfig_netmask signal=\$signal SITE=\$SITE" >>"$IVG_DIR/$s.log"
EOF
  done
  script connect.sh <<EOF
#!/bin/sh
echo "SITE=\$SITE OPENVPN_ZONE=\$OPENVPN_ZONE common_name=\$common_name" >"$IVG_DIR/connect.log"
EOF
  ivg_server_conf "$IVG_DIR/server.conf" "script-security 2" "up $IVG_DIR/up.sh" "down $IVG_DIR/down.sh" \
    "writepid $IVG_DIR/dpvpn.pid" "setenv SITE lab-1" "setenv-safe ZONE z1" "client-connect $IVG_DIR/connect.sh"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  want="tun0 1500 0 10.8.0.1 255.255.255.0 init"
  [[ $(head -n 1 "$IVG_DIR/up.log") == "$want" ]] || ivp_fail "up got '$(head -n 1 "$IVG_DIR/up.log")', expected '$want'"
  grep -q "script_type=up dev=tun0 dev_type=tun tun_mtu=1500 ifconfig_local=10.8.0.1 ifconfig_netmask=255.255.255.0 signal= SITE=lab-1" \
    "$IVG_DIR/up.log" || ivp_fail "up's environment: $(tail -n 1 "$IVG_DIR/up.log")"
  pid=$(cat "$IVG_DIR/dpvpn.pid")
  [[ $pid == "$IVG_DP_PID" ]] || ivp_fail "writepid file says '$pid', dpvpn is $IVG_DP_PID"
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  [[ $(cat "$IVG_DIR/connect.log") == "SITE=lab-1 OPENVPN_ZONE=z1 common_name=client1" ]] ||
    ivp_fail "client-connect saw '$(cat "$IVG_DIR/connect.log")'"
  [[ -e $IVG_DIR/down.log ]] && ivp_fail "down ran before exit"
  stop_and_check
  [[ $(head -n 1 "$IVG_DIR/down.log") == "$want" ]] || ivp_fail "down got '$(head -n 1 "$IVG_DIR/down.log")', expected '$want'"
  grep -q "script_type=down dev=tun0 dev_type= tun_mtu=1500 ifconfig_local=10.8.0.1 ifconfig_netmask=255.255.255.0 signal=sigterm SITE=lab-1" \
    "$IVG_DIR/down.log" || ivp_fail "down's environment: $(tail -n 1 "$IVG_DIR/down.log")"
  [[ -e $IVG_DIR/dpvpn.pid ]] && ivp_fail "the writepid file is still there after exit"

  # A failing up script stops start-up (openvpn: fatal).
  ivg_server_conf "$IVG_DIR/server2.conf" "script-security 2" "up /bin/false"
  rc=0
  timeout 60 ip netns exec "$IVG_NS_GW" "$IVG_DPVPN" --no-huge -m 1024 --no-shconf --no-pci -l 0-1 \
    --file-prefix "$IVG_PREFIX" --vdev=net_af_packet0,iface=gw-wan,qpairs=2 -- --config "$IVG_DIR/server2.conf" \
    >"$IVG_DIR/dpvpn2.log" 2>&1 || rc=$?
  ((rc != 0 && rc != 124)) || ivp_fail "dpvpn with a failing up script: exit status $rc, expected an error"
  grep -q "up script: exit 1" "$IVG_DIR/dpvpn2.log" || ivp_fail "no 'up script: exit 1' in $(tail -n 3 "$IVG_DIR/dpvpn2.log")"
  ivp_log "PASS updown"
}

case_timeout() {
  local t0 t1 n i
  ivg_setup "$dpvpn" 1
  # keepalive 1 4 (the later line wins): the client's ping-restart is 4 s.
  ivg_server_conf "$IVG_DIR/server.conf" "session-timeout 5" "keepalive 1 4"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  t0=$(date +%s.%N)
  expect_loss "$(ivg_ns_client 1)" "$IVG_TUN_GW" 3 0
  ivp_wait_log "$IVG_DP_LOG" "session closed: session-timeout" 15 || ivp_fail "the session did not time out"
  t1=$(date +%s.%N)
  # Connected (t0) comes after the session began: it ends 5 s after its start, so 3.5..7 s after t0.
  awk -v a="$t0" -v b="$t1" 'BEGIN { d = b - a; exit !(d >= 3.5 && d <= 7) }' ||
    ivp_fail "session-timeout 5 ended the session $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s after connect"
  expect_loss "$(ivg_ns_client 1)" "$IVG_TUN_GW" 3 100
  ivp_wait_log "${IVG_CLIENT_LOG[1]}" "Inactivity timeout \(--ping-restart\), restarting" 15 ||
    ivp_fail "the client did not notice by its ping-restart"
  grep -Eq "control message.*(RESTART|HALT|EXIT)|AUTH_FAILED" "${IVG_CLIENT_LOG[1]}" &&
    ivp_fail "the client was sent a message (openvpn 2.6 sends none on session-timeout)"
  n=$(grep -c "Initialization Sequence Completed" "${IVG_CLIENT_LOG[1]}" || true)
  for ((i = 0; i < 150 && n < 2; i++)); do sleep 0.2; n=$(grep -c "Initialization Sequence Completed" "${IVG_CLIENT_LOG[1]}" || true); done
  ((n >= 2)) || ivp_fail "the client did not connect again after its ping-restart"
  stop_and_check
  ivp_log "PASS timeout"
}

case_pushremove() {
  ivg_setup "$dpvpn" 2
  mkdir -p "$IVG_DIR/ccd"
  echo "push-remove dhcp-option" >"$IVG_DIR/ccd/client1"
  ivg_server_conf "$IVG_DIR/server.conf" "client-config-dir $IVG_DIR/ccd" 'push "route 10.99.0.0 255.255.0.0"' \
    'push "dhcp-option DNS 10.8.0.53"'
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_start_client 2
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  ivg_wait_client 2 || ivp_fail "client2 did not connect"
  grep "PUSH_REPLY" "${IVG_CLIENT_LOG[1]}" | grep -q "route 10.99.0.0 255.255.0.0" || ivp_fail "client1 lost the global route"
  grep "PUSH_REPLY" "${IVG_CLIENT_LOG[1]}" | grep -q "dhcp-option" && ivp_fail "client1 still got the dhcp-option"
  grep "PUSH_REPLY" "${IVG_CLIENT_LOG[2]}" | grep -q "dhcp-option DNS 10.8.0.53" || ivp_fail "client2 did not get the dhcp-option"
  grep "PUSH_REPLY" "${IVG_CLIENT_LOG[2]}" | grep -q "route 10.99.0.0 255.255.0.0" || ivp_fail "client2 did not get the route"
  expect_loss "$(ivg_ns_client 1)" "$IVG_TUN_GW" 3 0
  stop_and_check
  ivp_log "PASS pushremove"
}

case_ccdtimeout() {
  local t0 t1
  ivg_setup "$dpvpn" 2
  mkdir -p "$IVG_DIR/ccd"
  echo "session-timeout 4" >"$IVG_DIR/ccd/client1"
  ivg_server_conf "$IVG_DIR/server.conf" "client-config-dir $IVG_DIR/ccd" "session-timeout 60" "keepalive 1 30"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_start_client 2
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  t0=$(date +%s.%N)
  ivg_wait_client 2 || ivp_fail "client2 did not connect"
  ivp_wait_log "$IVG_DP_LOG" "session closed: session-timeout \\(4 s\\)" 15 || ivp_fail "client1's CCD session-timeout 4 did not end it"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { d = b - a; exit !(d >= 2 && d <= 6) }' ||
    ivp_fail "CCD session-timeout 4 ended the session $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s after connect"
  expect_loss "$(ivg_ns_client 1)" "$IVG_TUN_GW" 2 100
  expect_loss "$(ivg_ns_client 2)" "$IVG_TUN_GW" 3 0
  [[ $(grep -c "session closed: session-timeout" "$IVG_DP_LOG") == 1 ]] || ivp_fail "another session timed out: $(grep "session closed" "$IVG_DP_LOG")"
  stop_and_check
  ivp_log "PASS ccdtimeout"
}

case_inactive() {
  local t0 t1
  ivg_setup "$dpvpn" 1
  ivg_server_conf "$IVG_DIR/server.conf" "inactive 3" "keepalive 1 10"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  expect_loss "$(ivg_ns_client 1)" "$IVG_TUN_GW" 25 0  # 5 s of tunnel traffic, past the 3 s
  grep -q "session closed: inactivity" "$IVG_DP_LOG" && ivp_fail "the client was ended while its tunnel carried traffic"
  t0=$(date +%s.%N)
  ivp_wait_log "$IVG_DP_LOG" "session closed: inactivity timeout \\(--inactive 3 s\\)" 10 || ivp_fail "the idle client was not ended"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { d = b - a; exit !(d >= 2 && d <= 5) }' ||
    ivp_fail "inactive 3 ended the client $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s after its last tunnel packet"
  grep -Eq "control message.*(RESTART|HALT|EXIT)|AUTH_FAILED" "${IVG_CLIENT_LOG[1]}" &&
    ivp_fail "the client was sent a message (openvpn 2.6 sends none on --inactive)"
  expect_loss "$(ivg_ns_client 1)" "$IVG_TUN_GW" 2 100
  stop_and_check
  ivp_log "PASS inactive"
}

case_freqinitial() {
  ivg_setup "$dpvpn" 2
  ivg_server_conf "$IVG_DIR/server.conf" "connect-freq-initial 1 60"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  ivg_start_client 2
  ivp_wait_log "$IVG_DP_LOG" "connect-freq-initial 1 60 rate limit exceeded" 10 || ivp_fail "no rate-limit note for client2's reset"
  sleep 4  # client2 retries its reset meanwhile
  grep -q "Initialization Sequence Completed" "${IVG_CLIENT_LOG[2]}" && ivp_fail "client2 connected past the limit"
  [[ $(grep -c "rate limit exceeded" "$IVG_DP_LOG") == 1 ]] || ivp_fail "the note was logged more than once per window"
  expect_loss "$(ivg_ns_client 1)" "$IVG_TUN_GW" 3 0
  stop_and_check
  grep -Eq "connect-freq-initial dropped [1-9]" "$IVG_DP_LOG" || ivp_fail "the refused resets were not counted"
  ivp_log "PASS freqinitial"
}

case "$case_name" in
  learn) case_learn ;;
  updown) case_updown ;;
  timeout) case_timeout ;;
  pushremove) case_pushremove ;;
  ccdtimeout) case_ccdtimeout ;;
  inactive) case_inactive ;;
  freqinitial) case_freqinitial ;;
  *) echo "usage: $0 DPVPN_EXE learn|updown|timeout|pushremove|ccdtimeout|inactive|freqinitial" >&2; exit 2 ;;
esac
