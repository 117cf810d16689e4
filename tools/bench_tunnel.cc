// SPDX-License-Identifier: MIT
// dpvpn-bench --tunnel-lcores 1,2: ONE tunnel's throughput on 1 and on N lcores, decrypt and
// encrypt, through wan_burst / tun_burst / owner_input as worker_main runs them, with net_null
// ports (docs/dataplane.md, "One tunnel on several lcores"; numbers in docs/bench/dataplane.md).
//   decrypt: lcore 0 receives every packet of the tunnel (one outer flow = one RSS queue) and,
//            with dp-tunnel-spread N, passes chunks to the other lcores (spread_rx);
//   encrypt: each lcore receives its own share of the tunnel's inner packets (tun automq) and
//            seals it there with blocks of packet ids.
// The receiver's replay drops: decrypt, the gateway's own `replay` counter; encrypt, a model of
// the peer: the WAN queues' packets merged by the TSC of their tx_burst (a TX callback records
// it) go through a 64-packet replay_window, as a stock openvpn peer's.
// Diagnostics: DPVPN_BENCH_TRACE=1 prints each pass's per-lcore CPU time and opened packets;
// DPVPN_BENCH_LCORES=0@1,1@0 places the lcores on other CPUs (EAL --lcores).
#include "bench_tunnel.h"


#include <emmintrin.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iterator>
#include <memory>

#include "../dataplane/worker_internal.h"
#include "bench_lcores.h"
#include "bench_raw.h"
#include "dpvpn/dp_setup.h"
#include "dpvpn/ports.h"
#include "dpvpn/replay.h"

namespace dpvpn::bench {
namespace {

constexpr uint32_t k_local_ip = 0xc6336401;  // 198.51.100.1
constexpr uint16_t k_local_port = 1194;
constexpr uint32_t k_lan_host = 0xc0a8010a;   // 192.168.1.10
constexpr uint32_t k_vpn_ip = 0x0a080002;     // 10.8.0.2: the one client
constexpr uint32_t k_client_ip = 0x64400001;  // 100.64.0.1
constexpr uint16_t k_client_port = 40000;
constexpr net::mac k_client_mac = {0x02, 0x00, 0x5e, 0, 0, 1};
constexpr uint32_t k_rounds = 5;
constexpr unsigned k_max_lcores = 8;
constexpr size_t k_pid_off = net::k_outer_v4 + 4;  // packet id after the DATA_V2 op byte and peer-id

[[noreturn]] void fatal(const std::string& m) {
  std::fprintf(stderr, "dpvpn-bench: %s\n", m.c_str());
  std::exit(1);
}

// What one WAN queue sent: (TSC of the tx_burst, packet id), in order. Filled by the TX callback
// on the sending lcore, read by lcore 0 between passes.
struct alignas(64) tx_log {  // one line each: the lcores append side by side
  struct entry {
    uint64_t tsc;
    uint32_t pid;
  };
  std::vector<entry> e;
  bool on = false;
};

uint16_t log_tx(uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n, void* user) {
  auto* log = static_cast<tx_log*>(user);
  if (!log->on || log->e.size() + n > log->e.capacity()) return n;
  const uint64_t tsc = rte_rdtsc();
  for (uint16_t i = 0; i < n; ++i)
    if (pkts[i]->data_len >= k_pid_off + 4)
      log->e.push_back({tsc, wire::get_u32(rte_pktmbuf_mtod(pkts[i], const uint8_t*) + k_pid_off)});
  return n;
}

// Decrypt: what one exception-port queue sent, (TSC of the tx_burst, the inner packet's IPv4 id:
// its place in the pass), for the order the kernel would see.
uint16_t log_inner(uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n, void* user) {
  auto* log = static_cast<tx_log*>(user);
  if (!log->on || log->e.size() + n > log->e.capacity()) return n;
  const uint64_t tsc = rte_rdtsc();
  for (uint16_t i = 0; i < n; ++i)
    if (pkts[i]->data_len >= 6) log->e.push_back({tsc, wire::get_u16(rte_pktmbuf_mtod(pkts[i], const uint8_t*) + 4)});
  return n;
}

struct env : pass_sync {
  const tunnel_opts& o;
  dp::dp_shared sh;
  uint16_t queues = 1;
  std::array<uint8_t, wire::k_key2_size> key2{};
  proto::data_key_params params;
  bool client_role = false;  // tunnel_opts::client_role: which end of the key directions is ours
  int our_tx_dir() const { return client_role ? proto::k_dir_client_to_server : proto::k_dir_server_to_client; }
  int our_rx_dir() const { return client_role ? proto::k_dir_server_to_client : proto::k_dir_client_to_server; }
  std::unique_ptr<proto::dc_tx> client_tx;  // the far end's sealing key (decrypt packets)
  std::unique_ptr<proto::dc_tx> spare_tx;   // swapped with the server's on each rekey
  tx_log logs[k_max_lcores];
  tx_log inner_logs[k_max_lcores];  // decrypt: the exception port's queues (log_inner)
  // Pass control: lcore 0 sets `pass`; a helper runs it, then (decrypt) drains its hand-off ring
  // until `drained` says lcore 0 has handed everything over; `finished` counts helpers done.
  bool wan = true;
  uint32_t n_lcores = 1;
  // This configuration's tunnels: one per lcore (--independent, or --ceiling's extra rows), or
  // one spread over all of them.
  bool independent = false;
  std::vector<rte_mbuf*> pkts[k_max_lcores];
  const struct tmpl* fill[k_max_lcores] = {};  // what each lcore copies into its mbufs per pass
  double cpu[k_max_lcores] = {};
  std::unique_ptr<dp::worker_ctx> ctx[k_max_lcores];
  // --rx-model pull (feed_queue, run_pull): the frames the WAN queue 0 delivers this pass and how
  // many it did (moved by the lcore that holds the queue, dp_lcore::wan_queue); q_pos_done: all.
  const struct tmpl* queue = nullptr;
  size_t q_pos = 0;
  std::atomic<bool> q_pos_done{false};
};

// Client idx (peer-id idx, VPN address k_vpn_ip + idx, outer address k_client_ip + idx), owned
// by lcore `owner` and spread over `spread` lcores (what apply_cmds' adopt does).
void install_peer(env& e, uint32_t idx, uint16_t owner, uint32_t spread) {
  dp::dp_shared& sh = e.sh;
  std::string err;
  auto* p = new dp::dp_peer();
  p->peer_id = idx;
  p->vpn_ip = k_vpn_ip + idx;
  p->client = net::outer_v4(k_client_ip + idx, k_client_port);
  p->client_mac = k_client_mac;
  p->keys = proto::data_keys(!e.client_role, e.params);
  if (e.client_role) p->wire_id = 7;  // the peer-id "the server pushed"
  const auto k = std::span<const uint8_t, wire::k_key2_size>(e.key2);
  auto tx = proto::dc_tx::create(e.params, k, e.our_tx_dir(), &err);
  auto rx = proto::dc_rx::create(e.params, k, e.our_rx_dir(), &err);
  if (!tx || !rx) fatal("key setup: " + err);
  p->keys.install_prebuilt(0, tx, rx, sh.now_s.load());
  p->spread = static_cast<uint16_t>(spread);
  dp::dp_lcore& lc = *sh.lcores[owner];
  lc.peers[idx] = p;
  lc.owned[lc.n_owned++] = idx;
  if (spread > 1) {
    p->keys.share();
    sh.spread_peer[idx].store(p, std::memory_order_release);
  }
  sh.owner[idx].store(owner, std::memory_order_release);
  if (rte_hash_add_key_data(sh.addrs, &p->client, reinterpret_cast<void*>(uintptr_t{idx})) != 0 ||
      dp::route_add_v4(sh.rt, k_vpn_ip + idx, 32, idx) != 0)
    fatal("hash/route add failed");
}

// The tunnel(s) of a run with n lcores: one spread over all n, or (--independent) one per lcore.
void install_peers(env& e, uint32_t n) {
  if (!e.independent) return install_peer(e, 0, 0, n);
  for (uint32_t i = 0; i < n; ++i) install_peer(e, i, static_cast<uint16_t>(i), 1);
}

// A fresh receive key on key_id 0 (a rekey), so that the next decrypt pass may reuse the ids.
// Between passes: no lcore holds the old one.
void fresh_rx(env& e) {
  std::string err;
  const auto k = std::span<const uint8_t, wire::k_key2_size>(e.key2);
  const uint32_t peers = e.independent ? e.n_lcores : 1;
  for (uint32_t i = 0; i < peers; ++i) {
    auto rx = proto::dc_rx::create(e.params, k, e.our_rx_dir(), &err);
    if (!rx) fatal("rekey: " + err);
    dp::dp_peer* p = e.sh.lcores[i]->peers[i];
    if (i == 0) {
      p->keys.install_prebuilt(0, e.spare_tx, rx, e.sh.now_s.load());  // evicted tx -> spare
    } else {
      auto tx = proto::dc_tx::create(e.params, k, e.our_tx_dir(), &err);
      if (!tx) fatal("rekey: " + err);
      p->keys.install_prebuilt(0, tx, rx, e.sh.now_s.load());
    }
  }
}

struct tmpl {
  std::vector<std::vector<uint8_t>> frames;
  uint64_t inner_bytes = 0;
};

// n packets of client idx's tunnel: sealed by the far end as they arrive on the WAN (wan), or
// inner packets for it as they come from the exception port.
tmpl build(env& e, const tunnel_opts::size& sz, bool wan, uint32_t n, uint32_t seq0, uint32_t idx = 0) {
  tmpl t;
  crypto::engine& eng = *e.sh.lcores[0]->eng;
  if (wan) e.client_tx->set_packet_id(0);
  alignas(64) uint8_t buf[4096];
  for (uint32_t i = 0; i < n; ++i) {
    const uint16_t len = sz.pattern[i % sz.pattern.size()];
    buf_view v{buf + 256, len, 256, static_cast<uint32_t>(sizeof buf - 256 - len)};
    write_inner_v4(v.data, len, wan ? k_vpn_ip + idx : k_lan_host, wan ? k_lan_host : k_vpn_ip + idx, seq0 + i);
    if (wan) {
      if (e.client_tx->seal(eng, v, 0, idx, proto::comp_framing::none) != proto::dc_err::ok) fatal("client seal failed");
      const uint32_t payload = v.len;
      net::udp_endpoints ep;
      ep.src_mac = k_client_mac;
      ep.dst_mac = e.sh.cfg.wan_mac;
      ep.src_ip = k_client_ip + idx;
      ep.dst_ip = k_local_ip;
      ep.src_port = k_client_port;
      ep.dst_port = k_local_port;
      net::write_outer_v4(v.prepend(net::k_outer_v4), ep, payload, static_cast<uint16_t>(i), true);
    }
    t.frames.emplace_back(v.data, v.data + v.len);
    t.inner_bytes += len;
  }
  return t;
}

// The pass's packets copied into fresh mbufs, as the ports' rx_burst leaves them (net_af_packet
// and net_tun copy on the receiving lcore): run on the lcore that receives them.
void refill(env& e, const tmpl& t, std::vector<rte_mbuf*>& m) {
  m.resize(t.frames.size());
  if (rte_pktmbuf_alloc_bulk(e.sh.pool, m.data(), static_cast<unsigned>(m.size())) != 0) fatal("mbuf pool too small");
  for (size_t i = 0; i < m.size(); ++i) {
    auto* d = rte_pktmbuf_append(m[i], static_cast<uint16_t>(t.frames[i].size()));
    if (!d) fatal("mbuf data room too small");
    std::memcpy(d, t.frames[i].data(), t.frames[i].size());
    if (e.o.rx_dma && e.wan)  // tunnel_opts::rx_dma: out of every cache, as after a NIC's DMA
      for (size_t off = 0; off < t.frames[i].size(); off += 64) _mm_clflush(d + off);
  }
  if (e.o.rx_dma && e.wan) _mm_mfence();
}

// --rx-model pull: the WAN port's queue 0 is the tunnel's RSS queue. Its rx (net_null, which
// allocates the mbufs on the polling lcore) runs feed_queue, which copies the pass's next frames
// into them there, as net_af_packet and memif copy on the polling lcore (timed: the poll's work,
// with one lcore too). The worker's own code polls it: wan_poll_own on lcore 0 (the receiving
// lcore), wan_pull on the others while the tunnel is hot there (cfg.spread_pull; whoever is free
// takes the queue). Other queues carry nothing.
uint16_t feed_queue(uint16_t, uint16_t q, rte_mbuf** pkts, uint16_t n, uint16_t, void* user) {
  auto* e = static_cast<env*>(user);
  uint16_t cnt = 0;
  if (q == 0 && e->queue) {  // the queue's poller holds it (poll_queue's CAS): q_pos is its alone
    cnt = static_cast<uint16_t>(std::min<size_t>(n, e->queue->frames.size() - e->q_pos));
    for (uint16_t k = 0; k < cnt; ++k) {
      const auto& f = e->queue->frames[e->q_pos + k];
      rte_pktmbuf_reset(pkts[k]);
      std::memcpy(rte_pktmbuf_append(pkts[k], static_cast<uint16_t>(f.size())), f.data(), f.size());
    }
    e->q_pos += cnt;
    if (e->q_pos == e->queue->frames.size()) e->q_pos_done.store(true, std::memory_order_release);
  }
  if (cnt < n) rte_pktmbuf_free_bulk(pkts + cnt, n - cnt);
  return cnt;
}

// One lcore's part of a --rx-model pull pass: worker_main's WAN polls until the queue is empty
// and nothing came in; loops that found nothing to do (the queue taken by the other lcore, or
// empty) are not counted.
void run_pull(env& e, unsigned i, double t0) {
  dp::worker_ctx& c = *e.ctx[i];
  const uint16_t burst = e.sh.cfg.rx_burst;
  rte_mbuf* pk[dp::k_max_burst];
  uint64_t idle_tsc = 0;
  for (;;) {
    const bool empty = e.q_pos_done.load(std::memory_order_acquire);  // before the polls
    const uint64_t w0 = rte_rdtsc();
    c.now_s = e.sh.now_s.load(std::memory_order_relaxed);
    unsigned got = i == 0 ? dp::wan_poll_own(c, pk, burst) : 0;
    got += dp::wan_pull(c, pk, burst);
    got += poll_handoffs(c);
    dp::flush_tx(c);
    dp::loop_quiescent(c);
    if (got) continue;
    idle_tsc += rte_rdtsc() - w0;
    if (empty) break;
  }
  const uint64_t w0 = rte_rdtsc();
  while (c.order.n_held) {  // output waiting for an earlier share: that lcore's work, not this one's
    rte_pause();
    dp::flush_tx(c);
  }
  idle_tsc += rte_rdtsc() - w0;
  e.cpu[i] = thread_cpu_s() - t0 - static_cast<double>(idle_tsc) / static_cast<double>(rte_get_tsc_hz());
}

// One lcore's part of a pass. Decrypt: lcore 0 runs the rx bursts; the others poll their
// hand-off rings until lcore 0 is through and their rings are empty. Encrypt: each lcore runs
// the exception-port bursts of its own packets.
void run_part(env& e, unsigned i) {
  dp::worker_ctx& c = *e.ctx[i];
  std::vector<rte_mbuf*>& pk = e.pkts[i];
  if (e.fill[i]) refill(e, *e.fill[i], pk);  // untimed, on this lcore
  e.ready.fetch_add(1, std::memory_order_acq_rel);  // then every lcore starts at once
  while (e.ready.load(std::memory_order_acquire) < e.n_lcores) rte_pause();
  const uint16_t burst = e.sh.cfg.rx_burst;
  const double t0 = thread_cpu_s();
  if (e.wan && e.o.rx_pull && !e.independent) return run_pull(e, i, t0);
  if (!e.wan || i == 0 || e.independent) {
    for (size_t k = 0; k < pk.size(); k += burst) {
      c.now_s = e.sh.now_s.load(std::memory_order_relaxed);
      idle_polls(c, e.wan ? c.sh.cfg.exc_port : c.sh.cfg.wan_port);
      const auto cnt = static_cast<uint16_t>(std::min<size_t>(burst, pk.size() - k));
      if (e.n_lcores > 1) poll_handoffs(c);
      if (e.wan) dp::wan_burst(c, pk.data() + k, cnt);
      else dp::tun_burst(c, pk.data() + k, cnt);
      dp::flush_tx(c);
      dp::loop_quiescent(c);
    }
    dp::spread_release_all(c, 1u << 24);  // the pass ends with nothing held (the others are still polling)
    // Output waiting for an earlier share on another lcore goes out in its turn, as it would in
    // the worker loop; the wait is that lcore's work, not this one's (as its empty polls below).
    const uint64_t w0 = rte_rdtsc();
    while (c.order.n_held) {
      rte_pause();
      dp::flush_tx(c);
    }
    e.cpu[i] = thread_cpu_s() - t0 - static_cast<double>(rte_rdtsc() - w0) / static_cast<double>(rte_get_tsc_hz());
    return;
  } else {
    // Waiting for lcore 0 is not this lcore's work: the TSC of the empty polls is taken off (a poll
    // longer than 50 us was preempted, and thread CPU time does not count that anyway).
    const uint32_t pass = e.pass.load(std::memory_order_acquire);
    const uint64_t preempted = rte_get_tsc_hz() / 20000;
    uint64_t idle_tsc = 0;
    for (;;) {
      const bool last = e.drained.load(std::memory_order_acquire) == pass;  // before the poll: nothing comes after it
      const uint64_t t = rte_rdtsc();
      c.now_s = e.sh.now_s.load(std::memory_order_relaxed);
      idle_polls(c, e.wan ? c.sh.cfg.exc_port : c.sh.cfg.wan_port);
      const unsigned n = poll_handoffs(c);
      dp::flush_tx(c);
      dp::loop_quiescent(c);
      if (n == 0) {
        const uint64_t d = rte_rdtsc() - t;
        if (d < preempted) idle_tsc += d;
        if (last) break;
      }
    }
    dp::order_release_all(c);
    e.cpu[i] = thread_cpu_s() - t0 - static_cast<double>(idle_tsc) / static_cast<double>(rte_get_tsc_hz());
    return;
  }
  e.cpu[i] = thread_cpu_s() - t0;
}

struct helper_arg {
  env* e;
  unsigned index;
};

int helper_main(void* arg) {
  auto* h = static_cast<helper_arg*>(arg);
  env& e = *h->e;
  e.helper_loop(e.sh.qsbr, h->index, [&] { run_part(e, h->index); }, [] { return false; });
  return 0;
}

// One pass on every lcore; the CPU seconds of the slowest (they run side by side).
double run_pass(env& e) {
  const uint32_t pass = e.run_pass(e.sh.qsbr, e.n_lcores, [&] { run_part(e, 0); });
  if (std::getenv("DPVPN_BENCH_TRACE"))
    std::fprintf(stderr, "pass %u: cpu %.1f us / %.1f us, opened %llu / %llu\n", pass, e.cpu[0] * 1e6,
                 e.n_lcores > 1 ? e.cpu[1] * 1e6 : 0.0, static_cast<unsigned long long>(e.sh.lcores[0]->ctr.decrypted.load()),
                 static_cast<unsigned long long>(e.n_lcores > 1 ? e.sh.lcores[1]->ctr.decrypted.load() : 0));
  return *std::max_element(e.cpu, e.cpu + e.n_lcores);
}

struct snap {
  uint64_t done = 0, sent = 0, replay = 0, stale = 0, other = 0, gave_way = 0;
};

snap take(const env& e) {
  snap s;
  for (unsigned i = 0; i < e.n_lcores; ++i) {
    const dp::lcore_counters& k = e.sh.lcores[i]->ctr;
    s.done += e.wan ? k.decrypted.load() : k.encrypted.load();
    s.sent += e.wan ? k.tun_tx_pkts.load() : k.wan_tx_pkts.load();
    s.gave_way += k.order_gave_way.load();
    for (size_t d = 0; d < dp::k_drop_count; ++d) {
      const uint64_t v = k.drops[d].load();
      if (d == static_cast<size_t>(dp::drop::replay)) s.replay += v;
      else if (d == static_cast<size_t>(dp::drop::spread_stale)) s.stale += v;
      else s.other += v;
    }
  }
  return s;
}

[[noreturn]] void fail_counts(const env& e, const std::string& what) {
  std::fprintf(stderr, "dpvpn-bench: %s\n  drop counters:", what.c_str());
  for (unsigned i = 0; i < e.n_lcores; ++i)
    for (size_t d = 0; d < dp::k_drop_count; ++d)
      if (const uint64_t v = e.sh.lcores[i]->ctr.drops[d].load())
        std::fprintf(stderr, " lcore%u.%s=%llu", i, dp::drop_name(d), static_cast<unsigned long long>(v));
  std::fprintf(stderr, "\n");
  std::exit(1);
}

// The peer's side of an encrypt pass: the queues' packets merged by send time into a 64-packet
// replay window (openvpn's default `replay-window`). Returns the ids it would drop.
uint64_t peer_replay_drops(env& e, proto::replay_window& w) {
  std::vector<tx_log::entry> all;
  for (unsigned i = 0; i < e.n_lcores; ++i) {
    std::vector<tx_log::entry> merged;
    std::merge(all.begin(), all.end(), e.logs[i].e.begin(), e.logs[i].e.end(), std::back_inserter(merged),
               [](const tx_log::entry& a, const tx_log::entry& b) { return a.tsc < b.tsc; });
    all.swap(merged);
    e.logs[i].e.clear();
  }
  uint64_t drops = 0;
  for (const auto& x : all) {
    if (w.check(x.pid, 0, 0) != proto::replay_verdict::ok) ++drops;
    else w.commit(x.pid, 0, 0);
  }
  return drops;
}

// Decrypt: the queues' inner packets merged by send time; how many came after one that arrived
// later on the WAN (the reordering the kernel sees).
uint64_t reordered(env& e) {
  std::vector<tx_log::entry> all;
  for (unsigned i = 0; i < e.n_lcores; ++i) {
    all.insert(all.end(), e.inner_logs[i].e.begin(), e.inner_logs[i].e.end());
    e.inner_logs[i].e.clear();
  }
  std::stable_sort(all.begin(), all.end(), [](const tx_log::entry& a, const tx_log::entry& b) { return a.tsc < b.tsc; });
  uint64_t late = 0;
  uint32_t top = 0;
  bool any = false;
  for (const auto& x : all) {
    if (any && x.pid < top) ++late;
    else top = x.pid, any = true;
  }
  return late;
}

struct point {
  const char* dir;
  std::string size;
  double avg_bytes = 0;
  uint32_t lcores = 1, spread = 1;
  bool independent = false;
  double pps = 0, speedup = 0, pps_sum = 0;
  std::vector<double> rates, sums;  // per round
  uint64_t packets = 0, replay_drops = 0, stale_drops = 0, peer_checked = 0;
  uint64_t reordered = 0, gave_way = 0;  // decrypt: inner packets out of WAN order; order_gave_way
};

// One round of one configuration (the state brought up for it): two passes to warm it, then
// passes until the round's share of --time is spent. Appends the round's rate (the median of its
// passes' rates: on a shared machine a pass in which an lcore or its vCPU was preempted costs
// several times the others, and one such pass would otherwise decide the round) and its sum form
// (dpvpn-bench's: all packets / all CPU) to pt.
void measure_round(env& e, const tunnel_opts::size& sz, point& pt) {
  const tunnel_opts& o = e.o;
  std::vector<tmpl> t;
  for (unsigned i = 0; i < e.n_lcores; ++i) {
    if (e.independent) t.push_back(build(e, sz, e.wan, o.pkts, 0, i));  // its own tunnel, on its own lcore
    else if (!e.wan || i == 0) t.push_back(build(e, sz, e.wan, o.pkts, i * o.pkts));
  }
  // --rx-model pull: the lcores poll the pass's frames as one queue (run_pull), nothing refilled.
  const bool pull = e.wan && o.rx_pull && !e.independent;
  pt.avg_bytes = static_cast<double>(t[0].inner_bytes) / o.pkts;
  proto::replay_window peer(wire::k_replay_window_default);
  auto one = [&](bool count) -> double {
    if (e.wan) fresh_rx(e);
    for (size_t i = 0; i < k_max_lcores; ++i) e.fill[i] = !pull && i < t.size() ? &t[i] : nullptr;
    e.queue = pull ? &t[0] : nullptr;  // the WAN queue's frames for this pass (feed_queue)
    e.q_pos = 0;
    e.q_pos_done.store(false);
    for (unsigned i = 0; i < e.n_lcores; ++i) {
      e.logs[i].on = !e.wan && !e.independent;
      e.inner_logs[i].on = e.wan && !e.independent;
    }
    const snap a = take(e);
    const double cpu = run_pass(e);
    const snap b = take(e);
    uint64_t total = 0;
    for (size_t i = 0; i < t.size(); ++i) total += t[i].frames.size();
    const uint64_t stale = b.stale - a.stale;
    // Encrypt: a spread_stale packet was sealed (counted encrypted) and dropped before its TX.
    if (b.other != a.other || b.done - a.done != total || b.sent - a.sent + stale != b.done - a.done)
      fail_counts(e, std::string(pt.dir) + " " + sz.label + " B on " + std::to_string(e.n_lcores) + " lcores: " +
                         std::to_string(b.done - a.done) + " processed, " + std::to_string(b.sent - a.sent) +
                         " sent of " + std::to_string(total));
    // Independent tunnels: each lcore's queue carries its own tunnel, in order; no model needed.
    const uint64_t peer_drops = e.wan || e.independent ? 0 : peer_replay_drops(e, peer);
    const uint64_t late = e.wan && !e.independent ? reordered(e) : 0;
    if (count) {
      pt.reordered += late;
      pt.gave_way += b.gave_way - a.gave_way;
      pt.replay_drops += (b.replay - a.replay) + peer_drops;
      pt.stale_drops += stale;
      pt.packets += total;
      pt.peer_checked += e.wan ? 0 : total - stale;
    }
    if (rte_mempool_in_use_count(e.sh.pool) != 0) fatal("mbufs leaked");
    return cpu;
  };
  for (int w = 0; w < 2; ++w) one(false);
  double cpu = 0;
  uint64_t pk = 0;
  std::vector<double> pass_rates;
  do {
    const double c = one(true);
    cpu += c;
    pk += uint64_t{o.pkts} * t.size();
    pass_rates.push_back(static_cast<double>(o.pkts) * static_cast<double>(t.size()) / c);
  } while (cpu < o.seconds / k_rounds);
  pt.rates.push_back(median(pass_rates));
  pt.sums.push_back(static_cast<double>(pk) / cpu);
}

// The state for one configuration: n workers, the tunnel(s) installed, the helper lcores started.
void bring_up(env& e, uint32_t n, bool independent, bool wan, helper_arg* args) {
  dp::dp_config& cfg = e.sh.cfg;
  std::string err;
  cfg.n_workers = static_cast<uint16_t>(n);
  cfg.exc_queues = static_cast<uint16_t>(n);
  cfg.tunnel_spread = static_cast<uint16_t>(independent ? 1 : n);
  dp::shared_params sp;
  for (unsigned i = 0; i < n; ++i) sp.lcore_ids.push_back(i);
  sp.ring_size = 4096;
  sp.max_routes = 64;
  if (!dp::shared_create(e.sh, sp, err)) fatal(err);
  cfg.spread_pull = cfg.tunnel_spread > 1 && e.o.rx_pull;  // else spread_raw's hand-off (copy, dma)
  e.params.spread_window = cfg.tunnel_spread > 1 ? proto::spread_replay_window(e.params.replay_window, n, sp.ring_size) : 0;
  e.independent = independent;
  e.wan = wan;
  e.n_lcores = n;
  install_peers(e, n);
  e.quit.store(false);
  e.pass.store(0);
  e.drained.store(0);
  for (unsigned i = 0; i < n; ++i)
    e.ctx[i] = std::make_unique<dp::worker_ctx>(dp::worker_ctx{e.sh, *e.sh.lcores[i], {}, e.sh.now_s.load(), 0});
  for (unsigned i = 1; i < n; ++i) args[i] = {&e, i};
  start_helpers(e.sh.qsbr, n, helper_main, args);
}

void bring_down(env& e) {
  e.quit.store(true, std::memory_order_release);
  stop_helpers(e.sh.qsbr);
  for (unsigned i = 0; i < e.n_lcores; ++i) e.ctx[i].reset();
  dp::shared_destroy(e.sh);
}

}  // namespace

int tunnel_bench(const tunnel_opts& o) {
  const uint32_t max_l = *std::max_element(o.lcores.begin(), o.lcores.end());
  if (max_l > k_max_lcores) fatal("--tunnel-lcores: at most 8");
  std::vector<std::string> eal{"dpvpn-bench", "--no-huge", "-m", "2048", "--no-shconf", "--no-pci",
                               "-l", "0-" + std::to_string(max_l - 1), o.rx_pull ? "--vdev=net_null0" : "--vdev=net_null0,no-rx=1",
                               "--vdev=net_null1,no-rx=1", "--no-telemetry", "--log-level=lib.eal:warning"};
  eal_memory(eal, o.hugepages);
  eal.insert(eal.end(), o.eal_extra.begin(), o.eal_extra.end());
  if (const char* l = std::getenv("DPVPN_BENCH_LCORES"); l && *l) {  // e.g. "0@1,1@0": lcore 0 on CPU 1
    eal[6] = "--lcores";
    eal[7] = l;
  }
  std::vector<char*> argv;
  for (auto& s : eal) argv.push_back(s.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) fatal(std::string("EAL init failed: ") + rte_strerror(rte_errno));
  if (rte_lcore_count() < max_l) fatal("EAL gave fewer lcores than --tunnel-lcores asks for");

  std::unique_ptr<env> e(new env{{}, o});
  std::string err;
  e->sh.pool = dp::create_mbuf_pool("bench_mbufs", (o.pkts * max_l + 8192) | 1023, static_cast<int>(rte_socket_id()), err);
  if (!e->sh.pool) fatal(err);
  {  // every mbuf's pages faulted in before any timing (with --no-huge the pool is fresh memory,
     // and a port that allocates on rx, as --rx-model pull's, would otherwise meet them in a pass)
    std::vector<rte_mbuf*> all(rte_mempool_avail_count(e->sh.pool));
    if (rte_pktmbuf_alloc_bulk(e->sh.pool, all.data(), static_cast<unsigned>(all.size())) != 0) fatal("mbuf pool");
    for (rte_mbuf* m : all) std::memset(m->buf_addr, 0, m->buf_len);
    rte_pktmbuf_free_bulk(all.data(), static_cast<unsigned>(all.size()));
  }
  dp::port_info exc_info;
  open_null_ports(e->sh, max_l, exc_info);
  dp::dp_config& cfg = e->sh.cfg;
  cfg.local_ip = k_local_ip;
  cfg.local_port = k_local_port;
  cfg.udp_checksum = o.udp_csum;
  cfg.max_peers = 64;
  e->sh.now_s.store(static_cast<uint64_t>(time(nullptr)));
  e->params.cipher = o.cipher;
  e->params.backend = o.backend;
  e->params.digest = crypto::digest_alg::none;
  crypto::random_bytes(e->key2.data(), e->key2.size());
  const auto k = std::span<const uint8_t, wire::k_key2_size>(e->key2);
  e->client_role = o.client_role;
  cfg.client_role = o.client_role;
  e->client_tx = proto::dc_tx::create(e->params, k, e->our_rx_dir(), &err);
  e->spare_tx = proto::dc_tx::create(e->params, k, e->our_tx_dir(), &err);
  if (!e->client_tx || !e->spare_tx) fatal("key setup: " + err);
  for (unsigned q = 0; q < max_l; ++q) {
    e->logs[q].e.reserve(o.pkts * 2 + 64);
    if (!rte_eth_add_tx_callback(cfg.wan_port, static_cast<uint16_t>(q), log_tx, &e->logs[q])) fatal("TX callback");
    e->inner_logs[q].e.reserve(o.pkts * 2 + 64);
    if (!rte_eth_add_tx_callback(cfg.exc_port, static_cast<uint16_t>(q), log_inner, &e->inner_logs[q])) fatal("TX callback");
    if (o.rx_pull && !rte_eth_add_rx_callback(cfg.wan_port, static_cast<uint16_t>(q), feed_queue, e.get())) fatal("RX callback");
  }

  std::vector<point> pts;
  std::string arch_name;
  helper_arg args[k_max_lcores];
  // The configurations of a point: each --tunnel-lcores value, and with --ceiling the same lcore
  // counts with one independent tunnel per lcore. They are measured in turn within each round,
  // so that a round's speed-up compares rates taken seconds apart: this VM's speed moves by up to
  // 1.5x from one minute to the next (docs/bench/dataplane.md, "Paired rounds").
  struct config {
    uint32_t n;
    bool independent;
  };
  std::vector<config> configs;
  for (uint32_t n : o.lcores) configs.push_back({n, o.independent});
  if (o.ceiling && !o.independent)
    for (uint32_t n : o.lcores)
      if (n != o.lcores.front()) configs.push_back({n, true});
  // The speed-up's base: the last configuration with the first lcore count (with "1,1,2" the
  // first one only warms the process up).
  rte_cpuset_t main_cpus = rte_lcore_cpuset(rte_get_main_lcore());
  rte_cpuset_t other_cpus = rte_lcore_cpuset(max_l - 1);
  size_t base_k = 0;
  for (size_t k = 0; k < configs.size(); ++k)
    if (configs[k].n == o.lcores.front() && configs[k].independent == o.independent) base_k = k;
  for (const auto& sz : o.sizes) {
    for (bool wan : {true, false}) {
      if ((wan && !o.decrypt) || (!wan && !o.encrypt)) continue;
      std::vector<point> ps(configs.size());
      for (size_t k = 0; k < configs.size(); ++k) {
        ps[k].dir = wan ? "decrypt" : "encrypt";
        ps[k].size = sz.label;
        ps[k].lcores = configs[k].n;
        ps[k].independent = configs[k].independent;
        ps[k].spread = configs[k].independent ? 1 : configs[k].n;
      }
      for (uint32_t r = 0; r < k_rounds; ++r) {
        for (size_t k = 0; k < configs.size(); ++k) {
          bring_up(*e, configs[k].n, configs[k].independent, wan, args);
          arch_name = e->sh.lcores[0]->eng->arch_name();
          measure_round(*e, sz, ps[k]);
          if (configs[k].n == 1 && max_l > 1) {
            // One lcore runs on the main thread, on CPU 0's lcore, while N lcores run on all
            // of them; the vCPUs of a VM may differ in speed for minutes at a time, so the
            // one-lcore rate is the mean of a round on each end of the set (the main thread
            // moved onto the last lcore's CPUs for the second; no helper runs meanwhile).
            rte_thread_set_affinity(&other_cpus);
            measure_round(*e, sz, ps[k]);
            rte_thread_set_affinity(&main_cpus);
            const double b = ps[k].rates.back(), bs = ps[k].sums.back();
            ps[k].rates.pop_back(), ps[k].sums.pop_back();
            ps[k].rates.back() = (ps[k].rates.back() + b) / 2;
            ps[k].sums.back() = (ps[k].sums.back() + bs) / 2;
          }
          bring_down(*e);
        }
      }
      for (size_t k = 0; k < configs.size(); ++k) {
        point& p = ps[k];
        p.pps = median(p.rates);
        p.pps_sum = median(p.sums);
        std::vector<double> ratio;  // each round's rate over the base's in the same round
        for (uint32_t r = 0; r < k_rounds; ++r) ratio.push_back(ps[base_k].rates[r] > 0 ? p.rates[r] / ps[base_k].rates[r] : 0);
        p.speedup = median(ratio);
        if (!o.json)
          std::fprintf(stderr, "  %s %s B on %u lcores%s: %.3f Mpps (x%.2f), replay drops %llu\n", p.dir, p.size.c_str(), p.lcores,
                       p.independent ? " (independent)" : "", p.pps / 1e6, p.speedup, static_cast<unsigned long long>(p.replay_drops));
        pts.push_back(p);
      }
    }
  }
  if (o.json) {
    for (const auto& p : pts)
      std::printf("{\"scenario\":\"tunnel\",\"role\":\"%s\",\"dir\":\"%s\",\"size\":\"%s\",\"sessions\":1,\"lcores\":%u,\"spread\":%u,"
                  "\"mpps\":%.4f,\"mpps_sum\":%.4f,\"speedup\":%.3f,\"gbps\":%.3f,\"avg_bytes\":%.1f,\"replay_drops\":%llu,"
                  "\"stale_drops\":%llu,\"reordered\":%llu,\"order_gave_way\":%llu,\"packets\":%llu,\"cipher\":\"%s\",\"backend\":\"%s\",\"arch\":\"%s\","
                  "\"udp_checksum\":%s,\"pkts_per_pass\":%u,\"rx_model\":\"%s\",\"independent\":%s}\n",
                  o.client_role ? "client" : "server", p.dir, p.size.c_str(), p.lcores, p.spread, p.pps / 1e6, p.pps_sum / 1e6, p.speedup, p.pps * p.avg_bytes * 8 / 1e9,
                  p.avg_bytes, static_cast<unsigned long long>(p.replay_drops),
                  static_cast<unsigned long long>(p.stale_drops), static_cast<unsigned long long>(p.reordered),
                  static_cast<unsigned long long>(p.gave_way), static_cast<unsigned long long>(p.packets),
                  crypto::name(o.cipher), crypto::name(o.backend), arch_name.c_str(), o.udp_csum ? "true" : "false", o.pkts,
                  o.rx_dma ? "dma" : o.rx_pull ? "pull" : "copy", p.independent ? "true" : "false");
  } else {
    std::printf("dpvpn-bench --tunnel-lcores: %s (%s role), %s, backend %s (IPsec-MB arch %s), %u packets per lcore and pass,\n"
                "decrypt's WAN packets %s;\n"
                "rate = a pass's packets / the CPU seconds of its busiest lcore (median of passes, median of %u rounds); speedup =\n"
                "the median of each round's rate over the first lcore count's in the same round (configurations in turn);\n"
                "tunnels = one spread over the lcores, or indep (one per lcore, nothing shared: the machine's ceiling); replay drops =\n"
                "decrypt: the gateway's replay counter, encrypt: a 64-packet window at the peer over the queues merged by TX time\n",
                o.independent ? "one tunnel PER LCORE, each on its own (--independent: the machine's ceiling)" : "ONE tunnel",
                o.client_role ? "client" : "server", crypto::name(o.cipher), crypto::name(o.backend), arch_name.c_str(), o.pkts,
                o.rx_dma    ? "in memory (--rx-model dma: as a NIC's DMA leaves them)"
                : o.rx_pull ? "copied by the lcore that polls the shared queue (--rx-model pull: the worker's polls)"
                            : "in the receiving lcore's cache (--rx-model copy: as af_packet / memif leave them)",
                k_rounds);
    std::printf("reordered = decrypt: inner packets sent after one that came later on the WAN (exception-port queues\n"
                "merged by TX time); gave way = shares sent out of turn (waited %llu us, or the hold was full)\n",
                static_cast<unsigned long long>(dp::k_order_wait_us));
    std::printf("\n%-8s %-6s %6s %-7s %8s %8s %8s %12s %12s %10s %9s\n", "dir", "size", "lcores", "tunnels", "Mpps", "Gbit/s",
                "speedup", "replay drops", "stale drops", "reordered", "gave way");
    for (const auto& p : pts)
      std::printf("%-8s %-6s %6u %-7s %8.3f %8.2f %8.2f %12llu %12llu %10llu %9llu\n", p.dir, p.size.c_str(), p.lcores,
                  p.independent ? "indep" : "one", p.pps / 1e6,
                  p.pps * p.avg_bytes * 8 / 1e9, p.speedup, static_cast<unsigned long long>(p.replay_drops),
                  static_cast<unsigned long long>(p.stale_drops), static_cast<unsigned long long>(p.reordered),
                  static_cast<unsigned long long>(p.gave_way));
  }
  dp::close_port(cfg.wan_port, err);
  dp::close_port(cfg.exc_port, err);
  rte_eal_cleanup();
  // The receiver must never see a replay drop the sender did not cause (every packet is sent
  // once): any is a failure, whatever the rates (tunnel_bench_smoke in CI relies on it).
  for (const auto& p : pts)
    if (p.replay_drops) {
      std::fprintf(stderr, "dpvpn-bench: %s %s B on %u lcores: %llu replay drops at the receiver\n", p.dir, p.size.c_str(),
                   p.lcores, static_cast<unsigned long long>(p.replay_drops));
      return 1;
    }
  return 0;
}

}  // namespace dpvpn::bench
