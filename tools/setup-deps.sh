#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs everything dpvpn's build, tests and demo need on Debian 12. Idempotent.
set -euo pipefail
PKGS=(meson ninja-build pkg-config g++ clang libclang-rt-14-dev
      libdpdk-dev dpdk libssl-dev libipsec-mb-dev libgtest-dev
      openvpn openssl iproute2 iputils-ping iperf3 tcpdump ethtool procps psmisc gnuplot-nox python3)
# systemd-analyze (tests/package: the unit) and logrotate (the copytruncate test); no running systemd.
PKGS+=(systemd logrotate)
# dp-metrics: libmicrohttpd (its HTTP server), dpdk-dev (dpdk-telemetry.py) and a real Prometheus server
# (tests/interop/gateway-metrics.sh starts its own; Debian's package also enables a system one on :9090).
PKGS+=(libmicrohttpd-dev dpdk-dev prometheus)
# TAP mode's bridged interop cases (gateway-tap.sh dhcp): dnsmasq's binary alone (dnsmasq-base: no
# system service) as the DHCP server behind the bridge, busybox for its udhcpc client.
PKGS+=(dnsmasq-base busybox)
# tools/bench/instructions.sh (and its CI smoke) counts the dataplane's instructions with callgrind.
PKGS+=(valgrind)
# The management interface's interop test builds a client on someone else's Go library.
PKGS+=(golang-go golang-github-apparentlymart-go-openvpn-mgmt-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup-deps: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup-deps: ok"
