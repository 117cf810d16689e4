# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034  # the IVP_* variables are for the sourcing scripts
# Interop test library (bash, sourced): throwaway network namespaces, test PKI, stock OpenVPN
# 2.6 configs and processes, log waits, pings, cleanup. Needs root, ip, openvpn, ping.
#
#   netns ivp-NAME-s  (server)                    netns ivp-NAME-c  (client)
#   +---------------------------+                 +---------------------------+
#   | veth-s 10.201.X.1/24      |=================| veth-c 10.201.X.2/24      |
#   | tun: 10.202.X.1 (server)  |   veth pair     | tun: 10.202.X.2 (pushed)  |
#   +---------------------------+  (never on the  +---------------------------+
#                                   host side)
#   X = 1 + cksum(NAME) % 250; UDP/TCP port IVP_PORT (1194).
#   Neither namespace has a route to the outside: tests can only reach each other.
#
# Usage:
#   source "$(dirname "$0")/lib.sh"
#   ivp_setup NAME [--raw-server]      # traps EXIT/INT/TERM -> ivp_cleanup
#   ivp_pki "$IVP_DIR/pki"
#   ivp_server_conf "$IVP_DIR/s.conf" wrap=tls-crypt ciphers=AES-256-GCM
#   ivp_client_conf "$IVP_DIR/c.conf" wrap=tls-crypt ciphers=AES-256-GCM
#   ivp_run_openvpn "$IVP_NS_S" "$IVP_DIR/s.conf" "$IVP_DIR/s.log"
#   ivp_wait_log "$IVP_DIR/c.log" "Initialization Sequence Completed" 20 || ivp_fail "no tunnel"
#   loss=$(ivp_ping "$IVP_NS_C" "$IVP_TUN_SERVER" 10)
#
# Set by ivp_setup: IVP_NS_S IVP_NS_C (namespaces), IVP_IF_S IVP_IF_C (veth-s, veth-c),
#   IVP_SERVER_ADDR IVP_CLIENT_ADDR (10.201.X.1/.2), IVP_TUN_NET IVP_TUN_SERVER IVP_TUN_CLIENT
#   (10.202.X.0/.1/.2), IVP_X, IVP_DIR (scratch dir, removed on exit unless IVP_KEEP=1).
#   ivp_pki sets IVP_PKI; ivp_run_openvpn / ivp_run set IVP_LAST_PID.
#
# Config options (KEY=VALUE arguments, both conf writers):
#   wrap=tls-crypt|tls-auth|tls-crypt-v2|none   control-channel wrapping (default tls-crypt)
#   ciphers=A:B:C     data-ciphers (default AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305)
#   reneg=N           reneg-sec N          auth=DIGEST    auth DIGEST (CBC ciphers)
#   proto=udp|tcp     (default udp)        port=N         (default $IVP_PORT)
#   fallback=CIPHER   data-ciphers-fallback CIPHER
#   cert=NAME         client cert/key basename in the PKI (default client1; client conf only;
#                     none: no certificate, for servers with verify-client-cert none|optional)
#   remote=ADDR       (client conf only, default $IVP_SERVER_ADDR)
#   verb=N            (default 3)
#   extra=LINE        any further config line, verbatim (repeatable)

IVP_PORT=${IVP_PORT:-1194}
IVP_PIDS=()
IVP_LOGS=()
IVP_NS_S=""
IVP_NS_C=""
IVP_DIR=""
IVP_PKI=""

ivp_log() { echo "[ivp] $*" >&2; }

# Exit status 77 tells meson the test was skipped.
ivp_require_root() {
  if [[ $(id -u) -ne 0 ]]; then ivp_log "SKIP: needs root"; exit 77; fi
  if [[ ! -c /dev/net/tun ]]; then ivp_log "SKIP: /dev/net/tun missing"; exit 77; fi
  local t
  for t in ip openvpn ping; do
    command -v "$t" >/dev/null 2>&1 || { ivp_log "SKIP: $t not installed (tools/setup-deps.sh)"; exit 77; }
  done
}

# Kills every process inside namespace $1 (only ivp-* namespaces, which only tests create).
ivp_kill_ns_pids() {
  local ns=$1 pid
  [[ $ns == ivp-* ]] || return 0
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
}

ivp_del_ns() {
  local ns=$1
  [[ -e /run/netns/$ns ]] || return 0
  ivp_kill_ns_pids "$ns"
  ip netns del "$ns" 2>/dev/null || true
}

# Stops our processes (SIGTERM, then SIGKILL after 3 s), deletes both namespaces and the
# scratch dir (kept when IVP_KEEP=1). Idempotent; keeps the exit status of the script.
ivp_cleanup() {
  local rc=$? pid i
  for pid in "${IVP_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${IVP_PIDS[@]}"; do
    for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  IVP_PIDS=()
  [[ -z $IVP_NS_S ]] || ivp_del_ns "$IVP_NS_S"
  [[ -z $IVP_NS_C ]] || ivp_del_ns "$IVP_NS_C"
  if [[ -n $IVP_DIR && -d $IVP_DIR ]]; then
    if [[ ${IVP_KEEP:-0} == 1 ]]; then ivp_log "kept $IVP_DIR"; else rm -rf -- "$IVP_DIR"; fi
  fi
  IVP_DIR=""
  return $rc
}

# ivp_setup NAME [--raw-server]
# --raw-server: veth-s gets no address and IPv6 off (a DPDK af_packet port owns it), and
# the client side stops offloading UDP checksums to it.
ivp_setup() {
  local name=$1 raw=0
  [[ ${2:-} == --raw-server ]] && raw=1
  [[ $name =~ ^[A-Za-z0-9_-]{1,32}$ ]] || { ivp_log "bad test name '$name'"; return 1; }
  ivp_require_root
  IVP_NAME=$name
  IVP_X=$(( $(printf %s "$name" | cksum | cut -d' ' -f1) % 250 + 1 ))
  IVP_SERVER_ADDR=10.201.$IVP_X.1
  IVP_CLIENT_ADDR=10.201.$IVP_X.2
  IVP_TUN_NET=10.202.$IVP_X.0
  IVP_TUN_SERVER=10.202.$IVP_X.1
  IVP_TUN_CLIENT=10.202.$IVP_X.2
  IVP_IF_S=veth-s
  IVP_IF_C=veth-c

  # Leftovers of a crashed run with the same name go first.
  ivp_del_ns "ivp-$name-s"
  ivp_del_ns "ivp-$name-c"
  IVP_NS_S=ivp-$name-s
  IVP_NS_C=ivp-$name-c
  trap ivp_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  IVP_DIR=$(mktemp -d "/tmp/ivp-$name.XXXXXX")

  ip netns add "$IVP_NS_S"
  ip netns add "$IVP_NS_C"
  # Both ends are created directly inside the namespaces: nothing appears on the host.
  ip link add "$IVP_IF_S" netns "$IVP_NS_S" type veth peer name "$IVP_IF_C" netns "$IVP_NS_C"
  local ns
  for ns in "$IVP_NS_S" "$IVP_NS_C"; do ip -n "$ns" link set lo up; done
  if ((raw)); then
    ip netns exec "$IVP_NS_S" sysctl -qw "net.ipv6.conf.$IVP_IF_S.disable_ipv6=1"
    if command -v ethtool >/dev/null 2>&1; then
      ip netns exec "$IVP_NS_C" ethtool -K "$IVP_IF_C" tx off >/dev/null 2>&1 || true
    fi
  else
    ip -n "$IVP_NS_S" addr add "$IVP_SERVER_ADDR/24" dev "$IVP_IF_S"
  fi
  ip -n "$IVP_NS_C" addr add "$IVP_CLIENT_ADDR/24" dev "$IVP_IF_C"
  ip -n "$IVP_NS_S" link set "$IVP_IF_S" up
  ip -n "$IVP_NS_C" link set "$IVP_IF_C" up
  ivp_log "setup $name: $IVP_NS_S ($IVP_SERVER_ADDR) <-> $IVP_NS_C ($IVP_CLIENT_ADDR), dir $IVP_DIR"
}

# ivp_pki DIR: throwaway PKI and static keys (idempotent: reuses DIR if already populated).
ivp_pki() {
  local dir=$1 root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  "$root/tools/gen-test-pki.sh" "$dir" >/dev/null || { ivp_log "gen-test-pki.sh failed"; return 1; }
  IVP_PKI=$(cd "$dir" && pwd)
}

# Shared KEY=VALUE parsing for the two conf writers; fills the _ivp_* variables.
_ivp_parse_opts() {
  _ivp_wrap=tls-crypt _ivp_ciphers=AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305 _ivp_reneg="" _ivp_auth=""
  _ivp_proto=udp _ivp_port=$IVP_PORT _ivp_cert=client1 _ivp_remote=${IVP_SERVER_ADDR:-} _ivp_verb=3
  _ivp_fallback="" _ivp_extra=()
  local a
  for a in "$@"; do
    case $a in
      wrap=*) _ivp_wrap=${a#*=} ;;
      ciphers=*) _ivp_ciphers=${a#*=} ;;
      reneg=*) _ivp_reneg=${a#*=} ;;
      auth=*) _ivp_auth=${a#*=} ;;
      proto=*) _ivp_proto=${a#*=} ;;
      port=*) _ivp_port=${a#*=} ;;
      cert=*) _ivp_cert=${a#*=} ;;
      remote=*) _ivp_remote=${a#*=} ;;
      verb=*) _ivp_verb=${a#*=} ;;
      fallback=*) _ivp_fallback=${a#*=} ;;
      extra=*) _ivp_extra+=("${a#*=}") ;;
      *) ivp_log "unknown conf option '$a'"; return 1 ;;
    esac
  done
  [[ -n $IVP_PKI ]] || { ivp_log "call ivp_pki first"; return 1; }
}

# Common tail of both configs. $1 = server|client (selects key direction / tc2 key).
_ivp_common_lines() {
  local role=$1
  case $_ivp_wrap in
    tls-crypt) echo "tls-crypt $IVP_PKI/tls-crypt.key" ;;
    tls-auth) echo "tls-auth $IVP_PKI/ta.key $([[ $role == server ]] && echo 0 || echo 1)" ;;
    tls-crypt-v2) echo "tls-crypt-v2 $IVP_PKI/tc2-$role.key" ;;
    none) ;;
    *) ivp_log "unknown wrap '$_ivp_wrap'"; return 1 ;;
  esac
  echo "data-ciphers $_ivp_ciphers"
  [[ -z $_ivp_fallback ]] || echo "data-ciphers-fallback $_ivp_fallback"
  [[ -z $_ivp_reneg ]] || echo "reneg-sec $_ivp_reneg"
  [[ -z $_ivp_auth ]] || echo "auth $_ivp_auth"
  echo "verb $_ivp_verb"
  local l
  for l in "${_ivp_extra[@]}"; do echo "$l"; done
}

# ivp_client_conf FILE OPTS...: a stock openvpn 2.6 client (§14 walkthrough config).
ivp_client_conf() {
  local file=$1
  shift
  _ivp_parse_opts "$@" || return 1
  {
    echo "# generated by tests/interop/lib.sh (client)"
    echo "client"
    echo "dev tun"
    echo "proto $_ivp_proto"
    echo "remote $_ivp_remote $_ivp_port"
    echo "nobind"
    echo "ca $IVP_PKI/ca.crt"
    if [[ $_ivp_cert != none ]]; then
      echo "cert $IVP_PKI/$_ivp_cert.crt"
      echo "key $IVP_PKI/$_ivp_cert.key"
    fi
    echo "remote-cert-tls server"
    [[ $_ivp_proto == tcp ]] || echo "explicit-exit-notify 1"
    _ivp_common_lines client
  } >"$file"
}

# ivp_server_conf FILE OPTS...: a stock openvpn 2.6 server (for tests of our client side).
# `server` implies mode server + tls-server and pushes route-gateway/topology.
ivp_server_conf() {
  local file=$1
  shift
  _ivp_parse_opts "$@" || return 1
  {
    echo "# generated by tests/interop/lib.sh (server)"
    echo "dev tun"
    echo "proto $_ivp_proto"
    echo "port $_ivp_port"
    echo "topology subnet"
    echo "server $IVP_TUN_NET 255.255.255.0"
    echo "ca $IVP_PKI/ca.crt"
    echo "cert $IVP_PKI/server.crt"
    echo "key $IVP_PKI/server.key"
    echo "dh none"
    echo "keepalive 2 10"
    _ivp_common_lines server
  } >"$file"
}

# ivp_run_openvpn NS CONF LOG: openvpn in the foreground of a background job (no --daemon),
# so its pid is ours to stop. `ip netns exec` execs, so $! is openvpn itself.
ivp_run_openvpn() {
  local ns=$1 conf=$2 log=$3
  ip netns exec "$ns" openvpn --config "$conf" >"$log" 2>&1 &
  IVP_PIDS+=($!)
  IVP_LOGS+=("$log")
  IVP_LAST_PID=$!
}

# ivp_run NS LOG CMD...: any other test process (our harness, iperf3...), tracked the same way.
ivp_run() {
  local ns=$1 log=$2
  shift 2
  ip netns exec "$ns" "$@" >"$log" 2>&1 &
  IVP_PIDS+=($!)
  IVP_LOGS+=("$log")
  IVP_LAST_PID=$!
}

# ivp_wait_log LOG PATTERN TIMEOUT_S: 0 once LOG matches PATTERN (grep -E), 1 on timeout.
ivp_wait_log() {
  local log=$1 pat=$2 timeout=$3 i
  for ((i = 0; i < timeout * 10; i++)); do
    grep -Eq -- "$pat" "$log" 2>/dev/null && return 0
    sleep 0.1
  done
  ivp_log "timeout (${timeout}s) waiting for '$pat' in $log"
  return 1
}

# ivp_ping NS ADDR COUNT: prints the packet loss in percent (100 if ping gave no summary).
ivp_ping() {
  local ns=$1 addr=$2 count=$3 out loss
  out=$(ip netns exec "$ns" ping -n -c "$count" -i 0.2 -W 2 "$addr" 2>&1) || true
  loss=$(sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p' <<<"$out")
  if [[ -n $loss ]]; then
    echo "${loss%%.*}"
  else
    echo 100
    ivp_log "ping $addr in $ns: $out"
  fi
}

# Last 40 lines of every log started through ivp_run_openvpn / ivp_run.
ivp_dump_logs() {
  local log
  for log in "${IVP_LOGS[@]}"; do
    echo "----- last 40 lines of $log -----" >&2
    tail -n 40 "$log" >&2 2>/dev/null || true
  done
}

# ivp_fail MSG: report, dump logs, exit 1 (the EXIT trap cleans up).
ivp_fail() {
  ivp_log "FAIL: $*"
  ivp_dump_logs
  exit 1
}
