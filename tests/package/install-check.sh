#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What `meson install` lays out (dist/meson.build) and the systemd unit, from the build directory
# under test, without a running systemd (a container is fine):
#   - `meson install --destdir` gives exactly the expected files under the configured prefix,
#     sysconfdir, libexecdir and unit directory, the programs executable;
#   - every shared library of the installed dpvpn resolves (ldd);
#   - the unit names the installed binary, helper and config directory, no @VAR@ is left, and its
#     capabilities are names systemd knows (verify does not check those);
#   - `systemd-analyze verify dpvpn-server@test.service` passes and prints nothing, with --root on
#     a scratch root: the destdir plus a copy of this machine's units (verify loads sysinit.target
#     & co, and checks under the root that ExecStart's and ExecStartPre's programs exist);
#   - dpvpn-hugepages: nothing to check with --no-huge, a bad DPVPN_HUGEPAGES refused, and without
#     hugepages on this machine a failure that says what to do (it never reserves pages here);
#   - prints the unit's `systemd-analyze security` exposure.
# usage: install-check.sh BUILDDIR          Exit: 0 pass, 1 fail, 77 skip (no systemd-analyze).
set -euo pipefail
build=$(cd "$1" && pwd)
command -v systemd-analyze >/dev/null 2>&1 || { echo "SKIP: no systemd-analyze (Debian package systemd)"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d /tmp/dpvpn-install.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT
root=$tmp/root

meson install -C "$build" --destdir "$root" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "meson install --destdir"; }

# The directories as configured (absolute): prefix=/usr gives /etc, /usr/local gives /usr/local/etc.
eval "$(meson introspect --buildoptions "$build" | python3 -c '
import json, os, shlex, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
p = o["prefix"]
d = {"sbindir": o["sbindir"], "sysconfdir": o["sysconfdir"], "libexecdir": o["libexecdir"], "datadir": o["datadir"]}
for k, v in d.items():
    print(f"{k}={shlex.quote(os.path.join(p, v))}")
print("unitdir=" + shlex.quote(o["systemdunitdir"] or os.path.join(p, "lib/systemd/system")))')"
docdir=$datadir/doc/dpvpn
unit=$root$unitdir/dpvpn-server@.service

expected=$(printf '%s\n' "$sbindir/dpvpn" "$unitdir/dpvpn-server@.service" "$libexecdir/dpvpn/dpvpn-hugepages" \
  "$sysconfdir/dpvpn/README" "$sysconfdir/dpvpn/server" "$sysconfdir/logrotate.d/dpvpn" \
  "$docdir/client.md" "$docdir/config.md" "$docdir/deploy.md" "$docdir/directives.md" \
  "$docdir/examples/client.conf" "$docdir/examples/server.conf" "$docdir/examples/server.eal" | sort)
got=$(cd "$root" && find . \( -type f -o -type d -empty \) | sed 's|^\.||' | sort)
[[ $got == "$expected" ]] || fail "installed files differ from the expected layout:
$(diff <(echo "$expected") <(echo "$got") || true)"
for x in "$sbindir/dpvpn" "$libexecdir/dpvpn/dpvpn-hugepages"; do
  [[ -x $root$x ]] || fail "$x is not executable"
done
missing=$(ldd "$root$sbindir/dpvpn" | grep "not found" || true)
[[ -z $missing ]] || fail "dpvpn: shared libraries not found: $missing"

grep -q "^ExecStart=$sbindir/dpvpn .*-- --cd $sysconfdir/dpvpn/server .*--config %i.conf$" "$unit" ||
  fail "ExecStart does not run $sbindir/dpvpn with --cd $sysconfdir/dpvpn/server --config %i.conf"
grep -qx "ExecStartPre=+$libexecdir/dpvpn/dpvpn-hugepages" "$unit" || fail "no ExecStartPre with the hugepage check"
grep -qx "EnvironmentFile=$sysconfdir/dpvpn/server/%i.eal" "$unit" || fail "no EnvironmentFile %i.eal"
! grep -n '@[A-Z]*@' "$unit" "$root$sysconfdir/dpvpn/README" || fail "a @VARIABLE@ was not substituted"
read -ra caps <<<"$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")"
((${#caps[@]} > 0)) || fail "no CapabilityBoundingSet"
systemd-analyze capability "${caps[@]}" >/dev/null || fail "unknown capability in ${caps[*]}"

# verify needs the units the template pulls in (sysinit.target, network-online.target, ...) under
# the root: this machine's, ours kept where names collide.
for d in /usr/lib/systemd/system /lib/systemd/system; do
  if [[ -d $d && ! -L $d ]]; then
    mkdir -p "$root$d"
    cp -a -n "$d/." "$root$d/"
  fi
done
out=$(systemd-analyze verify --root="$root" dpvpn-server@test.service 2>&1) || fail "systemd-analyze verify: $out"
[[ -z $out ]] || fail "systemd-analyze verify printed warnings: $out"
exposure=$(systemd-analyze security --offline=true --root="$root" dpvpn-server@test.service 2>/dev/null | tail -n 1 || true)

helper=$root$libexecdir/dpvpn/dpvpn-hugepages
DPVPN_EAL_ARGS="--no-huge -m 1024 -l 0-1" "$helper" || fail "dpvpn-hugepages with --no-huge"
rc=0
DPVPN_EAL_ARGS="--in-memory" DPVPN_HUGEPAGES=lots "$helper" 2>"$tmp/err" || rc=$?
[[ $rc == 1 ]] && grep -q "expected a number" "$tmp/err" || fail "dpvpn-hugepages took DPVPN_HUGEPAGES=lots"
total=0
for f in /sys/kernel/mm/hugepages/hugepages-*/nr_hugepages; do [[ -r $f ]] && total=$((total + $(<"$f"))); done
rc=0
DPVPN_EAL_ARGS="--in-memory -l 0" "$helper" 2>"$tmp/err" || rc=$?
if ((total == 0)); then
  [[ $rc == 1 ]] && grep -q "no hugepages are reserved" "$tmp/err" ||
    fail "dpvpn-hugepages without hugepages: exit $rc, $(<"$tmp/err")"
else
  [[ $rc == 0 ]] || grep -q "in use" "$tmp/err" || fail "dpvpn-hugepages with $total hugepages: exit $rc, $(<"$tmp/err")"
fi

echo "install layout ok (prefix $(dirname "$sbindir")), systemd-analyze verify ok; ${exposure#→ }"
