#!/bin/sh
# SPDX-License-Identifier: MIT
# Layer rules, checked on the include lines of the sources and on the proto folders' meson files:
#  1. protocol code (dataplane/proto, dataplane/crypto, control/proto, and their include/dpvpn
#     headers) includes no DPDK;
#  2. the data channel (dataplane/proto, dataplane/crypto and their headers) includes no control/proto
#     header and no config header;
#  3. no protocol code includes a gateway header (control/*.h, or include/dpvpn/X.h of a control/X.cc
#     that is not config code);
#  4. the proto folders' meson files list only their own sources: no config source (control/config*.cc,
#     or anything outside the folder) is compiled into the protocol library.
# A header belongs to a layer when its folder does, or when include/dpvpn/X.h goes with X.cc there.
# Usage: tools/check-layers.sh [REPO_ROOT]; exit 1 with one line per offender, tagged with its rule.
export LC_ALL=C
root=${1:-.}
cd "$root" || exit 2
for d in dataplane/proto dataplane/crypto control/proto control include/dpvpn; do
  [ -d "$d" ] || { echo "check-layers: $root/$d is missing"; exit 2; }
done

# Basenames (without .cc) of the .cc files in the given folders, one a line.
stems() { for d in "$@"; do for f in "$d"/*.cc; do [ -f "$f" ] && basename "$f" .cc; done; done; }
# include/dpvpn/X.h for each stem X that has one.
hdrs() { while read -r s; do [ -f "include/dpvpn/$s.h" ] && echo "include/dpvpn/$s.h"; done; }

# The data channel's public headers: its modules' own, plus the header-only ones.
dp_hdrs=$( { stems dataplane/proto dataplane/crypto; printf '%s\n' buf wire packet data_channel data_keys replay \
             netpkt netpkt6 crypto; } | sort -u | hdrs)
cp_hdrs=$(stems control/proto | sort -u | hdrs)
cfg_hdrs=$(stems control | grep '^config' | hdrs)
gw_hdrs=$(stems control | grep -v '^config' | hdrs)

dp_files=$(find dataplane/proto dataplane/crypto -type f \( -name '*.cc' -o -name '*.h' \) | sort; printf '%s\n' $dp_hdrs)
cp_files=$(find control/proto -type f \( -name '*.cc' -o -name '*.h' \) | sort; printf '%s\n' $cp_hdrs)

# "FILE:LINE:NAME" for each project include line of the files on stdin (quoted, or <dpvpn/...>).
includes() {
  xargs grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*("|<dpvpn/)' 2>/dev/null |
    sed -E 's/^([^:]*:[0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^">]*)[">].*/\1:\2/'
}
# Include lines (FILE:LINE:NAME on stdin) whose NAME's basename is one of the headers in $1.
naming() {
  names=$(for h in $1; do basename "$h"; done)
  [ -n "$names" ] || return 0
  awk -F: -v names="$names" 'BEGIN { n = split(names, a, "\n"); for (i = 1; i <= n; i++) ok[a[i]] = 1 }
       { b = $3; sub(/.*\//, "", b); if (b in ok) print }'
}

bad=0
report() {  # rule, what, offending lines
  [ -n "$3" ] || return 0
  echo "layers: rule $1: $2:"; printf '%s\n' "$3" | sed 's/^/  /'; bad=1
}

# 1. No DPDK in protocol code.
r1=$(printf '%s\n' $dp_files $cp_files |
     xargs grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](rte_|dpdk/)' 2>/dev/null)
report 1 "DPDK include in a sans-IO layer" "$r1"

# 2. The data channel includes no control-channel or config header.
dp_inc=$(printf '%s\n' $dp_files | includes)
r2=$(printf '%s\n' "$dp_inc" | naming "$cp_hdrs $cfg_hdrs $(find control/proto -name '*.h')")
report 2 "dataplane/proto or dataplane/crypto includes a control/proto or config header" "$r2"

# 3. No protocol code includes a gateway header.
cp_inc=$(printf '%s\n' $cp_files | includes)
r3=$(printf '%s\n%s\n' "$dp_inc" "$cp_inc" | naming "$gw_hdrs $(find control -maxdepth 1 -name '*.h')")
report 3 "protocol code includes a gateway header (control/*.h or its include/dpvpn header)" "$r3"

# 4. The protocol library's meson files list only their own folder's sources.
cfg_names=$(stems control | grep '^config' | sed 's/$/\\.cc/' | paste -sd'|' -)
r4=$(grep -nHE "\.\./|['\"/](${cfg_names:-config[a-z_]*\\.cc})['\"]" \
       dataplane/proto/meson.build dataplane/crypto/meson.build control/proto/meson.build 2>/dev/null |
     grep -vE '^[^:]*:[0-9]+:[[:space:]]*#')
report 4 "a proto folder's meson.build lists a source outside its folder (config code is not protocol code)" "$r4"

[ $bad -eq 0 ] || exit 1
echo "layers ok"
