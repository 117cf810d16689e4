#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Where the dpvpn gateway's log goes (gwlib.sh topology, no client needed):
#
#   netns P-gw: dpvpn (af_packet on gw-wan), tun0 10.8.0.1/24     P-sw: br0
#   $IVG_DIR/dpvpn.log: the log file; $IVG_DIR/log.sock: a syslog listener (python3)
#
# Cases:
#   append    `log-append dpvpn.log` (and `syslog`, which the file overrides, with a warning) and
#             Debian's logrotate with copytruncate: the rotated copy holds the start-up lines, and
#             the next lines (SIGUSR2's counters, the exit) start the emptied file at offset 0: no
#             NUL bytes anywhere (a writer without O_APPEND would go on at its old offset, behind a
#             hole of zeros). Rotated twice.
#   truncate  the same with `log dpvpn.log` (truncated at start, also O_APPEND)
#   syslog    `syslog dpvpn-test` with DPVPN_SYSLOG_SOCKET on a unix datagram listener (this
#             machine may have no /dev/log): start-up, warning, control-thread, counters and exit
#             lines arrive as RFC 3164 records "<PRI>Mmm dd hh:mm:ss dpvpn-test[PID]: MSG" at the
#             right severity (notice 29, warning 28), one record per line, without dpvpn's own
#             timestamp, and none of them on stdout
#
# usage: gateway-logs.sh DPVPN_EXE CASE      Exit: 0 pass, 1 fail, 77 skip (as gateway.sh).
set -euo pipefail
dpvpn=${1:-}
case_name=${2:-}
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/gwlib.sh"

# no_nul FILE: fails when FILE holds a NUL byte (the hole copytruncate leaves behind a writer
# that does not append).
no_nul() {
  local n
  n=$(tr -cd '\000' <"$1" | wc -c)
  ((n == 0)) || ivp_fail "$1 holds $n NUL byte(s): $(od -c "$1" | head -n 3)"
}

# rotate: logrotate with copytruncate on dpvpn.log, forced (the state file is ours).
rotate() {
  logrotate -f -s "$IVG_DIR/logrotate.state" "$IVG_DIR/logrotate.conf" || ivp_fail "logrotate failed"
}

# counters_now: SIGUSR2, then waits for one more "counters (SIGUSR):" line in dpvpn.log.
counters_now() {
  local n0 i
  n0=$(grep -c "counters (SIGUSR):" "$IVG_DP_LOG" || true)
  kill -USR2 "$IVG_DP_PID"
  for ((i = 0; i < 50; i++)); do
    (($(grep -c "counters (SIGUSR):" "$IVG_DP_LOG" || true) > n0)) && return 0
    sleep 0.1
  done
  ivp_fail "no counters in $IVG_DP_LOG within 5 s of SIGUSR2"
}

case_rotate() {  # DIRECTIVE: log | log-append
  local directive=$1 log first
  command -v logrotate >/dev/null 2>&1 || { ivp_log "SKIP: logrotate not installed (tools/setup-deps.sh)"; exit 77; }
  ivg_setup "$dpvpn" 0
  # The log file is the one gwlib.sh sends dpvpn's stdout to (IVG_DP_LOG): EAL's first lines go
  # there through the shell's descriptor, then dpvpn opens it itself (O_APPEND) for both streams.
  log=$IVG_DIR/dpvpn.log
  ivg_server_conf "$IVG_DIR/server.conf" "$directive $log" "syslog dpvpn-test" "dp-stats-interval 0"
  printf '%s {\n  copytruncate\n  rotate 2\n  nocompress\n  missingok\n}\n' "$log" >"$IVG_DIR/logrotate.conf"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  grep -q "dpvpn: warning: syslog is ignored: log lines go to the file $log" "$log" ||
    ivp_fail "no warning that the log file overrides syslog"

  rotate
  [[ -f $log.1 ]] || ivp_fail "logrotate made no $log.1"
  grep -q "control thread up" "$log.1" || ivp_fail "the rotated copy lacks the start-up lines"
  counters_now
  no_nul "$log"
  first=$(head -n 1 "$log")
  [[ $first == "counters (SIGUSR):" ]] || ivp_fail "the emptied file does not start with the next line: '$first'"

  rotate  # again, with the counters in the file: they move to .1, the old .1 to .2
  grep -q "control thread up" "$log.2" || ivp_fail "the first rotation's copy did not move to $log.2"
  stop_and_check  # its exit lines go to the emptied file
  no_nul "$log"
  no_nul "$log.1"
  first=$(head -n 1 "$log")
  [[ $first =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9:]{8}\ SIGTERM ]] ||
    ivp_fail "after the second rotation the file does not start with the exit's first line: '$first'"
  ivp_log "PASS $directive: $(wc -c <"$log.2") + $(wc -c <"$log.1") + $(wc -c <"$log") bytes over two rotations, no NUL"
}

case_syslog() {
  local sock recs pid i tag
  ivg_setup "$dpvpn" 0
  sock=$IVG_DIR/log.sock
  recs=$IVG_DIR/syslog.txt
  # The listener: each datagram as one line of $recs.
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).replace(b"\n", b"\\n") + b"\n")' "$sock" "$recs" &
  IVP_PIDS+=($!)
  for ((i = 0; i < 50; i++)); do [[ -S $sock ]] && break; sleep 0.1; done
  [[ -S $sock ]] || ivp_fail "the syslog listener did not come up"

  ivg_server_conf "$IVG_DIR/server.conf" "syslog dpvpn-test" "dp-mirror sw-mirror" "dp-stats-interval 0"
  DPVPN_SYSLOG_SOCKET=$sock IVG_DP_READY_LOG=$recs ivg_start_dpvpn "$IVG_DIR/server.conf"
  pid=$IVG_DP_PID
  tag="dpvpn-test\[$pid\]: "
  local head='^<(2[4-9]|3[01])>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} '  # facility daemon, any severity
  grep -Eq "^<29>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} ${tag}control thread up: " "$recs" ||
    ivp_fail "no notice record 'control thread up' with tag dpvpn-test[$pid]: $(head -n 5 "$recs")"
  grep -Eq "^<29>.* ${tag}WAN port 0 \(net_af_packet" "$recs" || ivp_fail "no start-up record (WAN port)"
  grep -Eq "^<28>.* ${tag}warning: .*dp-mirror is not implemented yet" "$recs" || ivp_fail "no warning record at severity 4"
  grep -Ev "$head${tag}" "$recs" | grep -v "^$" | grep -q . &&
    ivp_fail "records without the header or the tag: $(grep -Ev "$head${tag}" "$recs" | head -n 3)"
  grep -Eq "${tag}[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} " "$recs" && ivp_fail "a record carries dpvpn's own timestamp"

  kill -USR2 "$pid"
  ivp_wait_log "$recs" "${tag}counters \(SIGUSR\):$" 5 || ivp_fail "no counters record after SIGUSR2"
  ivp_wait_log "$recs" "${tag}  lcore 0: wan rx " 5 || ivp_fail "the counters' lines are not records of their own"
  ivg_stop_dpvpn
  [[ $IVG_DP_RC == 0 ]] || ivp_fail "dpvpn exit status $IVG_DP_RC after SIGTERM"
  ivp_wait_log "$recs" "${tag}mbufs in use at exit: 0 of " 5 || ivp_fail "no exit record with 0 mbufs in use"
  for i in "control thread up" "WAN port" "counters (" "mbufs in use"; do
    grep -qF "$i" "$IVG_DP_LOG" && ivp_fail "'$i' went to stdout as well: $(grep -F "$i" "$IVG_DP_LOG" | head -n 2)"
  done
  ivp_log "PASS syslog: $(wc -l <"$recs") records"
}

case "$case_name" in
  append) case_rotate log-append ;;
  truncate) case_rotate log ;;
  syslog) case_syslog ;;
  *) echo "usage: $0 DPVPN_EXE append|truncate|syslog" >&2; exit 2 ;;
esac
