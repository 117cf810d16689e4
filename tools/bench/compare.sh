#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the same load against stock OpenVPN 2.6 and against dpvpn, on one machine, and writes
# docs/bench/results.md plus PNG plots. Needs root (namespaces). Before it runs, it installs what
# is missing (tools/setup-deps.sh: openvpn, gnuplot, ethtool, DPDK...) and builds what it runs
# (meson setup if the build directory has none, then ninja of dpvpn and three tools/ binaries):
# a fresh clone needs nothing else (the first build takes a while).
#
#                       netns bench-sw: bridge br0 (no addresses)
#                  +-----------------+------------------+
#   netns bench-gw (gateway)                      netns bench-cl (clients)
#   gw-wan 10.210.0.1 (openvpn: kernel address;   wan 10.210.0.2, UDP TX checksum offload off
#     dpvpn: no address, af_packet, IPv6 off)     dpvpn-loadgen (N emulated clients)
#   tun0 10.8.0.1/16 (either server)
#   dpvpn-udp sink 10.8.0.1:9000 / dpvpn-udp source -> the clients' VPN addresses
#
# Nothing is created outside the bench-* namespaces and a scratch directory; all addresses are
# private (10.210.0.0/24 outside, 10.8.0.0/16 inside). Both servers get the same certificates,
# address, port and load; see the "Method" section this script writes into results.md.
#
# usage: tools/bench/compare.sh [--quick] [--out DIR] [--build DIR] [--only a,b,c,d]
#   --quick     about 4 minutes: short steps, 200 and 1000 idle clients (full: ~25 min, 1000/10000)
#   --out DIR   where results.md and the plots go (default docs/bench)
#   --build DIR the meson build directory with dpvpn and tools/ (default build; created if absent)
#   --only L    run only these scenarios (for debugging; the report then lacks the others)
#   --tap       TAP mode instead: broadcast delivery to stock openvpn tap clients through dpvpn and
#               through stock openvpn (tools/bench/compare-tap.sh, which takes the other options)
# Environment: BENCH_KEEP=1 keeps the scratch directory (logs, configs, every JSON);
#   BENCH_NO_BUILD=1 runs the binaries as they are (no apt, no ninja); BENCH_JOBS=N: ninja -j N;
#   BENCH_IDLE_N="N ..." idle-client counts for (c); BENCH_SERVERS=dpvpn runs dpvpn only;
#   BENCH_STAGGER_MS=N fixes the arrival gap of (c)'s clients.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
for a in "$@"; do
  if [[ $a == --tap ]]; then
    rest=()
    for b in "$@"; do [[ $b == --tap ]] || rest+=("$b"); done
    exec "$root/tools/bench/compare-tap.sh" "${rest[@]}"
  fi
done
quick=0
out=$root/docs/bench
build=$root/build
only=a,b,c,d
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --out) out=$2; shift ;;
    --build) build=$2; shift ;;
    --only) only=$2; shift ;;
    -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 2' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ $build == /* ]] || build=$root/$build
[[ $out == /* ]] || out=$PWD/$out

NS_SW=bench-sw NS_GW=bench-gw NS_CL=bench-cl
GW_ADDR=10.210.0.1 CL_ADDR=10.210.0.2 PORT=1194
TUN_GW=10.8.0.1 SINK_PORT=9000
DPVPN=$build/dpvpn LG=$build/tools/dpvpn-loadgen UDP=$build/tools/dpvpn-udp CB=$build/tools/dpvpn-crypto-bench
HZ=$(getconf CLK_TCK)
NC=4  # sessions that carry the throughput load (dpvpn spreads them over its 2 lcores)

if ((quick)); then
  TP_D=1 TP_STEPS=2                         # throughput: seconds per step, steps after the probe
  HS_D=2 HS_RATES="40 160"                  # handshake storm: seconds per step, offered rates
  IDLE_N="200 1000" ST_D=2 CB_T=0.05
else
  TP_D=3 TP_STEPS=6
  HS_D=6 HS_RATES="25 50 100 200 400 800 1600"
  IDLE_N="1000 10000" ST_D=8 CB_T=0.3
fi
IDLE_N=${BENCH_IDLE_N:-$IDLE_N}  # e.g. BENCH_IDLE_N=60000 for the /16 pool at scale
SERVERS=${BENCH_SERVERS:-dpvpn openvpn}  # BENCH_SERVERS=dpvpn: only dpvpn (a scale run)
MAX_CLIENTS=20000
for n in $IDLE_N; do if ((n + 100 > MAX_CLIENTS)); then MAX_CLIENTS=$((n + 100)); fi; done
SIZES=${BENCH_SIZES:-64 512 1420 imix}  # BENCH_SIZES: a subset, for debugging
# Links carry 1600-byte frames so that a 1500-byte inner packet (IMIX) needs no outer IP
# fragmentation with either server (dpvpn does not fragment what it sends; OpenVPN lets the
# kernel do it). The benchmark measures the VPN, not IP fragmentation.
MTU=1600

log() { echo "[bench $(date +%T)] $*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# ---------------------------------------------------------------- processes and cleanup
PIDS=()      # every background process we started (servers and wrappers), by id
SRV_PID="" SRV_KIND="" SRV_LOG=""
W=""         # scratch directory

del_ns() {
  local ns=$1 pid
  [[ -e /run/netns/$ns ]] || return 0
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
}

cleanup() {
  local rc=$? pid i
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  PIDS=()
  del_ns "$NS_CL"; del_ns "$NS_GW"; del_ns "$NS_SW"
  if [[ -n $W && -d $W ]]; then
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $W"; else rm -rf -- "$W"; fi
  fi
  return $rc
}

# bg NAME NS CMD...: runs CMD in NS in the background, stdout to $W/NAME.out, stderr to
# $W/NAME.err; $W/NAME.pid holds the program's pid (for signals), $W/NAME.cpu its user+system
# CPU seconds once it has ended (bash `times` of the wrapper, which reaps it).
bg() {
  local name=$1 ns=$2 i
  shift 2
  rm -f "$W/$name".{out,err,pid,cpu,rc,wall}
  echo "ip netns exec $ns $*" >>"$W/commands.log"
  (
    trap - EXIT INT TERM
    t0=$(date +%s.%N)
    ip netns exec "$ns" "$@" >"$W/$name.out" 2>"$W/$name.err" &
    echo $! >"$W/$name.pid"
    rc=0
    wait $! || rc=$?
    echo $rc >"$W/$name.rc"
    echo "$t0 $(date +%s.%N)" >"$W/$name.wall"
    # `times` must not run in a pipeline (a subshell of its own, with no children).
    times >"$W/$name.times"
    awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }' \
      "$W/$name.times" >"$W/$name.cpu"
  ) &
  PIDS+=($!)
  eval "BG_$name=$!"
  for ((i = 0; i < 50; i++)); do [[ -s $W/$name.pid ]] && break; sleep 0.02; done
}
bg_wait() { local v="BG_$1"; wait "${!v}" 2>/dev/null || true; }
bg_signal() {
  local p
  p=$(cat "$W/$1.pid" 2>/dev/null) || return 0
  kill -"$2" "$p" 2>/dev/null || true
}
# bg_cpu_pct NAME: its CPU time over its lifetime, in % of one CPU.
bg_cpu_pct() {
  awk -v c="$(cat "$W/$1.cpu" 2>/dev/null || echo 0)" '{ w = $2 - $1; printf "%.0f", (w > 0 ? 100 * c / w : 0) }' \
    "$W/$1.wall" 2>/dev/null || echo 0
}
# wait_line FILE REGEX TIMEOUT_S: 0 once FILE has a matching line.
wait_line() {
  local i
  for ((i = 0; i < $3 * 20; i++)); do grep -Eq -- "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}

# ticks PID: user+system clock ticks of a running process (all its threads).
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# machine busy ticks and total ticks, from /proc/stat (other agents' load shows here too).
mstat() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
now() { date +%s.%N; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# Window CPU: win_start; ...; win_end -> WIN_SRV (server % of one CPU), WIN_MACH (% of all CPUs).
win_start() { W_T0=$(now); W_S0=$(ticks "$SRV_PID"); read -r W_B0 W_A0 < <(mstat); }
win_end() {
  local t1 s1 b1 a1
  t1=$(now); s1=$(ticks "$SRV_PID"); read -r b1 a1 < <(mstat)
  WIN_SRV=$(awk -v a="$W_S0" -v b="$s1" -v t0="$W_T0" -v t1="$t1" -v hz="$HZ" \
    'BEGIN { printf "%.0f", 100 * (b - a) / hz / (t1 - t0) }')
  WIN_MACH=$(awk -v a="$W_B0" -v b="$b1" -v c="$W_A0" -v d="$a1" 'BEGIN { printf "%.0f", (d > c ? 100 * (b - a) / (d - c) : 0) }')
}

# jv FILE KEY...: prints the values of top-level keys of a flat one-line JSON object (what the
# bench tools print), one a line; an empty line for a missing key or file. awk, not python:
# it runs a few times per step, and interpreter start-up costs show on a busy 2-vCPU machine.
jv() {
  local f=$1
  shift
  awk -v keys="$*" 'BEGIN { n = split(keys, k, " ") }
    /^\{/ { line = $0 }
    END {
      for (i = 1; i <= n; i++) {
        v = ""
        if (match(line, "\"" k[i] "\":[^,}]*")) { v = substr(line, RSTART + length(k[i]) + 3, RLENGTH - length(k[i]) - 3); gsub(/"/, "", v) }
        print v
      }
    }' "$f" 2>/dev/null || printf '\n%.0s' "$@"
}

# rec KEY=VALUE...: one JSON record for the report (numbers unquoted).
rec() {
  local s="{" sep="" kv k v
  for kv in "$@"; do
    k=${kv%%=*} v=${kv#*=}
    if [[ $v =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then s+="$sep\"$k\":$v"; else s+="$sep\"$k\":\"$v\""; fi
    sep=,
  done
  echo "$s}" >>"$W/records.jsonl"
}

# calc EXPR: awk arithmetic (the parentheses keep a '>' from being read as a redirection).
calc() { awk "BEGIN { printf \"%.10g\", ($*) }"; }

# ---------------------------------------------------------------- network and PKI
setup_net() {
  local ns
  for ns in "$NS_CL" "$NS_GW" "$NS_SW"; do del_ns "$ns"; done
  ip netns add "$NS_SW"
  ip netns add "$NS_GW"
  ip netns add "$NS_CL"
  for ns in "$NS_SW" "$NS_GW" "$NS_CL"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
  done
  ip -n "$NS_SW" link add br0 type bridge stp_state 0 forward_delay 0
  ip -n "$NS_SW" link set br0 up
  ip link add gw-wan netns "$NS_GW" type veth peer name sw-gw netns "$NS_SW"
  ip link add wan netns "$NS_CL" type veth peer name sw-cl netns "$NS_SW"
  ip -n "$NS_SW" link set sw-gw mtu "$MTU" master br0 up
  ip -n "$NS_SW" link set sw-cl mtu "$MTU" master br0 up
  ip -n "$NS_GW" link set gw-wan mtu "$MTU"
  ip -n "$NS_CL" link set wan mtu "$MTU"
  # af_packet would see CHECKSUM_PARTIAL packets from the client side otherwise.
  ip netns exec "$NS_CL" ethtool -K wan tx off >/dev/null
  ip -n "$NS_CL" addr add "$CL_ADDR/24" dev wan
  # One UDP socket per emulated client: more than the default 28k ephemeral ports at scale.
  ip netns exec "$NS_CL" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
  ip -n "$NS_CL" link set wan up
  ip -n "$NS_GW" link set gw-wan up
}

# server_conf FILE KIND PKI: the same OpenVPN 2.6 server config for both; only the directives
# one of them lacks or needs differ (dpvpn rejects hash-size; it has no connect-freq-initial default, see docs/config.md).
server_conf() {
  local file=$1 kind=$2 pki=$3
  {
    echo "local $GW_ADDR"
    echo "port $PORT"
    echo "proto udp"
    echo "dev tun"
    echo "topology subnet"
    echo "server 10.8.0.0 255.255.0.0"
    echo "ca $pki/ca.crt"
    echo "cert $pki/server.crt"
    echo "key $pki/server.key"
    echo "dh none"
    echo "tls-crypt $pki/tls-crypt.key"
    echo "data-ciphers AES-256-GCM"
    echo "keepalive 10 60"
    echo "max-clients $MAX_CLIENTS"
    echo "duplicate-cn"
    echo "fast-io"
    echo "sndbuf 4194304"
    echo "rcvbuf 4194304"
    echo "txqueuelen 1000"
    echo "mute-replay-warnings"
    echo "verb 3"
    if [[ $kind == openvpn ]]; then
      echo "hash-size 65536 65536"
      # 2.6 answers only 100 new clients per 10 s by default: a handshake benchmark needs more.
      echo "connect-freq-initial 1000000 1"
    else
      # Every emulated client comes from one address: no per-address first-contact limit.
      echo "dp-contact-rate 0"
    fi
  } >"$file"
}

# srv_start KIND PKI: a fresh server; waits until it serves. Sets SRV_PID, SRV_LOG.
srv_start() {
  local kind=$1 pki=$2 conf i
  SRV_KIND=$kind
  conf=$W/$kind.conf
  server_conf "$conf" "$kind" "$pki"
  SRV_LOG=$W/$kind-$((++SRV_RUNS)).log
  ip -n "$NS_GW" addr flush dev gw-wan
  if [[ $kind == openvpn ]]; then
    ip netns exec "$NS_GW" sysctl -qw net.ipv6.conf.gw-wan.disable_ipv6=1
    ip -n "$NS_GW" addr add "$GW_ADDR/24" dev gw-wan
    SRV_CMD="openvpn --config $conf"
    ip netns exec "$NS_GW" openvpn --config "$conf" >"$SRV_LOG" 2>&1 &
  else
    SRV_CMD="$DPVPN --no-huge -m 2048 --no-shconf --no-pci -l 0-1 --vdev=net_af_packet0,iface=gw-wan,qpairs=2 -- --config $conf"
    # shellcheck disable=SC2086
    ip netns exec "$NS_GW" $SRV_CMD >"$SRV_LOG" 2>&1 &
  fi
  SRV_PID=$!
  PIDS+=("$SRV_PID")
  echo "ip netns exec $NS_GW $SRV_CMD" >>"$W/commands.log"
  local ready="Initialization Sequence Completed"
  [[ $kind == dpvpn ]] && ready="control thread up"
  for ((i = 0; i < 300; i++)); do
    if grep -q "$ready" "$SRV_LOG" 2>/dev/null && ip -n "$NS_GW" -4 addr show dev tun0 2>/dev/null | grep -q "inet $TUN_GW/"; then
      sleep 0.5  # let its memory settle before anyone reads the 0-client RSS
      return 0
    fi
    kill -0 "$SRV_PID" 2>/dev/null || { tail -n 30 "$SRV_LOG" >&2; die "$kind exited during start-up"; }
    sleep 0.1
  done
  tail -n 30 "$SRV_LOG" >&2
  die "$kind did not come up within 30 s"
}

srv_stop() {
  local i
  [[ -n $SRV_PID ]] || return 0
  kill -TERM "$SRV_PID" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SRV_PID" 2>/dev/null || true
  wait "$SRV_PID" 2>/dev/null || true
  SRV_PID=""
  # Keep the scratch log, and wait for tun0 to go (the next server creates its own).
  for ((i = 0; i < 50; i++)); do ip -n "$NS_GW" link show tun0 >/dev/null 2>&1 || break; sleep 0.1; done
}

# lg_common PKI: LGC = the loadgen options every scenario shares.
lg_common() { LGC=(--remote "$GW_ADDR:$PORT" --pki "$1" --bind "$CL_ADDR" --wrap tls-crypt --ciphers AES-256-GCM --json); }

# ---------------------------------------------------------------- scenario (a): throughput
# tp_step DIR SIZE RATE: one measurement; sets ST_OFF ST_DEL (pps), ST_LOSS (fraction), ST_GBPS,
# and CPU % of server, generator (loadgen or source), receiver (sink or loadgen), machine.
tp_step() {
  local dir=$1 size=$2 rate=$3 tx rx dur addrs
  if [[ $dir == c2s ]]; then
    bg sink "$NS_GW" "$UDP" sink --bind "$TUN_GW:$SINK_PORT" --duration $((TP_D + 40)) --json
    sleep 0.2
    lg_common "$PKI_EC"
    bg lg "$NS_CL" "$LG" "${LGC[@]}" --clients "$NC" --stagger-ms 0 --size "$size" --rate "$rate" \
      --duration "$TP_D"
    wait_line "$W/lg.err" "established" 30 || true
    win_start
    bg_wait lg
    win_end
    sleep 0.2
    bg_signal sink INT
    bg_wait sink
    read -r tx dur < <(jv "$W/lg.out" tx_packets duration_s | paste -sd' ')
    rx=$(jv "$W/sink.out" packets)
    ST_GEN=$(bg_cpu_pct lg) ST_RCV=$(bg_cpu_pct sink)
  else
    lg_common "$PKI_EC"
    bg lg "$NS_CL" "$LG" "${LGC[@]}" --clients "$NC" --stagger-ms 0 --reverse --duration $((TP_D + 60))
    wait_line "$W/lg.err" "established .* sessions" 30 || { cat "$W/lg.err" >&2; die "loadgen --reverse: no sessions"; }
    addrs=$(sed -n 's/.*vpn addresses: //p' "$W/lg.err" | head -n1)
    win_start
    bg src "$NS_GW" "$UDP" source --dst "$addrs" --port "$SINK_PORT" --size "$size" --rate "$rate" --duration "$TP_D" --json
    bg_wait src
    win_end
    sleep 0.3
    bg_signal lg INT
    bg_wait lg
    tx=$(jv "$W/src.out" packets)
    dur=$(jv "$W/src.out" duration_s)
    rx=$(jv "$W/lg.out" rx_packets)
    ST_GEN=$(bg_cpu_pct src) ST_RCV=$(bg_cpu_pct lg)
  fi
  tx=${tx:-0} rx=${rx:-0}
  [[ -n $dur && $dur != 0 ]] || dur=$TP_D
  ST_OFF=$(calc "$tx / $dur")
  ST_DEL=$(calc "$rx / $dur")
  ST_LOSS=$(calc "$tx > 0 ? ($tx - $rx) / $tx : 1")
  [[ $(calc "$ST_LOSS < 0") == 1 ]] && ST_LOSS=0
  ST_GBPS=$(calc "$ST_DEL * $(mean_size "$size") * 8 / 1e9")
  ST_SRV=$WIN_SRV ST_MACH=$WIN_MACH
  log "  $SRV_KIND $dir $size rate=$rate: offered $ST_OFF pps, delivered $ST_DEL pps, loss $ST_LOSS," \
      "cpu srv $ST_SRV% gen $ST_GEN% rcv $ST_RCV% machine $ST_MACH%"
}

# Mean inner IP packet size of a --size argument (imix: 7:4:1 of 64/576/1500).
mean_size() { if [[ $1 == imix ]]; then calc "(7 * 64 + 4 * 576 + 1500) / 12"; else echo "$1"; fi; }

# tp_search DIR SIZE: highest delivered rate with < 1 % loss (see Method in the report).
# An unpaced probe first: if it lost < 1 %, it is the answer (nothing can offer more). Else the
# answer lies between lo = 0.9 x its delivered rate and hi = its sent rate (a flood can make a
# server deliver less than it could when paced), and each step offers sqrt(lo * hi): a pass
# raises lo to what was sent, a loss lowers hi. If no step has passed when one is left, that
# one verifies lo (and a failing lo moves down by 0.7), so that the figure is a measured pass.
tp_search() {
  local dir=$1 size=$2 rate s lo hi best_del=-1 best=() fb
  tp_step "$dir" "$size" max
  rec scen=a_step srv="$SRV_KIND" dir="$dir" size="$size" rate=max off="$ST_OFF" del="$ST_DEL" loss="$ST_LOSS"
  fb=("$ST_DEL" "$ST_LOSS" "$ST_GBPS" "$ST_SRV" "$ST_GEN" "$ST_RCV" "$ST_MACH" max "$ST_OFF")
  if [[ $(calc "$ST_LOSS < 0.01") == 1 ]]; then
    rec scen=a srv="$SRV_KIND" dir="$dir" size="$size" pps="${fb[0]}" loss="${fb[1]}" gbps="${fb[2]}" \
      cpu_srv="${fb[3]}" cpu_gen="${fb[4]}" cpu_rcv="${fb[5]}" cpu_mach="${fb[6]}" rate=max off="${fb[8]}" ok=1
    return 0
  fi
  lo=$(calc "int($ST_DEL * 0.9 > 1000 ? $ST_DEL * 0.9 : 1000)")
  hi=$(calc "int($ST_OFF > $lo ? $ST_OFF : $lo * 2)")
  for ((s = 0; s < TP_STEPS; s++)); do
    if ((${#best[@]} == 0 && s == TP_STEPS - 1)); then rate=$lo; else rate=$(calc "int(sqrt($lo * $hi))"); fi
    tp_step "$dir" "$size" "$rate"
    rec scen=a_step srv="$SRV_KIND" dir="$dir" size="$size" rate="$rate" off="$ST_OFF" del="$ST_DEL" loss="$ST_LOSS"
    if [[ $(calc "$ST_LOSS < 0.01") == 1 ]]; then
      if [[ $(calc "$ST_DEL > $best_del") == 1 ]]; then
        best_del=$ST_DEL
        best=("$ST_DEL" "$ST_LOSS" "$ST_GBPS" "$ST_SRV" "$ST_GEN" "$ST_RCV" "$ST_MACH" "$rate" "$ST_OFF")
      fi
      lo=$(calc "int($ST_OFF > $lo ? $ST_OFF : $lo)")
    elif [[ $rate == "$lo" ]]; then
      hi=$lo lo=$(calc "int($lo * 0.7)")
    else
      hi=$rate
    fi
  done
  local ok=1
  ((${#best[@]})) || { best=("${fb[@]}"); ok=0; }
  rec scen=a srv="$SRV_KIND" dir="$dir" size="$size" pps="${best[0]}" loss="${best[1]}" gbps="${best[2]}" \
    cpu_srv="${best[3]}" cpu_gen="${best[4]}" cpu_rcv="${best[5]}" cpu_mach="${best[6]}" rate="${best[7]}" \
    off="${best[8]}" ok=$ok
}

scenario_a() {
  local srv dir size
  for srv in $SERVERS; do
    srv_start "$srv" "$PKI_EC"
    for dir in c2s s2c; do
      for size in $SIZES; do tp_search "$dir" "$size"; done
    done
    srv_stop
  done
}

# ---------------------------------------------------------------- scenario (b): handshakes
scenario_b() {
  local srv cert pki r att est p50 p99 pmax dur ok best
  for cert in ecdsa rsa; do
    pki=$PKI_EC; [[ $cert == rsa ]] && pki=$PKI_RSA
    for srv in $SERVERS; do
      srv_start "$srv" "$pki"
      best=0
      for r in $HS_RATES; do
        lg_common "$pki"
        bg lg "$NS_CL" "$LG" "${LGC[@]}" --handshakes-per-sec "$r" --duration "$HS_D"
        win_start
        bg_wait lg
        win_end
        read -r att est p50 p99 pmax dur < <(jv "$W/lg.out" storm_attempted storm_established handshake_p50_ms \
          handshake_p99_ms handshake_max_ms duration_s | paste -sd' ')
        att=${att:-0} est=${est:-0}
        ok=$(calc "$att > 0 && $est >= 0.95 * $att")
        log "  $srv $cert offered $r/s: $est/$att within 5 s, p50 $p50 p99 $p99 max $pmax ms," \
            "cpu srv $WIN_SRV% loadgen $(bg_cpu_pct lg)% machine $WIN_MACH%"
        rec scen=b_step srv="$srv" cert="$cert" offered="$r" attempted="$att" established="$est" \
          dur="${dur:-$HS_D}" p50="${p50:-0}" p99="${p99:-0}" max="${pmax:-0}" ok="$ok" \
          cpu_srv="$WIN_SRV" cpu_gen="$(bg_cpu_pct lg)" cpu_mach="$WIN_MACH"
        [[ $ok == 1 ]] || break
        best=$r
      done
      rec scen=b srv="$srv" cert="$cert" best_offered="$best"
      srv_stop
    done
  done
}

# ---------------------------------------------------------------- scenario (c): idle clients
# hs_cap SRV: SRV's best ECDSA handshake completion rate in (b) (empty when (b) did not run).
hs_cap() {
  python3 - "$W/records.jsonl" "$1" <<'EOF'
import json, sys
best = 0
for l in open(sys.argv[1]):
    x = json.loads(l)
    if x.get("scen") == "b_step" and x["srv"] == sys.argv[2] and x["cert"] == "ecdsa" and x["ok"] == 1:
        best = max(best, x["established"] / (x["dur"] + x["max"] / 1000))
print(f"{best:.0f}" if best > 0 else "")
EOF
}

# Clients arrive at the server's own handshake rate from (b) (stagger = 1000 / rate ms): offered
# faster, the queue would outlast dpvpn-loadgen's per-session limit (k_steady_timeout_ms) with
# 10 000 clients.
scenario_c() {
  local srv n rss0 rss1 est ms cap stagger
  for n in $IDLE_N; do
    for srv in $SERVERS; do
      cap=$(hs_cap "$srv")
      stagger=$(calc "${cap:-0} > 0 ? int(1000 / ${cap:-1}) : 5")
      stagger=${BENCH_STAGGER_MS:-$stagger}  # a fixed arrival gap (scale runs without scenario b)
      [[ $stagger -ge 1 ]] || stagger=1
      srv_start "$srv" "$PKI_EC"
      rss0=$(rss_kb "$SRV_PID")
      # --reverse without a source: the sessions only exchange keepalives (idle clients).
      lg_common "$PKI_EC"
      bg lg "$NS_CL" "$LG" "${LGC[@]}" --clients "$n" --stagger-ms "$stagger" --reverse --duration 3600
      win_start
      wait_line "$W/lg.err" "established .* sessions" $((n * stagger / 1000 + 120)) ||
        die "loadgen: $n sessions did not come up"
      win_end
      read -r est ms < <(sed -nE 's#.*established ([0-9]+)/[0-9]+ sessions in ([0-9]+) ms.*#\1 \2#p' "$W/lg.err")
      sleep "$((2 - quick))"
      rss1=$(rss_kb "$SRV_PID")
      bg_signal lg INT
      bg_wait lg
      log "  $srv $n idle clients, ${stagger} ms apart: $est up in $ms ms; RSS $rss0 -> $rss1 KiB; cpu srv $WIN_SRV% loadgen" \
          "$(bg_cpu_pct lg)% machine $WIN_MACH%"
      rec scen=c srv="$srv" n="$n" stagger="$stagger" established="${est:-0}" up_ms="${ms:-0}" rss0="$rss0" rss1="$rss1" \
        per_client_kb="$(calc "${est:-0} > 0 ? ($rss1 - $rss0) / ${est:-1} : 0")" cpu_srv="$WIN_SRV" \
        cpu_gen="$(bg_cpu_pct lg)" cpu_mach="$WIN_MACH"
      srv_stop
    done
  done
}

# ---------------------------------------------------------------- scenario (d): storm + data
# The same offered load for both: 80 % of the lower 512-byte c->s rate of (a), and a storm of
# the lower ECDSA handshake completion rate of (b) (both from this run; defaults if skipped), so
# that the slower server's control plane is at its limit.
scenario_d() {
  local rate storm srv mode tx rx dur est att p99
  rate=$(python3 - "$W/records.jsonl" <<'EOF'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
v = [x["pps"] for x in r if x.get("scen") == "a" and x["dir"] == "c2s" and str(x["size"]) == "512"]
print(int(0.8 * min(v)) if len(v) == 2 and min(v) > 0 else 20000)
EOF
  )
  storm=$(python3 - "$W/records.jsonl" <<'EOF'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
best = {}
for x in r:
    if x.get("scen") == "b_step" and x["cert"] == "ecdsa" and x["ok"] == 1:
        rate = x["established"] / (x["dur"] + x["max"] / 1000)
        best[x["srv"]] = max(best.get(x["srv"], 0), rate)
print(max(10, int(min(best.values()))) if len(best) == 2 else 50)
EOF
  )
  log "(d): data $rate pps of 512 B from $NC sessions, storm $storm handshakes/s"
  for srv in $SERVERS; do
    srv_start "$srv" "$PKI_EC"
    for mode in base storm; do
      bg sink "$NS_GW" "$UDP" sink --bind "$TUN_GW:$SINK_PORT" --duration $((ST_D + 40)) --json
      sleep 0.2
      lg_common "$PKI_EC"
      bg lg "$NS_CL" "$LG" "${LGC[@]}" --clients "$NC" --stagger-ms 0 --size 512 --rate "$rate" \
        --duration "$ST_D"
      wait_line "$W/lg.err" "established" 30 || true
      win_start
      lg_common "$PKI_EC"
      [[ $mode == storm ]] && bg storm "$NS_CL" "$LG" "${LGC[@]}" --handshakes-per-sec "$storm" \
        --duration "$ST_D"
      bg_wait lg
      win_end
      [[ $mode == storm ]] && bg_wait storm
      sleep 0.2
      bg_signal sink INT
      bg_wait sink
      read -r tx dur < <(jv "$W/lg.out" tx_packets duration_s | paste -sd' ')
      rx=$(jv "$W/sink.out" packets)
      est="" att="" p99=""
      [[ $mode == storm ]] && read -r att est p99 < <(jv "$W/storm.out" storm_attempted storm_established \
        handshake_p99_ms | paste -sd' ')
      log "  $srv $mode: sent $tx received ${rx:-0} in $dur s; storm $est/$att p99 $p99 ms;" \
          "cpu srv $WIN_SRV% machine $WIN_MACH%"
      rec scen=d srv="$srv" mode="$mode" rate="$rate" storm="$storm" tx="${tx:-0}" rx="${rx:-0}" dur="${dur:-$ST_D}" \
        goodput="$(calc "${rx:-0} / ${dur:-$ST_D}")" storm_att="${att:-0}" storm_est="${est:-0}" p99="${p99:-0}" \
        cpu_srv="$WIN_SRV" cpu_mach="$WIN_MACH"
    done
    srv_stop
  done
}

# ---------------------------------------------------------------- main
[[ $(id -u) == 0 ]] || die "needs root (network namespaces)"
[[ -c /dev/net/tun ]] || die "/dev/net/tun missing"
# shellcheck source=tools/bench/prepare.sh
source "$root/tools/bench/prepare.sh"
bench_prepare "$build" dpvpn tools/dpvpn-loadgen tools/dpvpn-udp tools/dpvpn-crypto-bench ||
  die "could not install or build what the benchmark runs (see above)"
for t in ip openvpn ethtool gnuplot python3 lscpu; do
  command -v "$t" >/dev/null 2>&1 || die "$t not installed (tools/setup-deps.sh)"
done
for f in "$DPVPN" "$LG" "$UDP" "$CB"; do [[ -x $f ]] || die "$f not built (ninja -C $build dpvpn tools/...)"; done

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
W=$(mktemp -d /tmp/bench.XXXXXX)
cd "$W"
: >"$W/records.jsonl"
: >"$W/commands.log"
SRV_RUNS=0
START=$(date +%s)
# One socket per emulated client: 10 000 clients need more descriptors than the usual 1024.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

log "scratch $W; mode $([[ $quick == 1 ]] && echo quick || echo full)"
PKI_EC=$W/pki-ec PKI_RSA=$W/pki-rsa
"$root/tools/gen-test-pki.sh" "$PKI_EC" >/dev/null
"$root/tools/gen-test-pki.sh" "$PKI_RSA" --rsa >/dev/null
setup_net

log "raw AEAD limits: $CB --json --time $CB_T"
echo "$CB --json --time $CB_T" >>"$W/commands.log"
"$CB" --json --time "$CB_T" >"$W/crypto.json"

for s in a b c d; do
  [[ ,$only, == *,$s,* ]] || continue
  log "scenario ($s)"
  "scenario_$s"
done

# Facts about the machine for the report.
{
  echo "cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -n1)"
  echo "cores=$(nproc)"
  echo "kernel=$(uname -r)"
  echo "openvpn=$(openvpn --version 2>/dev/null | head -n1 | awk '{print $2}')"
  echo "dpdk=$(pkg-config --modversion libdpdk 2>/dev/null || echo unknown)"
  echo "openssl=$(openssl version | awk '{print $2}')"
  echo "ipsecmb=$(sed -n 's/^#define IMB_VERSION_STR "\(.*\)"/\1/p' /usr/include/intel-ipsec-mb.h 2>/dev/null | head -n1)"
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "mode=$([[ $quick == 1 ]] && echo quick || echo full)"
  echo "elapsed_s=$(($(date +%s) - START))"
  echo "rmem_max=$(sysctl -n net.core.rmem_max)"
  echo "cmdline=tools/bench/compare.sh${quick:+$([[ $quick == 1 ]] && echo ' --quick')}"
} >"$W/machine.txt"
mkdir -p "$out"
python3 "$root/tools/bench/report.py" "$W" "$out"
log "done in $(($(date +%s) - START)) s: $out/results.md"
