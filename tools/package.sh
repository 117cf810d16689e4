#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the dpvpn .deb from this tree (debian/: dpkg-buildpackage -us -uc -b, meson with
# -Dgateway_only=true) in a temp dir, and installs it into a scratch root to check it.
#   tools/package.sh [--ref REV] [--out DIR] [--keep]
# What is packaged: the working tree (tracked files and untracked ones git does not ignore), or
# commit REV (git archive). The checkout is never written to: dpkg-buildpackage writes into the
# parent of the tree it builds, so the tree is copied first. The .deb ends up in DIR (default: a
# new /tmp/dpvpn-deb.XXXXXX, printed); the work dir goes unless --keep.
#
# The checks, in order (any failure stops with a message):
#   1. the .deb holds exactly the layout dist/meson.build gives for prefix /usr (unit in
#      /lib/systemd/system), no test or tool; its version is the meson project's; Depends names
#      the DPDK plugins dpvpn always loads (net_tun's tap driver, the ring mempool);
#   2. its Depends resolve on this machine (apt-get --simulate install of the .deb);
#   3. `dpkg --root=SCRATCH -i` installs it, maintainer scripts included: SCRATCH is a tiny chroot
#      (dash and its libraries, an empty dpkg database), so they run inside it, away from this
#      machine (--force-depends: its libraries are not in that database). dpkg then lists it
#      "install ok installed", with /etc/dpvpn/README and /etc/logrotate.d/dpvpn as conffiles,
#      and `dpkg --verify` finds every file as shipped; then `dpkg --purge` removes it all but
#      nothing else (the check is repeated on a second install);
#   4. the installed /usr/sbin/dpvpn runs against this machine's libraries (EAL with --no-huge, then
#      its usage through `-- --help`);
#   5. `systemd-analyze verify dpvpn-server@test.service` with --root=SCRATCH (plus a copy of this
#      machine's units) passes and prints nothing.
# Needs root (apt-get for the build dependencies, dpkg's chroot). Takes minutes: a full build.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
ref="" out="" keep=0
while (($#)); do
  case "$1" in
    --ref) ref=$2; shift ;;
    --out) out=$2; shift ;;
    --keep) keep=1 ;;
    *) echo "usage: $0 [--ref REV] [--out DIR] [--keep]" >&2; exit 2 ;;
  esac
  shift
done
fail() { echo "package: FAIL: $*" >&2; exit 1; }
step() { echo "package: $* ($((SECONDS - t0)) s)"; }
t0=$SECONDS

tools/setup-deps.sh
extra=()
for p in debhelper dpkg-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || extra+=("$p")
done
if ((${#extra[@]})); then
  echo "package: installing ${extra[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${extra[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/dpvpn-pkg.XXXXXX)
[[ $keep == 1 ]] || trap 'rm -rf -- "$work"' EXIT
version=$(sed -nE "s/^project\('dpvpn'.*version : '([^']+)'.*/\1/p" meson.build)
[[ -n $version ]] || fail "no project version in meson.build"
tree=$work/dpvpn-$version
mkdir -p "$tree"
if [[ -n $ref ]]; then
  git archive "$ref" | tar -x -C "$tree"
else
  git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -x -C "$tree"
fi
[[ -x $tree/debian/rules ]] || fail "no debian/rules in the tree"
deb_version=$(cd "$tree" && dpkg-parsechangelog -S Version)
[[ $deb_version == "$version" ]] || fail "debian/changelog says $deb_version, meson.build $version"
step "building dpvpn $version in $tree"

(cd "$tree" && DEB_BUILD_OPTIONS="parallel=${PACKAGE_JOBS:-2} ${DEB_BUILD_OPTIONS:-}" \
  dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || { tail -n 40 "$work/build.log" >&2; fail "dpkg-buildpackage (log: $work/build.log)"; }
deb=$(ls "$work"/dpvpn_"$version"_*.deb)
step "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"

# 1. Contents.
expected=$(printf '%s\n' /etc/dpvpn/README /etc/dpvpn/server/ /etc/logrotate.d/dpvpn \
  /lib/systemd/system/dpvpn-server@.service /usr/libexec/dpvpn/dpvpn-hugepages /usr/sbin/dpvpn \
  /usr/share/doc/dpvpn/changelog.gz /usr/share/doc/dpvpn/client.md /usr/share/doc/dpvpn/config.md \
  /usr/share/doc/dpvpn/copyright /usr/share/doc/dpvpn/deploy.md /usr/share/doc/dpvpn/directives.md \
  /usr/share/doc/dpvpn/examples/client.conf /usr/share/doc/dpvpn/examples/server.conf \
  /usr/share/doc/dpvpn/examples/server.eal | sort)
# Files, and directories that hold nothing (dpkg-deb -c lists every directory).
got=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\.||' | sort | awk '
  { p[NR] = $0 } END { for (i = 1; i <= NR; i++) { d = p[i]; if (d ~ /\/$/ && index(p[i + 1], d) == 1) continue; print d } }')
[[ $got == "$expected" ]] || fail "the .deb's files differ from the expected layout:
$(diff <(echo "$expected") <(echo "$got") || true)"
depends=$(dpkg-deb -f "$deb" Depends)
# DPDK's drivers are plugins (debian/rules): shlibs alone would leave out the tun port's and the
# mempool's.
for p in librte-net-tap librte-mempool-ring; do
  grep -q "$p[0-9]" <<<"$depends" || fail "Depends lacks $p (a DPDK plugin dpvpn loads at run time): $depends"
done
step "contents ok; Depends: $depends"

# 2. Depends resolve here.
apt-get install --simulate -qq "$deb" >"$work/simulate.log" 2>&1 || { cat "$work/simulate.log" >&2; fail "apt cannot satisfy Depends"; }

# 3. A real dpkg install into a scratch chroot.
root=$work/root
mkdir -p "$root"/var/lib/dpkg/{info,updates,triggers,alternatives} "$root/bin" "$root/tmp"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
cp /bin/dash "$root/bin/dash"
ln -s dash "$root/bin/sh"
for lib in $(ldd /bin/dash | grep -oE '/[^ ]+'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
install_check() {
  dpkg --root="$root" --force-depends -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -i into $root"; }
  [[ $(dpkg-query --root="$root" -W -f='${Status}' dpvpn) == "install ok installed" ]] || fail "dpkg does not list dpvpn as installed"
  dpkg-query --root="$root" -W -f='${Conffiles}\n' dpvpn >"$work/conffiles"
  for c in /etc/dpvpn/README /etc/logrotate.d/dpvpn; do
    grep -q "^ $c " "$work/conffiles" || fail "$c is not a conffile"
  done
  dpkg --root="$root" --verify dpvpn || fail "dpkg --verify found changed or missing files"
  [[ -x $root/usr/sbin/dpvpn && -d $root/etc/dpvpn/server ]] || fail "the installed files are not there"
}
install_check
dpkg --root="$root" --purge dpvpn >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "dpkg --purge"; }
left=$(cd "$root" && find etc usr lib -mindepth 1 2>/dev/null | grep -E 'dpvpn' || true)
[[ -z $left ]] || fail "dpkg --purge left: $left"
install_check
step "dpkg -i / --verify / --purge / -i in $root ok"

# 4. The installed binary starts (EAL up without hugepages or devices, then its usage).
prefix=dpvpn-pkgcheck-$$
out4=$("$root/usr/sbin/dpvpn" --no-huge -m 64 --no-shconf --no-pci -l 0 --file-prefix "$prefix" -- --help 2>&1) ||
  { rm -rf "/var/run/dpdk/$prefix"; fail "the installed dpvpn did not run: $out4"; }
rm -rf "/var/run/dpdk/$prefix"
grep -q "usage: dpvpn \[EAL options\] --" <<<"$out4" || fail "no usage from the installed dpvpn: $out4"

# 5. The unit, as installed.
for d in /usr/lib/systemd/system /lib/systemd/system; do
  if [[ -d $d && ! -L $d ]]; then mkdir -p "$root$d" && cp -a -n "$d/." "$root$d/"; fi
done
v=$(systemd-analyze verify --root="$root" dpvpn-server@test.service 2>&1) || fail "systemd-analyze verify: $v"
[[ -z $v ]] || fail "systemd-analyze verify printed: $v"
step "installed binary runs; systemd-analyze verify ok"

if [[ -z $out ]]; then out=$(mktemp -d /tmp/dpvpn-deb.XXXXXX); fi
mkdir -p "$out"
cp "$deb" "$out/"
echo "package: ok: $out/$(basename "$deb") in $((SECONDS - t0)) s"
