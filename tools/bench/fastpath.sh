#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The all-userspace fast path end to end: the dpvpn gateway on ONE worker lcore and
# dpvpn-loadgen --dpdk, two DPDK processes joined by memif, so no kernel is on the data path.
# Writes docs/bench/fastpath.md and fastpath.png. Needs root (a network namespace holds the
# gateway's exception port tun0). Before it runs it installs what is missing (tools/setup-deps.sh)
# and builds dpvpn, tools/dpvpn-loadgen and tools/dpvpn-bench (tools/bench/prepare.sh).
#
#   CPU 0: dpvpn (worker lcore 0: -l 0)              CPU 1: dpvpn-loadgen --dpdk (-l 1)
#     WAN net_memif0, 10.210.0.1:1194  <==memif==>   net_memif0: 100 client sessions from
#                                                    10.210.0.2:40000+i (real handshakes)
#     LAN net_memif1, dp-lan 192.168.77.1/24 <=====> net_memif1: the LAN host 192.168.77.2
#     tun0 10.8.0.1/16 (netns fastpath-PID; idle)
#
# For each direction (c2s: clients -> LAN host; s2c: LAN host -> clients) and inner size (64, 512,
# 1420, imix) the loadgen offers as much as the gateway takes (memif pushes back; its sealing runs
# on the fly with unique packet ids), measures what comes out at the other port (capacity), then
# offers 90 % of that and measures loss and p50/p99 latency. Next to it: dpvpn-bench's per-lcore
# figure for the same direction, size and session count, measured in this run on the gateway's
# CPU before the gateway starts; and stock OpenVPN 2.6's packets/s from tools/bench/compare.sh.
#
# usage: tools/bench/fastpath.sh [--quick] [--json] [--smoke] [--out DIR] [--build DIR]
#                                [--openvpn run|reuse|skip]
#   --quick    ~2 minutes: 1 s windows, a short dpvpn-bench, compare.sh --quick for OpenVPN
#              (the full run: ~7 minutes, of which compare.sh ~5)
#   --json     one JSON object per line on stdout (the human table goes to stderr):
#              {"scenario":"fastpath","dir":"c2s","size":"1420","gw_mpps":X,"bench_mpps":Y,
#               "openvpn_kpps":Z,"loss":L,...}; loss is at 90 % of capacity
#   --smoke    ~10 s: 4 sessions, 512 B both ways at 50 000 packets/s for 0.5 s, no dpvpn-bench,
#              OpenVPN or report: exit 0 when both directions delivered with < 1 % loss (meson test
#              fastpath_smoke); 77 = skipped (not root, no dp-lan in this dpvpn, memif missing)
#   --out DIR  where fastpath.md and fastpath.png go (default docs/bench)
#   --build DIR  the meson build directory (default build; created if absent)
#   --openvpn  run (default): tools/bench/compare.sh --only a with stock OpenVPN alone (--quick:
#              ~70 s, else ~5 min); reuse: the OpenVPN column of docs/bench/results.md (its last
#              run, not this machine's state now); skip: none.
# Environment: FASTPATH_KEEP=1 keeps the scratch directory (logs, configs, raw JSON, perf.data);
#   FASTPATH_PERF=0: no perf profile of the gateway (taken when perf is installed);
#   FASTPATH_SESSIONS=N (default 100); FASTPATH_NICE=N (default -10: the gateway, the loadgen and
#   dpvpn-bench get most of their CPU on a shared machine, by nice and, with autogroups, by their
#   session group's nice; 0 = neither); BENCH_NO_BUILD=1, BENCH_JOBS=N as in prepare.sh.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
quick=0 json=0 smoke=0 out=$root/docs/bench build=$root/build ovpn=""
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --json) json=1 ;;
    --smoke) smoke=1 ;;
    --out) out=$2; shift ;;
    --build) build=$2; shift ;;
    --openvpn) ovpn=$2; shift ;;
    -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 2' "$0"; exit 0 ;;
    *) echo "fastpath.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ $build == /* ]] || build=$root/$build
[[ $out == /* ]] || out=$PWD/$out
[[ -n $ovpn ]] || ovpn=run
[[ $ovpn == run || $ovpn == reuse || $ovpn == skip ]] || { echo "fastpath.sh: --openvpn run|reuse|skip" >&2; exit 2; }

DPVPN=$build/dpvpn LG=$build/tools/dpvpn-loadgen BENCH=$build/tools/dpvpn-bench
SESSIONS=${FASTPATH_SESSIONS:-100}
NICE=${FASTPATH_NICE:--10}
SIZES=64,512,1420,imix
DIRS=c2s,s2c
# D: seconds per window; WU: warm-up before each; REP: capacity windows per step (the median is
# kept); BT: dpvpn-bench --time.
if ((smoke)); then
  SESSIONS=4 SIZES=512 D=0.5 WU=0.2 REP=1 BT=0 RATE=50000  # paced: a loaded CI machine must not fail it
  NICE=${FASTPATH_NICE:-0}  # a test takes no priority over the rest of the machine
elif ((quick)); then
  D=1 WU=0.2 REP=2 BT=0.3 RATE=max
else
  D=2 WU=0.5 REP=3 BT=1 RATE=max
fi
GW_WAN=10.210.0.1 LG_WAN=10.210.0.2 PORT=1194 GW_LAN=192.168.77.1 LG_LAN=192.168.77.2
NS=fastpath-$$
CPU_GW=0 CPU_LG=1  # dpvpn-bench's EAL is -l 0 too: the per-lcore figure is from the gateway's CPU

log() { echo "[fastpath $(date +%T)] $*" >&2; }
die() { log "FAIL: $*"; exit 1; }
skip() { log "SKIP: $*"; exit 77; }

GW_PID="" LG_PID="" W=""
cleanup() {
  local rc=$? pid i
  for pid in $LG_PID $GW_PID; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $LG_PID $GW_PID; do
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ -e /run/netns/$NS ]]; then
    for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
  fi
  if [[ -n $W && -d $W ]]; then
    if [[ ${FASTPATH_KEEP:-0} == 1 ]]; then log "kept $W"; else rm -rf -- "$W"; fi
  fi
  return $rc
}

# ---------------------------------------------------------------- checks and build
if [[ $(id -u) != 0 ]]; then
  ((smoke)) && skip "needs root (a network namespace for the gateway's tun0)"
  die "needs root (a network namespace for the gateway's tun0)"
fi
[[ -c /dev/net/tun ]] || { ((smoke)) && skip "/dev/net/tun missing"; die "/dev/net/tun missing"; }
# shellcheck source=tools/bench/prepare.sh
source "$root/tools/bench/prepare.sh"
targets=(dpvpn tools/dpvpn-loadgen)
((smoke)) || targets+=(tools/dpvpn-bench)
if ((smoke)); then
  BENCH_NO_BUILD=1 bench_prepare "$build" "${targets[@]}" || skip "dpvpn or dpvpn-loadgen not built (no DPDK?)"
else
  bench_prepare "$build" "${targets[@]}" || die "could not install or build what the benchmark runs (see above)"
fi
need=(ip python3 nice)
((smoke)) || need+=(gnuplot lscpu)
for t in "${need[@]}"; do command -v "$t" >/dev/null 2>&1 || die "$t not installed (tools/setup-deps.sh)"; done
"$LG" --dpdk -- --help 2>&1 | grep -q -- "--dpdk: this dpvpn-loadgen was built without DPDK" &&
  die "$LG was built without DPDK"
ls /usr/lib/*/dpdk/pmds-*/librte_net_memif.so* >/dev/null 2>&1 ||
  { ((smoke)) && skip "DPDK's net_memif driver is not installed"; die "DPDK's net_memif driver is not installed (dpdk package)"; }

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
W=$(mktemp -d /tmp/fastpath.XXXXXX)
START=$(date +%s)
MODE=full
((quick)) && MODE=quick
((smoke)) && MODE=smoke
log "scratch $W; mode $MODE; $SESSIONS sessions"
"$root/tools/gen-test-pki.sh" "$W/pki" >/dev/null 2>&1 || die "tools/gen-test-pki.sh failed"
# nicecmd: the prefix that renices a command (empty with FASTPATH_NICE=0). Each process also starts
# in a session of its own (setsid): with the kernel's autogroups on (sched_autogroup_enabled), nice
# works only within a session's group, so boost PID gives the group itself that nice as well.
nicecmd() { if [[ $NICE != 0 ]]; then echo nice -n "$NICE"; fi; }
boost() {
  local i
  [[ $NICE != 0 && -w /proc/$1/autogroup ]] || return 0
  # Only once setsid has made its session (else this would renice our own group).
  for ((i = 0; i < 100; i++)); do
    [[ $(ps -o sid= -p "$1" 2>/dev/null | tr -d ' ') == "$1" ]] && break
    sleep 0.02
  done
  if [[ $(ps -o sid= -p "$1" 2>/dev/null | tr -d ' ') == "$1" ]]; then
    echo "$NICE" >"/proc/$1/autogroup" 2>/dev/null || true
  fi
}

# ---------------------------------------------------------------- 1. dpvpn-bench, per lcore
if ((!smoke)); then
  log "dpvpn-bench --sessions $SESSIONS --sizes $SIZES --time $BT on CPU $CPU_GW"
  # shellcheck disable=SC2046
  setsid $(nicecmd) "$BENCH" --json --sessions "$SESSIONS" --sizes "$SIZES" --time "$BT" >"$W/bench.json" \
    2>"$W/bench.err" &
  bpid=$!
  boost "$bpid"
  wait "$bpid" || { cat "$W/bench.err" >&2; die "dpvpn-bench failed"; }
fi

# ---------------------------------------------------------------- 2. the gateway
ip netns add "$NS"
ip -n "$NS" link set lo up
# IPv6 stays on (the kernel's default): DPDK 22.11's net_tun reads its queue on every poll until the
# kernel has sent it a first packet (its SIGIO "trigger" starts at 0), and with IPv6 off nothing
# ever comes (no router solicitation, no MLD report): then every worker loop pays a readv system
# call (measured here: 178 000/s, 64 B client->server 3.7 instead of 6.1 Mpps).
cat >"$W/server.conf" <<EOF
# generated by tools/bench/fastpath.sh
local $GW_WAN
port $PORT
proto udp
dev tun
topology subnet
server 10.8.0.0 255.255.0.0
ca $W/pki/ca.crt
cert $W/pki/server.crt
key $W/pki/server.key
dh none
tls-crypt $W/pki/tls-crypt.key
data-ciphers AES-256-GCM
keepalive 10 60
duplicate-cn
verb 3
dp-wan net_memif0
dp-lan net_memif1 $GW_LAN/24
dp-idle-sleep off
EOF
# memif: the gateway is the server (its listening sockets outlive a loadgen); both sides copy
# (zero-copy is a client-side mode, slower or broken here with DPDK 22.11: see docs/bench/fastpath.md).
memif() { echo "--vdev=net_memif$1,role=$2,rsize=12,socket=$W/$3.sock,socket-abstract=no"; }
GW_CMD=("$DPVPN" --no-huge -m 1024 --no-shconf --no-pci -l "$CPU_GW" --file-prefix "fastpath-gw-$$"
  --log-level=pmd.net.memif:error "$(memif 0 server wan)" "$(memif 1 server lan)" -- --config "$W/server.conf")
echo "ip netns exec $NS ${GW_CMD[*]}" >"$W/commands.log"
# shellcheck disable=SC2046
setsid $(nicecmd) ip netns exec "$NS" "${GW_CMD[@]}" >"$W/gateway.log" 2>&1 &
GW_PID=$!
boost "$GW_PID"
for ((i = 0; i < 300; i++)); do
  grep -q "control thread up" "$W/gateway.log" 2>/dev/null && break
  if ! kill -0 "$GW_PID" 2>/dev/null; then
    tail -n 20 "$W/gateway.log" >&2
    if grep -Eq "dp-(lan|wan)" "$W/gateway.log"; then
      ((smoke)) && skip "this dpvpn has no dp-lan/dp-wan"
    fi
    die "the gateway exited during start-up"
  fi
  sleep 0.1
done
grep -q "control thread up" "$W/gateway.log" || die "the gateway did not come up within 30 s"
log "gateway up (pid $GW_PID, CPU $CPU_GW)"

# ---------------------------------------------------------------- 3. the load generator
probe=(--probe 0.9)
((smoke)) && probe=()
LG_CMD=("$LG" --dpdk --no-huge -m 512 --no-shconf --no-pci -l "$CPU_LG" --file-prefix "fastpath-lg-$$"
  --log-level=lib.eal:warning --log-level=pmd.net.memif:error "$(memif 0 client wan)" "$(memif 1 client lan)" --
  --remote "$GW_WAN:$PORT" --pki "$W/pki" --wrap tls-crypt --ciphers AES-256-GCM --wan-ip "$LG_WAN"
  --lan-ip "$LG_LAN" --lan-gw "$GW_LAN" --clients "$SESSIONS" --stagger-ms 10 --dir "$DIRS" --size "$SIZES"
  --rate "$RATE" --repeat "$REP" "${probe[@]}" --duration "$D" --warmup "$WU" --gw-pid "$GW_PID" --json)
echo "${LG_CMD[*]}" >>"$W/commands.log"
log "dpvpn-loadgen --dpdk on CPU $CPU_LG: $SESSIONS sessions, $DIRS x $SIZES, ${D} s windows"
# Where the gateway's CPU goes over the whole run, when perf is installed (FASTPATH_PERF=0: not).
PERF_PID=""
if ((!smoke)) && [[ ${FASTPATH_PERF:-1} != 0 ]] && command -v perf >/dev/null 2>&1; then
  perf record -q -F 499 -k CLOCK_MONOTONIC -o "$W/perf.data" -p "$GW_PID" >/dev/null 2>"$W/perf.err" &
  PERF_PID=$!
fi
rc=0
# shellcheck disable=SC2046
setsid $(nicecmd) timeout 600 "${LG_CMD[@]}" >"$W/loadgen.json" 2>"$W/loadgen.err" &
LG_PID=$!
boost "$LG_PID"
wait "$LG_PID" || rc=$?
LG_PID=""
if [[ -n $PERF_PID ]]; then
  kill -INT "$PERF_PID" 2>/dev/null || true
  wait "$PERF_PID" 2>/dev/null || true
fi
grep -h "established\|sessions" "$W/loadgen.err" | sed 's/; vpn addresses:.*//' >&2 || true
kill -TERM "$GW_PID" 2>/dev/null || true
for ((i = 0; i < 100; i++)); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
wait "$GW_PID" 2>/dev/null || true
GW_PID=""
sed -n '/counters (exit):/,$p' "$W/gateway.log" >"$W/gateway-counters.txt" || true
if [[ $rc != 0 ]] || ! grep -q '^{' "$W/loadgen.json"; then
  tail -n 20 "$W/loadgen.err" >&2
  cat "$W/gateway-counters.txt" >&2
  die "dpvpn-loadgen --dpdk failed (exit $rc)"
fi

if ((smoke)); then
  python3 - "$W/loadgen.json" <<'EOF' || die "smoke: see above"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
ok = True
for r in rows:
    print(f"smoke {r['dir']} {r['size']} B: sent {r['tx_packets']} delivered {r['rx_packets']} "
          f"({r['rx_mpps']:.3f} Mpps) loss {100 * r['loss']:.3f} %", file=sys.stderr)
    ok &= r["rx_packets"] > 5000 and r["loss"] < 0.01
ok &= sorted(r["dir"] for r in rows) == ["c2s", "s2c"]
sys.exit(0 if ok else 1)
EOF
  log "PASS fastpath smoke ($(($(date +%s) - START)) s)"
  exit 0
fi

# ---------------------------------------------------------------- 4. stock OpenVPN figures
OVPN_NOTE=""
: >"$W/openvpn.jsonl"
if [[ $ovpn == run ]]; then
  cq=()
  ((quick)) && cq=(--quick)
  log "stock OpenVPN 2.6: tools/bench/compare.sh ${cq[*]} --only a (OpenVPN alone)"
  crc=0
  BENCH_SERVERS=openvpn BENCH_KEEP=1 BENCH_NO_BUILD=1 "$root/tools/bench/compare.sh" "${cq[@]}" --only a \
    --out "$W/compare" --build "$build" >"$W/compare.out" 2>"$W/compare.err" || crc=$?
  cdir=$(sed -n 's/.*kept \(\/[^ ]*\).*/\1/p' "$W/compare.err" | tail -n 1)
  if [[ -n $cdir && -f $cdir/records.jsonl ]]; then
    python3 - "$cdir/records.jsonl" >"$W/openvpn.jsonl" <<'EOF'
import json, sys
for l in open(sys.argv[1]):
    x = json.loads(l)
    if x.get("scen") == "a" and x.get("srv") == "openvpn":
        print(json.dumps({"dir": x["dir"], "size": str(x["size"]), "kpps": x["pps"] / 1e3, "ok": x.get("ok", 1)}))
EOF
    cp "$cdir/records.jsonl" "$W/compare-records.jsonl"
    rm -rf -- "$cdir"
    OVPN_NOTE="measured in this run by tools/bench/compare.sh ${cq[*]} --only a (stock OpenVPN alone: 4 sessions of dpvpn-loadgen over kernel UDP, tun, the highest delivered rate with < 1 % loss; (!) = no paced step passed, the unpaced probe's rate)"
  else
    tail -n 20 "$W/compare.err" >&2
    log "compare.sh failed (exit $crc): falling back to docs/bench/results.md"
    ovpn=reuse
  fi
fi
if [[ $ovpn == reuse ]]; then
  if [[ -f $root/docs/bench/results.md ]]; then
    python3 - "$root/docs/bench/results.md" >"$W/openvpn.jsonl" <<'EOF'
import json, re, sys
for line in open(sys.argv[1]):
    c = [x.strip() for x in line.strip().strip("|").split("|")]
    if len(c) < 5 or c[2] != "packets/s" or c[0] not in ("client->server", "server->client"):
        continue
    m = re.match(r"([0-9.]+)\s*k", c[4])
    if not m:
        continue
    size = "imix" if c[1].startswith("IMIX") else c[1].split()[0]
    print(json.dumps({"dir": "c2s" if c[0] == "client->server" else "s2c", "size": size,
                      "kpps": float(m.group(1)), "ok": 0 if "(!)" in c[4] else 1}))
EOF
    # shellcheck disable=SC2016  # the backquotes are literal
    gen=$(sed -n 's/^Generated by `tools\/bench\/compare.sh` on \([^(]*\)(\([a-z]*\) mode.*/\1\2 mode/p' \
      "$root/docs/bench/results.md" | head -n 1)
    OVPN_NOTE="reused from docs/bench/results.md (tools/bench/compare.sh, ${gen:-date unknown}; 4 sessions, kernel UDP + tun), not measured in this run"
  else
    OVPN_NOTE="not available (no docs/bench/results.md; run with --openvpn run)"
  fi
fi
[[ $ovpn == skip ]] && OVPN_NOTE="skipped (--openvpn skip)"

# ---------------------------------------------------------------- 5. report
{
  echo "cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -n1)"
  echo "cores=$(nproc)"
  echo "kernel=$(uname -r)"
  echo "dpdk=$(pkg-config --modversion libdpdk 2>/dev/null || echo unknown)"
  echo "ipsecmb=$(sed -n 's/^#define IMB_VERSION_STR "\(.*\)"/\1/p' /usr/include/intel-ipsec-mb.h 2>/dev/null | head -n1)"
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "mode=$MODE"
  echo "elapsed_s=$(($(date +%s) - START))"
  echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "sessions=$SESSIONS"
  echo "window_s=$D"
  echo "repeat=$REP"
  echo "openvpn_note=$OVPN_NOTE"
  if ((quick)); then echo "cmdline=tools/bench/fastpath.sh --quick"; else echo "cmdline=tools/bench/fastpath.sh"; fi
} >"$W/machine.txt"
mkdir -p "$out"
# The report: the JSON lines, the human table, fastpath.png and fastpath.md.
python3 - "$W" "$out" "$json" "$root" <<'EOF'
import json, os, subprocess, sys
W, OUT, AS_JSON, ROOT = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]

def jsonl(path):
    try:
        return [json.loads(l) for l in open(path) if l.startswith("{")]
    except FileNotFoundError:
        return []

mach = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(W, "machine.txt")) if "=" in l)
bench = jsonl(os.path.join(W, "bench.json"))
lg = jsonl(os.path.join(W, "loadgen.json"))
ovpn = {(x["dir"], x["size"]): x for x in jsonl(os.path.join(W, "openvpn.jsonl"))}
SIZES = ["64", "512", "1420", "imix"]
LABEL = {"64": "64 B", "512": "512 B", "1420": "1420 B", "imix": "IMIX"}
DIRS = {"c2s": ("client->server", "decrypt"), "s2c": ("server->client", "encrypt")}

rows = []
for d in DIRS:
    for sz in SIZES:
        cap = next((x for x in lg if x["dir"] == d and x["size"] == sz and x["window"] == "max"), None)
        if cap is None:
            continue
        pr = next((x for x in lg if x["dir"] == d and x["size"] == sz and x["window"] == "rate"), None)
        b = next((x for x in bench if x["dir"] == DIRS[d][1] and x["size"] == sz), None)
        o = ovpn.get((d, sz))
        r = {"scenario": "fastpath", "dir": d, "size": sz,
             "gw_mpps": round(cap["rx_mpps"], 4),
             "bench_mpps": round(b["mpps"], 4) if b else None,
             "openvpn_kpps": round(o["kpps"], 1) if o else None,
             "openvpn_ok": bool(o["ok"]) if o else None,
             "loss": round(pr["loss"], 6) if pr else None,
             "gbps": round(cap["rx_gbps"], 3),
             "ratio": round(cap["rx_mpps"] / b["mpps"], 3) if b and b["mpps"] > 0 else None,
             # per CPU-second of the gateway's worker thread, as dpvpn-bench counts (a lower bound:
             # a busy-polling worker spends CPU while it waits for the loadgen too)
             "ratio_cpu": round(cap.get("rx_mpps_per_gw_cpu", 0) / b["mpps"], 3) if b and b["mpps"] > 0 and cap.get("gw_cpu", -1) > 0 else None,
             "x_openvpn": round(cap["rx_mpps"] * 1e3 / o["kpps"], 1) if o and o["kpps"] > 0 else None,
             "probe_mpps": round(pr["rx_mpps"], 4) if pr else None,
             "probe_offered_mpps": round(pr["rate_pps"] / 1e6, 4) if pr else None,
             "p50_us": pr["p50_us"] if pr else None, "p99_us": pr["p99_us"] if pr else None,
             "loss_max": round(cap["loss"], 6), "backpressure": cap["tx_backpressure"],
             "gw_cpu": cap.get("gw_cpu"), "lg_cpu": cap.get("lg_cpu"),
             "gw_mpps_per_cpu": round(cap.get("rx_mpps_per_gw_cpu", 0), 4),
             "sessions": cap["sessions"], "avg_bytes": cap["avg_bytes"]}
        rows.append(r)

def f(v, fmt, none="n/a"):
    return none if v is None else format(v, fmt)

# ---- the plot
dat = os.path.join(W, "fastpath.dat")
with open(dat, "w") as g:
    for i, sz in enumerate(SIZES):
        vals = []
        for d in DIRS:
            r = next((x for x in rows if x["dir"] == d and x["size"] == sz), None)
            for k in ("bench_mpps", "gw_mpps"):
                vals.append(r[k] if r and r[k] else "NaN")
            vals.append(r["openvpn_kpps"] / 1e3 if r and r["openvpn_kpps"] else "NaN")
        g.write(f'{i} "{LABEL[sz]}" ' + " ".join(str(v) for v in vals) + "\n")
png = os.path.join(OUT, "fastpath.png")
gp = f"""
set terminal pngcairo size 1000,460 font ",10"
set output "{png}"
set multiplot layout 1,2 title "dpvpn on one lcore, end to end over memif, vs dpvpn-bench and stock OpenVPN 2.6 (log scale)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set logscale y
set yrange [0.01:20]
set ylabel "Mpps (inner packets)"
set grid ytics
set key top right font ",9"
set title "client -> server (decrypt, to the LAN port)"
plot "{dat}" using 3:xtic(2) title "dpvpn-bench, 1 lcore" lc rgb "#9ecae1", \\
     "" using 4 title "dpvpn end to end" lc rgb "#3182bd", \\
     "" using 5 title "OpenVPN 2.6" lc rgb "#e6550d"
set title "server -> client (encrypt, from the LAN port)"
plot "{dat}" using 6:xtic(2) title "dpvpn-bench, 1 lcore" lc rgb "#9ecae1", \\
     "" using 7 title "dpvpn end to end" lc rgb "#3182bd", \\
     "" using 8 title "OpenVPN 2.6" lc rgb "#e6550d"
unset multiplot
"""
res = subprocess.run(["gnuplot"], input=gp, text=True, capture_output=True)
if res.returncode != 0:
    sys.stderr.write("gnuplot: " + res.stderr)

# ---- the gateway's profile per capacity window (perf, when it ran)
prof = {}
perf_data = os.path.join(W, "perf.data")
if os.path.exists(perf_data):
    for x in lg:
        if x["window"] != "max" or "t_start" not in x:
            continue
        res = subprocess.run(["perf", "report", "-i", perf_data, "--no-children", "--sort", "dso", "--stdio",
                              "--time", f"{x['t_start']:.6f},{x['t_end']:.6f}"], capture_output=True, text=True)
        shares = {"samples": 0}
        for line in res.stdout.splitlines():
            if line.startswith("# Samples:"):
                v = line.split(":")[1].split()[0]
                shares["samples"] = int(float(v[:-1]) * 1000) if v.endswith("K") else int(v)
            parts = line.split()
            if len(parts) < 2 or not parts[0].endswith("%"):
                continue
            pct, name = float(parts[0][:-1]), parts[1]
            key = ("memif" if "memif" in name else "IPsec-MB" if "IPSec_MB" in name else
                   "kernel+libc" if name in ("[kernel.kallsyms]", "libc.so.6") else
                   "tap" if "net_tap" in name else "dpvpn" if name == "dpvpn" else "other")
            shares[key] = shares.get(key, 0) + pct
        if shares["samples"]:
            prof[(x["dir"], x["size"])] = shares
for r in rows:
    p = prof.get((r["dir"], r["size"]))
    if p:
        r["memif_share"] = round(p.get("memif", 0) / 100, 3)

# ---- fastpath.md
def goal_rows():
    out = []
    for d in DIRS:
        for sz in ("1420", "64"):
            r = next((x for x in rows if x["dir"] == d and x["size"] == sz), None)
            if not r:
                continue
            want_x = 40 if sz == "1420" else 100
            out.append((f"{DIRS[d][0]} {LABEL[sz]}: >= 0.8 of dpvpn-bench", f(r["ratio"], ".2f"),
                        r["ratio"] is not None and r["ratio"] >= 0.8))
            out.append((f"{DIRS[d][0]} {LABEL[sz]}: >= {want_x}x OpenVPN", f(r["x_openvpn"], ".0f") + "x",
                        r["x_openvpn"] is not None and r["x_openvpn"] >= want_x))
    for r in rows:
        out.append((f"{DIRS[r['dir']][0]} {LABEL[r['size']]}: loss < 0.1 % at 90 %",
                    f(None if r["loss"] is None else 100 * r["loss"], ".3f") + " %",
                    r["loss"] is not None and r["loss"] < 0.001))
    return out

counters = open(os.path.join(W, "gateway-counters.txt")).read().strip() if os.path.exists(
    os.path.join(W, "gateway-counters.txt")) else "(none)"
# Paths as a reader can use them: the repository's relative, the scratch directory as $W.
cmds = open(os.path.join(W, "commands.log")).read().strip().replace(W, "$W").replace(ROOT + "/", "")
L = []
L.append("# The all-userspace fast path: dpvpn end to end over memif\n")
L.append(f"Generated by `{mach.get('cmdline')}` on {mach.get('date')} ({mach.get('mode')} mode, {mach.get('elapsed_s')} s; "
         f"load average at the end {mach.get('load')}). Regenerate it with the same command (root; it builds what it needs).\n")
L.append("> **A shared 2-vCPU machine.** The gateway's lcore and the load generator each have one of the two "
         "vCPUs, and other work on the machine takes its share of both: the `CPU gw/lg` column is the share of a "
         "CPU each got during the capacity window (from /proc, the gateway's worker thread alone). dpvpn-bench's "
         "rates are per CPU-second, the end-to-end rates per wall-clock second.\n")
L.append("## Machine\n")
L.append("| CPU | cores | kernel | DPDK | IPsec-MB | sessions | windows |")
L.append("|---|---|---|---|---|---|---|")
L.append(f"| {mach.get('cpu')} | {mach.get('cores')} | {mach.get('kernel')} | {mach.get('dpdk')} | {mach.get('ipsecmb')} | "
         f"{mach.get('sessions')} | {mach.get('window_s')} s, capacity: median of {mach.get('repeat')} |\n")
L.append("## Setup\n")
L.append("```")
L.append("CPU 0: build/dpvpn, -l 0 (one worker lcore)           CPU 1: dpvpn-loadgen --dpdk, -l 1")
L.append("  WAN net_memif0 (dp-wan), 10.210.0.1:1194  <==memif==>  net_memif0: N client sessions, 10.210.0.2:40000+i")
L.append("  LAN net_memif1 (dp-lan 192.168.77.1/24)   <==memif==>  net_memif1: the LAN host 192.168.77.2")
L.append("  tun0 10.8.0.1/16 in a network namespace (the exception port; no traffic in this benchmark)")
L.append("```\n")
L.append("- **Sessions.** `dpvpn-loadgen --dpdk` runs N real OpenVPN 2.6 client sessions (TLS handshake, "
         "tls-crypt, key exchange, push; AES-256-GCM, DATA_V2) through the gateway's control channel on the WAN port, "
         "each from its own UDP source port. It answers ARP for its WAN and LAN addresses and resolves the gateway's "
         "MACs by ARP; the gateway resolves the LAN host by its own ARP request.")
L.append("- **client -> server (c2s).** The loadgen builds inner IPv4/UDP packets from each session's VPN address to "
         "the LAN host, seals each on the fly with the session's sending key (its own packet-id counter: every packet "
         "unique, as a real client's), wraps it in Ethernet/IPv4/UDP and sends bursts of 32 on the WAN. The gateway "
         "opens them (replay check, AEAD) and routes them out of its LAN port (`dp-lan`, TTL - 1, the host's MAC); "
         "the loadgen counts them on its LAN port.")
L.append("- **server -> client (s2c).** The loadgen sends plain packets on the LAN to the sessions' VPN addresses; "
         "the gateway seals them and sends them on the WAN; the loadgen opens each (AEAD, replay window) on its WAN port "
         "and counts it.")
L.append("- **Capacity, then 90 %.** Per direction and size: a warm-up, then a window at the highest rate the ports "
         "take (memif pushes back when the gateway's ring is full, so an overloaded gateway shows as a full ring, not "
         "as loss); what came out of the gateway per second is the capacity (`Mpps`; the median of several such "
         "windows, as other work on the machine can take a window's CPU). Then a window offered at 90 % of "
         "that: loss and latency (`@90 %`). Every packet carries the TSC of its sending and its window's number, so a "
         "window counts only its own packets; latency is from the loadgen building the packet to the loadgen "
         "receiving it on the other port (both on this machine's invariant TSC), p50/p99 from a log-linear histogram "
         "(3 % buckets).")
L.append("- **dpvpn-bench** (`build/tools/dpvpn-bench --sessions N`, docs/bench/dataplane.md): the same worker code "
         "on one lcore of CPU 0 against pre-built packets and `net_null` ports, run just before the gateway starts: "
         "decrypt for c2s, encrypt for s2c. `ratio` = end to end / dpvpn-bench. Its IMIX is 64/576/1500 B (mean "
         "354.7 B), the loadgen's 64/576/1420 B (mean 347.7 B).")
L.append(f"- **OpenVPN 2.6**: {mach.get('openvpn_note')}. `x OpenVPN` = dpvpn end to end / OpenVPN, in packets/s.")
L.append("- **memif** (DPDK's `net_memif`, Debian's DPDK): the gateway is the memif server, the loadgen the client, "
         "rings of 4096 (`rsize=12`, so that a millisecond or so of either process losing its CPU is absorbed). Both sides "
         "copy every packet between their mbufs and the shared ring. memif's zero-copy mode is for the client "
         "side only, so it would need the gateway as the client (then the loadgen copies into the gateway's mbufs and "
         "the gateway copies nothing). With DPDK 22.11.11 it needs hugepages, `--single-file-segments` and shared "
         "EAL config (with `--no-huge` the memseg has no fd: `sendmsg fail: Bad file descriptor`), and the server "
         "must have started both ports before the client connects (else `ID not found`, and the client does not "
         "retry). Tried that way (2026-12-05): the WAN alone zero-copy ran client->server 64 B at 3.9 Mpps against "
         "4.5 copying, in the same minutes; with the LAN zero-copy as well, client->server carried nothing. So "
         "both sides copy, and the gateway pays two copies per packet that a NIC's DMA would not cost it.\n")
L.append("## Results\n")
L.append("![fast path](fastpath.png)\n")
L.append("| direction | size | Mpps | Gbit/s | dpvpn-bench Mpps (1 lcore) | ratio | ratio per CPU-s | OpenVPN kpps | x OpenVPN | @90 %: Mpps | loss | p50 µs | p99 µs | CPU gw / lg | ring full |")
L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    L.append(f"| {DIRS[r['dir']][0]} | {LABEL[r['size']]} | {r['gw_mpps']:.3f} | {r['gbps']:.2f} | {f(r['bench_mpps'], '.3f')} | "
             f"{f(r['ratio'], '.2f')} | {f(r['ratio_cpu'], '.2f')} | {f(r['openvpn_kpps'], '.1f')}{'' if r['openvpn_ok'] in (None, True) else ' (!)'} | {f(r['x_openvpn'], '.0f')}x | "
             f"{f(r['probe_mpps'], '.3f')} | {f(None if r['loss'] is None else 100 * r['loss'], '.3f')} % | "
             f"{f(r['p50_us'], '.1f')} | {f(r['p99_us'], '.1f')} | "
             f"{f(None if r['gw_cpu'] is None else 100 * r['gw_cpu'], '.0f')} / {f(None if r['lg_cpu'] is None else 100 * r['lg_cpu'], '.0f')} % | "
             f"{100 * r['backpressure']:.0f} % |")
L.append("")
L.append("Gbit/s counts inner IP packet bits, as dpvpn-bench does. `ratio` = Mpps / dpvpn-bench; `ratio per CPU-s` "
         "divides the end-to-end rate by the CPU share the gateway's worker got first, as dpvpn-bench counts its rate "
         "(a lower bound: a busy-polling worker also spends CPU waiting for a loadgen that lost its CPU). `@90 %: Mpps` "
         "is what came out when 90 % of the capacity was offered (less when the loadgen lost its CPU in that window). "
         "`ring full`: the share of the loadgen's bursts in the capacity window that found the gateway's input "
         "ring full (it offered more than the gateway took). The goals below use `ratio`.\n")
L.append("### Issue 9's goals\n")
L.append("| goal | measured | met |")
L.append("|---|---|---|")
for g, v, ok in goal_rows():
    L.append(f"| {g} | {v} | {'yes' if ok else '**no**'} |")
L.append("")
perf_data = os.path.join(W, "perf.data")
if prof:
    L.append("## Where the gateway's CPU went\n")
    L.append("`perf record -F 499 -k CLOCK_MONOTONIC -p` on the gateway during the whole load generator run, cut to "
             "each capacity window (the loadgen reports their CLOCK_MONOTONIC spans): the share of the gateway's "
             "samples per shared object. `memif` is DPDK's memif driver copying every packet between the shared "
             "ring and the gateway's mbufs (work a NIC's DMA would do instead); `IPsec-MB` the AES-GCM; `dpvpn` the "
             "gateway's own code (parse, lookups, replay window, headers, checksums, the poll loop); `kernel+libc` "
             "system calls, which the worker makes only on the exception port (net_tun's `readv`); `tap` the net_tun "
             "driver. With IPv6 off in the gateway's namespace net_tun's `readv` runs on every poll (its SIGIO trigger "
             "never fires: the kernel sends nothing on tun0) and takes 25-30 % of the worker (measured: 64 B "
             "client->server 3.7 instead of 6.1 Mpps); this script leaves IPv6 on, the kernel's default.\n")
    L.append("| direction | size | dpvpn | memif | IPsec-MB | kernel+libc | tap | other | samples | ratio without memif (estimate) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        p = prof.get((r["dir"], r["size"]))
        if not p:
            continue
        est = r["ratio_cpu"] / (1 - p.get("memif", 0) / 100) if r["ratio_cpu"] and p.get("memif", 0) < 100 else None
        r["ratio_no_memif"] = round(est, 3) if est else None
        L.append(f"| {DIRS[r['dir']][0]} | {LABEL[r['size']]} | " +
                 " | ".join(f"{p.get(k, 0):.0f} %" for k in ("dpvpn", "memif", "IPsec-MB", "kernel+libc", "tap", "other")) +
                 f" | {p['samples']} | {f(est, '.2f')} |")
    L.append("")
    mem = [p.get("memif", 0) for p in prof.values()]
    kl = [p.get("kernel+libc", 0) + p.get("tap", 0) for p in prof.values()]
    L.append(f"Across these windows memif's copies took {min(mem):.0f}-{max(mem):.0f} % of the gateway's CPU and "
             f"the exception port {min(kl):.0f}-{max(kl):.0f} %. A deployment with a NIC does not pay the copies "
             "(the NIC's DMA fills the mbufs), and dpvpn-bench pays neither (its ports are `net_null`, which neither "
             "copies nor polls a tun). `ratio without memif` estimates what the worker would reach without the "
             "copies: `ratio per CPU-s` / (1 - memif's share), i.e. the same work per packet on the CPU that memif "
             "took (an estimate: the copies also warm the cache for what follows them).\n")
L.append("## The gateway's exit counters\n")
L.append("```")
L.append(counters)
L.append("```\n")
L.append("## Commands\n")
L.append("```")
L.append(cmds)
L.append("```")
with open(os.path.join(OUT, "fastpath.md"), "w") as fo:
    fo.write("\n".join(L) + "\n")

# ---- stdout: the JSON lines (--json) and the human table
if AS_JSON:
    for r in rows:
        print(json.dumps(r, separators=(",", ":")))
human = sys.stderr if AS_JSON else sys.stdout
print(f"{'dir':4} {'size':5} {'Mpps':>7} {'Gbit/s':>7} {'bench':>7} {'ratio':>6} {'ovpn kpps':>9} {'x ovpn':>7}"
      f" {'@90%: Mpps':>10} {'loss':>8} {'p50 us':>7} {'p99 us':>8} {'cpu gw/lg':>9}", file=human)
for r in rows:
    print(f"{r['dir']:4} {r['size']:5} {r['gw_mpps']:7.3f} {r['gbps']:7.2f} {f(r['bench_mpps'], '7.3f'):>7}"
          f" {f(r['ratio'], '6.2f'):>6} {f(r['openvpn_kpps'], '9.1f'):>9} {f(r['x_openvpn'], '7.0f'):>7}"
          f" {f(r['probe_mpps'], '10.3f'):>10} {f(None if r['loss'] is None else 100 * r['loss'], '7.3f'):>7}%"
          f" {f(r['p50_us'], '7.1f'):>7} {f(r['p99_us'], '8.1f'):>8}"
          f" {f(None if r['gw_cpu'] is None else 100 * r['gw_cpu'], '.0f')}/{f(None if r['lg_cpu'] is None else 100 * r['lg_cpu'], '.0f')} %",
          file=human)

EOF
log "done in $(($(date +%s) - START)) s: $out/fastpath.md"
