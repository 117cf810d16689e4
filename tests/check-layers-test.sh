#!/bin/sh
# SPDX-License-Identifier: MIT
# tools/check-layers.sh catches each kind of cross-layer edge: the folders it reads are copied to a
# temporary tree, which must pass as it is; then, one copy per case, one bad line is added and the
# check must exit 1 naming the rule and the file.
# Usage: tests/check-layers-test.sh [REPO_ROOT]
set -u
root=$(cd "${1:-$(dirname "$0")/..}" && pwd) || exit 2
check="$root/tools/check-layers.sh"
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

fresh() {  # a copy of what check-layers.sh reads, in $tmp/tree
  rm -rf "$tmp/tree"
  mkdir -p "$tmp/tree/dataplane" "$tmp/tree/include"
  cp -R "$root/dataplane/proto" "$root/dataplane/crypto" "$tmp/tree/dataplane/" &&
    cp -R "$root/control" "$tmp/tree/" && cp -R "$root/include/dpvpn" "$tmp/tree/include/" || exit 2
}
add_line() {  # FILE LINE: LINE goes after the file's first line (the SPDX line)
  f="$tmp/tree/$1"
  [ -f "$f" ] || { echo "FAIL: $1 is not in the tree"; exit 1; }
  { head -n 1 "$f"; printf '%s\n' "$2"; tail -n +2 "$f"; } > "$tmp/edit" && mv "$tmp/edit" "$f"
}

fresh
out=$(sh "$check" "$tmp/tree" 2>&1) || { echo "FAIL: the unmodified tree does not pass:"; echo "$out"; exit 1; }

fails=0
expect_fail() {  # RULE FILE LINE: the check must exit 1 and report RULE and FILE
  fresh
  add_line "$2" "$3"
  out=$(sh "$check" "$tmp/tree" 2>&1); rc=$?
  if [ $rc -eq 1 ] && printf '%s\n' "$out" | grep -q "rule $1:" && printf '%s\n' "$out" | grep -qF "$2:"; then
    echo "ok: rule $1 catches '$3' in $2"
  else
    echo "FAIL: '$3' in $2: exit $rc, expected 1 with rule $1:"; printf '%s\n' "$out" | sed 's/^/  /'
    fails=1
  fi
}

expect_fail 1 dataplane/proto/packet.cc '#include <rte_mbuf.h>'
expect_fail 1 dataplane/crypto/crypto_common.cc '#include "rte_cryptodev.h"'
expect_fail 1 control/proto/session.cc '#include <rte_ring.h>'
expect_fail 1 include/dpvpn/data_channel.h '#include <rte_mbuf.h>'
expect_fail 2 dataplane/proto/data_keys.cc '#include "dpvpn/static_key.h"'
expect_fail 2 include/dpvpn/data_keys.h '#include "dpvpn/static_key.h"'
expect_fail 2 include/dpvpn/wire.h '#include <dpvpn/session.h>'
expect_fail 2 dataplane/crypto/backends.h '#include "dpvpn/key_slots.h"'
expect_fail 2 dataplane/proto/packet.cc '#include "dpvpn/config.h"'
expect_fail 3 control/proto/session.cc '#include "../client.h"'
expect_fail 3 include/dpvpn/session.h '#include "dpvpn/gateway.h"'
expect_fail 3 dataplane/proto/netpkt.cc '#include "dpvpn/gateway.h"'
expect_fail 3 include/dpvpn/script_args.h '#include "dpvpn/auth_scripts.h"'
expect_fail 4 control/proto/meson.build "cp_proto_src += files('../config.cc')"
expect_fail 4 control/proto/meson.build "cp_proto_src += files('config_cli.cc')"
expect_fail 4 dataplane/proto/meson.build "dp_proto_src += files('../worker.cc')"

[ $fails -eq 0 ] || exit 1
echo "check-layers catches every case"
