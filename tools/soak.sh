#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Soak (issue 11, item 5): dpvpn under client churn while traffic flows, one report line a minute,
# PASS/FAIL against the issue's soak criteria at the end.
#
#                          netns soak-sw: bridge br0 (no addresses)
#        +----------------------------+------------------+-- ... --+
#   netns soak-gw                     netns soak-c1      ...       netns soak-cN
#   dpvpn 10.203.0.1 (af_packet on    wan 10.203.0.11 (+ .111 while floated), tun0 10.8.0.x
#   gw-wan, 2 worker lcores),         stock openvpn 2.6 (client1.crt), reneg-sec 30,
#   tun0 10.8.0.1/24,                 ping -i 0.2 10.8.0.1 while it is meant to be up
#   dp-metrics 127.0.0.1:9545 (lo),
#   management unix socket, client-connect / client-disconnect scripts, keepalive 2 10
#
# Only these namespaces exist (tests/interop/gwlib.sh, IVG_PREFIX=soak); none has a route out.
#
# Churn. Client I has a role by (I-1) % 3; each client's schedule starts 4 s after the previous one's:
#   float  moves its UDP flow between 10.203.0.(10+I) and 10.203.0.(110+I) every 20 s: the new
#          address is added, the subnet route's preferred source switched to it (the unbound
#          socket's next datagram leaves from there: the gateway sees an authenticated float), and
#          2 s later the old address is removed. Same session throughout.
#   exit   SIGTERM 40 s after each connect (explicit-exit-notify: the gateway frees it at once),
#          down 5 s, then started again
#   kill   SIGKILL 30 s after each connect, down alternately 25 s (more than the gateway's
#          ping-restart of 20 s: the keepalive reaps the dead session) and 3 s (the new session with
#          the same common name replaces the old one)
# Every client renegotiates every 30 s (reneg-sec 30 in its config). `signal SIGHUP` through the
# management socket at 75 s and every 180 s after, with a changed push line each time.
# Pings are counted only while a client is meant to be up: its ping starts once openvpn logs
# "Initialization Sequence Completed" and stops just before a planned SIGTERM or SIGKILL.
#
# Every minute: elapsed time, dpvpn's VmRSS, dpvpn_mbufs_in_use, dpvpn_clients_connected,
# dpvpn_sessions (established/handshaking), pings sent and lost in that minute, renegotiations
# (the gateway's "new data key, key_id 1..7" log lines), handshakes completed/failed, client-connect
# / client-disconnect script runs, floats and planned disconnects.
#
# PASS needs: VmRSS after the warm-up (a sixth of the run, at least a minute) at most 5 % above its
# value at the end of the warm-up; "mbufs in use at exit: 0 of N"; 0 pings lost; dpvpn alive
# throughout and exit status 0 after SIGTERM; every restarted client connected again within 60 s;
# every SIGHUP acknowledged and its reload summary logged; no session left once every client is
# gone; as many client-disconnect as client-connect runs.
#
# usage: tools/soak.sh [--minutes N] [--quick] [--clients N] [--build DIR] [--dpvpn EXE] [--keep]
#   --minutes N  length of the churn (default 30; at least 2)
#   --quick      2 minutes with 3 clients (CI: the meson test soak_quick)
#   --clients N  1..8 (default 6)
#   --build DIR  meson build directory (default build): tools/setup-deps.sh, meson setup if needed,
#                ninja DIR dpvpn
#   --dpvpn EXE  use this dpvpn and build nothing (the meson test)
#   --keep       keep the scratch directory (logs, ping files); it is also kept on FAIL
# SOAK_PREFIX=NAME names the namespaces NAME-* instead of soak-* (two runs at once on one machine).
# Needs root. Bounded: the pings stop at the end of the run (ping -w), 5 per second per client.
# Exit: 0 PASS, 1 FAIL, 77 skipped (not root, no /dev/net/tun, openvpn or DPDK's af_packet missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
minutes=30 nclients=6 build=$root/build exe="" keep=0 quick=0
while (($#)); do
  case $1 in
    --minutes) minutes=$2; shift ;;
    --quick) quick=1 ;;
    --clients) nclients=$2; shift ;;
    --build) build=$2; shift ;;
    --dpvpn) exe=$2; shift ;;
    --keep) keep=1 ;;
    *) echo "usage: $0 [--minutes N] [--quick] [--clients N] [--build DIR] [--dpvpn EXE] [--keep]" >&2; exit 2 ;;
  esac
  shift
done
if ((quick)); then minutes=2 nclients=3; fi
if ! [[ $minutes =~ ^[0-9]+$ ]] || ((minutes < 2)); then echo "soak: --minutes needs a whole number >= 2" >&2; exit 2; fi
if ! [[ $nclients =~ ^[0-9]+$ ]] || ((nclients < 1 || nclients > 8)); then echo "soak: --clients 1..8" >&2; exit 2; fi
warmup=$((minutes / 6 > 1 ? minutes / 6 : 1))

if [[ $(id -u) != 0 ]]; then
  echo "soak: needs root (network namespaces)" >&2
  exit 77
fi
if [[ -z $exe ]]; then
  [[ $build == /* ]] || build=$root/$build
  # shellcheck source-path=SCRIPTDIR source=bench/prepare.sh
  source "$root/tools/bench/prepare.sh"
  bench_prepare "$build" dpvpn || { echo "soak: could not install or build dpvpn (see above)" >&2; exit 1; }
  exe=$build/dpvpn
fi
command -v python3 >/dev/null 2>&1 || { echo "soak: SKIP: python3 not installed (tools/setup-deps.sh)" >&2; exit 77; }

IVG_PREFIX=${SOAK_PREFIX:-soak}  # gwlib.sh's namespaces: soak-sw, soak-gw, soak-cN
# shellcheck source-path=SCRIPTDIR source=../tests/interop/gwlib.sh disable=SC2034
source "$root/tests/interop/gwlib.sh"
((keep)) && IVP_KEEP=1
metrics_port=9545

ivg_setup "$exe" "$nclients"
mkdir -p "$IVG_DIR/ping"

# --- the gateway --------------------------------------------------------------------------
# The scripts append one line per run: time, event, common name, real address.
for ev in connect disconnect; do
  cat >"$IVG_DIR/$ev.sh" <<EOF
#!/bin/sh
echo "\$(date +%s) $ev \$common_name \$trusted_ip:\$trusted_port" >>"$IVG_DIR/scripts.log"
EOF
  chmod 755 "$IVG_DIR/$ev.sh"
done
: >"$IVG_DIR/scripts.log"
server_lines=("script-security 2" "client-connect $IVG_DIR/connect.sh" "client-disconnect $IVG_DIR/disconnect.sh"
              "management $IVG_DIR/mgmt.sock unix" "dp-metrics 127.0.0.1 $metrics_port")
write_server_conf() {  # [RELOAD_NUMBER]: a push line that changes at each reload
  ivg_server_conf "$IVG_DIR/server.conf" "${server_lines[@]}" "push \"setenv-safe SOAK_RELOAD ${1:-0}\""
  # Dead clients must be reaped within the run: pings every 2 s, ping-restart 10 s pushed (20 s here).
  sed -i 's/^keepalive 10 60$/keepalive 2 10/' "$IVG_DIR/server.conf"
  grep -q "^keepalive 2 10$" "$IVG_DIR/server.conf" || ivp_fail "could not set keepalive 2 10"
}
write_server_conf 0
ivg_start_dpvpn "$IVG_DIR/server.conf"
ivg_wait_listen "$IVG_NS_GW" "$metrics_port" 10 || ivp_fail "dp-metrics does not listen on $metrics_port"

# metrics.py: one line "mbufs_in_use capacity clients established handshaking hs_completed hs_failed".
cat >"$IVG_DIR/metrics.py" <<'EOF'
import re, sys, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode()
def value(name, label=""):
    m = re.search(r"^%s(\{[^}]*%s[^}]*\})? ([0-9.e+-]+)$" % (name, re.escape(label)), text, re.M)
    return str(int(float(m.group(2)))) if m else "?"
print(value("dpvpn_mbufs_in_use"), value("dpvpn_mbufs_capacity"), value("dpvpn_clients_connected"),
      value("dpvpn_sessions", 'state="established"'), value("dpvpn_sessions", 'state="handshaking"'),
      value("dpvpn_handshakes_completed_total"), value("dpvpn_handshakes_failed_total"))
EOF

# pings.py DIR FROM TO: the pings sent in [FROM, TO) (epoch seconds) by every ping file in DIR,
# "sent lost late"; the lost ones are appended to DIR/lost.txt. A ping file starts with
# "# start EPOCH" and holds `ping -n -D -O` output: a reply line or a "no answer yet" line per
# sequence number (-O), so a number with no reply line is lost; a number below the highest seen and
# on no line at all (a send error) is lost too, its send time interpolated.
cat >"$IVG_DIR/pings.py" <<'EOF'
import glob, os, re, sys
d, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
sent = lost = late = 0
out = []
for f in sorted(glob.glob(os.path.join(d, "c*.log"))):
    start, sendt, replied, noans = None, {}, set(), set()
    for line in open(f, errors="replace"):
        if line.startswith("# start "):
            start = float(line.split()[2].replace(",", "."))
            continue
        m = re.match(r"\[([0-9.]+)\] .*icmp_seq=(\d+)", line)
        if not m:
            continue
        ts, seq = float(m.group(1)), int(m.group(2))
        r = re.search(r"time=([0-9.]+) ms", line)
        if r:
            replied.add(seq)
            sendt[seq] = ts - float(r.group(1)) / 1000
        elif "no answer yet" in line:
            noans.add(seq)
            sendt.setdefault(seq, ts - 0.2)
        else:
            sendt.setdefault(seq, ts)
    if start is None or not sendt:
        continue
    for seq in range(1, max(sendt) + 1):
        t = sendt.get(seq, start + (seq - 1) * 0.2)
        if not (t0 <= t < t1):
            continue
        sent += 1
        if seq not in replied:
            lost += 1
            out.append("%s seq %d sent %.3f\n" % (os.path.basename(f), seq, t))
        elif seq in noans:
            late += 1
if out:
    open(os.path.join(d, "lost.txt"), "a").writelines(out)
print(sent, lost, late)
EOF

# mgmt_hup.py SOCKET: `signal SIGHUP`, waits for openvpn's SUCCESS line.
cat >"$IVG_DIR/mgmt_hup.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
buf = b""
s.sendall(b"signal SIGHUP\n")
while b"SUCCESS: signal SIGHUP thrown" not in buf:
    chunk = s.recv(4096)
    if not chunk:
        sys.exit("management closed the connection: " + buf.decode(errors="replace"))
    buf += chunk
s.sendall(b"quit\n")
EOF

# --- clients ------------------------------------------------------------------------------
# Per client: role, state (up|connecting|stopping|down), openvpn pid, ping pid, the time (ms since
# the start) of its next event, log number, kills so far, floated (0|1).
declare -a role state cpid ppid due nlog nping kills floated clog
fails=()
n_float=0 n_exit=0 n_kill=0 n_hup=0 n_conn_timeout=0
now_ms=0
t0_us=${EPOCHREALTIME//[.,]/}
tick() { local t=${EPOCHREALTIME//[.,]/}; now_ms=$(((t - t0_us) / 1000)); }
fail() { fails+=("$*"); ivp_log "FAIL: $*"; }

# forget PID: a reaped process leaves the cleanup's list (its pid may be reused).
forget() {
  local keep=() p
  for p in "${IVP_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  IVP_PIDS=("${keep[@]}")
}

client_alt_addr() { echo "10.203.0.$((110 + $1))"; }

start_client() {
  local i=$1
  nlog[i]=$((nlog[i] + 1))
  clog[i]=$IVG_DIR/client$i.${nlog[i]}.log
  ip netns exec "$(ivg_ns_client "$i")" openvpn --config "$IVG_DIR/client$i.conf" >"${clog[i]}" 2>&1 &
  cpid[i]=$!
  IVP_PIDS+=($!)
  state[i]=connecting
  due[i]=$((now_ms + 60000))
}

start_pinger() {
  local i=$1 f left
  nping[i]=$((nping[i] + 1))
  f=$IVG_DIR/ping/c$i.${nping[i]}.log
  left=$(((end_ms - now_ms) / 1000 + 1))
  echo "# start $EPOCHREALTIME" >"$f"
  ip netns exec "$(ivg_ns_client "$i")" ping -n -D -O -i 0.2 -w "$left" "$IVG_TUN_GW" >>"$f" 2>&1 &
  ppid[i]=$!
  IVP_PIDS+=($!)
}

stop_pinger() {
  local i=$1
  [[ -n ${ppid[i]} ]] || return 0
  kill -INT "${ppid[i]}" 2>/dev/null || true
  wait "${ppid[i]}" 2>/dev/null || true
  forget "${ppid[i]}"
  ppid[i]=""
}

# float_client I: the UDP flow moves to the other address (see the header); the old one goes 2 s later.
float_client() {
  local i=$1 ns from to
  ns=$(ivg_ns_client "$i")
  if ((floated[i])); then from=$(client_alt_addr "$i") to=$(ivg_client_addr "$i"); else from=$(ivg_client_addr "$i") to=$(client_alt_addr "$i"); fi
  ip -n "$ns" addr add "$to/24" dev wan
  ip -n "$ns" route replace 10.203.0.0/24 dev wan proto kernel scope link src "$to"
  floated[i]=$((1 - floated[i]))
  unfloat_addr[i]=$from
  unfloat_due[i]=$((now_ms + 2000))
  n_float=$((n_float + 1))
}
declare -a unfloat_addr unfloat_due

stop_client() {  # I exit|kill
  local i=$1 how=$2
  stop_pinger "$i"
  if [[ $how == exit ]]; then
    kill -TERM "${cpid[i]}" 2>/dev/null || true
    state[i]=stopping
    due[i]=$((now_ms + 10000))
    n_exit=$((n_exit + 1))
  else
    kill -KILL "${cpid[i]}" 2>/dev/null || true
    wait "${cpid[i]}" 2>/dev/null || true
    forget "${cpid[i]}"
    kills[i]=$((kills[i] + 1))
    state[i]=down
    due[i]=$((now_ms + (kills[i] % 2 ? 25000 : 3000)))
    n_kill=$((n_kill + 1))
  fi
}

# step_client I: whatever is due for client I now.
step_client() {
  local i=$1
  if [[ -n ${unfloat_addr[i]:-} ]] && ((now_ms >= unfloat_due[i])); then
    ip -n "$(ivg_ns_client "$i")" addr del "${unfloat_addr[i]}/24" dev wan
    unfloat_addr[i]=""
  fi
  case ${state[i]} in
    connecting)
      if grep -q "Initialization Sequence Completed" "${clog[i]}" 2>/dev/null; then
        start_pinger "$i"
        state[i]=up
        case ${role[i]} in
          float) due[i]=$((now_ms + 20000)) ;;
          exit) due[i]=$((now_ms + 40000)) ;;
          kill) due[i]=$((now_ms + 30000)) ;;
        esac
      elif ((now_ms >= due[i])); then
        fail "client$i did not connect within 60 s (${clog[i]})"
        n_conn_timeout=$((n_conn_timeout + 1))
        kill -KILL "${cpid[i]}" 2>/dev/null || true
        wait "${cpid[i]}" 2>/dev/null || true
        forget "${cpid[i]}"
        start_client "$i"
      fi
      ;;
    up)
      ((now_ms >= due[i] && now_ms < end_ms - 3000)) || return 0
      case ${role[i]} in
        float) float_client "$i"; due[i]=$((now_ms + 20000)) ;;
        exit) stop_client "$i" exit ;;
        kill) stop_client "$i" kill ;;
      esac
      ;;
    stopping)
      if ! kill -0 "${cpid[i]}" 2>/dev/null; then
        wait "${cpid[i]}" 2>/dev/null || true
        forget "${cpid[i]}"
        state[i]=down
        due[i]=$((now_ms + 5000))
      elif ((now_ms >= due[i])); then
        fail "client$i did not exit within 10 s of SIGTERM"
        kill -KILL "${cpid[i]}" 2>/dev/null || true
      fi
      ;;
    down)
      ((now_ms >= due[i])) && start_client "$i"
      ;;
  esac
  return 0
}

send_hup() {
  n_hup=$((n_hup + 1))
  write_server_conf "$n_hup"
  ip netns exec "$IVG_NS_GW" python3 "$IVG_DIR/mgmt_hup.py" "$IVG_DIR/mgmt.sock" >>"$IVG_DIR/mgmt.log" 2>&1 ||
    fail "signal SIGHUP through management (reload $n_hup) was not acknowledged"
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$IVG_DP_PID/status" 2>/dev/null || echo 0; }
count() { grep -c -E -- "$1" "$2" 2>/dev/null || true; }

for ((i = 1; i <= nclients; i++)); do
  case $(((i - 1) % 3)) in 0) role[i]="float" ;; 1) role[i]="exit" ;; 2) role[i]="kill" ;; esac
  ivp_client_conf "$IVG_DIR/client$i.conf" cert="client$i" remote="$IVG_GW_ADDR" \
    ciphers=AES-256-GCM:CHACHA20-POLY1305 reneg=30
  ip netns exec "$(ivg_ns_client "$i")" sysctl -qw net.ipv4.conf.wan.promote_secondaries=1
  nlog[i]=0 nping[i]=0 kills[i]=0 floated[i]=0 ppid[i]="" unfloat_addr[i]=""
done
roles=""
for ((i = 1; i <= nclients; i++)); do roles+="${roles:+ }client$i:${role[i]}"; done
ivp_log "soak: $minutes min, warm-up $warmup min, $nclients clients ($roles), dpvpn pid $IVG_DP_PID"

# --- the run ------------------------------------------------------------------------------
end_ms=$((minutes * 60000))
tick
for ((i = 1; i <= nclients; i++)); do start_client "$i"; done
# The schedule counts from the moment every client is up (first connects are not churn).
for ((k = 0; k < 300; k++)); do
  all=1
  for ((i = 1; i <= nclients; i++)); do
    grep -q "Initialization Sequence Completed" "${clog[i]}" 2>/dev/null || all=0
  done
  ((all)) && break
  sleep 0.1
done
((all)) || ivp_fail "not every client connected within 30 s"
t0_us=${EPOCHREALTIME//[.,]/}
t0_epoch=${EPOCHREALTIME/,/.}
tick
for ((i = 1; i <= nclients; i++)); do
  step_client "$i"
  due[i]=$((due[i] + (i - 1) * 4000))
done

printf '%-4s %6s %8s %7s %7s %9s %6s %5s %5s %9s %9s %6s %5s %s\n' \
  min elapsed rss_MB mbufs clients sess_e/h pings lost reneg hs_ok/fail cc/cd floats downs notes
minute=0 next_hup=75000 crashed=0
rss_base=0 rss_max_after=0 rss_first=0
tot_sent=0 tot_lost=0 tot_late=0
# The per-minute columns count from the start of the churn: the first connects are not in them.
read -r _ _ _ _ _ prev_hs_ok prev_hs_fail < <(ip netns exec "$IVG_NS_GW" python3 "$IVG_DIR/metrics.py" "$metrics_port")
prev_reneg=$(count "new data key, key_id [1-7] " "$IVG_DP_LOG")
prev_conn=$(count " connect " "$IVG_DIR/scripts.log")
prev_disc=$(count " disconnect " "$IVG_DIR/scripts.log")
prev_float=0 prev_downs=0 prev_hup=0
declare -a rss_peak  # per minute: the highest VmRSS sampled (kB)
while :; do
  tick
  if ! kill -0 "$IVG_DP_PID" 2>/dev/null; then
    crashed=1
    fail "dpvpn is gone at $((now_ms / 1000)) s"
    break
  fi
  r=$(rss_kb)
  ((r > ${rss_peak[minute + 1]:-0})) && rss_peak[minute + 1]=$r
  ((now_ms >= end_ms)) || for ((i = 1; i <= nclients; i++)); do step_client "$i"; done
  if ((now_ms >= next_hup && now_ms < end_ms - 3000)); then
    send_hup
    next_hup=$((next_hup + 180000))
  fi
  if ((now_ms >= end_ms)); then
    # The last minute: no new pings; those in flight get their 2 s like the others.
    for ((i = 1; i <= nclients; i++)); do stop_pinger "$i"; done
  fi
  # Minute M is reported 2 s after it ends, so that its last pings have had time to come back.
  if ((now_ms >= (minute + 1) * 60000 + 2000)); then
    minute=$((minute + 1))
    read -r sent lost late < <(python3 "$IVG_DIR/pings.py" "$IVG_DIR/ping" \
      "$(awk -v t="$t0_epoch" -v m="$minute" 'BEGIN {printf "%.6f", t + (m - 1) * 60}')" \
      "$(awk -v t="$t0_epoch" -v m="$minute" 'BEGIN {printf "%.6f", t + m * 60}')")
    read -r mb _ ncl est hs hs_ok hs_fail < <(ip netns exec "$IVG_NS_GW" python3 "$IVG_DIR/metrics.py" "$metrics_port" 2>/dev/null ||
      echo "? ? ? ? ? 0 0")
    reneg=$(count "new data key, key_id [1-7] " "$IVG_DP_LOG")
    conn=$(count " connect " "$IVG_DIR/scripts.log")
    disc=$(count " disconnect " "$IVG_DIR/scripts.log")
    downs=$((n_exit + n_kill))
    nup=0
    for ((i = 1; i <= nclients; i++)); do [[ ${state[i]} != up ]] || nup=$((nup + 1)); done
    rss_mb=$(awk -v k="${rss_peak[minute]}" 'BEGIN {printf "%.1f", k / 1024}')
    notes=""
    ((n_hup > prev_hup)) && notes+="SIGHUP "
    ((n_conn_timeout)) && notes+="connect-timeouts=$n_conn_timeout "
    printf '%-4s %6s %8s %7s %7s %9s %6s %5s %5s %9s %9s %6s %5s %s\n' "$minute" "$((now_ms / 1000))s" "$rss_mb" \
      "$mb" "$ncl/$nup" "$est/$hs" "$sent" "$lost" "$((reneg - prev_reneg))" "$((hs_ok - prev_hs_ok))/$((hs_fail - prev_hs_fail))" \
      "$((conn - prev_conn))/$((disc - prev_disc))" "$((n_float - prev_float))" "$((downs - prev_downs))" "$notes"
    tot_sent=$((tot_sent + sent)) tot_lost=$((tot_lost + lost)) tot_late=$((tot_late + late))
    prev_reneg=$reneg prev_hs_ok=$hs_ok prev_hs_fail=$hs_fail prev_conn=$conn prev_disc=$disc
    prev_float=$n_float prev_downs=$downs prev_hup=$n_hup
    ((minute == 1)) && rss_first=${rss_peak[1]}
    ((minute == warmup)) && rss_base=$r
    ((minute > warmup && rss_peak[minute] > rss_max_after)) && rss_max_after=${rss_peak[minute]}
    ((minute >= minutes)) && break
  fi
  sleep 0.25
done

# --- the end: clients leave, dpvpn stops --------------------------------------------------
for ((i = 1; i <= nclients; i++)); do
  stop_pinger "$i"
  if [[ ${state[i]} == up || ${state[i]} == connecting ]]; then kill -TERM "${cpid[i]}" 2>/dev/null || true; fi
done
for ((i = 1; i <= nclients; i++)); do
  [[ ${state[i]} == down ]] && continue
  for ((k = 0; k < 100; k++)); do kill -0 "${cpid[i]}" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "${cpid[i]}" 2>/dev/null || true
  wait "${cpid[i]}" 2>/dev/null || true
  forget "${cpid[i]}"
done
left="?"
if ((!crashed)); then
  # Killed clients' sessions may still wait for ping-restart (20 s).
  for ((k = 0; k < 30; k++)); do
    read -r _ _ left _ < <(ip netns exec "$IVG_NS_GW" python3 "$IVG_DIR/metrics.py" "$metrics_port" 2>/dev/null || echo "? ? ?")
    [[ $left == 0 ]] && break
    sleep 1
  done
  [[ $left == 0 ]] || fail "$left client(s) still connected 30 s after every client left"
  sleep 1  # the last client-disconnect scripts
  ivg_stop_dpvpn
fi
conn=$(count " connect " "$IVG_DIR/scripts.log")
disc=$(count " disconnect " "$IVG_DIR/scripts.log")
reneg=$(count "new data key, key_id [1-7] " "$IVG_DP_LOG")
floats=$(count ": floated to " "$IVG_DP_LOG")
reloads=$(count "SIGHUP: config reloaded" "$IVG_DP_LOG")
mbuf_line=$(grep -o "mbufs in use at exit: [0-9]* of [0-9]*" "$IVG_DP_LOG" || true)

echo "----- summary -----"
echo "run: $minutes min after the first connects, $nclients clients ($roles), warm-up $warmup min"
echo "churn: $n_float address moves (gateway logged $floats floats), $n_exit SIGTERM exits, $n_kill SIGKILLs," \
  "$n_hup SIGHUP reloads ($reloads logged), $reneg renegotiations, $conn client-connect / $disc client-disconnect runs"
echo "closed sessions by reason:"
sed -nE 's/.*: session closed: ([^(:]*[^(: ]).*/\1/p' "$IVG_DP_LOG" | sed -E 's/ from [0-9.]+$//' | sort | uniq -c |
  sed 's/^ */  /'
echo "gateway exit counters: $(sed -n '/counters (exit):/,$p' "$IVG_DP_LOG" | grep -m1 -E '^ +drops:' | sed 's/^ *//')"
restarts=$(cat "$IVG_DIR"/client*.log | grep -c -E "SIGUSR1\[|SIGHUP\[|Restart pause" || true)
verdict=PASS
rss_limit=$((rss_base * 105 / 100))
rss_ok=PASS
((rss_base > 0 && rss_max_after <= rss_limit)) || { rss_ok=FAIL; fail "VmRSS after the warm-up reached $rss_max_after kB, more than 5 % over $rss_base kB"; }
awk -v ok="$rss_ok" -v first="$rss_first" -v w="$warmup" -v base="$rss_base" -v top="$rss_max_after" 'BEGIN {
  printf "RSS: %s  first minute %.1f MB, end of the warm-up (minute %d) %.1f MB, highest after it %.1f MB (%+.2f %%; limit +5 %%)\n",
    ok, first / 1024, w, base / 1024, top / 1024, (base > 0 ? (top - base) * 100 / base : 0) }'
if [[ $mbuf_line =~ in\ use\ at\ exit:\ 0\ of ]]; then echo "mbufs: PASS  $mbuf_line"
else echo "mbufs: FAIL  ${mbuf_line:-no 'mbufs in use at exit' line}"; fail "mbufs leaked or not reported"; fi
if ((tot_lost == 0)); then echo "pings: PASS  $tot_sent sent while clients were meant to be up, 0 lost ($tot_late late, > 0.2 s)"
else echo "pings: FAIL  $tot_sent sent, $tot_lost lost ($tot_late late); $IVG_DIR/ping/lost.txt:"; sed 's/^/  /' "$IVG_DIR/ping/lost.txt"
  fail "$tot_lost pings lost outside planned disconnects"; fi
if ((crashed)); then echo "dpvpn: FAIL  crashed"
elif [[ $IVG_DP_RC != 0 ]]; then echo "dpvpn: FAIL  exit status $IVG_DP_RC after SIGTERM"; fail "dpvpn exit status $IVG_DP_RC"
else echo "dpvpn: PASS  ran throughout, exit status 0"; fi
((reloads == n_hup)) || fail "$n_hup SIGHUPs sent, $reloads reload summaries logged"
((conn == disc)) || fail "$conn client-connect runs but $disc client-disconnect runs"
((reneg > 0)) || fail "no renegotiation"
((restarts == 0)) || fail "$restarts unplanned client restart(s) (SIGUSR1/SIGHUP in the client logs)"
((floats >= n_float)) || fail "$n_float address moves but only $floats floats logged by the gateway"
if ((${#fails[@]})); then
  verdict=FAIL
  echo "failures:"
  printf '  %s\n' "${fails[@]}"
  IVP_KEEP=1
fi
echo "soak: $verdict"
[[ $verdict == PASS ]]
