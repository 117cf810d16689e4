// SPDX-License-Identifier: MIT
// TAP mode through the workers (docs/tap.md): inner Ethernet frames sealed by three clients go into
// wan_burst, frames from the segment into tun_burst, and what each lcore sends (WAN frames opened
// with the clients' keys, exception-port frames), the learn ring, the fan-out and the counters are
// checked.
//  - client -> segment: ARP for the gateway answered and sealed back; a unicast to an unknown MAC
//    to the exception port only; a broadcast to the exception port and (client-to-client) to every
//    other client across both lcores; a unicast to another client's learned MAC to its owner;
//    spoofed MAC / IP / ARP sender and bad source MACs dropped with their l2_* names; a new MAC past
//    the client's cap dropped as l2_mac_limit once the control side flagged it.
//  - segment -> clients: a broadcast fanned out to every client, a learned client MAC to its owner,
//    proxy ARP for a client answered onto the segment, a client's MAC as source (mac_spoof) and a
//    segment MAC as destination (loop) dropped.
//  - the fan-out's bounds: the per-loop budget, a full queue (fanout_full), and every mbuf back in
//    the pool once each reference is gone.
//  - the control side: learn_drain (learned, known, taken, peer_full) and l2_forget_peer.
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <memory>
#include <string>
#include <vector>

#include "../../dataplane/worker_internal.h"
#include "dpvpn/dp_l2.h"
#include "dpvpn/wire.h"
#include "dp_frames.h"
#include "dp_world.h"
#include "eal_env.h"

namespace dpvpn::dp {
namespace {

using test::bytes;
using test::bytes_of;
using test::eal_ok;
using test::mbuf_of;
[[maybe_unused]] auto* const env = ::testing::AddGlobalTestEnvironment(new test::eal_env("dpvpn-test-tap"));

constexpr uint32_t k_gw_ip = 0xc6336401;  // 198.51.100.1 (WAN)
constexpr uint16_t k_gw_port = 1194;
constexpr uint32_t k_tap_gw = 0x0a080001;  // 10.8.0.1: the gateway on the segment (server 10.8.0.0/24)
constexpr uint32_t k_host_ip = 0x0a0800fe; // 10.8.0.254: a host behind the exception port
constexpr uint64_t k_now = 1'700'000'000;
constexpr net::mac k_wan_mac{0x02, 0, 0, 0, 0, 1};
constexpr net::mac k_exc_mac{0x02, 0, 0, 0, 0, 2};   // the exception port's (the gateway's on the segment)
constexpr net::mac k_host_mac{0x02, 0, 0, 0, 9, 9};
constexpr net::mac k_bcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr net::mac k_outer_mac{0x02, 0, 0, 0, 1, 0};
constexpr uint32_t k_peers = 3;  // peers 0 and 1 on lcore 0, peer 2 on lcore 1

uint32_t vpn_of(uint32_t pid) { return 0x0a080002 + pid; }  // 10.8.0.2 + pid
net::mac mac_of(uint32_t pid) { return {0x02, 0xaa, 0, 0, 0, static_cast<uint8_t>(pid)}; }
net::outer_addr client_of(uint32_t pid) { return net::outer_v4(0x64400001 + pid, static_cast<uint16_t>(40000 + pid)); }
uint16_t owner_of(uint32_t pid) { return pid == 2 ? 1 : 0; }

using test::gcm;
using test::key2_of;
using test::span_of;

bytes eth(const net::mac& dst, const net::mac& src, uint16_t type, const bytes& payload) {
  bytes f(14 + payload.size());
  net::write_eth(f.data(), dst, src, type);
  std::copy(payload.begin(), payload.end(), f.begin() + 14);
  return f;
}
bytes ip_frame(const net::mac& dst, const net::mac& src, uint32_t sip, uint32_t dip, uint8_t fill = 0x5a) {
  return eth(dst, src, net::k_ethertype_ipv4, test::inner_v4(sip, dip, 80, fill));
}
bytes arp_request(const net::mac& sha, uint32_t spa, uint32_t tpa) {
  bytes a(28, 0);
  a[1] = 1, a[2] = 0x08, a[4] = 6, a[5] = 4;
  wire::put_u16(&a[6], 1);
  std::copy(sha.begin(), sha.end(), a.begin() + 8);
  wire::put_u32(&a[14], spa);
  wire::put_u32(&a[24], tpa);
  return eth(k_bcast, sha, net::k_ethertype_arp, a);
}

// Two lcores, three clients, dev tap with the gateway at 10.8.0.1 on the exception port's MAC.
struct world {
  dp_shared sh;
  std::unique_ptr<dp_lcore> lc[2];
  std::unique_ptr<worker_ctx> c[2];
  std::vector<std::unique_ptr<dp_peer>> peers;
  std::unique_ptr<crypto::engine> client_eng = crypto::engine::create();
  std::unique_ptr<proto::dc_tx> client_tx[k_peers];
  std::unique_ptr<proto::dc_rx> client_rx[k_peers];

  explicit world(bool c2c, uint32_t max_per_peer = 8) {
    static int seq = 0;
    const std::string sfx = std::to_string(seq++);
    sh.cfg.n_workers = 2;
    sh.cfg.local_ip = k_gw_ip;
    sh.cfg.local_port = k_gw_port;
    sh.cfg.wan_mac = k_wan_mac;
    sh.cfg.max_peers = 16;
    sh.cfg.client_to_client = c2c;
    sh.cfg.tap = true;
    sh.cfg.l2.client_to_client = c2c;
    sh.cfg.l2.gateway_ip = k_tap_gw;
    sh.cfg.l2.gateway_mac = k_exc_mac;
    sh.cfg.l2.max_frame = 1500 + 14;
    sh.pool = test::test_pool;
    sh.punt = rte_ring_create(("tp" + sfx).c_str(), 256, 0, RING_F_SC_DEQ);
    sh.done = rte_ring_create(("td" + sfx).c_str(), 256, 0, RING_F_SC_DEQ);
    sh.owner = std::make_unique<std::atomic<uint16_t>[]>(sh.cfg.max_peers);
    for (uint32_t i = 0; i < sh.cfg.max_peers; ++i) sh.owner[i].store(k_no_owner);
    sh.qsbr = static_cast<rte_rcu_qsbr*>(rte_zmalloc(nullptr, rte_rcu_qsbr_get_memsize(2), 64));
    rte_rcu_qsbr_init(sh.qsbr, 2);
    std::string err;
    sh.rt = routes_create(sh.qsbr, 64, 64, err);
    l2_params lp;
    lp.capacity = 64;
    lp.max_per_peer = max_per_peer;
    lp.max_segment = 16;
    lp.seed = 42;
    EXPECT_TRUE(l2_create(sh, lp, err)) << err;
    sh.addrs = test::outer_addr_hash("ta" + sfx);
    test::make_lcores(sh, lc, 2, true);
    lc[1]->handoff_in[0] = rte_ring_create(("th01" + sfx).c_str(), 256, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    lc[0]->handoff_in[1] = rte_ring_create(("th10" + sfx).c_str(), 256, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    for (uint32_t pid = 0; pid < k_peers; ++pid) {
      auto p = std::make_unique<dp_peer>();
      p->peer_id = pid;
      p->vpn_ip = vpn_of(pid);
      p->client = client_of(pid);
      p->client_mac = k_outer_mac;
      p->keys = proto::data_keys(true, gcm());
      auto tx = proto::dc_tx::create(gcm(), span_of(key2_of(pid)), proto::k_dir_server_to_client, &err);
      auto rx = proto::dc_rx::create(gcm(), span_of(key2_of(pid)), proto::k_dir_client_to_server, &err);
      p->keys.install_prebuilt(0, tx, rx, k_now);
      dp_lcore& l = *lc[owner_of(pid)];
      l.peers[pid] = p.get();
      l.owned[l.n_owned++] = pid;
      l.owns.store(l.n_owned);
      sh.owner[pid].store(owner_of(pid));
      rte_hash_add_key_data(sh.addrs, &p->client, reinterpret_cast<void*>(uintptr_t{pid}));
      route_add_v4(sh.rt, vpn_of(pid), 32, pid);
      client_tx[pid] = proto::dc_tx::create(gcm(), span_of(key2_of(pid)), proto::k_dir_client_to_server, &err);
      client_rx[pid] = proto::dc_rx::create(gcm(), span_of(key2_of(pid)), proto::k_dir_server_to_client, &err);
      peers.push_back(std::move(p));
    }
    for (uint16_t w = 0; w < 2; ++w) c[w] = std::make_unique<worker_ctx>(worker_ctx{sh, *lc[w], {}, k_now, 0});
  }
  ~world() {
    auto drain = [](rte_ring* r) {
      void* o;
      while (r && rte_ring_dequeue(r, &o) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(o));
      rte_ring_free(r);
    };
    for (auto& x : c) {
      fanout_clear(*x);
      clear(*x);
    }
    drain(sh.punt);
    drain(sh.done);
    drain(lc[1]->handoff_in[0]);
    drain(lc[0]->handoff_in[1]);
    l2_destroy(sh);
    rte_hash_free(sh.addrs);
    routes_destroy(sh.rt);
    rte_free(sh.qsbr);
  }
  static void clear(worker_ctx& x) {
    for (uint16_t i = 0; i < x.tx.n_wan; ++i) rte_pktmbuf_free(x.tx.wan[i]);
    for (uint16_t i = 0; i < x.tx.n_tun; ++i) rte_pktmbuf_free(x.tx.tun[i]);
    x.tx.n_wan = x.tx.n_tun = 0;
  }
  void clear() {
    clear(*c[0]);
    clear(*c[1]);
  }
  // Client pid sends the inner frame: one WAN frame into lcore 0's wan_burst (peer 2's is handed to
  // lcore 1, which opens it in run(1)).
  void from_client(uint32_t pid, const bytes& frame) {
    bytes buf(256 + frame.size() + 64);
    std::copy(frame.begin(), frame.end(), buf.begin() + 256);
    buf_view v{buf.data() + 256, static_cast<uint32_t>(frame.size()), 256, 64};
    EXPECT_EQ(client_tx[pid]->seal(*client_eng, v, 0, pid, proto::comp_framing::none), proto::dc_err::ok);
    rte_mbuf* m = mbuf_of(test::outer_frame(client_of(pid), k_outer_mac, k_wan_mac, k_gw_ip, k_gw_port,
                                            bytes(v.data, v.data + v.len)));
    wan_burst(*c[0], &m, 1);
  }
  void from_segment(const bytes& frame, uint16_t lcore = 0) {
    rte_mbuf* m = mbuf_of(frame);
    tun_burst(*c[lcore], &m, 1);
  }
  // Lcore w's loop, once: what other lcores handed it, then its fan-out queue.
  unsigned run(uint16_t w, unsigned budget = k_fanout_budget) {
    worker_ctx& x = *c[w];
    rte_ring* r = lc[w]->handoff_in[1 - w];
    void* in[64];
    const unsigned n = rte_ring_sc_dequeue_burst(r, in, 64, nullptr);
    owner_input(x, static_cast<uint16_t>(1 - w), in, static_cast<uint16_t>(n));
    return fanout_run(x, budget);
  }
  // The inner frame of a WAN frame the gateway sent, opened by the client it is addressed to;
  // empty when it does not open. pid: that client (from the outer UDP port).
  bytes open_wan(const rte_mbuf* m, uint32_t& pid) {
    bytes f = bytes_of(m);
    pid = wire::get_u16(&f[36]) - 40000u;
    if (pid >= k_peers) return {};
    buf_view v{f.data() + net::k_outer_v4, static_cast<uint32_t>(f.size() - net::k_outer_v4), net::k_outer_v4, 0};
    proto::dc_kind kind{};
    if (client_rx[pid]->open(*client_eng, v, k_now, proto::comp_framing::none, kind) != proto::dc_err::ok) return {};
    return bytes(v.data, v.data + v.len);
  }
  std::vector<l2_learn_req> learn_requests() {
    std::vector<l2_learn_req> out;
    l2_learn_req r;
    while (rte_ring_sc_dequeue_elem(sh.learn, &r, sizeof r) == 0) out.push_back(r);
    return out;
  }
  void learn(uint32_t pid) { ASSERT_EQ(sh.macs->learn(mac_of(pid), 0, pid, k_now), net::mac_table::learn_result::learned); }
  uint64_t dropped(drop d) const {
    return lc[0]->ctr.drops[static_cast<size_t>(d)].load() + lc[1]->ctr.drops[static_cast<size_t>(d)].load();
  }
};

TEST(tap, l2_drop_names_join_the_dataplane_list_in_order) {
  for (size_t i = 0; i < net::k_l2_drop_count; ++i)
    EXPECT_EQ(std::string(drop_name(static_cast<size_t>(drop::l2_runt) + i)),
              std::string("l2_") + net::l2_drop_name(static_cast<net::l2_drop>(i)));
}

TEST(tap, arp_for_the_gateway_is_answered_and_sealed_back) {
  ASSERT_TRUE(eal_ok);
  world w(false);
  w.from_client(0, arp_request(mac_of(0), vpn_of(0), k_tap_gw));
  ASSERT_EQ(w.c[0]->tx.n_wan, 1);
  EXPECT_EQ(w.c[0]->tx.n_tun, 0);  // not the kernel's
  uint32_t to = 0;
  const bytes r = w.open_wan(w.c[0]->tx.wan[0], to);
  EXPECT_EQ(to, 0u);
  ASSERT_EQ(r.size(), 42u);
  EXPECT_TRUE(std::equal(r.begin(), r.begin() + 6, mac_of(0).begin()));        // to the asker
  EXPECT_TRUE(std::equal(r.begin() + 6, r.begin() + 12, k_exc_mac.begin()));   // from the gateway
  EXPECT_EQ(wire::get_u16(&r[20]), 2);                                          // reply
  EXPECT_TRUE(std::equal(r.begin() + 22, r.begin() + 28, k_exc_mac.begin()));  // sha
  EXPECT_EQ(wire::get_u32(&r[28]), k_tap_gw);                                   // spa
  EXPECT_EQ(wire::get_u32(&r[38]), vpn_of(0));                                  // tpa
  EXPECT_EQ(w.lc[0]->ctr.l2_arp_answered.load(), 1u);
  // The new MAC is asked for once (the learn filter), and the client's MAC word is set.
  w.from_client(0, arp_request(mac_of(0), vpn_of(0), k_tap_gw));
  const std::vector<l2_learn_req> req = w.learn_requests();
  ASSERT_EQ(req.size(), 1u);
  EXPECT_EQ(req[0].mac, mac_of(0));
  EXPECT_EQ(req[0].peer, 0u);
  EXPECT_EQ(w.sh.client_mac[0].load() & 0xffffffffffffull, 0x02aa00000000ull);
  EXPECT_NE(w.sh.client_mac[0].load() >> 48, 0u);
}

TEST(tap, unicast_to_an_unknown_mac_goes_to_the_exception_port_only) {
  ASSERT_TRUE(eal_ok);
  world w(false);
  const bytes f = ip_frame(k_host_mac, mac_of(0), vpn_of(0), k_host_ip);
  w.from_client(0, f);
  ASSERT_EQ(w.c[0]->tx.n_tun, 1);
  EXPECT_EQ(bytes_of(w.c[0]->tx.tun[0]), f);
  EXPECT_EQ(w.c[0]->fan.n, 0);  // without client-to-client no client gets it
  EXPECT_EQ(rte_ring_count(w.lc[1]->handoff_in[0]), 0u);
  // A non-IP ethertype crosses as it is.
  const bytes other = eth(k_host_mac, mac_of(0), 0x88b5, bytes(60, 0x11));
  w.from_client(0, other);
  ASSERT_EQ(w.c[0]->tx.n_tun, 2);
  EXPECT_EQ(bytes_of(w.c[0]->tx.tun[1]), other);
}

TEST(tap, spoofed_and_malformed_frames_from_a_client_are_dropped_by_name) {
  ASSERT_TRUE(eal_ok);
  world w(true);
  w.learn(0);
  w.from_client(1, ip_frame(k_host_mac, mac_of(0), vpn_of(1), k_host_ip));  // peer 0's MAC
  EXPECT_EQ(w.dropped(drop::l2_mac_spoof), 1u);
  w.from_client(0, ip_frame(k_host_mac, mac_of(0), vpn_of(1), k_host_ip));  // peer 1's address
  EXPECT_EQ(w.dropped(drop::l2_ip_spoof), 1u);
  w.from_client(1, arp_request(mac_of(1), vpn_of(0), k_tap_gw));            // ARP for peer 0's address
  EXPECT_EQ(w.dropped(drop::l2_ip_spoof), 2u);
  bytes a = arp_request(mac_of(1), vpn_of(1), k_tap_gw);
  const net::mac other = mac_of(0);
  std::copy(other.begin(), other.end(), a.begin() + 14 + 8);                 // sender MAC != source
  w.from_client(1, a);
  EXPECT_EQ(w.dropped(drop::l2_arp_sha_mismatch), 1u);
  w.from_client(1, ip_frame(k_host_mac, k_bcast, vpn_of(1), k_host_ip));      // group source MAC
  EXPECT_EQ(w.dropped(drop::l2_bad_src_mac), 1u);
  w.from_client(0, bytes(10, 0));
  EXPECT_EQ(w.dropped(drop::l2_runt), 1u);
  w.from_client(0, ip_frame(mac_of(0), mac_of(0), vpn_of(0), k_host_ip));   // to itself
  EXPECT_EQ(w.dropped(drop::l2_loop), 1u);
  EXPECT_EQ(w.c[0]->tx.n_tun + w.c[0]->tx.n_wan, 0);
}

TEST(tap, broadcast_from_a_client_reaches_the_segment_and_every_other_client) {
  ASSERT_TRUE(eal_ok);
  const unsigned base = rte_mempool_in_use_count(test::test_pool);
  {
    world w(true);
    const bytes f = ip_frame(k_bcast, mac_of(0), vpn_of(0), 0x0a0800ff);
    w.from_client(0, f);
    ASSERT_EQ(w.c[0]->tx.n_tun, 1);
    EXPECT_EQ(bytes_of(w.c[0]->tx.tun[0]), f);
    EXPECT_EQ(w.c[0]->fan.n, 1);
    EXPECT_EQ(rte_ring_count(w.lc[1]->handoff_in[0]), 1u);
    EXPECT_EQ(w.run(0), 1u);  // peer 1 (peer 0 sent it)
    EXPECT_EQ(w.run(1), 1u);  // peer 2
    ASSERT_EQ(w.c[0]->tx.n_wan, 1);
    ASSERT_EQ(w.c[1]->tx.n_wan, 1);
    uint32_t to = 0;
    EXPECT_EQ(w.open_wan(w.c[0]->tx.wan[0], to), f);
    EXPECT_EQ(to, 1u);
    EXPECT_EQ(w.open_wan(w.c[1]->tx.wan[0], to), f);
    EXPECT_EQ(to, 2u);
    EXPECT_EQ(w.c[0]->fan.n + w.c[1]->fan.n, 0);
    EXPECT_EQ(w.lc[0]->ctr.fanout_sealed.load() + w.lc[1]->ctr.fanout_sealed.load(), 2u);
    w.clear();
    // Every reference is gone: the flood mbuf and the copies are back in the pool.
    EXPECT_EQ(rte_mempool_in_use_count(test::test_pool), base);
  }
  EXPECT_EQ(rte_mempool_in_use_count(test::test_pool), base);
}

TEST(tap, unicast_to_a_learned_client_goes_to_its_owner) {
  ASSERT_TRUE(eal_ok);
  world w(true);
  w.learn(2);
  w.learn(1);
  const bytes f = ip_frame(mac_of(2), mac_of(0), vpn_of(0), vpn_of(2));
  w.from_client(0, f);
  EXPECT_EQ(w.c[0]->tx.n_tun + w.c[0]->tx.n_wan, 0);
  EXPECT_EQ(w.run(1), 0u);  // owner_input seals it; nothing for the fan-out
  ASSERT_EQ(w.c[1]->tx.n_wan, 1);
  uint32_t to = 0;
  EXPECT_EQ(w.open_wan(w.c[1]->tx.wan[0], to), f);
  EXPECT_EQ(to, 2u);
  const bytes g = ip_frame(mac_of(1), mac_of(0), vpn_of(0), vpn_of(1));  // same lcore: sealed at once
  w.from_client(0, g);
  ASSERT_EQ(w.c[0]->tx.n_wan, 1);
  EXPECT_EQ(w.open_wan(w.c[0]->tx.wan[0], to), g);
  EXPECT_EQ(to, 1u);
  EXPECT_EQ(w.lc[0]->ctr.l2_to_peer.load(), 2u);
  // Without client-to-client the same frame goes to the exception port.
  w.sh.cfg.l2.client_to_client = false;
  w.from_client(0, f);
  EXPECT_EQ(w.c[0]->tx.n_tun, 1);
}

TEST(tap, frames_from_the_segment_are_fanned_out_or_sent_to_their_client) {
  ASSERT_TRUE(eal_ok);
  world w(false);
  const bytes b = ip_frame(k_bcast, k_host_mac, k_host_ip, 0x0a0800ff);
  w.from_segment(b);
  EXPECT_EQ(w.run(0), 2u);
  EXPECT_EQ(w.run(1), 1u);
  ASSERT_EQ(w.c[0]->tx.n_wan, 2);
  ASSERT_EQ(w.c[1]->tx.n_wan, 1);
  std::vector<uint32_t> got;
  for (rte_mbuf* m : {w.c[0]->tx.wan[0], w.c[0]->tx.wan[1], w.c[1]->tx.wan[0]}) {
    uint32_t to = 99;
    EXPECT_EQ(w.open_wan(m, to), b);
    got.push_back(to);
  }
  EXPECT_EQ(got, (std::vector<uint32_t>{0, 1, 2}));
  const std::vector<l2_learn_req> req = w.learn_requests();
  ASSERT_EQ(req.size(), 1u);
  EXPECT_EQ(req[0].peer, net::k_mac_segment);
  EXPECT_EQ(req[0].mac, k_host_mac);
  w.clear();

  // Learned: the host's MAC is the segment's, client 2's is client 2's.
  ASSERT_EQ(w.sh.macs->learn(k_host_mac, 0, net::k_mac_segment, k_now), net::mac_table::learn_result::learned);
  w.learn(2);
  const bytes u = ip_frame(mac_of(2), k_host_mac, k_host_ip, vpn_of(2));
  w.from_segment(u);
  EXPECT_EQ(w.c[0]->tx.n_wan, 0);
  EXPECT_EQ(w.run(1), 0u);
  ASSERT_EQ(w.c[1]->tx.n_wan, 1);
  uint32_t to = 0;
  EXPECT_EQ(w.open_wan(w.c[1]->tx.wan[0], to), u);
  EXPECT_EQ(to, 2u);
  w.from_segment(ip_frame(k_host_mac, mac_of(2), k_host_ip, k_host_ip));  // a client's MAC from the segment
  EXPECT_EQ(w.dropped(drop::l2_mac_spoof), 1u);
  w.from_segment(ip_frame(k_host_mac, net::mac{0x02, 0, 0, 0, 9, 8}, k_host_ip, k_host_ip));  // back to its side
  EXPECT_EQ(w.dropped(drop::l2_loop), 1u);
  EXPECT_EQ(w.lc[0]->ctr.tun_rx_pkts.load(), 4u);
}

TEST(tap, arp_from_the_segment_for_a_client_with_a_known_mac_is_answered_there) {
  ASSERT_TRUE(eal_ok);
  world w(false);
  w.from_client(2, ip_frame(k_host_mac, mac_of(2), vpn_of(2), k_host_ip));  // its MAC word, on lcore 1
  w.run(1);
  ASSERT_EQ(w.c[1]->tx.n_tun, 1);
  w.from_segment(arp_request(k_host_mac, k_host_ip, vpn_of(2)));
  ASSERT_EQ(w.c[0]->tx.n_tun, 1);
  const bytes r = bytes_of(w.c[0]->tx.tun[0]);
  EXPECT_TRUE(std::equal(r.begin(), r.begin() + 6, k_host_mac.begin()));
  EXPECT_TRUE(std::equal(r.begin() + 6, r.begin() + 12, mac_of(2).begin()));
  EXPECT_EQ(wire::get_u16(&r[20]), 2);
  EXPECT_EQ(wire::get_u32(&r[28]), vpn_of(2));
  EXPECT_EQ(w.c[0]->fan.n, 0);
  // A client whose MAC is not known yet: the request is flooded to the clients.
  w.from_segment(arp_request(k_host_mac, k_host_ip, vpn_of(1)));
  EXPECT_EQ(w.c[0]->fan.n, 1);
}

TEST(tap, fanout_keeps_to_its_budget_and_drops_when_its_queue_is_full) {
  ASSERT_TRUE(eal_ok);
  const unsigned base = rte_mempool_in_use_count(test::test_pool);
  {
    world w(false);
    const bytes b = ip_frame(k_bcast, k_host_mac, k_host_ip, 0x0a0800ff);
    w.from_segment(b);
    EXPECT_EQ(w.run(0, 1), 1u);  // peer 0 only
    EXPECT_EQ(w.c[0]->fan.n, 1);
    EXPECT_EQ(w.run(0, 1), 1u);  // peer 1: done
    EXPECT_EQ(w.c[0]->fan.n, 0);
    w.clear();
    for (uint16_t i = 0; i < fanout_queue::k_cap + 3; ++i) w.from_segment(b);
    EXPECT_EQ(w.c[0]->fan.n, fanout_queue::k_cap);
    EXPECT_EQ(w.dropped(drop::fanout_full), 3u);
    EXPECT_EQ(w.lc[0]->ctr.fanout_in.load(), 1u + fanout_queue::k_cap);
    while (w.c[0]->fan.n) {
      w.run(0);
      w.clear();
    }
    // Lcore 1 got all 68 (its queue was drained at every loop): 64 per loop off the ring.
    EXPECT_EQ(rte_ring_count(w.lc[1]->handoff_in[0]), 4u + fanout_queue::k_cap);
    while (rte_ring_count(w.lc[1]->handoff_in[0]) || w.c[1]->fan.n) {
      w.run(1);
      w.clear();
    }
    EXPECT_EQ(w.lc[1]->ctr.fanout_sealed.load(), 4u + fanout_queue::k_cap);
    EXPECT_EQ(rte_mempool_in_use_count(test::test_pool), base);
  }
  EXPECT_EQ(rte_mempool_in_use_count(test::test_pool), base);
}

TEST(tap, learn_drain_fills_the_table_and_flags_a_full_client) {
  ASSERT_TRUE(eal_ok);
  world w(false, 1);  // one MAC per client
  w.from_client(0, ip_frame(k_host_mac, mac_of(0), vpn_of(0), k_host_ip));
  w.from_client(0, ip_frame(k_host_mac, net::mac{0x02, 0xbb, 0, 0, 0, 1}, vpn_of(0), k_host_ip));
  w.from_client(1, ip_frame(k_host_mac, mac_of(1), vpn_of(1), k_host_ip));
  EXPECT_EQ(w.c[0]->tx.n_tun, 3);  // forwarded while the table learns
  l2_learn_stats st = learn_drain(w.sh, static_cast<uint32_t>(k_now));
  EXPECT_EQ(st.learned, 2u);
  EXPECT_EQ(st.peer_full, 1u);
  EXPECT_TRUE(w.sh.mac_full[0].load());
  EXPECT_FALSE(w.sh.mac_full[1].load());
  EXPECT_EQ(w.sh.macs->find(mac_of(0)).peer, 0u);
  EXPECT_EQ(w.sh.macs->find(mac_of(1)).peer, 1u);
  // Peer 0 is full: a frame from yet another MAC is dropped; its own MAC still passes.
  w.from_client(0, ip_frame(k_host_mac, net::mac{0x02, 0xbb, 0, 0, 0, 2}, vpn_of(0), k_host_ip));
  EXPECT_EQ(w.dropped(drop::l2_mac_limit), 1u);
  w.from_client(0, ip_frame(k_host_mac, mac_of(0), vpn_of(0), k_host_ip));
  EXPECT_EQ(w.c[0]->tx.n_tun, 4);
  // A claim on a MAC another client holds changes nothing (first claim).
  l2_learn_req r{mac_of(0), 0, 1, static_cast<uint32_t>(k_now)};
  ASSERT_EQ(rte_ring_mp_enqueue_elem(w.sh.learn, &r, sizeof r), 0);
  st = learn_drain(w.sh, static_cast<uint32_t>(k_now));
  EXPECT_EQ(st.taken, 1u);
  EXPECT_EQ(w.sh.macs->find(mac_of(0)).peer, 0u);
  // Peer 0 leaves: its MAC and its flag go.
  EXPECT_EQ(l2_forget_peer(w.sh, 0), 1u);
  EXPECT_FALSE(w.sh.mac_full[0].load());
  EXPECT_EQ(w.sh.macs->find(mac_of(0)).peer, net::k_mac_no_peer);
}

TEST(tap, the_learner_drains_ages_and_lifts_a_full_clients_flag) {
  ASSERT_TRUE(eal_ok);
  world w(false, 1);
  l2_learner learner(w.sh, 1, 300);
  w.from_client(0, ip_frame(k_host_mac, mac_of(0), vpn_of(0), k_host_ip));
  w.from_client(0, ip_frame(k_host_mac, net::mac{0x02, 0xbb, 0, 0, 0, 1}, vpn_of(0), k_host_ip));
  EXPECT_TRUE(learner.poll(k_now * 1000));
  EXPECT_EQ(learner.totals().learned, 1u);
  EXPECT_EQ(learner.totals().peer_full, 1u);
  EXPECT_TRUE(w.sh.mac_full[0].load());
  EXPECT_FALSE(learner.poll(k_now * 1000 + 10));  // nothing to do
  // 301 s later (a whole sweep of the 128 slots fits one poll's budget) the MAC ages out and the
  // client may learn again.
  EXPECT_TRUE(learner.poll((k_now + 301) * 1000));
  EXPECT_EQ(learner.aged(), 1u);
  EXPECT_EQ(w.sh.macs->find(mac_of(0)).peer, net::k_mac_no_peer);
  EXPECT_FALSE(w.sh.mac_full[0].load());
  EXPECT_NE(learner.counters().find("learned 1"), std::string::npos);
}

}  // namespace
}  // namespace dpvpn::dp
