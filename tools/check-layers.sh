#!/bin/sh
# SPDX-License-Identifier: MIT
# Layer rule: protocol code (dataplane/proto, dataplane/crypto, control/proto) includes no DPDK.
root=${1:-.}
bad=$(grep -rnE '#\s*include\s*[<"](rte_|dpdk/)' "$root/dataplane/proto" "$root/dataplane/crypto" \
      "$root/control/proto" 2>/dev/null)
if [ -n "$bad" ]; then echo "DPDK include in a sans-IO layer:"; echo "$bad"; exit 1; fi
echo "layers ok"
