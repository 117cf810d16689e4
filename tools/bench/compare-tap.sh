#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# compare.sh --tap: broadcast delivery through a TAP gateway, dpvpn against stock OpenVPN 2.6, with
# the same stock OpenVPN 2.6 `dev tap` clients (docs/bench/tap.md). A UDP sender on the gateway's
# side floods the segment's broadcast address at a fixed rate for a fixed time; every client
# counts what reaches it. Needs root (namespaces); tests/interop/gwlib.sh builds the network:
#
#                       netns fbt-sw: bridge br0 (no addresses)
#        +----------------------+----------------+-- ... --+
#   netns fbt-gw               netns fbt-c1       ...   netns fbt-cN   (N <= 8: the test PKI's certs)
#   gw-wan 10.203.0.1          wan 10.203.0.11          wan 10.203.0.(10+N)
#     (dpvpn: af_packet, no    tap0 10.8.0.x (pushed)   tap0 ...
#      address; openvpn: the   dpvpn-udp sink 0.0.0.0:9000 (counts the broadcasts)
#      kernel's)
#   tap0 10.8.0.1/24 (either server's: dpvpn's exception port or openvpn's tap)
#   dpvpn-udp source 10.8.0.1 -> 10.8.0.255:9000 (SO_BROADCAST, paced)
#
# Only the fbt-* namespaces and a scratch directory are created, all addresses are private, and
# both go on exit. Per step: rate x duration datagrams (at most 200 000), bounded in time.
#
# usage: tools/bench/compare.sh --tap [--quick] [--clients N] [--servers LIST] [--build DIR] [--out FILE]
#   --quick        one size, two rates, 2 s steps (about a minute); full: two sizes, four rates, 4 s
#   --clients N    stock openvpn tap clients (2-8; default 4, full 8)
#   --servers L    from dpvpn (one worker lcore), dpvpn2 (two), openvpn; default "dpvpn openvpn"
#                  (full: "dpvpn dpvpn2 openvpn")
#   --out FILE     also write the table and the JSON records there
# Environment: BENCH_NO_BUILD=1 uses the binaries as they are; BENCH_JOBS=N: ninja -j N;
#   IVP_KEEP=1 keeps the scratch directory (logs, configs).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
quick=0 nclients="" servers="" build=$root/build out=""
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --clients) nclients=$2; shift ;;
    --servers) servers=$2; shift ;;
    --build) build=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 2' "$0"; exit 0 ;;
    *) echo "compare.sh --tap: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ $build == /* ]] || build=$root/$build
[[ -z $out || $out == /* ]] || out=$PWD/$out
if ((quick)); then
  SIZES="512" RATES="2000 10000" DUR=2
  nclients=${nclients:-4} servers=${servers:-dpvpn openvpn}
else
  SIZES="512 1400" RATES="2000 10000 30000 50000" DUR=4
  nclients=${nclients:-8} servers=${servers:-dpvpn dpvpn2 openvpn}
fi
((nclients >= 2 && nclients <= 8)) || { echo "compare.sh --tap: --clients 2..8" >&2; exit 2; }
MAX_PKTS=200000
SINK_PORT=9000 BCAST=10.8.0.255
DPVPN=$build/dpvpn UDP=$build/tools/dpvpn-udp
HZ=$(getconf CLK_TCK)

blog() { echo "[bench-tap $(date +%T)] $*" >&2; }

# shellcheck source=tools/bench/prepare.sh
source "$root/tools/bench/prepare.sh"
bench_prepare "$build" dpvpn tools/dpvpn-udp || { blog "FAIL: could not build dpvpn and tools/dpvpn-udp"; exit 1; }

IVG_PREFIX=fbt IVG_DEV=tap
# shellcheck source=tests/interop/gwlib.sh
source "$root/tests/interop/gwlib.sh"
ivg_setup "$DPVPN" "$nclients"  # exits 77 when it cannot run here; cleans up on exit
SRV_PID="" CL_PIDS=()
RECORDS=$IVG_DIR/records.jsonl
: >"$RECORDS"

# The same server config for both (gwlib.sh's, at verb 3: verb 4 logs more than a benchmark wants).
server_conf() {
  ivg_server_conf "$1"
  sed -i 's/^verb 4$/verb 3/' "$1"
}

srv_start() {
  local kind=$1 i
  server_conf "$IVG_DIR/$kind.conf"
  case $kind in
    dpvpn | dpvpn2)
      local n=1
      [[ $kind == dpvpn2 ]] && n=2
      IVG_DP_LCORES=0-$((n - 1)) IVG_DP_QPAIRS=$n ivg_start_dpvpn "$IVG_DIR/$kind.conf"
      SRV_PID=$IVG_DP_PID
      ;;
    openvpn)
      ip -n "$IVG_NS_GW" addr add "$IVG_GW_ADDR/24" dev gw-wan
      ivp_run_openvpn "$IVG_NS_GW" "$IVG_DIR/$kind.conf" "$IVG_DIR/openvpn-server.log"
      SRV_PID=$IVP_LAST_PID
      for ((i = 0; i < 300; i++)); do
        grep -q "Initialization Sequence Completed" "$IVG_DIR/openvpn-server.log" 2>/dev/null &&
          grep -q "inet $IVG_TUN_GW/" <<<"$(ip -n "$IVG_NS_GW" -4 addr show dev tap0 2>/dev/null)" && break
        kill -0 "$SRV_PID" 2>/dev/null || ivp_fail "openvpn exited during start-up"
        sleep 0.1
      done
      ((i < 300)) || ivp_fail "openvpn did not come up within 30 s"
      ;;
    *) ivp_fail "unknown server $kind" ;;
  esac
  CL_PIDS=()
  for ((i = 1; i <= nclients; i++)); do
    ivg_start_client "$i"
    CL_PIDS+=("$IVP_LAST_PID")
  done
  for ((i = 1; i <= nclients; i++)); do ivg_wait_client "$i" 90 || ivp_fail "$kind: client$i did not connect"; done
}

# Stops the clients, then the server (dpvpn: its exit counters are kept in $IVG_DIR/KIND.counters).
srv_stop() {
  local kind=$1 pid i
  for pid in "${CL_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${CL_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  CL_PIDS=()
  if [[ $kind == dpvpn* ]]; then
    ivg_stop_dpvpn
    ivg_print_counters >"$IVG_DIR/$kind.counters"
  else
    kill -TERM "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
    ip -n "$IVG_NS_GW" addr flush dev gw-wan
  fi
  SRV_PID=""
  for ((i = 0; i < 50; i++)); do ip -n "$IVG_NS_GW" link show tap0 >/dev/null 2>&1 || break; sleep 0.1; done
}

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Where a broadcast is lost: the gateway-side kernel could not queue it to the server's tap0
# (tx_dropped: the server did not read fast enough), or (dpvpn) its fan-out dropped it.
tap_dropped() { ip netns exec "$IVG_NS_GW" cat /sys/class/net/tap0/statistics/tx_dropped 2>/dev/null || echo 0; }
# dp_drops KIND FILE: "<frames dpvpn read from tap0> <fanout_full> <handoff_full>" from a SIGUSR2
# counter block (ivg_snap_counters); zeros for openvpn.
dp_drops() {
  if [[ $1 != dpvpn* ]]; then echo "0 0 0"; return; fi
  ivg_snap_counters "$2"
  awk 'match($0, /tun rx [0-9]+/) { rx += substr($0, RSTART + 7, RLENGTH - 7) }
    match($0, /fanout_full=[0-9]+/) { ff = substr($0, RSTART + 12, RLENGTH - 12) }
    match($0, /handoff_full=[0-9]+/) { hf = substr($0, RSTART + 13, RLENGTH - 13) }
    END { print rx + 0, ff + 0, hf + 0 }' "$2"
}
# jnum FILE KEY: a number from the one-line JSON object in FILE (what dpvpn-udp prints).
jnum() { sed -nE "s/.*\"$2\":([0-9.]+).*/\\1/p" "$1" | head -n1; }

# step KIND SIZE RATE: one flood of RATE x DUR broadcasts of SIZE IP bytes; one JSON record.
step() {
  local kind=$1 size=$2 rate=$3 i pids=() t0 t1 c0 c1 tx rx sum=0 min="" max=0 sent_s
  if ((rate * DUR > MAX_PKTS)); then blog "  skip $rate/s: over $MAX_PKTS datagrams"; return 0; fi
  for ((i = 1; i <= nclients; i++)); do
    ivp_run "$(ivg_ns_client "$i")" "$IVG_DIR/sink$i.out" "$UDP" sink --bind "0.0.0.0:$SINK_PORT" --json
    pids+=("$IVP_LAST_PID")
  done
  for ((i = 1; i <= nclients; i++)); do
    ivp_wait_log "$IVG_DIR/sink$i.out" "sink listening" 10 || ivp_fail "sink $i did not start"
  done
  local k0 k1 d0 d1
  k0=$(tap_dropped)
  read -ra d0 < <(dp_drops "$kind" "$IVG_DIR/cnt0")
  t0=$(date +%s.%N) c0=$(ticks "$SRV_PID")
  ip netns exec "$IVG_NS_GW" "$UDP" source --dst "$BCAST" --port "$SINK_PORT" --bind "$IVG_TUN_GW" --size "$size" \
    --rate "$rate" --duration "$DUR" --json >"$IVG_DIR/source.out" 2>&1 || ivp_fail "dpvpn-udp source failed: $(cat "$IVG_DIR/source.out")"
  sleep 0.5  # what is still queued in the server or the clients
  t1=$(date +%s.%N) c1=$(ticks "$SRV_PID")
  k1=$(tap_dropped)
  read -ra d1 < <(dp_drops "$kind" "$IVG_DIR/cnt1")
  for i in "${pids[@]}"; do kill -INT "$i" 2>/dev/null || true; done
  for i in "${pids[@]}"; do wait "$i" 2>/dev/null || true; done
  tx=$(jnum "$IVG_DIR/source.out" packets)
  sent_s=$(jnum "$IVG_DIR/source.out" duration_s)
  local per=()
  for ((i = 1; i <= nclients; i++)); do
    rx=$(jnum "$IVG_DIR/sink$i.out" packets)
    rx=${rx:-0}
    per+=("$rx")
    sum=$((sum + rx))
    [[ -z $min ]] || ((rx >= min)) || min=$rx
    [[ -n $min ]] || min=$rx
    ((rx <= max)) || max=$rx
  done
  local frac_mean frac_min rate_out cpu
  frac_mean=$(awk -v s="$sum" -v n="$nclients" -v t="${tx:-0}" 'BEGIN { printf "%.4f", (t > 0 ? s / n / t : 0) }')
  frac_min=$(awk -v m="$min" -v t="${tx:-0}" 'BEGIN { printf "%.4f", (t > 0 ? m / t : 0) }')
  rate_out=$(awk -v s="$sum" -v d="${sent_s:-$DUR}" 'BEGIN { printf "%.0f", (d > 0 ? s / d : 0) }')
  cpu=$(awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" -v hz="$HZ" 'BEGIN { printf "%.0f", 100 * (b - a) / hz / (t1 - t0) }')
  local tapdrop=$((k1 - k0)) dprx=$((d1[0] - d0[0])) ffull=$((d1[1] - d0[1])) hfull=$((d1[2] - d0[2]))
  blog "  $kind ${size} B at $rate/s: sent ${tx:-0}, per client ${per[*]} (delivered $frac_mean, worst $frac_min);" \
       "copies $rate_out/s; server CPU $cpu% of one CPU; tap0 tx_dropped $tapdrop; dpvpn read $dprx, fanout_full $ffull, handoff_full $hfull"
  echo "{\"server\":\"$kind\",\"tap_dropped\":$tapdrop,\"dp_tun_rx\":$dprx,\"fanout_full\":$ffull,\"handoff_full\":$hfull,\"clients\":$nclients,\"size\":$size,\"rate\":$rate,\"sent\":${tx:-0},\"duration_s\":${sent_s:-$DUR},\"received\":[$(IFS=,; echo "${per[*]}")],\"delivered_mean\":$frac_mean,\"delivered_min\":$frac_min,\"copies_per_s\":$rate_out,\"server_cpu_pct\":$cpu}" >>"$RECORDS"
}

START=$(date +%s)
blog "clients $nclients; servers $servers; sizes $SIZES; rates $RATES per s for $DUR s; scratch $IVG_DIR"
for kind in $servers; do
  srv_start "$kind"
  # Warm-up: one broadcast ping (the gateway learns tap0's MAC; ARP is not needed for broadcasts).
  ip netns exec "$IVG_NS_GW" ping -b -c 2 -i 0.2 -W 1 "$BCAST" >/dev/null 2>&1 || true
  for size in $SIZES; do
    for rate in $RATES; do step "$kind" "$size" "$rate"; done
  done
  srv_stop "$kind"
done

# The table (markdown), then the records.
table() {
  echo "| server | clients | IP bytes | offered/s | sent | delivered (mean) | worst client | copies/s | server CPU % | tap0 tx_dropped | fanout_full |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  python3 - "$RECORDS" <<'EOF'
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    print(f"| {r['server']} | {r['clients']} | {r['size']} | {r['rate']} | {r['sent']} | {r['delivered_mean']:.3f} | "
          f"{r['delivered_min']:.3f} | {r['copies_per_s']} | {r['server_cpu_pct']} | {r['tap_dropped']} | "
          f"{r['fanout_full'] if r['server'].startswith('dpvpn') else '-'} |")
EOF
}
{
  table
  echo
  echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -n1); load average $(cut -d' ' -f1-3 /proc/loadavg);" \
       "openvpn $(openvpn --version 2>/dev/null | head -n1 | awk '{print $2}'); $(date -u '+%Y-%m-%d %H:%M UTC'); $(($(date +%s) - START)) s"
} >"$IVG_DIR/table.md"
cat "$IVG_DIR/table.md"
for kind in $servers; do
  [[ -f $IVG_DIR/$kind.counters ]] || continue
  echo "$kind exit counters (fan-out per lcore, and drops):"
  grep -E "tap arp answered|drops:" "$IVG_DIR/$kind.counters" || true
done | tee -a "$IVG_DIR/table.md"
if [[ -n $out ]]; then
  { cat "$IVG_DIR/table.md"; echo; cat "$RECORDS"; } >"$out"
  blog "wrote $out"
fi
