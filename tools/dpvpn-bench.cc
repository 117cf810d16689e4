// SPDX-License-Identifier: MIT
// dpvpn-bench: the real worker per-packet path (wan_input / tun_input, then the TX burst) on one
// lcore against pre-built packets and net_null ports, next to the raw AEAD rate of the same core.
//
//   dpvpn-bench [--time S] [--json] [--cipher NAME] [--backend ipsec-mb|openssl] [--sessions 1,100]
//               [--sizes 64,512,1420,imix] [--pkts N] [--dir both|decrypt|encrypt] [--no-udp-csum]
//               [--tx-csum-offload] [--no-raw] [--raw-offset 0..63] [--hugepages] [--cold-sessions]
//               [--tx-sink null|ring] [--floor] [--keep-keys] [-- extra EAL args]
//   --keep-keys: decrypt passes reopen the same packets, so before each pass the receive keys
//               are rebuilt (a rekey on the same key, the default) or, with this, kept and their
//               replay windows restarted: the rebuild allocates and wipes every key of the pass,
//               which at 10 000 sessions evicts state the timed pass then misses.
//   --floor:    each round also times the floor (tools/bench_floor.h): the least any OpenVPN data
//               plane does per packet, on the same harness; reported as its own ratio to raw
//               (its keys stay warm with --cold-sessions).
//   --tx-sink:  where the sent packets go. null (the default): net_null ports, whose TX frees each
//               mbuf on its own (rte_pktmbuf_free per packet, its mempool cache found through the
//               PMD's thread-local lcore id). ring: net_ring ports, drained after every TX burst in
//               the timed loop and freed in bulk, as a NIC's TX completion frees them
//               (docs/bench/dataplane.md, "The TX sink").
//   --cold-sessions: before each timed pass, after the keys are rebuilt, the pass's sessions'
//               state (peers, receive/send state, expanded keys) is flushed from the caches, as
//               with many more clients than the cache holds; code, tables and packets stay warm.
//   --hugepages (every scenario): mbufs in 2 MiB hugepages, as a deployment has them, instead of
//               4 KiB pages (--no-huge, the default: runs anywhere); needs free hugepages.
//   Other scenarios, their options in usage(): --tunnel-lcores 1,2 (ONE tunnel on 1 and on N lcores
//   with dp-tunnel-spread, tools/bench_tunnel.cc); --scenario fanout (TAP broadcast fan-out to C
//   clients over N lcores, tools/bench_fanout.cc).
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../dataplane/worker_internal.h"
#include "bench_args.h"
#include "bench_floor.h"
#include "bench_raw.h"
#include "bench_tunnel.h"
#include "dpvpn/dp_setup.h"
#include "dpvpn/netpkt.h"
#include "dpvpn/ports.h"
#include "dpvpn/wire.h"

namespace {

using namespace dpvpn;
using dp::worker_ctx;
using bench::options;
using bench::size_spec;

constexpr uint32_t k_local_ip = 0xc6336401;  // 198.51.100.1: the gateway's WAN address
constexpr uint16_t k_local_port = 1194;
constexpr uint32_t k_lan_host = 0xc0a8010a;  // 192.168.1.10: the far end of every inner flow
constexpr uint32_t k_verify = 32;            // packets checked byte for byte before each point
constexpr uint32_t k_rounds = 5;             // timed rounds per point; the median is reported

[[noreturn]] void fatal(const std::string& m) {
  std::fprintf(stderr, "dpvpn-bench: %s\n", m.c_str());
  std::exit(1);
}

struct point {
  const char* dir;
  std::string size;
  double avg_bytes = 0;
  uint32_t sessions = 0;
  uint64_t packets = 0;
  double cpu_s = 0;
  double pps = 0;
  double raw_pps = 0;
  double ratio = 0;  // median over rounds of (dpvpn round / raw round right after it)
  const char* raw_api = "-";
  double raw_direct_pps = 0, raw_job_pps = 0;  // the direct-API burst and the job API alone
  double floor_pps = 0, floor_ratio = 0;       // --floor: its median rate, median of floor / raw
};

uint32_t vpn_ip_of(uint32_t i) { return 0x0a080002 + i; }      // 10.8.0.2 + i
uint32_t client_ip_of(uint32_t i) { return 0x64400001 + i; }   // 100.64.0.1 + i
uint16_t client_port_of(uint32_t i) { return static_cast<uint16_t>(40000 + i % 20000); }
net::mac client_mac_of(uint32_t i) { return {0x02, 0x00, 0x5e, uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)}; }

using bench::median;
using bench::raw_ref;
using bench::thread_cpu_s;
using bench::write_inner_v4;

// ---- sessions in the shared structures (dp::shared_create, as build/dpvpn builds them) -------

// S sessions installed the way the control thread and apply_cmds would leave them, plus the
// client side of each (its sealing key for WAN packets) and a spare server sealing key (rekeys).
struct sessions {
  uint32_t n = 0;
  proto::data_key_params params;
  std::vector<std::array<uint8_t, wire::k_key2_size>> key2;
  std::vector<std::unique_ptr<proto::dc_tx>> client_tx, spare_tx;
};

std::span<const uint8_t, wire::k_key2_size> key_span(const std::array<uint8_t, wire::k_key2_size>& k) {
  return std::span<const uint8_t, wire::k_key2_size>(k.data(), k.size());
}

void install_sessions(dp::dp_shared& sh, dp::dp_lcore& lc, sessions& ss, uint32_t n, const options& o) {
  ss.n = n;
  ss.params.cipher = o.cipher;
  ss.params.backend = o.backend;
  ss.params.digest = crypto::is_aead(o.cipher) ? crypto::digest_alg::none : crypto::digest_alg::sha256;
  lc.n_owned = 0;
  ss.key2.assign(n, {});
  ss.client_tx.clear();
  ss.spare_tx.clear();
  const uint64_t now = sh.now_s.load();
  std::string err;
  for (uint32_t i = 0; i < n; ++i) {
    crypto::random_bytes(ss.key2[i].data(), wire::k_key2_size);
    const auto k = key_span(ss.key2[i]);
    auto* p = new dp::dp_peer();
    p->peer_id = i;
    p->vpn_ip = vpn_ip_of(i);
    p->client = net::outer_v4(client_ip_of(i), client_port_of(i));
    p->client_mac = client_mac_of(i);
    p->keys = proto::data_keys(true, ss.params);
    auto tx = proto::dc_tx::create(ss.params, k, proto::k_dir_server_to_client, &err);
    auto rx = proto::dc_rx::create(ss.params, k, proto::k_dir_client_to_server, &err);
    ss.client_tx.push_back(proto::dc_tx::create(ss.params, k, proto::k_dir_client_to_server, &err));
    ss.spare_tx.push_back(proto::dc_tx::create(ss.params, k, proto::k_dir_server_to_client, &err));
    if (!tx || !rx || !ss.client_tx.back() || !ss.spare_tx.back())
      fatal("data key setup failed: " + err);
    p->keys.install_prebuilt(0, tx, rx, now);
    lc.peers[i] = p;
    lc.owned[lc.n_owned++] = i;
    sh.owner[i].store(lc.index, std::memory_order_release);
    if (rte_hash_add_key_data(sh.addrs, &p->client, reinterpret_cast<void*>(uintptr_t{i})) != 0 ||
        dp::route_add_v4(sh.rt, p->vpn_ip, 32, i) != 0)
      fatal("hash/route add failed");
  }
}

// A legitimate rekey of the given sessions on the same key_id and key (what a new_key command
// does), so that the next pass may replay the same packet ids; with keep, the keys kept and their
// windows restarted (--keep-keys). Outside the timed region.
void fresh_rx_keys(dp::dp_shared& sh, dp::dp_lcore& lc, sessions& ss, const std::vector<uint32_t>& which, bool keep) {
  std::string err;
  if (keep) {  // --keep-keys: the same key, its window restarted
    for (uint32_t i : which)
      if (int slot = -1; proto::dc_rx* rx = lc.peers[i]->keys.rx_slot(0, slot)) rx->restart_window();
    return;
  }
  for (uint32_t i : which) {
    auto rx = proto::dc_rx::create(ss.params, key_span(ss.key2[i]), proto::k_dir_client_to_server, &err);
    if (!rx) fatal("rekey: " + err);
    lc.peers[i]->keys.install_prebuilt(0, ss.spare_tx[i], rx, sh.now_s.load());  // evicted tx -> spare
  }
}

// ---- packets ---------------------------------------------------------------------------------

// One pass's packets. Packet i of pass set k belongs to session (k * N + i) % S, so that with
// more sessions than packets per pass, successive passes still cycle through every session.
struct templates {
  std::vector<uint8_t> bytes;
  std::vector<uint32_t> off;
  std::vector<uint16_t> len;
  std::vector<uint16_t> inner_len;
  std::vector<uint32_t> session;
  std::vector<uint32_t> sessions_used;  // distinct: the rekey before a decrypt pass, --cold-sessions
  uint64_t inner_bytes = 0;
  void add(const uint8_t* p, uint32_t n, uint16_t inner, uint32_t s) {
    off.push_back(static_cast<uint32_t>(bytes.size()));
    len.push_back(static_cast<uint16_t>(n));
    inner_len.push_back(inner);
    session.push_back(s);
    bytes.insert(bytes.end(), p, p + n);
    inner_bytes += inner;
  }
};

uint32_t session_of(uint32_t set, uint32_t i, uint32_t n, uint32_t sessions) {
  return static_cast<uint32_t>((uint64_t{set} * n + i) % sessions);
}

// The sessions a pass of set `set` uses, each once.
std::vector<uint32_t> distinct_sessions(uint32_t set, uint32_t n, uint32_t sessions) {
  std::vector<uint32_t> v;
  for (uint32_t i = 0; i < std::min(n, sessions); ++i) v.push_back(session_of(set, i, n, sessions));
  return v;
}

// WAN frames as the clients send them: an inner packet from the session's VPN address, sealed by
// that client's key (client -> server), wrapped in Ethernet/IPv4/UDP to the gateway.
templates build_wan(crypto::engine& eng, const dp::dp_config& cfg, sessions& ss, const size_spec& sz, uint32_t n,
                    uint32_t set) {
  templates t;
  t.sessions_used = distinct_sessions(set, n, ss.n);
  for (uint32_t s : t.sessions_used) ss.client_tx[s]->set_packet_id(0);  // the server's rx key is fresh each pass
  alignas(64) uint8_t buf[4096];
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t s = session_of(set, i, n, ss.n);
    const uint16_t len = sz.pattern[i % sz.pattern.size()];
    buf_view v{buf + 256, len, 256, static_cast<uint32_t>(sizeof buf - 256 - len)};
    write_inner_v4(v.data, len, vpn_ip_of(s), k_lan_host, i);
    if (ss.client_tx[s]->seal(eng, v, 0, s, proto::comp_framing::none) != proto::dc_err::ok) fatal("client seal failed");
    const uint32_t payload = v.len;
    net::udp_endpoints e;
    e.src_mac = client_mac_of(s);
    e.dst_mac = cfg.wan_mac;
    e.src_ip = client_ip_of(s);
    e.dst_ip = cfg.local_ip;
    e.src_port = client_port_of(s);
    e.dst_port = cfg.local_port;
    net::write_outer_v4(v.prepend(net::k_outer_v4), e, payload, static_cast<uint16_t>(i), true);
    t.add(v.data, v.len, len, s);
  }
  return t;
}

// Inner packets as the exception port delivers them: to the session's VPN address.
templates build_tun(const sessions& ss, const size_spec& sz, uint32_t n, uint32_t set) {
  templates t;
  t.sessions_used = distinct_sessions(set, n, ss.n);
  uint8_t buf[2048];
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t s = session_of(set, i, n, ss.n);
    const uint16_t len = sz.pattern[i % sz.pattern.size()];
    write_inner_v4(buf, len, k_lan_host, vpn_ip_of(s), i);
    t.add(buf, len, len, s);
  }
  return t;
}

// --cold-sessions: every line of the given sessions' state written back and dropped from the
// caches (clflush), as if 100 000 clients had pushed it out: the peer (its key slots inline), the
// receiving or sending key's state and its expanded key. Code, tables, rings and the packets stay
// where they are. Untimed.
void flush_lines(const void* p, size_t n) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  for (uintptr_t l = a & ~uintptr_t{63}; l < a + n; l += 64) _mm_clflush(reinterpret_cast<const void*>(l));
}
void flush_key(const crypto::aead_key* k) {
  if (!k) return;
  flush_lines(k, 64);
  const std::span<const uint8_t> st = k->state();
  if (!st.empty()) flush_lines(st.data(), st.size());
}
void evict_sessions(dp::dp_lcore& lc, const std::vector<uint32_t>& which, bool wan) {
  for (uint32_t i : which) {
    const dp::dp_peer* p = lc.peers[i];
    if (wan) {
      if (const proto::dc_rx* rx = p->keys.rx_for(0)) {
        flush_key(rx->key());
        flush_lines(rx, sizeof *rx);
      }
    } else if (const proto::dc_tx* tx = p->keys.tx_peek()) {
      flush_key(tx->key());
      flush_lines(tx, sizeof *tx);
    }
    flush_lines(p, sizeof *p);
  }
  _mm_mfence();
}

void refill(rte_mempool* pool, const templates& t, std::vector<rte_mbuf*>& m) {
  m.resize(t.len.size());
  if (rte_pktmbuf_alloc_bulk(pool, m.data(), static_cast<unsigned>(m.size())) != 0) fatal("mbuf pool too small");
  for (size_t i = 0; i < m.size(); ++i) {
    auto* d = rte_pktmbuf_append(m[i], t.len[i]);
    if (!d) fatal("mbuf data room too small");
    std::memcpy(d, t.bytes.data() + t.off[i], t.len[i]);
  }
}

// ---- the worker's per-iteration work ---------------------------------------------------------

// --tx-sink ring: the packets the TX burst put on the port's ring (its queue's one ring is both
// its rx and its tx), freed in bulk, as a NIC's TX completion frees them.
void drain_sink(uint16_t port, uint16_t queue) {
  rte_mbuf* sent[dp::k_max_burst];
  for (uint16_t n; (n = rte_eth_rx_burst(port, queue, sent, dp::k_max_burst)) > 0;) rte_pktmbuf_free_bulk(sent, n);
}

// One pass, as worker_main's loop would run it with the busy port's rx_burst replaced by the
// pre-built array: per burst, the empty polls (command ring, control frames, the idle port),
// the per-packet entry point, the TX flush (with ring_sink, the sent packets drained and freed
// right after, so the idle port's poll finds its ring empty) and the QSBR report. Returns CPU
// seconds.
double run_pass(worker_ctx& c, std::vector<rte_mbuf*>& pkts, bool wan, bool ring_sink, bench::floor_path* fl = nullptr) {
  const uint16_t burst = c.sh.cfg.rx_burst;
  const uint16_t idle_port = wan ? c.sh.cfg.exc_port : c.sh.cfg.wan_port;  // its tx takes the output
  rte_mbuf* idle[dp::k_max_burst];
  void* objs[16];
  const size_t n = pkts.size();
  const double t0 = thread_cpu_s();
  for (size_t i = 0; i < n; i += burst) {
    c.now_s = c.sh.now_s.load(std::memory_order_relaxed);
    rte_ring_sc_dequeue_burst(c.me.cmd, objs, 16, nullptr);
    rte_ring_sc_dequeue_burst(c.me.ctl_tx, objs, 16, nullptr);
    const size_t end = std::min(n, i + burst);
    const auto cnt = static_cast<uint16_t>(end - i);
    if (wan) {
      if (fl) fl->open_burst(c, pkts.data() + i, cnt);
      else dp::wan_burst(c, pkts.data() + i, cnt);
      rte_eth_rx_burst(idle_port, c.me.index, idle, burst);
    } else {
      rte_eth_rx_burst(idle_port, c.me.index, idle, burst);
      if (fl) fl->seal_burst(c, pkts.data() + i, cnt);
      else dp::tun_burst(c, pkts.data() + i, cnt);
    }
    dp::flush_tx(c);
    if (ring_sink) drain_sink(idle_port, c.me.index);
    rte_rcu_qsbr_quiescent(c.sh.qsbr, c.me.index);
  }
  return thread_cpu_s() - t0;
}

struct counter_snap {
  uint64_t decrypted, encrypted, tun_tx, wan_tx, drops;
};
counter_snap snap(const dp::lcore_counters& k) {
  uint64_t d = 0;
  for (const auto& x : k.drops) d += x.load();
  return {k.decrypted.load(), k.encrypted.load(), k.tun_tx_pkts.load(), k.wan_tx_pkts.load(), d};
}

[[noreturn]] void fail_counts(const dp::lcore_counters& k, const std::string& what) {
  std::fprintf(stderr, "dpvpn-bench: %s\n  drop counters:", what.c_str());
  for (size_t i = 0; i < dp::k_drop_count; ++i)
    if (k.drops[i].load()) std::fprintf(stderr, " %s=%llu", dp::drop_name(i), (unsigned long long)k.drops[i].load());
  std::fprintf(stderr, "\n");
  std::exit(1);
}

// Byte-for-byte check of the first packets of a pass: decrypt gives back the client's inner
// packet; encrypt gives a frame to the client that the client's key opens to the inner packet.
void verify(worker_ctx& c, sessions& ss, std::vector<rte_mbuf*>& pkts, const templates& t, bool wan,
            bench::floor_path* fl = nullptr) {
  const uint32_t n = std::min<uint32_t>(k_verify, static_cast<uint32_t>(pkts.size()));
  uint8_t want[2048];
  if (fl && wan) fl->open_burst(c, pkts.data(), static_cast<uint16_t>(n));
  else if (fl) fl->seal_burst(c, pkts.data(), static_cast<uint16_t>(n));
  else if (wan) dp::wan_burst(c, pkts.data(), static_cast<uint16_t>(n));
  else dp::tun_burst(c, pkts.data(), static_cast<uint16_t>(n));
  rte_mbuf** out = wan ? c.tx.tun : c.tx.wan;
  uint16_t& n_out = wan ? c.tx.n_tun : c.tx.n_wan;
  if (n_out != n) fail_counts(c.me.ctr, "self-check: " + std::to_string(n_out) + " of " + std::to_string(n) + " packets out");
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t s = t.session[i];
    write_inner_v4(want, t.inner_len[i], wan ? vpn_ip_of(s) : k_lan_host, wan ? k_lan_host : vpn_ip_of(s), i);
    buf_view v = dp::view_of(out[i]);
    if (!wan) {
      const net::frame_info fi = net::parse_frame(v.data, v.len);
      if (fi.kind != net::frame_kind::ipv4_udp || fi.dst_ip != client_ip_of(s) || fi.dst_port != client_port_of(s))
        fatal("self-check: encrypted frame not addressed to its client");
      v.adj(static_cast<uint32_t>(fi.payload_off));
      // A fresh client key each time: rekeys alternate the server's sealing key (fresh_rx_keys).
      std::string err;
      auto crx = proto::dc_rx::create(ss.params, key_span(ss.key2[s]), proto::k_dir_server_to_client, &err);
      proto::dc_kind kind;
      if (!crx || crx->open(*c.me.eng, v, c.now_s, proto::comp_framing::none, kind) != proto::dc_err::ok)
        fatal("self-check: the client cannot open our packet");
    }
    if (v.len != t.inner_len[i] || std::memcmp(v.data, want, v.len) != 0) fatal("self-check: inner packet differs");
  }
  for (uint32_t i = 0; i < n; ++i) rte_pktmbuf_free(out[i]);
  n_out = 0;
}

// ---- one measured point ------------------------------------------------------------------------

void measure(worker_ctx& c, sessions& ss, const size_spec& sz, bool wan, const options& o, point& pt,
             bench::floor_path* fl) {
  dp::dp_shared& sh = c.sh;
  const uint32_t n_sets = (ss.n + o.pkts - 1) / o.pkts;
  std::vector<templates> sets;
  for (uint32_t k = 0; k < n_sets; ++k)
    sets.push_back(wan ? build_wan(*c.me.eng, sh.cfg, ss, sz, o.pkts, k) : build_tun(ss, sz, o.pkts, k));
  std::vector<rte_mbuf*> pkts;
  // Warm-up: one pass per set on dpvpn's path (and the floor's) (not timed); the first packets
  // are checked byte for byte.
  bench::floor_path* const paths[2] = {nullptr, fl};
  for (const templates& t : sets) {
    if (wan) fresh_rx_keys(sh, c.me, ss, t.sessions_used, o.keep_keys);
    for (int k = 0; k < (fl ? 2 : 1); ++k) {
      refill(sh.pool, t, pkts);
      verify(c, ss, pkts, t, wan, paths[k]);
      pkts.erase(pkts.begin(), pkts.begin() + std::min<size_t>(k_verify, pkts.size()));
      run_pass(c, pkts, wan, o.ring_sink, paths[k]);
    }
  }

  pt.dir = wan ? "decrypt" : "encrypt";
  pt.size = sz.label;
  pt.avg_bytes = static_cast<double>(sets[0].inner_bytes) / static_cast<double>(o.pkts);
  pt.sessions = ss.n;
  // k_rounds rounds of whole passes, each followed by a raw AEAD round at the same sizes, so
  // that load from other processes affects both alike; the medians are reported.
  std::optional<raw_ref> raw;
  if (o.raw) raw.emplace(*c.me.eng, o.backend, o.cipher, sz.pattern, !wan, o.raw_offset);
  std::vector<double> rates, raw_rates, ratios, floor_rates, floor_ratios;
  uint64_t pass = 0;
  // Whole passes of dpvpn's path (or the floor's) for this round's share of the time: packets/s.
  auto timed = [&](bench::floor_path* path) {
    double cpu = 0;
    uint64_t packets = 0;
    do {
      const templates& t = sets[pass++ % n_sets];
      if (wan && !path) fresh_rx_keys(sh, c.me, ss, t.sessions_used, o.keep_keys);
      if (o.cold) evict_sessions(c.me, t.sessions_used, wan);
      refill(sh.pool, t, pkts);
      const counter_snap a = snap(c.me.ctr);
      cpu += run_pass(c, pkts, wan, o.ring_sink, path);
      const counter_snap b = snap(c.me.ctr);
      const uint64_t done = wan ? b.decrypted - a.decrypted : b.encrypted - a.encrypted;
      const uint64_t sent = wan ? b.tun_tx - a.tun_tx : b.wan_tx - a.wan_tx;
      if (done != pkts.size() || sent != pkts.size() || b.drops != a.drops)
        fail_counts(c.me.ctr, std::string(pt.dir) + " " + sz.label + " B x " + std::to_string(ss.n) + ": " +
                                  std::to_string(done) + " processed, " + std::to_string(sent) + " sent of " +
                                  std::to_string(pkts.size()));
      packets += pkts.size();
    } while (cpu < o.seconds / k_rounds);
    if (rte_mempool_in_use_count(sh.pool) != 0) fatal("mbufs leaked");
    if (!path) {
      pt.packets += packets;
      pt.cpu_s += cpu;
    }
    return static_cast<double>(packets) / cpu;
  };
  for (uint32_t r = 0; r < k_rounds; ++r) {
    rates.push_back(timed(nullptr));
    if (fl) floor_rates.push_back(timed(fl));
    if (raw) {
      raw_rates.push_back(raw->round(o.seconds / k_rounds));
      ratios.push_back(rates.back() / raw_rates.back());
      if (fl) floor_ratios.push_back(floor_rates.back() / raw_rates.back());
    }
  }
  pt.pps = median(rates);
  if (fl) pt.floor_pps = median(floor_rates);
  if (fl && raw) pt.floor_ratio = median(floor_ratios);
  if (raw) {
    pt.raw_pps = median(raw_rates);
    pt.ratio = median(ratios);
    pt.raw_api = raw->api();
    pt.raw_direct_pps = raw->median_rate(1);
    pt.raw_job_pps = raw->median_rate(2);
  }
}

// ---- output ----------------------------------------------------------------------------------

double gbps(const point& p) { return p.pps * p.avg_bytes * 8 / 1e9; }

void print_text(const std::vector<point>& pts, const options& o, const char* arch) {
  std::printf("dpvpn-bench: one lcore, %s, backend %s (IPsec-MB arch %s), %u packets per pass, UDP checksum %s%s%s;\n"
              "rates per CPU-second of the lcore; size = inner IPv4 packet bytes (imix = 7:4:1 of 64/576/1500);\n"
              "Gbit/s counts inner packet bits; raw = aead_key %s alone on hot buffers, same sizes\n",
              crypto::name(o.cipher), crypto::name(o.backend), arch, o.pkts,
              o.tx_offload ? "offloaded" : o.udp_csum ? "on" : "off",
              o.cold ? ", sessions cold (flushed from the caches before each pass)" : "",
              o.ring_sink ? ", TX sink ring (freed in bulk)" : "", "open/seal");
  for (const char* dir : {"decrypt", "encrypt"}) {
    bool any = false;
    for (const auto& p : pts) any |= std::strcmp(p.dir, dir) == 0;
    if (!any) continue;
    std::printf("\n%s (%s)\n%-6s %8s %8s %8s %8s %9s %-6s %6s %9s %9s%s\n", dir,
                std::strcmp(dir, "decrypt") == 0 ? "WAN -> exception port: wan_burst" : "exception port -> WAN: tun_burst",
                "size", "sessions", "Mpps", "Gbit/s", "ns/pkt", "raw Mpps", "api", "ratio", "direct", "job",
                o.floor ? "  floor Mpps  floor ratio" : "");
    for (const auto& p : pts) {
      if (std::strcmp(p.dir, dir) != 0) continue;
      std::printf("%-6s %8u %8.3f %8.2f %8.1f %9.3f %-6s %6.2f %9.3f %9.3f", p.size.c_str(), p.sessions, p.pps / 1e6,
                  gbps(p), 1e9 / p.pps, p.raw_pps / 1e6, p.raw_api, p.ratio, p.raw_direct_pps / 1e6, p.raw_job_pps / 1e6);
      if (o.floor) std::printf(" %11.3f %12.2f", p.floor_pps / 1e6, p.floor_ratio);
      std::printf("\n");
    }
  }
}

// One JSON object per line and point (JSON lines), each complete on its own.
void print_json(const std::vector<point>& pts, const options& o, const char* arch) {
  for (const auto& p : pts) {
    std::printf("{\"scenario\":\"dataplane\",\"dir\":\"%s\",\"size\":\"%s\",\"sessions\":%u,\"mpps\":%.4f,"
                "\"raw_mpps\":%.4f,\"ratio\":%.3f,\"gbps\":%.3f,\"avg_bytes\":%.1f,\"raw_api\":\"%s\","
                "\"raw_direct_mpps\":%.4f,\"raw_job_mpps\":%.4f,"
                "\"cipher\":\"%s\",\"backend\":\"%s\",\"arch\":\"%s\",\"udp_checksum\":%s,\"tx_csum_offload\":%s,\"pkts_per_pass\":%u,"
                "\"cold_sessions\":%s,\"tx_sink\":\"%s\"",
                p.dir, p.size.c_str(), p.sessions, p.pps / 1e6, p.raw_pps / 1e6, p.ratio, gbps(p), p.avg_bytes,
                p.raw_api, p.raw_direct_pps / 1e6, p.raw_job_pps / 1e6, crypto::name(o.cipher), crypto::name(o.backend), arch, o.udp_csum ? "true" : "false", o.tx_offload ? "true" : "false", o.pkts, o.cold ? "true" : "false",
                o.ring_sink ? "ring" : "null");
    if (o.floor) std::printf(",\"floor_mpps\":%.4f,\"floor_ratio\":%.3f", p.floor_pps / 1e6, p.floor_ratio);
    std::printf("}\n");
  }
}

// ---- setup -----------------------------------------------------------------------------------

uint16_t port_by_name(const char* name) {
  uint16_t id = 0;
  if (rte_eth_dev_get_port_by_name(name, &id) != 0) fatal(std::string("no ethdev ") + name);
  return id;
}

}  // namespace

int main(int argc, char** argv) {
  options o = bench::parse_args(argc, argv);
  if (o.fanout) {
    bench::fanout_opts& f = o.fan;
    f.seconds = o.seconds;
    f.json = o.json;
    f.cipher = o.cipher;
    f.backend = o.backend;
    for (const auto& sz : o.sizes) f.sizes.push_back({sz.label, sz.pattern});
    f.udp_csum = o.udp_csum;
    f.raw = o.raw;
    f.hugepages = o.hugepages;
    f.eal_extra = o.eal_extra;
    return bench::fanout_bench(f);
  }
  if (!o.tunnel_lcores.empty()) {
    bench::tunnel_opts t;
    t.seconds = o.seconds;
    t.json = o.json;
    t.cipher = o.cipher;
    t.backend = o.backend;
    for (const auto& sz : o.sizes) t.sizes.push_back({sz.label, sz.pattern});
    t.pkts = o.pkts;
    t.decrypt = o.decrypt;
    t.encrypt = o.encrypt;
    t.udp_csum = o.udp_csum;
    t.lcores = o.tunnel_lcores;
    t.client_role = o.client_role;
    t.rx_dma = o.rx_dma;
    t.rx_pull = o.rx_pull;
    t.independent = o.independent;
    t.ceiling = o.ceiling;
    t.hugepages = o.hugepages;
    t.eal_extra = o.eal_extra;
    return bench::tunnel_bench(t);
  }
  std::vector<std::string> eal{"dpvpn-bench", "--no-huge", "-m", "2048", "--no-shconf", "--no-pci", "-l", "0",
                               "--no-telemetry", "--log-level=lib.eal:warning"};
  // net_ring with no arguments: each queue one ring, both its rx and its tx (drain_sink).
  for (const char* v : {"0", "1"})
    eal.push_back(o.ring_sink ? std::string("--vdev=net_ring") + v : std::string("--vdev=net_null") + v + ",no-rx=1");
  bench::eal_memory(eal, o.hugepages);
  eal.insert(eal.end(), o.eal_extra.begin(), o.eal_extra.end());
  std::vector<char*> eal_argv;
  for (auto& s : eal) eal_argv.push_back(s.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0)
    fatal(std::string("EAL init failed: ") + rte_strerror(rte_errno));

  std::string err;
  dp::dp_shared sh;
  const uint32_t n_mbufs = std::max<uint32_t>(4095, (o.pkts + 4096) | 1023);
  sh.pool = dp::create_mbuf_pool("bench_mbufs", n_mbufs, static_cast<int>(rte_socket_id()), err);
  if (!sh.pool) fatal(err);
  dp::port_info wan_info, exc_info;
  dp::port_conf pc;
  pc.queues = 1;
  pc.pool = sh.pool;
  pc.want_rss = false;
  pc.port_id = port_by_name(o.ring_sink ? "net_ring0" : "net_null0");
  if (dp::setup_port(pc, wan_info, err) != 0) fatal(err);
  pc.port_id = port_by_name(o.ring_sink ? "net_ring1" : "net_null1");
  if (dp::setup_port(pc, exc_info, err) != 0) fatal(err);
  sh.cfg.wan_port = wan_info.port_id;
  sh.cfg.exc_port = exc_info.port_id;
  sh.cfg.n_workers = 1;
  sh.cfg.local_ip = k_local_ip;
  sh.cfg.local_port = k_local_port;
  std::memcpy(sh.cfg.wan_mac.data(), wan_info.mac, 6);
  sh.cfg.udp_checksum = o.udp_csum;
  sh.cfg.tx_csum_offload = o.tx_offload;
  sh.now_s.store(static_cast<uint64_t>(time(nullptr)));

  std::vector<point> pts;
  std::string arch;
  for (uint32_t n : o.sessions) {
    sh.cfg.max_peers = std::max<uint32_t>(n, 64);
    dp::shared_params sp;
    sp.lcore_ids = {rte_lcore_id()};
    sp.max_routes = sh.cfg.max_peers;
    if (!dp::shared_create(sh, sp, err)) fatal(err);
    dp::dp_lcore& lc = *sh.lcores[0];
    arch = lc.eng->arch_name();
    rte_rcu_qsbr_thread_register(sh.qsbr, 0);
    rte_rcu_qsbr_thread_online(sh.qsbr, 0);
    auto c = std::make_unique<worker_ctx>(worker_ctx{sh, lc, {}, sh.now_s.load(), 0});
    sessions ss;
    install_sessions(sh, lc, ss, n, o);
    std::unique_ptr<bench::floor_path> fl;
    if (o.floor) {
      std::vector<net::udp_endpoints> ep(n);
      for (uint32_t i = 0; i < n; ++i)
        ep[i] = {sh.cfg.wan_mac, client_mac_of(i), k_local_ip, client_ip_of(i), k_local_port, client_port_of(i)};
      fl = std::make_unique<bench::floor_path>(o.backend, o.cipher, ss.key2, std::move(ep), vpn_ip_of(0),
                                               o.udp_csum && !o.tx_offload);  // offloaded: no sum
    }
    for (const auto& sz : o.sizes) {
      for (bool wan : {true, false}) {
        if ((wan && !o.decrypt) || (!wan && !o.encrypt)) continue;
        point p;
        measure(*c, ss, sz, wan, o, p, fl.get());
        pts.push_back(p);
        if (!o.json) std::fprintf(stderr, "  %s %s x %u: %.3f Mpps\n", p.dir, p.size.c_str(), n, p.pps / 1e6);
      }
    }
    c.reset();
    rte_rcu_qsbr_thread_offline(sh.qsbr, 0);
    rte_rcu_qsbr_thread_unregister(sh.qsbr, 0);
    dp::shared_destroy(sh);  // the sessions' peers too
  }
  if (o.json) print_json(pts, o, arch.c_str());
  else print_text(pts, o, arch.c_str());

  dp::close_port(sh.cfg.wan_port, err);
  dp::close_port(sh.cfg.exc_port, err);
  rte_eal_cleanup();
  return 0;
}
