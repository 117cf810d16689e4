#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Old-client compatibility, liveness and CRL of the dpvpn gateway with stock OpenVPN 2.6 clients
# (topology: gwlib.sh; clients in <prefix>-c1..cN, the gateway owns 10.203.0.1).
#
# Cases:
#   old24      a 2.4-style client (`cipher AES-256-CBC`, `auth SHA256`, `comp-lzo no`, no
#              data-ciphers) against a server with `comp-lzo no` (§9.1: the server frames every
#              client with 0xFA and does not push it), and a client whose only data cipher is
#              AES-256-CBC (CBC+HMAC-SHA256 through the DPDK dataplane, §8.2): both connect with
#              the expected cipher and pass 0 % loss pings both ways
#   restart    `keepalive 1 5` (server ping-restart 10 s), `max-clients 1`: client1 is killed
#              (SIGKILL, no exit notification); client2 is refused while client1's session
#              lives, then connects after ping-restart removed client1 and gets its address and
#              peer-id; the gateway log says why client1 was removed
#   samerestart `max-clients 1`, a client with a fixed `lport`: it connects, is killed with SIGKILL
#              and started again from the same address and port (a new session id). The new
#              session replaces the old one at capacity (issue 11 F1: this freed the old client and
#              then used it) and pings; the gateway says why the old one was closed
#   exitnotify a client with explicit-exit-notify stopped with SIGTERM is removed at once (its
#              address is given to the next client within 2 s); SIGTERM to dpvpn makes the
#              connected client log the server-pushed restart
#   crl        crl-verify: the revoked client is refused, client1 connects; the CRL file is
#              replaced (mv) by one that also revokes client2, without restarting dpvpn: client2
#              is refused, client1 keeps working and can reconnect
#   sport      only the client's outer source port changes mid-session (a UDP relay in the
#              client namespace moves to a new socket, as a NAT rebinding does): pings continue,
#              no new handshake, the gateway follows the new port
#   net30      `topology net30` (OpenVPN's default, still in many old configs): two clients get
#              a /30 each (10.8.0.6 and 10.8.0.10, ifconfig peers .5 and .9) and reach the
#              gateway's 10.8.0.1 through the pushed route; pings both ways
#
# usage: gateway-compat.sh DPVPN_EXE CASE
# Exit: 0 pass, 1 fail, 77 skip (not root, no /dev/net/tun, tools or DPDK/af_packet missing).
set -euo pipefail
dpvpn=${1:-}
case_name=${2:-}
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/gwlib.sh"

# ping_both I: 0 % loss client I -> gateway and gateway -> client I's VPN address.
ping_both() {
  local i=$1 ns vpn loss
  ns=$(ivg_ns_client "$i")
  vpn=$(ivg_client_vpn_addr "$i")
  [[ -n $vpn ]] || ivp_fail "client$i has no VPN address"
  loss=$(ivp_ping "$ns" "$IVG_TUN_GW" 10)
  [[ $loss == 0 ]] || ivp_fail "ping client$i -> $IVG_TUN_GW: ${loss}% loss"
  loss=$(ivp_ping "$IVG_NS_GW" "$vpn" 10)
  [[ $loss == 0 ]] || ivp_fail "ping $IVG_TUN_GW -> client$i ($vpn): ${loss}% loss"
  ivp_log "client$i ($vpn): 10/10 pings each way"
}

# start_client_edited I SED_EXPR [conf options...]: like ivg_start_client, with the generated
# config edited by SED_EXPR first (lib.sh always writes a data-ciphers line).
start_client_edited() {
  local i=$1 expr=$2
  shift 2
  ivp_client_conf "$IVG_DIR/client$i.conf" cert="client$i" remote="$IVG_GW_ADDR" "$@"
  sed -i -e "$expr" "$IVG_DIR/client$i.conf"
  IVG_CLIENT_LOG[i]=$IVG_DIR/client$i.log
  ivp_run_openvpn "$(ivg_ns_client "$i")" "$IVG_DIR/client$i.conf" "${IVG_CLIENT_LOG[i]}"
}

# forget_pid PID: a reaped process leaves IVP_PIDS, so that the cleanup never signals a reused pid.
forget_pid() {
  local keep=() pid
  for pid in "${IVP_PIDS[@]}"; do [[ $pid == "$1" ]] || keep+=("$pid"); done
  IVP_PIDS=("${keep[@]}")
}

# gw_connected ADDR: the gateway's "connected" line for the client at outer address ADDR.
gw_connected() { grep -m1 -E "$1:[0-9]+: connected," "$IVG_DP_LOG" || true; }

case_old24() {
  ivg_setup "$dpvpn" 2
  # Such deployments carry `comp-lzo no` on both sides and name the CBC cipher; the server lists
  # AES-256-CBC after GCM so that a GCM-capable client still gets GCM.
  ivg_server_conf "$IVG_DIR/server.conf" "data-ciphers AES-256-GCM:CHACHA20-POLY1305:AES-256-CBC" \
    "data-ciphers-fallback AES-256-CBC" "cipher AES-256-CBC" "auth SHA256" "comp-lzo no"
  ivg_start_dpvpn "$IVG_DIR/server.conf"

  # client1: the 2.4-era config. A 2.6 client announces its default data-ciphers (IV_CIPHERS)
  # anyway, so NCP picks AES-256-GCM; the point is the comp-lzo framing and the old options.
  start_client_edited 1 '/^data-ciphers /d' extra="cipher AES-256-CBC" extra="auth SHA256" extra="comp-lzo no"
  # client2: CBC is its only data cipher, so CBC+HMAC-SHA256 runs through the dataplane.
  start_client_edited 2 '' ciphers=AES-256-CBC auth=SHA256 extra="comp-lzo no"
  ivg_wait_client 1 || ivp_fail "client1 (2.4-style config) did not connect"
  ivg_wait_client 2 || ivp_fail "client2 (AES-256-CBC only) did not connect"

  grep -q "Data Channel: cipher 'AES-256-GCM'" "${IVG_CLIENT_LOG[1]}" ||
    ivp_fail "client1 did not negotiate AES-256-GCM"
  grep -Eq "Data Channel: cipher 'AES-256-CBC', auth 'SHA256'" "${IVG_CLIENT_LOG[2]}" ||
    ivp_fail "client2 does not use AES-256-CBC with SHA256"
  gw_connected "$(ivg_client_addr 2)" | grep -q "cipher AES-256-CBC" || ivp_fail "the gateway did not log CBC for client2"
  grep -q "framing comp-lzo" "$IVG_DP_LOG" || ivp_fail "the gateway did not install comp-lzo framing"
  ivp_log "client1: $(grep -m1 "Data Channel: cipher" "${IVG_CLIENT_LOG[1]}" | sed 's/.*Data Channel: //')"
  ivp_log "client2: $(grep -m1 "Data Channel: cipher" "${IVG_CLIENT_LOG[2]}" | sed 's/.*Data Channel: //')"

  ping_both 1
  ping_both 2
  stop_and_check
  ivp_log "PASS old24: 2.4-style client (comp-lzo no) and AES-256-CBC/SHA256 client, 0% loss both ways"
}

case_restart() {
  local c1pid t0 t1 vpn1 vpn2 pid1 pid2 refused
  ivg_setup "$dpvpn" 2
  # The later keepalive wins: server ping 1 s, ping-restart 2*5 = 10 s (pushed: ping 1, ping-restart 5).
  # A pool of one address: client2 can only get 10.8.0.2 once client1's lease is released (like
  # openvpn, the pool otherwise prefers the least recently released address).
  ivg_server_conf "$IVG_DIR/server.conf" "keepalive 1 5" "max-clients 1" "ifconfig-pool 10.8.0.2 10.8.0.2"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  c1pid=$IVP_LAST_PID
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  vpn1=$(ivg_client_vpn_addr 1)
  pid1=$(gw_connected "$(ivg_client_addr 1)" | sed -nE 's/.*peer-id ([0-9]+).*/\1/p')
  [[ -n $vpn1 && -n $pid1 ]] || ivp_fail "client1: no VPN address or peer-id in the gateway log"

  kill -KILL "$c1pid"
  t0=$(date +%s)
  ivp_log "client1 ($vpn1, peer-id $pid1) killed with SIGKILL"
  ivg_start_client 2
  # max-clients 1: client2 is refused at first contact while client1's session lives.
  ivp_wait_log "$IVG_DP_LOG" "refusing $(ivg_client_addr 2):[0-9]+: max-clients reached" 8 ||
    ivp_fail "client2 was not refused while client1's session lived"
  grep -q "Initialization Sequence Completed" "${IVG_CLIENT_LOG[2]}" && ivp_fail "client2 connected beyond max-clients"
  grep -q "session closed: ping-restart" "$IVG_DP_LOG" && ivp_fail "client1 was removed too early"

  ivp_wait_log "$IVG_DP_LOG" "$(ivg_client_addr 1):[0-9]+: session closed: ping-restart" 20 ||
    ivp_fail "the gateway did not remove client1 by ping-restart"
  t1=$(date +%s)
  ivp_log "client1 removed by ping-restart $((t1 - t0)) s after SIGKILL"
  (((t1 - t0) >= 8 && (t1 - t0) <= 14)) || ivp_fail "ping-restart after $((t1 - t0)) s, expected about 10 s"

  ivg_wait_client 2 40 || ivp_fail "client2 did not connect after client1 was removed"
  vpn2=$(ivg_client_vpn_addr 2)
  pid2=$(gw_connected "$(ivg_client_addr 2)" | sed -nE 's/.*peer-id ([0-9]+).*/\1/p')
  [[ $vpn2 == "$vpn1" ]] || ivp_fail "client2 got $vpn2, not client1's freed address $vpn1"
  [[ $pid2 == "$pid1" ]] || ivp_fail "client2 got peer-id $pid2, not client1's freed peer-id $pid1"
  ping_both 2

  stop_and_check
  refused=$(sed -nE 's/.*, refused ([0-9]+),.*/\1/p' "$IVG_DP_LOG" | tail -n1)
  ((${refused:-0} >= 1)) || ivp_fail "the exit counters show no refused client"
  grep -q "control: clients 1," "$IVG_DP_LOG" || ivp_fail "the refused attempts left client state behind"
  ivp_log "PASS restart: refused $refused time(s) at max-clients, then $vpn2 / peer-id $pid2 reused"
}

case_samerestart() {
  local c1pid vpn1 vpn2
  ivg_setup "$dpvpn" 1
  # keepalive 10 60: ping-restart (120 s) cannot be what frees the slot.
  ivg_server_conf "$IVG_DIR/server.conf" "max-clients 1"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  start_client_edited 1 's/^nobind$/lport 41194/'
  c1pid=$IVP_LAST_PID
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  vpn1=$(ivg_client_vpn_addr 1)
  kill -KILL "$c1pid"
  wait "$c1pid" 2>/dev/null || true
  forget_pid "$c1pid"
  ivp_log "client1 ($vpn1) killed with SIGKILL; starting it again from the same address and port"

  IVG_CLIENT_LOG[1]=$IVG_DIR/client1-again.log
  ivp_run_openvpn "$(ivg_ns_client 1)" "$IVG_DIR/client1.conf" "${IVG_CLIENT_LOG[1]}"
  ivg_wait_client 1 20 || ivp_fail "the restarted client1 did not connect at max-clients 1"
  grep -q "session closed: client restarted" "$IVG_DP_LOG" || ivp_fail "the gateway did not replace the old session"
  grep -q "max-clients reached" "$IVG_DP_LOG" && ivp_fail "the restarted client was refused at max-clients"
  vpn2=$(ivg_client_vpn_addr 1)
  ivp_log "client1 back with $vpn2"
  ping_both 1
  stop_and_check
  grep -q "control: clients 1," "$IVG_DP_LOG" || ivp_fail "the replaced session left client state behind"
  ivp_log "PASS samerestart: the restarted client replaced its old session at max-clients 1"
}

case_exitnotify() {
  local c1pid t0 t1 vpn1 vpn2
  ivg_setup "$dpvpn" 2
  # keepalive 10 60: ping-restart would take 120 s. One pool address: client2 gets it only once
  # client1's lease is released.
  ivg_server_conf "$IVG_DIR/server.conf" "ifconfig-pool 10.8.0.2 10.8.0.2"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1  # lib.sh writes explicit-exit-notify 1
  c1pid=$IVP_LAST_PID
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  vpn1=$(ivg_client_vpn_addr 1)

  t0=$(date +%s%N)
  kill -TERM "$c1pid"
  ivp_wait_log "$IVG_DP_LOG" "$(ivg_client_addr 1):[0-9]+: session closed: client sent EXIT" 2 ||
    ivp_fail "the gateway did not remove client1 within 2 s of its SIGTERM"
  t1=$(date +%s%N)
  ivp_log "client1 removed $(((t1 - t0) / 1000000)) ms after its SIGTERM"
  ivg_start_client 2
  ivg_wait_client 2 || ivp_fail "client2 did not connect"
  vpn2=$(ivg_client_vpn_addr 2)
  [[ $vpn2 == "$vpn1" ]] || ivp_fail "client2 got $vpn2, not client1's freed address $vpn1"
  ping_both 2

  # The server side: SIGTERM -> RESTART on the control channel (explicit-exit-notify 1).
  stop_and_check
  ivp_wait_log "${IVG_CLIENT_LOG[2]}" "SIGUSR1\[soft,server-pushed-connection-reset\]" 10 ||
    ivp_fail "client2 did not see the server-pushed restart"
  ivp_log "PASS exitnotify: client EXIT frees $vpn1 at once; dpvpn SIGTERM restarts the client"
}

case_crl() {
  local n c1pid
  ivg_setup "$dpvpn" 3
  cp "$IVP_PKI/crl.pem" "$IVG_DIR/crl-live.pem"
  ivg_server_conf "$IVG_DIR/server.conf" "crl-verify $IVG_DIR/crl-live.pem"
  ivg_start_dpvpn "$IVG_DIR/server.conf"

  ivg_start_client 3 cert=revoked
  ivg_start_client 1
  c1pid=$IVP_LAST_PID
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  ivp_wait_log "$IVG_DP_LOG" "$(ivg_client_addr 3):[0-9]+: session closed: TLS error.*revoked" 15 ||
    ivp_fail "the gateway log does not say the revoked client's certificate was refused"
  ivp_wait_log "${IVG_CLIENT_LOG[3]}" "alert certificate revoked|TLS Error|TLS handshake failed" 15 ||
    ivp_fail "the revoked client did not log a TLS failure"
  grep -q "Initialization Sequence Completed" "${IVG_CLIENT_LOG[3]}" && ivp_fail "the revoked client connected"
  ivp_log "revoked client refused: $(grep -m1 -E "$(ivg_client_addr 3):[0-9]+: session closed" "$IVG_DP_LOG")"

  # Replace the CRL the way an operator does (write aside, rename over), dpvpn keeps running.
  # openvpn reads the CRL when a peer connects ("the crl file is read every time a peer
  # connects", --crl-verify in the manual; ssl.c reloads it before a new TLS session when its
  # mtime or size changed) and checks certificates in the TLS verify callback: a connected
  # client is not kicked when its certificate is revoked later; only its next TLS handshake
  # (renegotiation or reconnect) sees the new list. dpvpn does the same.
  cp "$IVP_PKI/crl-client2.pem" "$IVG_DIR/crl-live.pem.new"
  touch "$IVG_DIR/crl-live.pem.new"
  mv "$IVG_DIR/crl-live.pem.new" "$IVG_DIR/crl-live.pem"
  ivp_wait_log "$IVG_DP_LOG" "CRL .*crl-live.pem changed: reloaded" 5 || ivp_fail "dpvpn did not reload the CRL"

  ivg_start_client 2
  ivp_wait_log "$IVG_DP_LOG" "$(ivg_client_addr 2):[0-9]+: session closed: TLS error.*revoked" 15 ||
    ivp_fail "client2 was not refused after the CRL reload"
  grep -q "Initialization Sequence Completed" "${IVG_CLIENT_LOG[2]}" && ivp_fail "client2 connected with a revoked certificate"
  ping_both 1

  # client1 reconnects (a new process, a new TLS handshake against the new CRL).
  kill -TERM "$c1pid"
  ivp_wait_log "$IVG_DP_LOG" "$(ivg_client_addr 1):[0-9]+: session closed: client sent EXIT" 5 ||
    ivp_fail "client1 did not leave"
  # The old process keeps its tun0 (and the route) for explicit-exit-notify's 1 s: let it go.
  wait "$c1pid" 2>/dev/null || true
  forget_pid "$c1pid"
  mv "${IVG_CLIENT_LOG[1]}" "$IVG_DIR/client1-first.log"
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not reconnect after the CRL change"
  ping_both 1
  n=$(grep -c "Initialization Sequence Completed" "${IVG_CLIENT_LOG[2]}" || true)
  [[ $n == 0 ]] || ivp_fail "client2 connected"

  stop_and_check
  ivp_log "PASS crl: revoked refused, CRL replaced live, client2 refused, client1 kept working and reconnected"
}

# relay.py LISTEN_PORT GW_ADDR GW_PORT LOCAL_ADDR TRIGGER: the client's UDP datagrams to
# 127.0.0.1:LISTEN_PORT go to the gateway from LOCAL_ADDR:<port A>; once TRIGGER exists they
# leave from a new socket (port B), as after a NAT rebinding. Replies from both sockets return.
write_relay() {
  cat >"$IVG_DIR/relay.py" <<'PY'
import os, select, socket, sys
lport, gw, gport, laddr, trigger = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
front.bind(("127.0.0.1", lport))
def upstream():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((laddr, 0))
    print("upstream port", s.getsockname()[1], flush=True)
    return s
ups = [upstream()]
client = None
while True:
    if len(ups) == 1 and os.path.exists(trigger):
        ups.append(upstream())
    r, _, _ = select.select([front] + ups, [], [], 0.1)
    for s in r:
        data, addr = s.recvfrom(65535)
        if s is front:
            client = addr
            ups[-1].sendto(data, (gw, gport))
        elif client is not None:
            front.sendto(data, client)
PY
}

case_sport() {
  local c1 n loss p1 p2
  ivg_setup "$dpvpn" 1
  ivg_server_conf "$IVG_DIR/server.conf"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  command -v python3 >/dev/null 2>&1 || { ivp_log "SKIP: python3 not installed"; exit 77; }
  c1=$(ivg_ns_client 1)
  write_relay
  ivp_run "$c1" "$IVG_DIR/relay.log" python3 -u "$IVG_DIR/relay.py" 11194 "$IVG_GW_ADDR" "$IVP_PORT" \
    "$(ivg_client_addr 1)" "$IVG_DIR/rebind"
  ivp_wait_log "$IVG_DIR/relay.log" "upstream port" 5 || ivp_fail "the relay did not start"
  start_client_edited 1 "s/^remote .*/remote 127.0.0.1 11194/" ciphers=AES-256-GCM:CHACHA20-POLY1305
  ivg_wait_client 1 || ivp_fail "client1 did not connect through the relay"
  loss=$(ivp_ping "$c1" "$IVG_TUN_GW" 5)
  [[ $loss == 0 ]] || ivp_fail "ping before the port change: ${loss}% loss"

  touch "$IVG_DIR/rebind"
  for ((n = 0; n < 50; n++)); do
    (($(grep -c "upstream port" "$IVG_DIR/relay.log") >= 2)) && break
    sleep 0.1
  done
  p1=$(sed -nE 's/upstream port ([0-9]+)/\1/p' "$IVG_DIR/relay.log" | sed -n 1p)
  p2=$(sed -nE 's/upstream port ([0-9]+)/\1/p' "$IVG_DIR/relay.log" | sed -n 2p)
  [[ -n $p2 && $p1 != "$p2" ]] || ivp_fail "the relay did not move to a new source port"
  ivp_log "client1's outer source port: $p1 -> $p2 (address $(ivg_client_addr 1) unchanged)"

  loss=$(ivp_ping "$c1" "$IVG_TUN_GW" 20)
  [[ $loss == 0 ]] || ivp_fail "ping after the port change: ${loss}% loss"
  loss=$(ivp_ping "$IVG_NS_GW" "$(ivg_client_vpn_addr 1)" 10)
  [[ $loss == 0 ]] || ivp_fail "ping gateway -> client1 after the port change: ${loss}% loss"
  grep -q "floated to $(ivg_client_addr 1):$p2" "$IVG_DP_LOG" || ivp_fail "the gateway did not follow port $p2"
  n=$(grep -c "Initialization Sequence Completed" "${IVG_CLIENT_LOG[1]}" || true)
  [[ $n == 1 ]] || ivp_fail "client1 connected $n times: the port change cost a new session"
  stop_and_check
  ivp_log "PASS sport: port $p1 -> $p2, 20/20 + 10/10 pings, same session"
}

case_net30() {
  local i t want peer got
  ivg_setup "$dpvpn" 2
  ivg_server_conf "$IVG_DIR/server.conf" "topology net30"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  for i in 1 2; do
    ivg_start_client "$i"
    ivg_wait_client "$i" || ivp_fail "client$i did not connect (net30)"
  done
  for i in 1 2; do
    want=10.8.0.$((4 * i + 2)) peer=10.8.0.$((4 * i + 1))
    got=$(ip -n "$(ivg_ns_client "$i")" -4 -o addr show dev tun0 | awk '{print $4, $6}')
    [[ $got == "$want $peer/32" ]] || ivp_fail "client$i: tun0 is '$got', expected '$want peer $peer/32'"
    # The route may land a moment after the log line ivg_wait_client waits for (seen once in CI).
    for ((t = 0; t < 50; t++)); do
      grep -q "^$IVG_TUN_GW via $peer dev tun0" <<<"$(ip -n "$(ivg_ns_client "$i")" route show)" && break
      sleep 0.1
    done
    ((t < 50)) || ivp_fail "client$i has no route to $IVG_TUN_GW via $peer (pushed route)"
    ping_both "$i"
  done
  stop_and_check
  ivp_log "PASS net30: two /30 clients, pings both ways"
}

case "$case_name" in
  old24) case_old24 ;;
  restart) case_restart ;;
  samerestart) case_samerestart ;;
  exitnotify) case_exitnotify ;;
  crl) case_crl ;;
  sport) case_sport ;;
  net30) case_net30 ;;
  *) echo "usage: $0 DPVPN_EXE old24|restart|samerestart|exitnotify|crl|sport|net30" >&2; exit 2 ;;
esac
