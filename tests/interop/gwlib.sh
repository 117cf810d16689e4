# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034  # the IVG_* variables are for the sourcing scripts
# Gateway interop library (bash, sourced): the dpvpn executable on one side of a Linux bridge,
# stock OpenVPN 2.6 clients on the other. Shares lib.sh's PKI, client configs, log waits, pings.
#
#                          netns ivg-sw: bridge br0 (no addresses)
#        +---------------------+---------------+----------------+-- ... --+
#        | sw-gw               | sw-c1         | sw-c2          |  sw-cN  |
#   netns ivg-gw               netns ivg-c1    netns ivg-c2       netns ivg-cN
#   gw-wan: no IP, IPv6 off;   wan 10.203.0.11 wan 10.203.0.12    wan 10.203.0.(10+N)
#   dpvpn owns 10.203.0.1      tun0 10.8.0.x   tun0 10.8.0.y      tun0 ...
#   (af_packet on gw-wan),     (pushed by dpvpn; clients' UDP TX checksum offload is off,
#   kernel tun0 10.8.0.1/24     because af_packet would see CHECKSUM_PARTIAL packets)
#
# Only these namespaces exist; none has a route to the outside. UDP port IVP_PORT (1194).
#
# IVG_WAN6=1 (set before ivg_setup) adds an IPv6 WAN beside the IPv4 one: clients keep IPv6 on
# `wan` with fd00:203::(10+N)/64 (no DAD wait), dpvpn owns fd00:203::1 (IVG_GW_ADDR6; it answers
# Neighbor Solicitations itself), the server config gets `proto udp6` and both `local` lines, and
# clients default to `proto udp6` / `remote fd00:203::1` (pass proto=udp4 remote=$IVG_GW_ADDR for
# an IPv4 client). br0 then floods multicast (no MLD snooping: dpvpn's af_packet port never joins
# its solicited-node group). Without IVG_WAN6 nothing of this happens.
#
# Usage:
#   source "$(dirname "$0")/gwlib.sh"
#   ivg_setup DPVPN_EXE NCLIENTS        # skips (77) when unusable; traps EXIT -> ivg_cleanup
#   ivg_server_conf "$IVG_DIR/server.conf" "reneg-sec 10"   # extra lines verbatim
#   ivg_start_dpvpn "$IVG_DIR/server.conf"                  # waits until it listens
#   ivg_start_client I                  # openvpn with certificate clientI in ivg-cI
#   ivg_wait_client I || ivp_fail ...   # "Initialization Sequence Completed"
#   ivg_stop_dpvpn                      # SIGTERM; sets IVG_DP_RC (124 if it did not exit in 10 s)
#
# Set by ivg_setup: IVG_DIR (scratch, removed on exit unless IVP_KEEP=1), IVG_NS_SW, IVG_NS_GW,
#   IVG_GW_ADDR, IVG_TUN_GW (10.8.0.1), IVG_TUN_NET, IVP_PKI. ivg_start_dpvpn sets IVG_DP_PID,
#   IVG_DP_LOG; ivg_start_client sets IVG_CLIENT_LOG[I].

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# IVG_PREFIX (default ivg) names the namespaces, so that two developers' runs on one machine can
# use different prefixes; CI uses the default and runs gateway tests one at a time.
IVG_PREFIX=${IVG_PREFIX:-ivg}
IVG_NS_SW=$IVG_PREFIX-sw
IVG_NS_GW=$IVG_PREFIX-gw
IVG_GW_ADDR=10.203.0.1
IVG_GW_ADDR6=fd00:203::1
IVG_WAN6=${IVG_WAN6:-0}
# IVG_DEV (default tun): `dev tap` for the gateway and its clients (gateway-tap.sh); the devices
# are then tap0, and the server config has no topology line.
IVG_DEV=${IVG_DEV:-tun}
IVG_TUN_NET=10.8.0.0
IVG_TUN_GW=10.8.0.1
# IVG_SERVER_LINE: the server config's addressing line (default `server $IVG_TUN_NET
# 255.255.255.0`; gateway-tap.sh's bridge cases give a server-bridge line). IVG_READY_IF /
# IVG_READY_ADDR: the interface and address ivg_start_dpvpn waits for (default ${IVG_DEV}0 with
# $IVG_TUN_GW; an empty IVG_READY_ADDR waits for the control thread only).
IVG_SERVER_LINE=${IVG_SERVER_LINE:-server $IVG_TUN_NET 255.255.255.0}
IVG_DIR=""
IVG_DPVPN=""
IVG_DP_PID=""
IVG_DP_LOG=""
IVG_DP_RC=""
IVG_CLIENT_LOG=()

# ivg_reneg_pings NS ADDR [WHAT]: 125 pings at 0.2 s from NS to ADDR (about 25 s: across the key
# rollovers of reneg-sec 10), none may be lost.
ivg_reneg_pings() {
  local out loss
  out=$(ip netns exec "$1" ping -n -c 125 -i 0.2 -W 2 "$2" 2>&1) || true
  tail -n 3 <<<"$out"
  loss=$(sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p' <<<"$out")
  [[ $loss == 0 ]] || ivp_fail "ping across renegotiations${3:+ ($3)}: ${loss:-100}% loss"
}

ivg_ns_client() { echo "$IVG_PREFIX-c$1"; }
ivg_client_addr() { echo "10.203.0.$((10 + $1))"; }
ivg_client_addr6() { echo "fd00:203::$((10 + $1))"; }  # IVG_WAN6=1 only

# Deletes every $IVG_PREFIX-* namespace (ours, or the leftovers of a crashed run), killing what runs in it.
_ivg_del_all_ns() {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ $ns == "$IVG_PREFIX"-* ]] || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}

# Stops dpvpn (printing its counters) and our other processes (SIGTERM, SIGKILL after 3 s),
# deletes the namespaces and the scratch dir.
# Idempotent; keeps the exit status of the script.
ivg_cleanup() {
  local rc=$? pid i
  # A failed case still shows what the gateway counted: stop it first, as a passing case does.
  if [[ -n $IVG_DP_PID ]] && kill -0 "$IVG_DP_PID" 2>/dev/null; then
    ivg_stop_dpvpn
    ivg_print_counters >&2
  fi
  for pid in "${IVP_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${IVP_PIDS[@]}"; do
    for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  IVP_PIDS=()
  _ivg_del_all_ns
  if [[ -n $IVG_DIR && -d $IVG_DIR ]]; then
    if [[ ${IVP_KEEP:-0} == 1 ]]; then ivp_log "kept $IVG_DIR"; else rm -rf -- "$IVG_DIR"; fi
  fi
  IVG_DIR=""
  return $rc
}

# _ivg_port NS IF: one veth end in NS (IF) plugged into br0 of ivg-sw (as sw-SUFFIX).
_ivg_port() {
  local ns=$1 ifname=$2 swname=$3
  ip link add "$ifname" netns "$ns" type veth peer name "$swname" netns "$IVG_NS_SW"
  ip -n "$IVG_NS_SW" link set "$swname" master br0 up
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ifname.disable_ipv6=1"
}

# _ivg_no_ipv6 NS: no IPv6 on the interfaces NS creates from now on, so no router solicitations
# or MLD reports on the bridge (the gateway would only count them as drops).
_ivg_no_ipv6() {
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# ivg_setup DPVPN_EXE NCLIENTS
ivg_setup() {
  local exe=$1 n=$2 i ns
  ivp_require_root
  command -v ethtool >/dev/null 2>&1 || { ivp_log "SKIP: ethtool not installed"; exit 77; }
  if [[ -z $exe || ! -x $exe ]]; then ivp_log "SKIP: no dpvpn executable (DPDK not found at build time?)"; exit 77; fi
  IVG_DPVPN=$exe

  _ivg_del_all_ns
  trap ivg_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  IVG_DIR=$(mktemp -d /tmp/ivg.XXXXXX)

  ip netns add "$IVG_NS_SW"
  _ivg_no_ipv6 "$IVG_NS_SW"
  ip -n "$IVG_NS_SW" link add br0 type bridge stp_state 0 forward_delay 0
  [[ $IVG_WAN6 != 1 ]] || ip -n "$IVG_NS_SW" link set br0 type bridge mcast_snooping 0
  ip -n "$IVG_NS_SW" link set br0 up

  ip netns add "$IVG_NS_GW"
  ip -n "$IVG_NS_GW" link set lo up
  _ivg_port "$IVG_NS_GW" gw-wan sw-gw
  ip -n "$IVG_NS_GW" link set gw-wan up

  for ((i = 1; i <= n; i++)); do
    ns=$(ivg_ns_client "$i")
    ip netns add "$ns"
    [[ $IVG_WAN6 == 1 ]] || _ivg_no_ipv6 "$ns"
    ip -n "$ns" link set lo up
    _ivg_port "$ns" wan "sw-c$i"
    ip netns exec "$ns" ethtool -K wan tx off >/dev/null
    ip -n "$ns" addr add "$(ivg_client_addr "$i")/24" dev wan
    if [[ $IVG_WAN6 == 1 ]]; then
      ip netns exec "$ns" sysctl -qw net.ipv6.conf.wan.disable_ipv6=0
      ip -n "$ns" addr add "$(ivg_client_addr6 "$i")/64" dev wan nodad
    fi
    ip -n "$ns" link set wan up
  done
  ivp_pki "$IVG_DIR/pki"
  ivp_log "setup: bridge in $IVG_NS_SW, dpvpn in $IVG_NS_GW ($IVG_GW_ADDR$([[ $IVG_WAN6 != 1 ]] || echo " $IVG_GW_ADDR6")), $n client(s), dir $IVG_DIR"
}

# ivg_server_conf FILE [LINE...]: the gateway config; extra LINEs are appended verbatim.
ivg_server_conf() {
  local file=$1 l
  shift
  {
    echo "# generated by tests/interop/gwlib.sh (dpvpn gateway)"
    echo "local $IVG_GW_ADDR"
    [[ $IVG_WAN6 != 1 ]] || echo "local $IVG_GW_ADDR6"
    echo "port $IVP_PORT"
    if [[ $IVG_WAN6 == 1 ]]; then echo "proto udp6"; else echo "proto udp"; fi
    echo "dev $IVG_DEV"
    [[ $IVG_DEV != tun ]] || echo "topology subnet"
    echo "$IVG_SERVER_LINE"
    echo "ca $IVP_PKI/ca.crt"
    echo "cert $IVP_PKI/server.crt"
    echo "key $IVP_PKI/server.key"
    echo "dh none"
    echo "tls-crypt $IVP_PKI/tls-crypt.key"
    echo "data-ciphers AES-256-GCM:CHACHA20-POLY1305"
    echo "keepalive 10 60"
    echo "explicit-exit-notify 1"
    echo "verb 4"
    for l in "$@"; do echo "$l"; done
  } >"$file"
}

# ivg_start_dpvpn CONF: starts dpvpn in ivg-gw and waits until its control thread listens and
# tun0 carries the gateway address. Exits 77 when EAL or the af_packet port cannot come up.
# `ivg_start_dpvpn -- ARGS...` gives dpvpn ARGS instead of `--config CONF`. IVG_DP_LCORES (EAL
# --lcores, default 0-1; '(0-5)@(0-1)' runs six workers on CPUs 0-1) and IVG_DP_QPAIRS (af_packet qpairs, default 2) must match: one queue per worker.
# IVG_DP_VDEVS_EXTRA (default empty): further EAL arguments after the WAN's, split on blanks, e.g.
# "--vdev=net_af_packet1,iface=gw-lan,qpairs=2" for a LAN port (gateway-lan.sh).
# IVG_DP_READY_LOG (default IVG_DP_LOG): the file that says "control thread up" when dpvpn's log
# does not go to its stdout (`syslog`: gateway-logs.sh).
ivg_start_dpvpn() {
  local conf=$1 i app extra=()
  if [[ $conf == -- ]]; then shift; app=("$@"); else app=(--config "$conf"); fi
  [[ -z ${IVG_DP_VDEVS_EXTRA:-} ]] || read -ra extra <<<"$IVG_DP_VDEVS_EXTRA"
  IVG_DP_LOG=$IVG_DIR/dpvpn.log
  ivp_run "$IVG_NS_GW" "$IVG_DP_LOG" "$IVG_DPVPN" --no-huge -m 1024 --no-shconf --no-pci --lcores "${IVG_DP_LCORES:-0-1}" \
    --file-prefix "$IVG_PREFIX" --vdev="net_af_packet0,iface=gw-wan,qpairs=${IVG_DP_QPAIRS:-2}" "${extra[@]}" -- "${app[@]}"
  IVG_DP_PID=$IVP_LAST_PID
  local ready_if=${IVG_READY_IF:-${IVG_DEV}0} ready_addr=${IVG_READY_ADDR-$IVG_TUN_GW}
  for ((i = 0; i < 300; i++)); do
    if grep -q "control thread up" "${IVG_DP_READY_LOG:-$IVG_DP_LOG}" 2>/dev/null &&
       { [[ -z $ready_addr ]] ||
         grep -q "inet $ready_addr/" <<<"$(ip -n "$IVG_NS_GW" -4 addr show dev "$ready_if" 2>/dev/null)"; }; then
      return 0
    fi
    if ! kill -0 "$IVG_DP_PID" 2>/dev/null; then
      if grep -Eq "dpvpn: (EAL init failed|no WAN port)" "$IVG_DP_LOG"; then
        ivp_log "SKIP: DPDK EAL or the af_packet port is unavailable here:"
        tail -n 20 "$IVG_DP_LOG" >&2
        exit 77
      fi
      ivp_fail "dpvpn exited during start-up"
    fi
    sleep 0.1
  done
  ivp_fail "dpvpn did not come up within 30 s (no 'control thread up' or no ${ready_addr:-address} on $ready_if)"
}

# ivg_start_client I [lib.sh conf options...]: stock openvpn with certificate clientI in ivg-cI.
ivg_start_client() {
  local i=$1
  shift
  local outer=(remote="$IVG_GW_ADDR")
  [[ $IVG_WAN6 != 1 ]] || outer=(proto=udp6 remote="$IVG_GW_ADDR6")
  ivp_client_conf "$IVG_DIR/client$i.conf" cert="client$i" "${outer[@]}" \
    ciphers=AES-256-GCM:CHACHA20-POLY1305 "$@"
  [[ $IVG_DEV == tun ]] || sed -i "s/^dev tun\$/dev $IVG_DEV/" "$IVG_DIR/client$i.conf"
  IVG_CLIENT_LOG[i]=$IVG_DIR/client$i.log
  ivp_run_openvpn "$(ivg_ns_client "$i")" "$IVG_DIR/client$i.conf" "${IVG_CLIENT_LOG[i]}"
}

# ivg_wait_client I [TIMEOUT_S]: 0 once clientI's tunnel is up.
ivg_wait_client() {
  ivp_wait_log "${IVG_CLIENT_LOG[$1]}" "Initialization Sequence Completed" "${2:-30}"
}

# ivg_client_vpn_addr I: the IPv4 address dpvpn pushed to clientI (on its tun0, or tap0).
ivg_client_vpn_addr() {
  ip -n "$(ivg_ns_client "$1")" -4 -o addr show dev "${IVG_DEV}0" 2>/dev/null | awk '{print $4}' | cut -d/ -f1
}

# ivg_stop_dpvpn: SIGTERM, then up to 10 s for dpvpn to exit; IVG_DP_RC = its status (124 if it
# was still running: then it is killed).
ivg_stop_dpvpn() {
  local i
  kill -TERM "$IVG_DP_PID" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$IVG_DP_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$IVG_DP_PID" 2>/dev/null; then
    kill -KILL "$IVG_DP_PID" 2>/dev/null || true
    wait "$IVG_DP_PID" 2>/dev/null || true
    IVG_DP_RC=124
  else
    IVG_DP_RC=0
    wait "$IVG_DP_PID" || IVG_DP_RC=$?
  fi
  # Reaped: keep the cleanup from signalling a pid that may be reused.
  local keep=() pid
  for pid in "${IVP_PIDS[@]}"; do [[ $pid == "$IVG_DP_PID" ]] || keep+=("$pid"); done
  IVP_PIDS=("${keep[@]}")
  IVG_DP_PID=""
}

# ivg_print_counters: dpvpn's exit counters and mbuf balance, for the test's output.
ivg_print_counters() {
  echo "----- dpvpn exit counters -----"
  sed -n '/counters (exit):/,$p' "$IVG_DP_LOG"
}

# ivg_snap_counters FILE: SIGUSR2 to dpvpn, then its "counters (SIGUSR):" block (the same lines as
# the exit print) written to FILE, for checks while it runs. Fails when none comes within 5 s.
ivg_snap_counters() {
  local file=$1 n0 i
  n0=$(grep -c "counters (SIGUSR):" "$IVG_DP_LOG" || true)
  kill -USR2 "$IVG_DP_PID" 2>/dev/null || ivp_fail "dpvpn is not running (no counters to read)"
  for ((i = 0; i < 50; i++)); do
    (($(grep -c "counters (SIGUSR):" "$IVG_DP_LOG" || true) > n0)) && break
    sleep 0.1
  done
  ((i < 50)) || ivp_fail "dpvpn printed no counters within 5 s of SIGUSR2"
  sleep 0.1  # one printf and fflush: the rest of the block follows its first line at once
  awk -v want=$((n0 + 1)) '/counters \(SIGUSR\):/ { if (++k == want) { on = 1; print; next } }
    on && /^  / { print; next } { on = 0 }' "$IVG_DP_LOG" >"$file"
}

# ivg_wait_listen NS PORT TIMEOUT_S: 0 once a TCP socket listens on PORT in NS (a program's own
# "listening" line may sit in its stdio buffer while its output goes to a file).
ivg_wait_listen() {
  local ns=$1 port=$2 timeout=$3 i
  for ((i = 0; i < timeout * 10; i++)); do
    [[ -n $(ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null) ]] && return 0
    sleep 0.1
  done
  ivp_log "timeout (${timeout}s) waiting for a TCP listener on port $port in $ns"
  return 1
}

# stop_and_check: SIGTERM to dpvpn, its counters printed; fails unless it exited 0 within 10 s
# with every mbuf back in its pool.
stop_and_check() {
  ivg_stop_dpvpn
  ivg_print_counters
  [[ $IVG_DP_RC == 0 ]] || ivp_fail "dpvpn exit status $IVG_DP_RC after SIGTERM (124: not within 10 s)"
  grep -q "mbufs in use at exit: 0 of" "$IVG_DP_LOG" || ivp_fail "dpvpn leaked mbufs (or did not report them)"
}
