#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Instructions per packet of the dataplane, outside the AEAD: dpvpn-bench's passes run under
# valgrind's callgrind, which counts every instruction the worker code executes. Unlike a rate,
# the count does not move with the machine's load, so a change to the packet path can be judged
# on a noisy shared machine in one run (docs/bench/dataplane.md, "Instructions per packet").
#
# Only the passes are counted (callgrind collects inside run_pass: classify, look-up, crypto,
# finish, the TX flush and its mbuf frees, the empty polls of the other port); the AEAD is every
# call into the crypto key's open/seal, and one such call is made per packet, so its call count
# is the packet count. Under valgrind the CPU has no AVX-512, so IPsec-MB and the checksum take
# their AVX2 code: the AEAD column is not this CPU's, the rest is the same code as in a real run.
#
# usage: tools/bench/instructions.sh [--build DIR] [--bench BIN] [--points LIST] [--top N] [--json]
#   --bench   count this dpvpn-bench binary instead (an older build kept for an A/B; no build)
#   --points  dir:size:sessions,... (default decrypt:64:1,decrypt:1420:1,encrypt:64:1,
#             encrypt:1420:1,decrypt:64:10000,encrypt:64:10000)
#   --top N   also list the N functions with the most instructions per packet (self, not
#             counting the AEAD) for each point (default 0)
#   --json    one object per point: {"scenario":"instructions","dir","size","sessions","pkts",
#             "outside_aead","aead","total"} (instructions per packet)
# Builds tools/dpvpn-bench if needed (tools/bench/prepare.sh); installs valgrind if missing.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$src/build
bench=
points=decrypt:64:1,decrypt:1420:1,encrypt:64:1,encrypt:1420:1,decrypt:64:10000,encrypt:64:10000
top=0
json=0
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --bench) bench=$2; shift 2 ;;
    --points) points=$2; shift 2 ;;
    --top) top=$2; shift 2 ;;
    --json) json=1; shift ;;
    *) echo "usage: $0 [--build DIR] [--bench BIN] [--points dir:size:sessions,...] [--top N] [--json]" >&2; exit 2 ;;
  esac
done
# shellcheck source=tools/bench/prepare.sh
. "$src/tools/bench/prepare.sh"
if [[ -z $bench ]]; then
  bench_prepare "$build" tools/dpvpn-bench
  bench=$build/tools/dpvpn-bench
fi
# valgrind is in setup-deps.sh's list (bench_prepare ran it unless --bench was given).
command -v callgrind_annotate >/dev/null || "$src/tools/setup-deps.sh" >&2

work=$(mktemp -d)
trap '[[ -n ${INSTR_KEEP:-} ]] || rm -rf "$work"' EXIT
((json)) || printf '%-8s %6s %9s %8s %14s %10s %8s\n' dir size sessions pkts outside_aead aead total
IFS=, read -ra list <<<"$points"
for p in "${list[@]}"; do
  IFS=: read -r dir size sessions <<<"$p"
  out=$work/cg.$dir.$size.$sessions
  # --time: CPU seconds under valgrind (~50x slower): a few passes per round are enough.
  valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect='*run_pass*' \
    "$bench" --no-raw --dir "$dir" --sessions "$sessions" --sizes "$size" \
    --time 0.05 >"$out.log" 2>&1 || { cat "$out.log" >&2; exit 1; }
  callgrind_annotate --inclusive=yes --tree=caller "$out" >"$out.tree" 2>/dev/null
  callgrind_annotate --auto=no "$out" >"$out.self" 2>/dev/null
  python3 - "$out.tree" "$out.self" "$dir" "$size" "$sessions" "$json" "$top" <<'EOF'
import json, os, re, sys
from collections import defaultdict
tree, selff, d, size, sessions, as_json, top = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6] == "1", int(sys.argv[7])
num = lambda s: int(s.replace(",", ""))
row = re.compile(r"\s*([\d,]+) \([ \d.%]*\)\s+(.*)$")  # "Ir (pct) rest"
aead_fn = re.compile(r"dpvpn::crypto::.*::(open|seal)\(dpvpn::crypto::engine")  # a key's open/seal: one per packet


def split(name):
    """(file's base name, function) of "file:function [object]"; callgrind may spell one file two ways."""
    name = re.sub(r" \[[^]]*\]\s*$", "", name).rstrip()
    f, _, fn = name.partition(":") if re.match(r"\S+:", name) else ("", "", name)
    return os.path.basename(f), fn


total = aead = pkts = pending = 0
seen = set()
for line in open(tree):
    m = row.match(line)
    if not m:
        if not line.strip(): pending = 0
        continue
    ir, rest = num(m.group(1)), m.group(2)
    if rest.startswith("PROGRAM TOTALS"):
        total = ir
    elif rest.startswith("<"):  # a caller of the function whose "*" line follows: "(Nx)" calls
        c = re.search(r"\(([\d,]+)x\)(\s*\[[^]]*\])?\s*$", rest)  # the object name may follow
        pending += num(c.group(1)) if c else 0
    elif rest.startswith("*"):
        key = split(rest[1:].strip())
        if aead_fn.search(key[1]):
            if key not in seen:  # inclusive: the AEAD and all it calls, once per spelling pair
                seen.add(key)
                aead += ir
            pkts += pending  # the "<" lines come before one of the spellings only
        pending = 0
if not pkts or not total:
    sys.exit(f"instructions: no packets counted for {d} {size} x{sessions}")
out = {"scenario": "instructions", "dir": d, "size": size, "sessions": sessions, "pkts": pkts,
       "outside_aead": round((total - aead) / pkts), "aead": round(aead / pkts), "total": round(total / pkts)}
if as_json:
    print(json.dumps(out))
else:
    print(f"{d:<8} {size:>6} {sessions:>9} {pkts:>8} {out['outside_aead']:>14} {out['aead']:>10} {out['total']:>8}")
if top:
    # Self cost per function, its inlined parts (listed under the headers they came from) added up.
    per_fn, seen = defaultdict(int), set()
    body = False
    for line in open(selff):
        body = body or "file:function" in line
        m = row.match(line) if body else None
        if not m or "PROGRAM TOTALS" in line or re.search(r"aes_gcm|IPSec_MB|chacha|poly|libcrypto", line): continue
        key = split(m.group(2))
        if key in seen: continue
        seen.add(key)
        per_fn[re.sub(r"\(.*|\[.*", "", key[1].replace("(anonymous namespace)::", ""))[:90]] += num(m.group(1))
    for fn, ir in sorted(per_fn.items(), key=lambda x: -x[1])[:top]:
        print(f"    {ir / pkts:8.1f}  {fn}", file=sys.stderr if as_json else sys.stdout)
EOF
done
