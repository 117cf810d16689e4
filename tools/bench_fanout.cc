// SPDX-License-Identifier: MIT
// dpvpn-bench --scenario fanout: the cost per destination of TAP mode's broadcast fan-out
// (docs/tap.md, "the fan-out"; figures in docs/bench/tap.md). C clients are owned round-robin by
// N lcores; lcore 0 receives a pass of broadcast frames, either from the exception port
// (tun_burst -> tap_classify -> flood) or sealed by client 0 with client-to-client (wan_burst ->
// open -> l2_from_peer -> the exception port and flood), and every lcore runs worker_main's loop
// (hand-offs, the rx burst, fanout_run with its budget, the TX flush) until its fan-out queue is
// empty. net_null ports; rates per CPU-second. After each round every lcore of the point seals
// alone at the same frame size, all at once (raw_ref): the reference a destination's cost is
// compared with is what those lcores seal side by side on this machine.
// DPVPN_BENCH_LCORES=0@1,1@0 places the lcores on other CPUs (EAL --lcores).
// Before timing, one pass is captured at the WAN queues: every client but the sender gets each
// frame once, and it opens with that client's key to the frame sent.
#include "bench_fanout.h"


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
#include <memory>
#include <optional>

#include "../dataplane/worker_internal.h"
#include "bench_lcores.h"
#include "bench_raw.h"
#include "bench_tunnel.h"
#include "dpvpn/dp_setup.h"
#include "dpvpn/ports.h"

namespace dpvpn::bench {
namespace {

constexpr uint32_t k_local_ip = 0xc6336401;  // 198.51.100.1: the gateway's WAN address
constexpr uint16_t k_local_port = 1194;
constexpr uint32_t k_tap_gw = 0x0a080001;    // 10.8.0.1: `server 10.8.0.0 255.255.0.0`
constexpr uint32_t k_host_ip = 0x0a08fffe;   // 10.8.255.254: a host behind the exception port
constexpr uint32_t k_bcast_ip = 0x0a08ffff;  // 10.8.255.255
constexpr net::mac k_host_mac = {0x02, 0, 0, 0, 9, 9};
constexpr net::mac k_bcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr uint32_t k_rounds = 5;
constexpr unsigned k_max_lcores = 8;

uint32_t vpn_ip_of(uint32_t i) { return 0x0a080002 + i; }     // 10.8.0.2 + i
uint32_t client_ip_of(uint32_t i) { return 0x64400001 + i; }  // 100.64.0.1 + i
uint16_t client_port_of(uint32_t i) { return static_cast<uint16_t>(40000 + i % 20000); }
net::mac mac_of(uint32_t i) { return {0x02, 0xaa, 0, uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)}; }

[[noreturn]] void fatal(const std::string& m) {
  std::fprintf(stderr, "dpvpn-bench: %s\n", m.c_str());
  std::exit(1);
}

using key2_t = std::array<uint8_t, wire::k_key2_size>;
std::span<const uint8_t, wire::k_key2_size> span_of(const key2_t& k) {
  return std::span<const uint8_t, wire::k_key2_size>(k.data(), k.size());
}

// What the WAN queues sent during a captured pass (the self-check): a TX callback per queue.
struct alignas(64) tx_capture {
  bool on = false;
  std::vector<std::vector<uint8_t>> frames;
};

uint16_t capture_tx(uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n, void* user) {
  auto* cap = static_cast<tx_capture*>(user);
  if (!cap->on) return n;
  for (uint16_t i = 0; i < n; ++i) {
    const auto* d = rte_pktmbuf_mtod(pkts[i], const uint8_t*);
    cap->frames.emplace_back(d, d + pkts[i]->data_len);
  }
  return n;
}

struct env : pass_sync {
  const fanout_opts& o;
  dp::dp_shared sh;
  proto::data_key_params params;
  uint32_t n_clients = 0, n_lcores = 1;
  bool from_client = false;
  std::vector<key2_t> key2;
  std::unique_ptr<proto::dc_tx> sender_tx;  // client 0's own sealing key (from_client)
  std::unique_ptr<proto::dc_tx> spare_tx;   // swapped with client 0's server key on each rekey
  tx_capture cap[k_max_lcores];
  // Pass control, as in bench_tunnel.cc: lcore 0 sets `pass` and runs its part; the helpers run
  // theirs until `drained` says lcore 0 is through and their own rings and queues are empty.
  std::vector<std::vector<uint8_t>> frames;  // the pass: inner frames, or WAN frames from client 0
  std::vector<rte_mbuf*> pkts;
  double cpu[k_max_lcores] = {};
  std::unique_ptr<dp::worker_ctx> ctx[k_max_lcores];
  // The raw reference, run on every lcore at once: lcore 0 bumps raw_go; each helper runs a round
  // of raw_seconds on its own engine with raw_pattern's sizes (a new raw_ref when raw_point moved)
  // and stores its rate.
  std::atomic<uint32_t> raw_go{0}, raw_done{0};
  uint32_t raw_point = 0;
  const std::vector<uint16_t>* raw_pattern = nullptr;
  double raw_seconds = 0;
  double raw_rate[k_max_lcores] = {};
};

// C clients, client i owned by lcore i % N (what the control thread's placement spreads), with
// the keys install_key builds, their addresses in the route and outer-address tables, and (as the
// learn ring would have left it) the segment host's MAC and client 0's in the MAC table.
void install_clients(env& e) {
  dp::dp_shared& sh = e.sh;
  std::string err;
  const uint64_t now = sh.now_s.load();
  e.key2.assign(e.n_clients, {});
  for (uint32_t i = 0; i < e.n_clients; ++i) {
    crypto::random_bytes(e.key2[i].data(), e.key2[i].size());
    auto* p = new dp::dp_peer();
    p->peer_id = i;
    p->vpn_ip = vpn_ip_of(i);
    p->client = net::outer_v4(client_ip_of(i), client_port_of(i));
    p->client_mac = {0x02, 0x00, 0x5e, 0, 0, 1};
    p->keys = proto::data_keys(true, e.params);
    auto tx = proto::dc_tx::create(e.params, span_of(e.key2[i]), proto::k_dir_server_to_client, &err);
    auto rx = proto::dc_rx::create(e.params, span_of(e.key2[i]), proto::k_dir_client_to_server, &err);
    if (!tx || !rx) fatal("data key setup failed: " + err);
    p->keys.install_prebuilt(0, tx, rx, now);
    p->spread = 1;
    dp::dp_lcore& lc = *sh.lcores[i % e.n_lcores];
    lc.peers[i] = p;
    lc.owned[lc.n_owned++] = i;
    lc.owns.store(lc.n_owned, std::memory_order_relaxed);
    sh.owner[i].store(lc.index, std::memory_order_release);
    if (rte_hash_add_key_data(sh.addrs, &p->client, reinterpret_cast<void*>(uintptr_t{i})) != 0 ||
        dp::route_add_v4(sh.rt, p->vpn_ip, 32, i) != 0)
      fatal("hash/route add failed");
  }
  if (sh.macs->learn(k_host_mac, 0, net::k_mac_segment, static_cast<uint32_t>(now)) != net::mac_table::learn_result::learned ||
      sh.macs->learn(mac_of(0), 0, 0, static_cast<uint32_t>(now)) != net::mac_table::learn_result::learned)
    fatal("MAC table: learn failed");
  e.sender_tx = proto::dc_tx::create(e.params, span_of(e.key2[0]), proto::k_dir_client_to_server, &err);
  e.spare_tx = proto::dc_tx::create(e.params, span_of(e.key2[0]), proto::k_dir_server_to_client, &err);
  if (!e.sender_tx || !e.spare_tx) fatal("data key setup failed: " + err);
}

// Client 0's receive key renewed on the same key_id (a rekey), so that the next pass may reuse
// the WAN frames' packet ids. Between passes, on lcore 0 (client 0's owner).
void fresh_rx(env& e) {
  std::string err;
  auto rx = proto::dc_rx::create(e.params, span_of(e.key2[0]), proto::k_dir_client_to_server, &err);
  if (!rx) fatal("rekey: " + err);
  e.sh.lcores[0]->peers[0]->keys.install_prebuilt(0, e.spare_tx, rx, e.sh.now_s.load());
}

// A broadcast Ethernet frame of len bytes: IPv4/UDP to 10.8.255.255 from the segment's host, or
// from client 0's MAC and address.
std::vector<uint8_t> inner_frame(bool from_client, uint16_t len, uint32_t seq) {
  std::vector<uint8_t> f(len);
  net::write_eth(f.data(), k_bcast, from_client ? mac_of(0) : k_host_mac, net::k_ethertype_ipv4);
  write_inner_v4(f.data() + net::k_eth_hdr, static_cast<uint16_t>(len - net::k_eth_hdr),
                 from_client ? vpn_ip_of(0) : k_host_ip, k_bcast_ip, seq);
  return f;
}

// The pass's frames as lcore 0 receives them: inner frames on the exception port, or client 0's
// WAN frames (sealed with packet ids 1..n, wrapped in Ethernet/IPv4/UDP to the gateway).
void build_pass(env& e, const fanout_opts::size& sz) {
  e.frames.clear();
  crypto::engine& eng = *e.sh.lcores[0]->eng;
  e.sender_tx->set_packet_id(0);
  alignas(64) uint8_t buf[4096];
  for (uint32_t i = 0; i < e.o.frames; ++i) {
    const uint16_t len = sz.pattern[i % sz.pattern.size()];
    std::vector<uint8_t> f = inner_frame(e.from_client, len, i);
    if (!e.from_client) {
      e.frames.push_back(std::move(f));
      continue;
    }
    buf_view v{buf + 256, len, 256, static_cast<uint32_t>(sizeof buf - 256 - len)};
    std::copy(f.begin(), f.end(), v.data);
    if (e.sender_tx->seal(eng, v, 0, 0, proto::comp_framing::none) != proto::dc_err::ok) fatal("client seal failed");
    const uint32_t payload = v.len;
    net::udp_endpoints ep;
    ep.src_mac = {0x02, 0x00, 0x5e, 0, 0, 1};
    ep.dst_mac = e.sh.cfg.wan_mac;
    ep.src_ip = client_ip_of(0);
    ep.dst_ip = k_local_ip;
    ep.src_port = client_port_of(0);
    ep.dst_port = k_local_port;
    net::write_outer_v4(v.prepend(net::k_outer_v4), ep, payload, static_cast<uint16_t>(i), true);
    e.frames.emplace_back(v.data, v.data + v.len);
  }
}

void refill(env& e) {
  e.pkts.resize(e.frames.size());
  if (rte_pktmbuf_alloc_bulk(e.sh.pool, e.pkts.data(), static_cast<unsigned>(e.pkts.size())) != 0)
    fatal("mbuf pool too small");
  for (size_t i = 0; i < e.pkts.size(); ++i) {
    auto* d = rte_pktmbuf_append(e.pkts[i], static_cast<uint16_t>(e.frames[i].size()));
    if (!d) fatal("mbuf data room too small");
    std::memcpy(d, e.frames[i].data(), e.frames[i].size());
  }
}

// One lcore's part of a pass. Lcore 0 takes the pass in rx bursts, one per loop, and loops until
// its fan-out queue is empty; the others loop until lcore 0 is through and they have nothing left.
// A helper's empty polls (waiting for lcore 0) are taken off its CPU time.
void run_part(env& e, unsigned i) {
  dp::worker_ctx& c = *e.ctx[i];
  const dp::dp_config& cfg = e.sh.cfg;
  const uint16_t idle_port = e.from_client ? cfg.exc_port : cfg.wan_port;
  if (i == 0) refill(e);  // untimed
  e.ready.fetch_add(1, std::memory_order_acq_rel);
  while (e.ready.load(std::memory_order_acquire) < e.n_lcores) rte_pause();
  const double t0 = thread_cpu_s();
  if (i == 0) {
    const size_t n = e.pkts.size();
    for (size_t k = 0; k < n || c.fan.n;) {
      c.now_s = e.sh.now_s.load(std::memory_order_relaxed);
      idle_polls(c, idle_port);
      if (e.n_lcores > 1) poll_handoffs(c);
      // As worker_main: the exception port is read only while the fan-out queue has room.
      const auto cnt = e.from_client || dp::fanout_room(c, cfg.rx_burst)
                           ? static_cast<uint16_t>(std::min<size_t>(cfg.rx_burst, n - k))
                           : uint16_t{0};
      if (cnt && e.from_client) dp::wan_burst(c, e.pkts.data() + k, cnt);
      else if (cnt) dp::tun_burst(c, e.pkts.data() + k, cnt);
      k += cnt;
      if (c.fan.n) dp::fanout_run(c, cnt ? dp::k_fanout_budget : dp::k_fanout_idle_budget);
      dp::flush_tx(c);
      dp::loop_quiescent(c);
    }
    e.cpu[0] = thread_cpu_s() - t0;
    return;
  }
  const uint32_t pass = e.pass.load(std::memory_order_acquire);
  const uint64_t preempted = rte_get_tsc_hz() / 20000;  // a poll longer than 50 us was preempted
  uint64_t idle_tsc = 0;
  for (;;) {
    const bool last = e.drained.load(std::memory_order_acquire) == pass;  // before the poll: nothing comes after it
    const uint64_t t = rte_rdtsc();
    c.now_s = e.sh.now_s.load(std::memory_order_relaxed);
    idle_polls(c, idle_port);
    unsigned work = poll_handoffs(c);
    if (c.fan.n) work += dp::fanout_run(c, work ? dp::k_fanout_budget : dp::k_fanout_idle_budget);
    dp::flush_tx(c);
    dp::loop_quiescent(c);
    if (work == 0) {
      const uint64_t d = rte_rdtsc() - t;
      if (d < preempted) idle_tsc += d;
      if (last) break;
    }
  }
  e.cpu[i] = thread_cpu_s() - t0 - static_cast<double>(idle_tsc) / static_cast<double>(rte_get_tsc_hz());
}

struct helper_arg {
  env* e;
  unsigned index;
};

int helper_main(void* arg) {
  auto* h = static_cast<helper_arg*>(arg);
  env& e = *h->e;
  uint32_t raw_seen = 0, raw_point = 0;
  std::optional<raw_ref> raw;
  // Between passes: a raw round when lcore 0 asks for one (the per-lcore seal rate while the
  // others seal).
  auto raw_round = [&] {
    const uint32_t r = e.raw_go.load(std::memory_order_acquire);
    if (r == raw_seen) return false;
    raw_seen = r;
    if (!raw || raw_point != e.raw_point) {
      raw.emplace(*e.sh.lcores[h->index]->eng, e.o.backend, e.o.cipher, *e.raw_pattern, true);
      raw_point = e.raw_point;
    }
    e.raw_rate[h->index] = raw->round(e.raw_seconds);
    e.raw_done.fetch_add(1, std::memory_order_acq_rel);
    return true;
  };
  e.helper_loop(e.sh.qsbr, h->index, [&] { run_part(e, h->index); }, raw_round);
  return 0;
}

// One pass on every lcore. Returns the CPU seconds of the busiest; `sum` gets all of theirs.
double run_pass(env& e, double& sum) {
  if (e.from_client) fresh_rx(e);
  e.run_pass(e.sh.qsbr, e.n_lcores, [&] { run_part(e, 0); });
  sum = 0;
  for (unsigned i = 0; i < e.n_lcores; ++i) sum += e.cpu[i];
  return *std::max_element(e.cpu, e.cpu + e.n_lcores);
}

// The counters a point reports, summed over the lcores.
struct snap {
  uint64_t sealed = 0, wan_tx = 0, exc_tx = 0, fanout_in = 0;
  uint64_t sealed_at[k_max_lcores] = {};  // per lcore
  uint64_t drops[dp::k_drop_count] = {};
};

snap take(const env& e) {
  snap s;
  for (unsigned i = 0; i < e.n_lcores; ++i) {
    const dp::lcore_counters& k = e.sh.lcores[i]->ctr;
    s.sealed_at[i] = k.fanout_sealed.load();
    s.sealed += s.sealed_at[i];
    s.wan_tx += k.wan_tx_pkts.load();
    s.exc_tx += k.tun_tx_pkts.load();
    s.fanout_in += k.fanout_in.load();
    for (size_t d = 0; d < dp::k_drop_count; ++d) s.drops[d] += k.drops[d].load();
  }
  return s;
}

struct point {
  const char* source = "exception";
  std::string size;
  double avg_bytes = 0;
  uint32_t clients = 0, lcores = 1, dests = 0;
  double frames_pps = 0, copies_pps = 0, ns_per_dest = 0, ns_per_dest_mean = 0, raw_pps = 0, ratio = 0, speedup = 0;
  double lcore_ns[k_max_lcores] = {};  // each lcore's CPU / its own sealed copies (median of passes)
  const char* raw_api = "-";
  uint64_t frames = 0, sealed = 0;
  uint64_t drops[dp::k_drop_count] = {};
};

// The self-check, on a captured pass: every destination got every frame once, sealed for it.
void check_pass(env& e, const fanout_opts::size& sz, uint32_t dests) {
  std::vector<std::unique_ptr<proto::dc_rx>> rx(e.n_clients);
  std::vector<uint32_t> got(e.n_clients, 0);
  std::string err;
  crypto::engine& eng = *e.sh.lcores[0]->eng;
  size_t total = 0;
  for (unsigned q = 0; q < e.n_lcores; ++q) {
    for (auto& f : e.cap[q].frames) {
      ++total;
      const net::frame_info fi = net::parse_frame(f.data(), f.size());
      const uint32_t pid = fi.dst_ip - client_ip_of(0);
      if (fi.kind != net::frame_kind::ipv4_udp || pid >= e.n_clients || (e.from_client && pid == 0) ||
          fi.dst_port != client_port_of(pid) || pid % e.n_lcores != q)
        fatal("self-check: a sealed copy is not addressed to a client of that lcore");
      if (!rx[pid]) rx[pid] = proto::dc_rx::create(e.params, span_of(e.key2[pid]), proto::k_dir_server_to_client, &err);
      buf_view v{f.data() + fi.payload_off, static_cast<uint32_t>(f.size() - fi.payload_off),
                 static_cast<uint32_t>(fi.payload_off), 0};
      proto::dc_kind kind{};
      if (!rx[pid] || rx[pid]->open(eng, v, e.sh.now_s.load(), proto::comp_framing::none, kind) != proto::dc_err::ok)
        fatal("self-check: client " + std::to_string(pid) + " cannot open its copy");
      const uint32_t seq = got[pid]++;
      const std::vector<uint8_t> want = inner_frame(e.from_client, sz.pattern[seq % sz.pattern.size()], seq);
      if (v.len != want.size() || !std::equal(want.begin(), want.end(), v.data))
        fatal("self-check: client " + std::to_string(pid) + "'s copy differs from the frame sent");
    }
    e.cap[q].frames.clear();
    e.cap[q].on = false;
  }
  if (total != uint64_t{e.o.frames} * dests)
    fatal("self-check: " + std::to_string(total) + " sealed copies of " + std::to_string(uint64_t{e.o.frames} * dests) +
          " (set --frames to at most 64 for the check)");
}

void measure(env& e, const fanout_opts::size& sz, point& pt) {
  const fanout_opts& o = e.o;
  build_pass(e, sz);
  pt.source = e.from_client ? "client" : "exception";
  pt.size = sz.label;
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < o.frames; ++i) bytes += sz.pattern[i % sz.pattern.size()];
  pt.avg_bytes = static_cast<double>(bytes) / o.frames;
  pt.clients = e.n_clients;
  pt.lcores = e.n_lcores;
  pt.dests = e.from_client ? e.n_clients - 1 : e.n_clients;
  double sum = 0;
  // Warm-up: the first pass captured and checked (when every frame fits the queues), one more.
  for (unsigned q = 0; q < e.n_lcores; ++q) e.cap[q].on = o.frames <= dp::fanout_queue::k_cap;
  run_pass(e, sum);
  if (o.frames <= dp::fanout_queue::k_cap) check_pass(e, sz, pt.dests);
  run_pass(e, sum);
  std::optional<raw_ref> raw;
  if (o.raw) raw.emplace(*e.sh.lcores[0]->eng, o.backend, o.cipher, sz.pattern, true);
  ++e.raw_point;
  e.raw_pattern = &sz.pattern;
  e.raw_seconds = o.seconds / k_rounds;
  // Every lcore seals alone at once; the mean of their rates (each lcore's, while the others run).
  auto raw_round = [&]() {
    e.raw_done.store(0, std::memory_order_relaxed);
    e.raw_go.fetch_add(1, std::memory_order_acq_rel);
    double sum = raw->round(e.raw_seconds);
    while (e.raw_done.load(std::memory_order_acquire) < e.n_lcores - 1) {
      rte_rcu_qsbr_quiescent(e.sh.qsbr, 0);
      rte_pause();
    }
    for (unsigned i = 1; i < e.n_lcores; ++i) sum += e.raw_rate[i];
    return sum / e.n_lcores;
  };
  const snap a = take(e);
  std::vector<double> frame_rates, copy_rates, ns, ratios, raw_rates;
  double cpu_all = 0;
  std::vector<double> lcore_ns[k_max_lcores];
  for (uint32_t r = 0; r < k_rounds; ++r) {
    double busiest = 0;
    std::vector<double> pass_frames, pass_copies, pass_ns;
    do {
      const snap x = take(e);
      const double c = run_pass(e, sum);
      const snap y = take(e);
      busiest += c;
      cpu_all += sum;
      pass_frames.push_back(o.frames / c);
      pass_copies.push_back(static_cast<double>(y.sealed - x.sealed) / c);
      pass_ns.push_back(sum * 1e9 / static_cast<double>(std::max<uint64_t>(1, y.sealed - x.sealed)));
      for (unsigned i = 0; i < e.n_lcores; ++i)
        lcore_ns[i].push_back(e.cpu[i] * 1e9 / static_cast<double>(std::max<uint64_t>(1, y.sealed_at[i] - x.sealed_at[i])));
      pt.frames += o.frames;
      pt.sealed += y.sealed - x.sealed;
      if (rte_mempool_in_use_count(e.sh.pool) != 0) fatal("mbufs leaked");
    } while (busiest < o.seconds / k_rounds);
    // A round's figures are the median of its passes' (a pass in which an lcore was preempted and
    // came back to cold caches costs several times the others: bench_tunnel.cc does the same);
    // the mean over every pass is kept as ns_per_dest_mean.
    frame_rates.push_back(median(pass_frames));
    copy_rates.push_back(median(pass_copies));
    ns.push_back(median(pass_ns));
    if (raw) {
      raw_rates.push_back(raw_round());
      ratios.push_back(1e9 / ns.back() / raw_rates.back());
    }
  }
  const snap b = take(e);
  for (size_t d = 0; d < dp::k_drop_count; ++d) pt.drops[d] = b.drops[d] - a.drops[d];
  pt.frames_pps = median(frame_rates);
  pt.copies_pps = median(copy_rates);
  pt.ns_per_dest = median(ns);
  for (unsigned i = 0; i < e.n_lcores; ++i) pt.lcore_ns[i] = median(lcore_ns[i]);
  pt.ns_per_dest_mean = cpu_all * 1e9 / static_cast<double>(std::max<uint64_t>(1, pt.sealed));
  if (raw) {
    pt.raw_pps = median(raw_rates);
    pt.ratio = median(ratios);
    pt.raw_api = raw->api();
  }
}

std::string drops_text(const point& p, const char* sep) {
  std::string s;
  for (size_t d = 0; d < dp::k_drop_count; ++d)
    if (p.drops[d]) s += (s.empty() ? "" : sep) + std::string(dp::drop_name(d)) + "=" + std::to_string(p.drops[d]);
  return s;
}

void print(const fanout_opts& o, const std::vector<point>& pts, const std::string& arch) {
  if (o.json) {
    for (const auto& p : pts) {
      std::string drops;
      for (size_t d = 0; d < dp::k_drop_count; ++d)
        if (p.drops[d]) drops += (drops.empty() ? "\"" : ",\"") + std::string(dp::drop_name(d)) + "\":" + std::to_string(p.drops[d]);
      std::string per;
      for (unsigned i = 0; i < p.lcores; ++i) per += (i ? "," : "") + std::to_string(static_cast<int>(p.lcore_ns[i] + 0.5));
      std::printf("{\"scenario\":\"fanout\",\"source\":\"%s\",\"size\":\"%s\",\"avg_bytes\":%.1f,\"clients\":%u,"
                  "\"lcores\":%u,\"dests\":%u,\"frames_mpps\":%.5f,\"copies_mpps\":%.4f,\"ns_per_dest\":%.1f,\"ns_per_dest_mean\":%.1f,\"ns_per_dest_lcore\":[%s],"
                  "\"raw_mpps\":%.4f,\"ratio\":%.3f,\"speedup\":%.3f,\"raw_api\":\"%s\",\"frames\":%llu,\"sealed\":%llu,"
                  "\"drops\":{%s},\"frames_per_pass\":%u,\"cipher\":\"%s\",\"backend\":\"%s\",\"arch\":\"%s\","
                  "\"udp_checksum\":%s}\n",
                  p.source, p.size.c_str(), p.avg_bytes, p.clients, p.lcores, p.dests, p.frames_pps / 1e6,
                  p.copies_pps / 1e6, p.ns_per_dest, p.ns_per_dest_mean, per.c_str(), p.raw_pps / 1e6, p.ratio, p.speedup, p.raw_api,
                  static_cast<unsigned long long>(p.frames), static_cast<unsigned long long>(p.sealed), drops.c_str(),
                  o.frames, crypto::name(o.cipher), crypto::name(o.backend), arch.c_str(), o.udp_csum ? "true" : "false");
    }
    return;
  }
  std::printf("dpvpn-bench --scenario fanout: TAP broadcast fan-out, %s, backend %s (IPsec-MB arch %s), %u frames per pass\n"
              "at lcore 0; clients owned round-robin by the lcores; size = inner Ethernet frame bytes (what each copy seals);\n"
              "frames/s and copies/s = a pass's frames (sealed copies) / the CPU seconds of its busiest lcore (median of passes,\n"
              "median of %u rounds); ns/dest = every lcore's CPU / sealed copies (the same medians); raw = aead_key seal alone at that size on\n"
              "every lcore of the point at once (per lcore), after each round; ratio = (1 / ns per dest) / raw;\n"
              "speedup = copies/s over the first --lcores value's; by lcore = each lcore's CPU / its own sealed copies (ns)\n",
              crypto::name(o.cipher), crypto::name(o.backend), arch.c_str(), o.frames, k_rounds);
  std::printf("\n%-9s %-5s %7s %6s %6s %10s %10s %8s %9s %6s %7s %-10s %s\n", "source", "size", "clients", "lcores",
              "dests", "kframes/s", "Mcopies/s", "ns/dest", "raw Mpps", "ratio", "speedup", "by lcore", "drops");
  for (const auto& p : pts) {
    const std::string d = drops_text(p, ",");
    std::string per;
    for (unsigned i = 0; i < p.lcores; ++i) per += (i ? "/" : "") + std::to_string(static_cast<int>(p.lcore_ns[i] + 0.5));
    std::printf("%-9s %-5s %7u %6u %6u %10.2f %10.3f %8.1f %9.3f %6.2f %7.2f %-10s %s\n", p.source, p.size.c_str(),
                p.clients, p.lcores, p.dests, p.frames_pps / 1e3, p.copies_pps / 1e6, p.ns_per_dest, p.raw_pps / 1e6,
                p.ratio, p.speedup, per.c_str(), d.empty() ? "0" : d.c_str());
  }
}

}  // namespace

int fanout_bench(const fanout_opts& o) {
  const uint32_t max_l = *std::max_element(o.lcores.begin(), o.lcores.end());
  if (max_l > k_max_lcores) fatal("--lcores: at most 8");
  for (const auto& sz : o.sizes)
    for (uint16_t len : sz.pattern)
      if (len < net::k_eth_hdr + net::k_ipv4_hdr + net::k_udp_hdr || len > 1514)
        fatal("--sizes: an inner Ethernet frame of 42 to 1514 bytes");
  for (uint32_t n : o.clients)
    if (n < 2 || n > 60000) fatal("--clients: 2 to 60000");
  std::vector<std::string> eal{"dpvpn-bench", "--no-huge", "-m", "2048", "--no-shconf", "--no-pci",
                               "-l", "0-" + std::to_string(max_l - 1), "--vdev=net_null0,no-rx=1",
                               "--vdev=net_null1,no-rx=1", "--no-telemetry", "--log-level=lib.eal:warning"};
  eal_memory(eal, o.hugepages);
  eal.insert(eal.end(), o.eal_extra.begin(), o.eal_extra.end());
  if (const char* l = std::getenv("DPVPN_BENCH_LCORES"); l && *l) {  // e.g. "0@1,1@0": lcore 0 on CPU 1 (as bench_tunnel.cc)
    eal[6] = "--lcores";
    eal[7] = l;
  }
  std::vector<char*> argv;
  for (auto& s : eal) argv.push_back(s.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) fatal(std::string("EAL init failed: ") + rte_strerror(rte_errno));
  if (rte_lcore_count() < max_l) fatal("EAL gave fewer lcores than --lcores asks for");

  std::unique_ptr<env> e(new env{{}, o});
  std::string err;
  e->sh.pool = dp::create_mbuf_pool("bench_mbufs", (o.frames + 8192) | 1023, static_cast<int>(rte_socket_id()), err);
  if (!e->sh.pool) fatal(err);
  dp::port_info exc_info;
  open_null_ports(e->sh, max_l, exc_info);
  dp::dp_config& cfg = e->sh.cfg;
  cfg.local_ip = k_local_ip;
  cfg.local_port = k_local_port;
  cfg.udp_checksum = o.udp_csum;
  // dev tap with `server 10.8.0.0 255.255.0.0` (control/setup.cc's l2_policy_for): the gateway
  // NET+1 on the exception port's MAC, frames up to tun-mtu 1500 + 14.
  cfg.tap = true;
  cfg.l2.gateway_ip = k_tap_gw;
  std::memcpy(cfg.l2.gateway_mac.data(), exc_info.mac, 6);
  cfg.l2.max_frame = 1500 + net::k_eth_hdr;
  e->sh.now_s.store(static_cast<uint64_t>(time(nullptr)));
  e->params.cipher = o.cipher;
  e->params.backend = o.backend;
  e->params.digest = crypto::digest_alg::none;
  for (unsigned q = 0; q < max_l; ++q)
    if (!rte_eth_add_tx_callback(cfg.wan_port, static_cast<uint16_t>(q), capture_tx, &e->cap[q])) fatal("TX callback");

  std::vector<point> pts;
  std::string arch;
  helper_arg args[k_max_lcores];
  for (bool from_client : {false, true}) {
    if ((from_client && !o.from_client) || (!from_client && !o.from_exception)) continue;
    for (const auto& sz : o.sizes) {
      for (uint32_t clients : o.clients) {
        double base = 0;
        for (uint32_t n : o.lcores) {
          cfg.n_workers = static_cast<uint16_t>(n);
          cfg.exc_queues = static_cast<uint16_t>(n);
          cfg.max_peers = std::max<uint32_t>(clients, 64);
          cfg.client_to_client = from_client;
          cfg.l2.client_to_client = from_client;
          dp::shared_params sp;
          for (unsigned i = 0; i < n; ++i) sp.lcore_ids.push_back(i);
          sp.ring_size = 4096;
          sp.max_routes = cfg.max_peers;
          sp.l2.capacity = std::max<uint32_t>(4096, 4 * clients);  // l2_params_for's choice
          sp.l2.max_per_peer = 8;
          crypto::random_bytes(reinterpret_cast<uint8_t*>(&sp.l2.seed), sizeof sp.l2.seed);
          if (!dp::shared_create(e->sh, sp, err)) fatal(err);
          arch = e->sh.lcores[0]->eng->arch_name();
          e->n_clients = clients;
          e->n_lcores = n;
          e->from_client = from_client;
          install_clients(*e);
          e->quit.store(false);
          e->pass.store(0);
          e->drained.store(0);
          for (unsigned i = 0; i < n; ++i)
            e->ctx[i] = std::make_unique<dp::worker_ctx>(dp::worker_ctx{e->sh, *e->sh.lcores[i], {}, e->sh.now_s.load(), 0});
          for (unsigned i = 1; i < n; ++i) args[i] = {e.get(), i};
          start_helpers(e->sh.qsbr, n, helper_main, args);
          point p;
          measure(*e, sz, p);
          e->quit.store(true, std::memory_order_release);
          stop_helpers(e->sh.qsbr);
          for (unsigned i = 0; i < n; ++i) {
            dp::fanout_clear(*e->ctx[i]);
            e->ctx[i].reset();
          }
          dp::shared_destroy(e->sh);  // the clients' peers too
          if (n == o.lcores.front()) base = p.copies_pps;
          p.speedup = base > 0 ? p.copies_pps / base : 0;
          if (!o.json)
            std::fprintf(stderr, "  %s %s B x %u clients on %u lcores: %.1f kframes/s, %.3f Mcopies/s, %.1f ns/dest, ratio %.2f\n",
                         p.source, p.size.c_str(), clients, n, p.frames_pps / 1e3, p.copies_pps / 1e6, p.ns_per_dest, p.ratio);
          pts.push_back(p);
        }
      }
    }
  }
  print(o, pts, arch);
  dp::close_port(cfg.wan_port, err);
  dp::close_port(cfg.exc_port, err);
  rte_eal_cleanup();
  return 0;
}

}  // namespace dpvpn::bench
