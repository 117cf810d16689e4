#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Black-box hostile suite (issue 11 item 3): the dpvpn gateway under floods and abuse from an
# attacker namespace on the same bridge, with stock OpenVPN 2.6 clients beside it.
#
#                     netns <prefix>-sw: bridge br0 (no addresses)
#        +------------------+------------------+------------------+
#        | sw-gw            | sw-c1            | sw-c2            | sw-cN (attacker, the last one)
#   <prefix>-gw             <prefix>-c1        <prefix>-c2        <prefix>-cN
#   dpvpn 10.203.0.1:1194   10.203.0.11        10.203.0.12        10.203.0.(10+N): python3
#   (af_packet on gw-wan)   stock openvpn      stock openvpn      hostile.py (UDP and AF_PACKET)
#
# Spoofed sources are drawn from 10.204.0.0/16; dpvpn answers them at the attacker's MAC, whose
# kernel drops them (not its address). Nothing has a route out of these namespaces.
# Prefix: IVG_PREFIX (default ivgh).
#
# Cases (usage: hostile.sh DPVPN_EXE CASE [--long]; short: 15 s floods at 50 000 packets/s;
# --long or HOSTILE_LONG=1: 80 s at the highest rate hostile.py reaches):
#   s1      same-address restart at capacity: max-clients 1, a client with a fixed lport is killed
#           with SIGKILL and restarted 1.2 s later (3 times, 6 in --long); it reconnects each time
#   s1fast  the same with the restart in the same second as the killed client's start (the old
#           session must see the new session id before its tls-crypt replay window)
#   s2      a HARD_RESET_CLIENT_V2 flood from 10 000 spoofed address/port pairs, no tls-auth or
#           tls-crypt (every reset earns a cookie reply); meanwhile client1 pings and renegotiates
#           (reneg-sec 10) and client2 connects. Pass: client2 up in < 5 s, loss < 1 %,
#           dpvpn's VmRSS grows < 20 MB, client1 renegotiated
#   s2auth  the same with tls-auth on both sides: the flood carries random HMACs
#   s2crypt the same with tls-crypt: the flood's resets are random after the session id
#   s2v2    the same with tls-crypt-v2: HARD_RESET_CLIENT_V3 with a random WKc of a valid length.
#           With a wrapping key (s2auth, s2crypt, s2v2) at least 99 % of the forgeries must be
#           dropped on the worker lcores (ctl_unauth), never reaching the control thread
#   s3      half-open exhaustion: 2 000 UDP ports of one address each send a reset and echo the
#           cookie in a P_ACK_V1 (§4.2), so each creates a session; then client1 must connect
#           within 15 s (dpvpn keeps at most 64 half-open sessions per source address and
#           refuses the rest)
#   s6      client1's data packet is held back at the bridge and sent from client2's address
#           (float_taken), then replayed from the attacker (replay); then garbage P_DATA_V2 at
#           peer-ids 0..15 while client1 pings. Pass: loss < 1 %, the drops counted, both
#           clients still work, no mbuf leaked
#
# Every case ends with dpvpn stopped by SIGTERM, exit status 0 and "mbufs in use at exit: 0".
# Each prints one "RESULT <case>: ..." line with what it measured.
# Exit: 0 pass, 1 fail, 77 skip (not root, tools or DPDK/af_packet missing, or a known failure).
set -euo pipefail
dpvpn=${1:-}
case_name=${2:-}
long=${HOSTILE_LONG:-0}
[[ ${3:-} != --long ]] || long=1
export IVG_PREFIX=${IVG_PREFIX:-ivgh}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../interop/gwlib.sh
source "$here/../interop/gwlib.sh"
command -v python3 >/dev/null 2>&1 || { ivp_log "SKIP: python3 not installed"; exit 77; }

# --long: the legitimate client of s3 waits until the half-open sessions expire (hand-window 60 s).
# Flood rate: HOSTILE_PPS, or 50 000/s in the short (CI) mode, and as fast as hostile.py goes
# (0) in --long.
if ((long)); then flood_s=80 s3_wait=90 pps=${HOSTILE_PPS:-0}; else flood_s=15 s3_wait=15 pps=${HOSTILE_PPS:-50000}; fi

# py NS ARGS...: hostile.py in namespace NS, output to stdout.
py() {
  local ns=$1
  shift
  ip netns exec "$ns" python3 "$here/hostile.py" "$@"
}
# kv KEY TEXT: the value of a key=value line.
kv() { sed -n "s/^$1=//p" <<<"$2" | tail -n 1; }
gw_mac() { ip netns exec "$IVG_NS_GW" cat /sys/class/net/gw-wan/address; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$IVG_DP_PID/status"; }
now() { date +%s.%N; }
# softnet_drops: packets the kernel dropped because a CPU's backlog was full (all CPUs; the veths
# and the bridge of the test go through it, so it tells whether a loss happened outside dpvpn).
softnet_drops() {
  local s=0 b
  while read -r _ b _; do s=$((s + 16#$b)); done </proc/net/softnet_stat
  echo "$s"
}
# drop_count NAME: a drop counter from dpvpn's exit counters (0 if absent).
drop_count() { ivg_print_counters | grep -oE "[ ]$1=[0-9]+" | tail -n 1 | cut -d= -f2 || true; }
# loss_of FILE: ping's loss in percent (100 without a summary).
loss_of() {
  local l
  l=$(sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p' "$1")
  echo "${l:-100}"
}
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
forget_pid() {
  local keep=() p
  for p in "${IVP_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  IVP_PIDS=("${keep[@]}")
}
# no_wrap_conf FILE [LINES...]: gwlib's server config without its tls-crypt line.
no_wrap_conf() {
  local f=$1
  shift
  ivg_server_conf "$f" "$@"
  sed -i '/^tls-crypt /d' "$f"
}
# ping_bg NS COUNT LOG: 20 pings a second to the gateway's tun address, in the background.
ping_bg() {
  ivp_run "$1" "$3" ping -n -q -i 0.05 -W 2 -c "$2" "$IVG_TUN_GW"
  PING_PID=$IVP_LAST_PID
}
wait_pid() {
  wait "$1" 2>/dev/null || true
  forget_pid "$1"
}
# ok_ping I: 10 pings from clientI with 0 % loss.
ok_ping() {
  local loss
  loss=$(ivp_ping "$(ivg_ns_client "$1")" "$IVG_TUN_GW" 10)
  [[ $loss == 0 ]] || ivp_fail "client$1 after the attack: ${loss}% ping loss"
}

# case_s1 GAP: each round kills client1 (SIGKILL) and restarts it from the same address and port
# GAP seconds later. With GAP 0 the new client starts in the same second as the one it replaces
# (the round starts on a second boundary), so both use the same tls-crypt replay time.
case_s1() {
  local gap=$1 rounds=3 r pid name=s1
  ((long)) && rounds=6
  [[ $gap == 0 ]] && name=s1fast
  ivg_setup "$dpvpn" 1
  ivg_server_conf "$IVG_DIR/server.conf" "max-clients 1"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivp_client_conf "$IVG_DIR/client1.conf" cert=client1 remote="$IVG_GW_ADDR" ciphers=AES-256-GCM:CHACHA20-POLY1305
  sed -i 's/^nobind$/lport 41194/' "$IVG_DIR/client1.conf"
  pid=""
  for ((r = 1; r <= rounds; r++)); do
    if [[ $gap == 0 || -z $pid ]]; then
      [[ -z $pid ]] || { kill -KILL "$pid"; wait_pid "$pid"; }
      sleep "$(printf '0.%03d' $((999 - 10#$(date +%N | cut -c1-3))))"  # to the next second boundary
      IVG_CLIENT_LOG[1]=$IVG_DIR/client1-$r-first.log
      ivp_run_openvpn "$(ivg_ns_client 1)" "$IVG_DIR/client1.conf" "${IVG_CLIENT_LOG[1]}"
      pid=$IVP_LAST_PID
      ivg_wait_client 1 || ivp_fail "client1 did not connect"
    fi
    kill -KILL "$pid"; wait_pid "$pid"
    sleep "$gap"
    IVG_CLIENT_LOG[1]=$IVG_DIR/client1-$r.log
    ivp_run_openvpn "$(ivg_ns_client 1)" "$IVG_DIR/client1.conf" "${IVG_CLIENT_LOG[1]}"
    pid=$IVP_LAST_PID
    ivg_wait_client 1 20 || ivp_fail "restart $r: client1 did not reconnect from the same address at max-clients 1"
    ok_ping 1
  done
  kill -0 "$IVG_DP_PID" 2>/dev/null || ivp_fail "dpvpn died"
  stop_and_check
  grep -q "max-clients reached" "$IVG_DP_LOG" && ivp_fail "a restarted client was refused at max-clients 1"
  echo "RESULT $name: $rounds SIGKILL restarts (${gap} s later) from 10.203.0.11:41194 at max-clients 1, each reconnected"
  ivp_log "PASS $name"
}

# case_s2 WRAP: WRAP none or tls-auth.
case_s2() {
  local wrap=$1 name=s2 hmac=0 tail=0 wkc=0 lcore_drops front rss0 rss1 t0 t1 conn n0 n1 out loss sent rate rx flood_pid sd0 sd1
  ivg_setup "$dpvpn" 3
  if [[ $wrap == tls-auth ]]; then
    name=s2auth hmac=20  # auth SHA1 (the default): a 20-byte HMAC
    ivg_server_conf "$IVG_DIR/server.conf" "reneg-sec 10"
    sed -i "s|^tls-crypt .*|tls-auth $IVP_PKI/ta.key 0|" "$IVG_DIR/server.conf"
  elif [[ $wrap == tls-crypt-v2 ]]; then
    name=s2v2 tail=45 wkc=$((2 + 256 + 32 + 2))  # a WKc with a 2-byte metadata (client key, tag, len)
    ivg_server_conf "$IVG_DIR/server.conf" "reneg-sec 10"
    sed -i "s|^tls-crypt .*|tls-crypt-v2 $IVP_PKI/tc2-server.key|" "$IVG_DIR/server.conf"
  elif [[ $wrap == tls-crypt ]]; then
    name=s2crypt tail=45  # replay id 8, tag 32, a 5-byte body: 54 bytes as a real one (§1.6)
    ivg_server_conf "$IVG_DIR/server.conf" "reneg-sec 10"
  else
    no_wrap_conf "$IVG_DIR/server.conf" "reneg-sec 10"
  fi
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1 wrap="$wrap"
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  ok_ping 1
  rss0=$(rss_kb)
  n0=$(grep -c "Control Channel:" "${IVG_CLIENT_LOG[1]}" || true)
  sd0=$(softnet_drops)

  ivp_run "$(ivg_ns_client 3)" "$IVG_DIR/flood.log" python3 "$here/hostile.py" reset-flood --iface wan \
    --dst-mac "$(gw_mac)" --dst "$IVG_GW_ADDR" --sources 10000 --hmac-len "$hmac" --random-tail "$tail" --wkc-len "$wkc" --seconds "$flood_s" --pps "$pps"
  flood_pid=$IVP_LAST_PID
  sleep 1
  ping_bg "$(ivg_ns_client 1)" $(((flood_s - 4) * 20)) "$IVG_DIR/ping1.log"
  sleep 1
  t0=$(now)
  ivg_start_client 2 wrap="$wrap"
  ivg_wait_client 2 15 || ivp_fail "client2 did not connect during the flood within 15 s"
  t1=$(now)
  conn=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  wait_pid "$PING_PID"
  rss1=$(rss_kb)
  wait_pid "$flood_pid"
  sd1=$(softnet_drops)
  out=$(cat "$IVG_DIR/flood.log")
  sent=$(kv sent "$out") rate=$(kv pps "$out")
  [[ -n $sent ]] || ivp_fail "the flood did not run: $out"
  loss=$(loss_of "$IVG_DIR/ping1.log")
  n1=$(grep -c "Control Channel:" "${IVG_CLIENT_LOG[1]}" || true)
  ok_ping 1
  ok_ping 2
  kill -0 "$IVG_DP_PID" 2>/dev/null || ivp_fail "dpvpn died during the flood"
  stop_and_check
  rx=$(ivg_print_counters | grep -oE "wan rx [0-9]+" | awk '{s += $3} END {print s + 0}')
  # Where the flood died: on the workers (tls-auth / tls-crypt checked there, front_filter.h) or
  # on the control thread (server_front: cookie replies, failed unwraps).
  lcore_drops=$({ grep -oE "ctl_unauth=[0-9]+" "$IVG_DP_LOG" || true; } | awk -F= '{v = $2} END {print v + 0}')
  front=$(sed -nE 's/.*cookie\/front drops ([0-9]+),.*/\1/p' "$IVG_DP_LOG" | tail -n 1)
  echo "RESULT $name: flood ${rate} pps for $(kv seconds "$out") s ($sent resets from 10000 sources, $(kv send_errors "$out") send errors, dpvpn wan rx $rx);" \
    "dropped on the lcores $lcore_drops, control-thread front drops ${front:-?};" \
    "client2 connected in ${conn} s; client1 ping loss ${loss} %, $((n1 - n0)) renegotiation(s);" \
    "dpvpn VmRSS ${rss0} -> ${rss1} kB ($(((rss1 - rss0) / 1024)) MB); kernel backlog drops $((sd1 - sd0))"
  lt "$conn" 5 || ivp_fail "client2 took ${conn} s to connect (limit 5 s)"
  lt "$loss" 1 || ivp_fail "client1 lost ${loss} % of its pings during the flood (limit 1 %)"
  ((rss1 - rss0 < 20 * 1024)) || ivp_fail "dpvpn's RSS grew by $(((rss1 - rss0) / 1024)) MB (limit 20)"
  ((n1 > n0)) || ivp_fail "client1 did not renegotiate during the flood"
  # With a wrapping key the forgeries never reach the control thread.
  if [[ $wrap != none ]] && ((lcore_drops * 100 < sent * 99)); then
    ivp_fail "only $lcore_drops of $sent forged resets were dropped on the lcores"
  fi
  ivp_log "PASS $name"
}

case_s3() {
  local out clients refused t0 t1 conn got=0
  ivg_setup "$dpvpn" 2
  no_wrap_conf "$IVG_DIR/server.conf"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  out=$(py "$(ivg_ns_client 2)" halfopen --dst "$IVG_GW_ADDR" --ports 2000 --seconds 40)
  ivp_log "half-open: $(tr '\n' ' ' <<<"$out")"
  [[ $(kv acks "$out") -gt 0 ]] || ivp_fail "no cookie reply was echoed: $out"
  t0=$(now)
  ivg_start_client 1 wrap=none
  ivg_wait_client 1 "$s3_wait" && got=1
  t1=$(now)
  conn=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  kill -0 "$IVG_DP_PID" 2>/dev/null || ivp_fail "dpvpn died"
  stop_and_check
  clients=$(sed -nE 's/.*control: clients ([0-9]+),.*/\1/p' "$IVG_DP_LOG" | tail -n 1)
  refused=$(sed -nE 's/.*, refused ([0-9]+),.*/\1/p' "$IVG_DP_LOG" | tail -n 1)
  echo "RESULT s3: 2000 ports of 10.203.0.12: $(kv replies "$out") cookie replies, $(kv acks "$out") echoed;" \
    "dpvpn held ${clients:-?} sessions at exit, refused ${refused:-?};" \
    "legitimate client $( ((got)) && echo "connected in $conn s" || echo "NOT connected within $s3_wait s")"
  # Connected only once the half-open sessions expired (hand-window) is not a pass.
  if ((got)) && lt "$conn" 15; then ivp_log "PASS s3"; return 0; fi
  ivp_fail "s3: the legitimate client did not get in while one address held half-open sessions"
}

case_s6() {
  local c2port out loss n sent rate flood_pid held sd0 sd1
  ivg_setup "$dpvpn" 3
  ivg_server_conf "$IVG_DIR/server.conf"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_start_client 2
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  ivg_wait_client 2 || ivp_fail "client2 did not connect"
  ok_ping 1

  # Hold back one of client1's data packets at the bridge: AF_PACKET sees sw-c1's frames before
  # the bridge drops them (port state disabled for a moment).
  bridge -n "$IVG_NS_SW" link set dev sw-c1 state 0
  ivp_run "$IVG_NS_SW" "$IVG_DIR/capture.log" python3 "$here/hostile.py" capture --iface sw-c1 \
    --dst "$IVG_GW_ADDR" --out "$IVG_DIR/held.hex" --seconds 10
  local cap_pid=$IVP_LAST_PID
  sleep 0.5
  ip netns exec "$(ivg_ns_client 1)" ping -n -q -c 3 -i 0.3 -W 1 "$IVG_TUN_GW" >/dev/null 2>&1 || true
  wait_pid "$cap_pid"
  bridge -n "$IVG_NS_SW" link set dev sw-c1 state 3
  [[ -s $IVG_DIR/held.hex ]] || ivp_fail "no data packet of client1 captured: $(cat "$IVG_DIR/capture.log")"
  held=$(kv length "$(cat "$IVG_DIR/capture.log")")

  # client2's address and port: where its openvpn sends from.
  c2port=$(ip netns exec "$(ivg_ns_client 2)" ss -Huan | awk '{print $4}' | grep -m1 -oE ':[0-9]+$' | tr -d :)
  [[ -n $c2port ]] || ivp_fail "client2's UDP port not found"
  py "$(ivg_ns_client 2)" replay --iface wan --frame "$IVG_DIR/held.hex" --src "$(ivg_client_addr 2)" --sport "$c2port" --count 1 >/dev/null
  py "$(ivg_ns_client 3)" replay --iface wan --frame "$IVG_DIR/held.hex" --src "$(ivg_client_addr 3)" --sport 40000 --count 50 >/dev/null
  ok_ping 1
  ok_ping 2

  ivp_run "$(ivg_ns_client 3)" "$IVG_DIR/flood.log" python3 "$here/hostile.py" data-flood --iface wan \
    --dst-mac "$(gw_mac)" --dst "$IVG_GW_ADDR" --src "$(ivg_client_addr 3)" --peers 16 --seconds "$flood_s" --pps "$pps"
  flood_pid=$IVP_LAST_PID
  sd0=$(softnet_drops)
  sleep 1
  ping_bg "$(ivg_ns_client 1)" $(((flood_s - 3) * 20)) "$IVG_DIR/ping1.log"
  wait_pid "$PING_PID"
  wait_pid "$flood_pid"
  sd1=$(softnet_drops)
  out=$(cat "$IVG_DIR/flood.log")
  sent=$(kv sent "$out") rate=$(kv pps "$out")
  [[ -n $sent ]] || ivp_fail "the flood did not run: $out"
  loss=$(loss_of "$IVG_DIR/ping1.log")
  ok_ping 1
  ok_ping 2
  kill -0 "$IVG_DP_PID" 2>/dev/null || ivp_fail "dpvpn died during the flood"
  stop_and_check
  local ft rp bt up
  ft=$(drop_count float_taken) rp=$(drop_count replay) bt=$(drop_count bad_tag) up=$(drop_count unknown_peer)
  echo "RESULT s6: held packet ($held B) from client2's address -> float_taken=${ft:-0}, 50 replays from the attacker -> replay=${rp:-0};" \
    "garbage DATA_V2 flood ${rate} pps for $(kv seconds "$out") s ($sent sent) -> bad_tag=${bt:-0} unknown_peer=${up:-0}; client1 ping loss ${loss} %; kernel backlog drops $((sd1 - sd0))"
  lt "$loss" 1 || ivp_fail "client1 lost ${loss} % of its pings during the flood (limit 1 %)"
  ((${ft:-0} >= 1)) || ivp_fail "the held packet from client2's address was not counted as float_taken"
  ((${rp:-0} >= 50)) || ivp_fail "the replays were not all counted as replay"
  n=$((${bt:-0} + ${up:-0}))
  ((n > 0)) || ivp_fail "the garbage flood was not counted (bad_tag/unknown_peer)"
  ivp_log "PASS s6"
}

case $case_name in
  s1) case_s1 1.2 ;;
  s1fast) case_s1 0 ;;
  s2) case_s2 none ;;
  s2auth) case_s2 tls-auth ;;
  s2v2) case_s2 tls-crypt-v2 ;;
  s2crypt) case_s2 tls-crypt ;;
  s3) case_s3 ;;
  s6) case_s6 ;;
  *) echo "usage: $0 DPVPN_EXE s1|s1fast|s2|s2auth|s2crypt|s2v2|s3|s6 [--long]" >&2; exit 2 ;;
esac
