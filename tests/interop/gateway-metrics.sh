#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# dp-metrics and the /dpvpn telemetry commands (docs/operations.md, "Metrics"), read by a real
# Prometheus server and by DPDK's dpdk-telemetry.py, against the gateway's own counters print:
#
#   netns P-gw: dpvpn (af_packet on gw-wan, 10.203.0.1), tun0 10.8.0.1/24,
#               dp-metrics on 127.0.0.1:9545 (lo), prometheus on 127.0.0.1:9590 scraping it every 1 s
#        |  br0 in P-sw
#   netns P-c1: client1 (stock openvpn 2.6), wan 10.203.0.11
#
# 1. client1 connects and pings 10.8.0.1 ten times; 3 datagrams to UDP port 9 (not_for_us) and 3
#    garbage datagrams to 1194 are dropped by the gateway.
# 2. No traffic is left (keepalive 60 300: no keepalive falls in the test). The counters print
#    (SIGUSR2) is taken (B), Prometheus scrapes after it, its query API (/api/v1/query) is read,
#    dpdk-telemetry.py lists the /dpvpn commands and reads drops, lcores, control, lcore,ID, mbufs
#    and clients, and the print is taken again (C). B == C, so the scrape in between saw B: per
#    lcore the WAN and exception packet and byte counters and the handoffs, and the drops by
#    reason, must equal B, in Prometheus and in telemetry alike (a stray packet between B and C:
#    once more, 5 tries).
# 3. /metrics answers 200 with the per-client series, another path 404; dpvpn exits cleanly with
#    0 mbufs in use.
#
# usage: gateway-metrics.sh DPVPN_EXE      Exit: 0 pass, 1 fail, 77 skip (as gateway.sh).
set -euo pipefail
dpvpn=${1:-}
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/gwlib.sh"

metrics_port=9545
prom_port=9590
prom=/usr/bin/prometheus
telemetry=$(command -v dpdk-telemetry.py || true)
[[ -x $prom ]] || { ivp_log "SKIP: $prom not installed (Debian package prometheus; tools/setup-deps.sh)"; exit 77; }
[[ -n $telemetry ]] || { ivp_log "SKIP: dpdk-telemetry.py not installed (Debian package dpdk-dev)"; exit 77; }

t0=$SECONDS
ivg_setup "$dpvpn" 1
ivg_server_conf "$IVG_DIR/server.conf" "keepalive 60 300" "dp-metrics 127.0.0.1 $metrics_port per-client"
ivg_start_dpvpn "$IVG_DIR/server.conf"
ivg_wait_listen "$IVG_NS_GW" "$metrics_port" 10 || ivp_fail "dp-metrics does not listen on $metrics_port"

# Prometheus in the gateway's namespace, its own config and storage in the scratch dir.
cat >"$IVG_DIR/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: dpvpn
    static_configs:
      - targets: ['127.0.0.1:$metrics_port']
EOF
ivp_run "$IVG_NS_GW" "$IVG_DIR/prometheus.log" "$prom" --config.file="$IVG_DIR/prometheus.yml" \
  --storage.tsdb.path="$IVG_DIR/tsdb" --web.listen-address="127.0.0.1:$prom_port" --log.level=warn

ivg_start_client 1
ivg_wait_client 1 || ivp_fail "client1 did not connect"
loss=$(ivp_ping "$(ivg_ns_client 1)" "$IVG_TUN_GW" 10)
[[ $loss == 0 ]] || ivp_fail "ping through the tunnel: ${loss}% loss"
ip netns exec "$(ivg_ns_client 1)" bash -c "for i in 1 2 3; do printf 'x' >/dev/udp/$IVG_GW_ADDR/9; \
  printf '\\xff\\xff\\xff\\xff' >/dev/udp/$IVG_GW_ADDR/$IVP_PORT; done"
ivg_wait_listen "$IVG_NS_GW" "$prom_port" 20 || ivp_fail "prometheus does not listen on $prom_port"

# check.py B C PROM_JSON TELEMETRY_OUT: compares; prints what differs, exits 1 then.
cat >"$IVG_DIR/check.py" <<'EOF'
import json, re, sys
b, c = open(sys.argv[1]).read(), open(sys.argv[2]).read()
prom = json.load(open(sys.argv[3]))
tel = [json.loads(l) for l in open(sys.argv[4]) if l.strip().startswith('{')]
def counters(text):
    lc, drops = {}, {}
    for m in re.finditer(r'lcore (\d+): wan rx (\d+)/(\d+) B tx (\d+)/(\d+) B \| tun rx (\d+) tx (\d+) \|'
                         r'.*?\| handoff out (\d+) in (\d+)', text):
        v = list(map(int, m.groups()))
        lc[v[0]] = dict(zip(['wan_rx_p', 'wan_rx_b', 'wan_tx_p', 'wan_tx_b', 'exc_rx_p', 'exc_tx_p',
                             'ho_out', 'ho_in'], v[1:]))
    m = re.search(r'drops:(.*)', text)
    for kv in (m.group(1).split() if m else []):
        if '=' in kv:
            k, v = kv.split('=')
            drops[k] = int(v)
    return lc, drops
lc, drops = counters(b)
if not lc: sys.exit('no lcore lines in the counters print:\n' + b)
if counters(c) != (lc, drops): sys.exit('RETRY: the counters moved between the two prints')
bad = []
def vec(q):  # {lcore or reason or '': value}
    out = {}
    for r in prom[q]:
        key = r['metric'].get('lcore', r['metric'].get('reason', ''))
        out[key] = int(float(r['value'][1]))
    return out
pairs = {'wan_rx_p': 'dpvpn_port_rx_packets_total{port="wan"}', 'wan_rx_b': 'dpvpn_port_rx_bytes_total{port="wan"}',
         'wan_tx_p': 'dpvpn_port_tx_packets_total{port="wan"}', 'wan_tx_b': 'dpvpn_port_tx_bytes_total{port="wan"}',
         'exc_rx_p': 'dpvpn_port_rx_packets_total{port="exception"}',
         'exc_tx_p': 'dpvpn_port_tx_packets_total{port="exception"}',
         'ho_out': 'dpvpn_handoffs_total{direction="out"}', 'ho_in': 'dpvpn_handoffs_total{direction="in"}'}
for k, q in pairs.items():
    got = vec(q)
    for l, f in lc.items():
        if got.get(str(l)) != f[k]: bad.append(f'{q} lcore {l}: prometheus {got.get(str(l))}, print {f[k]}')
pd = vec('sum by (reason) (dpvpn_drops_total)')
for r in set(pd) | set(drops):
    if pd.get(r, -1) != drops.get(r, 0): bad.append(f'drops {r}: prometheus {pd.get(r)}, print {drops.get(r, 0)}')
if drops.get('not_for_us', 0) < 3: bad.append(f'not_for_us {drops.get("not_for_us", 0)}: expected the 3 datagrams to port 9')
if sum(f['wan_rx_p'] for f in lc.values()) < 10: bad.append('fewer than 10 WAN packets received')
for q, want in [('dpvpn_clients_connected', 1), ('dpvpn_handshakes_completed_total', 1),
                ('dpvpn_sessions{state="established"}', 1)]:
    if vec(q).get('') != want: bad.append(f'{q}: {vec(q)}, expected {want}')
# One client's session state (peer, key state, expanded keys) is in session memory, inside what
# is mapped.
sm, smm = vec('dpvpn_session_memory_bytes').get(''), vec('dpvpn_session_memory_mapped_bytes').get('')
if not (sm and smm and 0 < sm <= smm): bad.append(f'session memory: {sm} of {smm} bytes mapped')
cl = prom['dpvpn_client_rx_bytes_total{common_name="client1"}']
if len(cl) != 1 or int(float(cl[0]['value'][1])) < 10 * 84: bad.append(f'client1 rx bytes: {cl}')
# Telemetry: the command list, then /dpvpn/drops, lcores, control, lcore,FIRST, mbufs, clients.
if len(tel) != 7: bad.append(f'telemetry: {len(tel)} replies, expected 7: {tel}')
else:
    cmds = tel[0].get('/', [])
    for want in ['/dpvpn/lcores', '/dpvpn/lcore', '/dpvpn/drops', '/dpvpn/mbufs', '/dpvpn/control', '/dpvpn/clients']:
        if want not in cmds: bad.append(f'telemetry: {want} not listed: {cmds}')
    td = tel[1].get('/dpvpn/drops', {})
    for r in set(td) | set(drops):
        if td.get(r, -1) != drops.get(r, 0): bad.append(f'telemetry drops {r}: {td.get(r)}, print {drops.get(r, 0)}')
    if sorted(tel[2].get('/dpvpn/lcores', [])) != sorted(lc): bad.append(f'telemetry lcores: {tel[2]}')
    if tel[3].get('/dpvpn/control', {}).get('clients_connected') != 1: bad.append(f'telemetry control: {tel[3]}')
    first = min(lc)
    tl = tel[4].get('/dpvpn/lcore', {})
    for k, tk in [('wan_rx_p', 'wan_rx_packets'), ('wan_tx_b', 'wan_tx_bytes'), ('exc_rx_p', 'exception_rx_packets'),
                  ('ho_in', 'handoffs_in')]:
        if tl.get(tk) != lc[first][k]: bad.append(f'telemetry lcore {first} {tk}: {tl.get(tk)}, print {lc[first][k]}')
    tm = tel[5].get('/dpvpn/mbufs', {})
    if not (0 < tm.get('in_use', 0) < tm.get('capacity', 0)): bad.append(f'telemetry mbufs: {tm}')
    tc = tel[6].get('/dpvpn/clients', {})
    one = [v for k, v in tc.items() if k.startswith('peer_')]
    if tc.get('total') != 1 or len(one) != 1 or one[0].get('common_name') != 'client1' or one[0].get('rx_packets', 0) < 10:
        bad.append(f'telemetry clients: {tc}')
print('\n'.join(bad) if bad else f'prometheus and telemetry equal the counters print: {len(lc)} lcore(s), drops {drops}')
sys.exit(1 if bad else 0)
EOF

# query.py T OUT QUERY...: waits (10 s at most) for a scrape that started after unix time T, then
# writes {query: result vector} to OUT.
cat >"$IVG_DIR/query.py" <<'EOF'
import json, sys, time, urllib.parse, urllib.request
base = 'http://127.0.0.1:' + sys.argv[1] + '/api/v1/query?query='
t, out, queries = float(sys.argv[2]), sys.argv[3], sys.argv[4:]
def q(expr):
    with urllib.request.urlopen(base + urllib.parse.quote(expr), timeout=5) as r:
        body = json.load(r)
    assert body['status'] == 'success', body
    return body['data']['result']
for _ in range(100):
    try:
        last = q('timestamp(up{job="dpvpn"})')
        if last and float(last[0]['value'][1]) > t and q('up{job="dpvpn"}')[0]['value'][1] == '1': break
    except OSError:
        pass
    time.sleep(0.1)
else:
    sys.exit('prometheus made no successful scrape after the counters print within 10 s')
json.dump({e: q(e) for e in queries}, open(out, 'w'))
EOF

queries=('dpvpn_port_rx_packets_total{port="wan"}' 'dpvpn_port_rx_bytes_total{port="wan"}'
         'dpvpn_port_tx_packets_total{port="wan"}' 'dpvpn_port_tx_bytes_total{port="wan"}'
         'dpvpn_port_rx_packets_total{port="exception"}' 'dpvpn_port_tx_packets_total{port="exception"}'
         'dpvpn_handoffs_total{direction="out"}' 'dpvpn_handoffs_total{direction="in"}'
         'sum by (reason) (dpvpn_drops_total)' 'dpvpn_clients_connected' 'dpvpn_handshakes_completed_total'
         'dpvpn_sessions{state="established"}' 'dpvpn_client_rx_bytes_total{common_name="client1"}'
         'dpvpn_session_memory_bytes' 'dpvpn_session_memory_mapped_bytes')
ok=0
for try in 1 2 3 4 5; do
  sleep 1
  ivg_snap_counters "$IVG_DIR/b.txt"
  tb=$(date +%s.%N)
  ip netns exec "$IVG_NS_GW" python3 "$IVG_DIR/query.py" "$prom_port" "$tb" "$IVG_DIR/prom.json" "${queries[@]}" ||
    ivp_fail "prometheus query failed (log: $(tail -n 5 "$IVG_DIR/prometheus.log"))"
  # dpdk-telemetry.py: the socket is under EAL's runtime dir, /var/run/dpdk/<file-prefix>/.
  first=$(sed -nE 's/.*lcore ([0-9]+): wan rx.*/\1/p' "$IVG_DIR/b.txt" | sort -n | head -n 1)
  printf '/\n/dpvpn/drops\n/dpvpn/lcores\n/dpvpn/control\n/dpvpn/lcore,%s\n/dpvpn/mbufs\n/dpvpn/clients\n' "$first" |
    env -u RUNTIME_DIRECTORY timeout 10 python3 "$telemetry" -f "$IVG_PREFIX" >"$IVG_DIR/telemetry.txt" 2>&1 ||
    ivp_fail "dpdk-telemetry.py failed: $(cat "$IVG_DIR/telemetry.txt")"
  ivg_snap_counters "$IVG_DIR/c.txt"
  if out=$(cd "$IVG_DIR" && python3 check.py b.txt c.txt prom.json telemetry.txt 2>&1); then
    ivp_log "$out"
    ok=1
    break
  fi
  [[ $out == RETRY:* ]] || { cat "$IVG_DIR/b.txt" "$IVG_DIR/telemetry.txt" >&2; ivp_fail "$out"; }
  ivp_log "try $try: $out"
done
((ok)) || ivp_fail "the counters never stood still for a comparison (5 tries)"

# The endpoint itself: /metrics with HELP/TYPE lines, another path 404.
http_get() {  # URL OUT: the HTTP status; the body to OUT
  ip netns exec "$IVG_NS_GW" python3 -c 'import sys, urllib.error, urllib.request
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=5)
    open(sys.argv[2], "wb").write(r.read())
    print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)' "$1" "$2"
}
code=$(http_get "http://127.0.0.1:$metrics_port/metrics" "$IVG_DIR/metrics.txt")
[[ $code == 200 ]] || ivp_fail "GET /metrics: HTTP $code"
grep -q '^# TYPE dpvpn_drops_total counter$' "$IVG_DIR/metrics.txt" || ivp_fail "/metrics has no dpvpn_drops_total TYPE line"
grep -q '^dpvpn_client_tx_bytes_total{common_name="client1",' "$IVG_DIR/metrics.txt" ||
  ivp_fail "/metrics has no per-client series for client1"
code=$(http_get "http://127.0.0.1:$metrics_port/other" /dev/null)
[[ $code == 404 ]] || ivp_fail "GET /other: HTTP $code, expected 404"

stop_and_check
grep -q "metrics: http /metrics [1-9]" "$IVG_DIR/dpvpn.log" || ivp_fail "the exit counters show no /metrics request"
ivp_log "PASS metrics ($((SECONDS - t0)) s)"
