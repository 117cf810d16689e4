#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The management interface, driven by clients written by others (gwlib.sh topology):
#
#   netns P-gw: dpvpn (af_packet on gw-wan), tun0 10.8.0.1/24, management on 127.0.0.1 or a unix socket
#        |  br0 in P-sw
#   netns P-c1 (client1: stock openvpn 2.6 with auth-user-pass)
#
# Cases:
#   pritunl  management-client-auth with a password: mgmt_driver.py plays Pritunl's sequence
#            (bytecount, >CLIENT:CONNECT with its ENV, client-auth with a pushed line,
#            >CLIENT:ESTABLISHED, >BYTECOUNT_CLI, the client's renegotiation (>CLIENT:REAUTH answered
#            with client-auth-nt, pings after it), status 3, client-kill with a HALT message the
#            client logs, >CLIENT:DISCONNECT), then openvpn-monitor's (version, state, load-stats,
#            status 3, kill) and bad input (unknown commands, a 100 kB line, garbage, 40 connections
#            at once, a client that never reads). The same script runs against stock openvpn 2.6
#            (lib.sh topology) and the two transcripts are compared field by field (times, pids,
#            ports and byte counts aside).
#   golib    management-hold on a unix socket: a Go program on Debian's go-openvpn-mgmt library
#            reads pid and state, turns on events, releases the hold (no client connects before),
#            waits for a >BYTECOUNT_CLI with traffic and sends SIGUSR2 (dpvpn prints its counters).
#
# usage: gateway-mgmt.sh DPVPN_EXE CASE      Exit: 0 pass, 1 fail, 77 skip (as gateway.sh).
set -euo pipefail
dpvpn=${1:-}
case_name=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR
source "$here/gwlib.sh"

driver() { ip netns exec "$1" python3 "$here/mgmt_driver.py" "${@:2}"; }

# pritunl_run NS WHERE PWARG OUT CLIENT_NS PING_ADDR START_FN: the Pritunl scenario; START_FN
# starts the client once the driver is connected and listening for >CLIENT:CONNECT.
pritunl_run() {
  local ns=$1 where=$2 pw=$3 out=$4 cns=$5 ping=$6 start=$7 i
  local dout=$out.stdout
  driver "$ns" "$where" $pw --scenario pritunl --out "$out" \
    --ping-cmd "ip netns exec $cns ping -n -c 5 -i 0.2 -W 2 $ping" >"$dout" 2>&1 &
  local dpid=$!
  for ((i = 0; i < 100; i++)); do grep -q READY "$dout" 2>/dev/null && break; sleep 0.1; done
  grep -q READY "$dout" || { cat "$dout" >&2; ivp_fail "management driver did not connect"; }
  "$start"
  wait "$dpid" || { cat "$dout" >&2; ivp_fail "management scenario failed ($out)"; }
}

case_pritunl() {
  ivg_setup "$dpvpn" 1
  printf 'mgmt-pw-%s\n' "$RANDOM" >"$IVG_DIR/mgmt.pw"
  printf 'alice\nsecret\n' >"$IVG_DIR/up.txt"
  ivg_server_conf "$IVG_DIR/server.conf" "management 127.0.0.1 7505 $IVG_DIR/mgmt.pw" "management-client-auth" \
    "status-version 3"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  start_c1() { ivg_start_client 1 extra="auth-user-pass $IVG_DIR/up.txt" reneg=6; }
  pritunl_run "$IVG_NS_GW" 127.0.0.1:7505 "--password $(cat "$IVG_DIR/mgmt.pw")" "$IVG_DIR/dpvpn-pritunl.json" \
    "$(ivg_ns_client 1)" "$IVG_TUN_GW" start_c1
  grep -q "MGMT_PUSHED yes" "${IVG_CLIENT_LOG[1]}" || ivp_fail "client1 did not get the line pushed by client-auth"
  ivp_wait_log "${IVG_CLIENT_LOG[1]}" "Halt command was pushed by server \('killed-by-mgmt-test'\)" 10 ||
    ivp_fail "client1 did not log client-kill's message"

  # Bad input on one connection while another stays usable; then many connections at once.
  driver "$IVG_NS_GW" 127.0.0.1:7505 --password "$(cat "$IVG_DIR/mgmt.pw")" --scenario hostile \
    --out "$IVG_DIR/dpvpn-hostile.json" >/dev/null || ivp_fail "hostile management scenario failed"
  ip netns exec "$IVG_NS_GW" python3 - "$(cat "$IVG_DIR/mgmt.pw")" <<'EOF' || ivp_fail "flood of management connections"
import socket, sys, time
pw = sys.argv[1]
socks = []
for i in range(40):  # past the 16 allowed: the rest are refused, the daemon goes on
    try:
        s = socket.create_connection(("127.0.0.1", 7505), timeout=2); socks.append(s)
    except OSError:
        pass
for s in socks: s.close()
time.sleep(0.5)
s = socket.create_connection(("127.0.0.1", 7505), timeout=5)
s.sendall((pw + "\n").encode())
time.sleep(0.3)
s.sendall(b"pid\n")
buf = b""
end = time.time() + 5
while b"SUCCESS: pid=" not in buf and time.time() < end:
    buf += s.recv(4096)
assert b"SUCCESS: pid=" in buf, buf
# A client that sends commands and never reads: dpvpn stops reading it once 64 KiB of replies
# wait, and cuts it off when it has taken nothing for 5 s.
w = socket.create_connection(("127.0.0.1", 7505), timeout=2)
w.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
w.sendall((pw + "\n").encode())
try:
    for i in range(200000):
        w.sendall(b"help\n")
except OSError:
    pass  # blocked: dpvpn no longer reads it
time.sleep(6.5)
print("flood ok")
EOF
  driver "$IVG_NS_GW" 127.0.0.1:7505 --password "$(cat "$IVG_DIR/mgmt.pw")" --scenario monitor \
    --out "$IVG_DIR/dpvpn-monitor.json" >/dev/null || ivp_fail "openvpn-monitor scenario failed"
  ivg_snap_counters "$IVG_DIR/counters.txt"
  grep -E "management: .*refused [1-9]" "$IVG_DIR/counters.txt" || ivp_fail "refused management connections not counted"
  grep -E "cut off \(not reading\) [1-9]" "$IVG_DIR/counters.txt" || ivp_fail "the client that did not read was not cut off"
  stop_and_check

  # The same scenarios against stock openvpn 2.6 (lib.sh: server and client namespaces), once the
  # gateway's namespaces are gone; the transcripts wait in MG_KEEP.
  MG_KEEP=$(mktemp -d /tmp/ivg-mgmt.XXXXXX)
  cp "$IVG_DIR"/dpvpn-*.json "$MG_KEEP/"
  ivg_cleanup
  stock_compare "$MG_KEEP"
}

stock_compare() {
  local gwdir=$1
  ivp_setup "${IVG_PREFIX}mg"
  trap 'ivp_cleanup; rm -rf -- "$MG_KEEP"' EXIT
  ivp_pki "$IVP_DIR/pki"
  printf 'alice\nsecret\n' >"$IVP_DIR/up.txt"
  ivp_server_conf "$IVP_DIR/server.conf" wrap=tls-crypt ciphers=AES-256-GCM extra="management 127.0.0.1 7505" \
    extra="management-client-auth" extra="status-version 3"
  ivp_client_conf "$IVP_DIR/client.conf" wrap=tls-crypt ciphers=AES-256-GCM extra="auth-user-pass $IVP_DIR/up.txt" reneg=6
  ivp_run_openvpn "$IVP_NS_S" "$IVP_DIR/server.conf" "$IVP_DIR/server.log"
  ivp_wait_log "$IVP_DIR/server.log" "Initialization Sequence Completed" 15 || ivp_fail "stock server did not start"
  start_stock() { ivp_run_openvpn "$IVP_NS_C" "$IVP_DIR/client.conf" "$IVP_DIR/client.log"; }
  pritunl_run "$IVP_NS_S" 127.0.0.1:7505 "" "$IVP_DIR/stock-pritunl.json" "$IVP_NS_C" "$IVP_TUN_SERVER" start_stock
  driver "$IVP_NS_S" 127.0.0.1:7505 --scenario hostile --out "$IVP_DIR/stock-hostile.json" >/dev/null || true
  driver "$IVP_NS_S" 127.0.0.1:7505 --scenario monitor --out "$IVP_DIR/stock-monitor.json" >/dev/null || true
  python3 "$here/mgmt_compare.py" "$gwdir" "$IVP_DIR" || ivp_fail "dpvpn's management replies differ from stock openvpn's"
  ivp_log "PASS: pritunl, openvpn-monitor and hostile scenarios match stock openvpn 2.6"
}

case_golib() {
  command -v go >/dev/null || { ivp_log "SKIP: go not installed (tools/setup-deps.sh installs golang-go)"; exit 77; }
  [[ -d /usr/share/gocode/src/github.com/apparentlymart/go-openvpn-mgmt ]] ||
    { ivp_log "SKIP: golang-github-apparentlymart-go-openvpn-mgmt-dev not installed"; exit 77; }
  ivg_setup "$dpvpn" 1
  local gobin=$IVG_DIR/mgmt-go
  (cd "$here/mgmt-go" && GOPATH=/usr/share/gocode GO111MODULE=off GOCACHE=$IVG_DIR/gocache GOFLAGS= \
    go build -o "$gobin" .) || ivp_fail "building the Go management client failed"
  ivg_server_conf "$IVG_DIR/server.conf" "management $IVG_DIR/mgmt.sock unix" "management-hold"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  # Held: the client gets no answer until the Go client releases the hold.
  ivg_start_client 1
  sleep 3
  grep -q "Initialization Sequence Completed" "${IVG_CLIENT_LOG[1]}" && ivp_fail "client1 connected before hold release"
  local out=$IVG_DIR/mgmt-go.out
  ( ip netns exec "$IVG_NS_GW" "$gobin" "$IVG_DIR/mgmt.sock" >"$out" 2>&1 ) &
  local gpid=$!
  ivg_wait_client 1 40 || ivp_fail "client1 did not connect after hold release"
  ip netns exec "$(ivg_ns_client 1)" ping -n -c 5 -i 0.2 -W 2 "$IVG_TUN_GW" >/dev/null || true
  wait "$gpid" || { cat "$out" >&2; ivp_fail "the Go management client failed"; }
  cat "$out"
  grep -q "ok state CONNECTED local $IVG_TUN_GW" "$out" || ivp_fail "state: expected CONNECTED with $IVG_TUN_GW"
  grep -q "ok signal SIGUSR2" "$out" || ivp_fail "no SIGUSR2 through management"
  ivp_wait_log "$IVG_DP_LOG" "counters \(SIGUSR\)" 5 || ivp_fail "SIGUSR2 from management printed no counters"
  stop_and_check
  ivp_log "PASS: go-openvpn-mgmt: pid, state, events, hold release, >BYTECOUNT_CLI, signal"
}

# reload: SIGHUP through management (`signal SIGHUP`) with a changed push list, a changed CCD file,
# a CRL that now revokes client2 and a changed keepalive (needs a restart): client1 pings through
# it without a loss, client2 is disconnected, the refused directive is named, and client3,
# connecting afterwards, gets the new push line and its new CCD address.
case_reload() {
  ivg_setup "$dpvpn" 3
  mkdir -p "$IVG_DIR/ccd"
  echo "ifconfig-push 10.8.0.50 255.255.255.0" >"$IVG_DIR/ccd/client3"
  cp "$IVP_PKI/crl-empty.pem" "$IVG_DIR/crl.pem"
  local common=("management $IVG_DIR/mgmt.sock unix" "client-config-dir $IVG_DIR/ccd" "crl-verify $IVG_DIR/crl.pem")
  ivg_server_conf "$IVG_DIR/server.conf" "${common[@]}" 'push "setenv-safe BEFORE_RELOAD 1"'
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_start_client 2
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  ivg_wait_client 2 || ivp_fail "client2 did not connect"
  # The reload: new push line, client3's CCD address changed, client2 revoked, keepalive changed.
  ivg_server_conf "$IVG_DIR/server.conf" "${common[@]}" 'push "setenv-safe AFTER_RELOAD 1"'
  sed -i 's/^keepalive 10 60$/keepalive 5 30/' "$IVG_DIR/server.conf"
  echo "ifconfig-push 10.8.0.60 255.255.255.0" >"$IVG_DIR/ccd/client3"
  cp "$IVP_PKI/crl-client2.pem" "$IVG_DIR/crl.pem"
  local pingout=$IVG_DIR/ping1.out
  ip netns exec "$(ivg_ns_client 1)" ping -n -c 100 -i 0.05 -W 2 "$IVG_TUN_GW" >"$pingout" 2>&1 &
  local ppid=$!
  sleep 1
  ip netns exec "$IVG_NS_GW" python3 - "$IVG_DIR/mgmt.sock" <<'EOF' || ivp_fail "signal SIGHUP through management"
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
buf = b""
s.sendall(b"signal SIGHUP\n")
while b"SUCCESS: signal SIGHUP thrown" not in buf:
    buf += s.recv(4096)
EOF
  wait "$ppid" || true
  grep -q " 0% packet loss" "$pingout" || { cat "$pingout" >&2; ivp_fail "client1 lost pings across the reload"; }
  ivp_wait_log "$IVG_DP_LOG" "SIGHUP: config reloaded, 1 directive\(s\) changed \(push\), 1 refused" 5 ||
    ivp_fail "no reload summary naming push"
  grep -q "SIGHUP: 'keepalive' changed: it needs a restart and is not applied" "$IVG_DP_LOG" ||
    ivp_fail "the refused keepalive change is not named"
  ivp_wait_log "$IVG_DP_LOG" "client2.*certificate revoked by the reloaded CRL" 5 || ivp_fail "client2 was not disconnected"
  ivg_start_client 3
  ivg_wait_client 3 || ivp_fail "client3 did not connect after the reload"
  grep -q "AFTER_RELOAD" "${IVG_CLIENT_LOG[3]}" || ivp_fail "client3 did not get the reloaded push list"
  [[ $(ivg_client_vpn_addr 3) == 10.8.0.60 ]] || ivp_fail "client3 got $(ivg_client_vpn_addr 3), not its new CCD address"
  [[ $(ivp_ping "$(ivg_ns_client 1)" "$IVG_TUN_GW" 5) == 0 ]] || ivp_fail "client1 lost pings after the reload"
  stop_and_check
  ivp_log "PASS: reload: 0 lost pings, push and CCD applied to the next client, client2 revoked, keepalive refused"
}

case "$case_name" in
  pritunl) case_pritunl ;;
  golib) case_golib ;;
  reload) case_reload ;;
  *) ivp_log "unknown case '$case_name'"; exit 2 ;;
esac
