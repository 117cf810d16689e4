// SPDX-License-Identifier: MIT
// One tunnel on several lcores (worker_spread.cc, docs/dataplane.md): a spread peer's WAN burst on
// lcore 0 is opened in chunks there and on lcore 1 (its hand-off ring), each packet once, every
// replay refused whichever lcore sees it, a float candidate kept for the owner; its exception-port
// packets are sealed on both lcores with blocks of packet ids, which the client opens in any
// order; a peer that is not spread still goes to its owner. Two worker contexts in one thread,
// net_ring ports (each TX queue loops back into its RX queue) to catch what the lcores send.
#include <rte_bus_vdev.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <algorithm>
#include <array>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "../../dataplane/worker_internal.h"
#include "dpvpn/netpkt.h"
#include "dpvpn/replay.h"
#include "dpvpn/wire.h"
#include "dp_frames.h"
#include "dp_world.h"
#include "eal_env.h"

namespace dpvpn::dp {
namespace {

using test::eal_ok;
[[maybe_unused]] auto* const env = ::testing::AddGlobalTestEnvironment(new test::eal_env("dpvpn-test-spread"));

using bytes = std::vector<uint8_t>;
constexpr uint32_t k_gw_ip = 0xc6336401;  // 198.51.100.1
constexpr uint16_t k_gw_port = 1194;
constexpr uint32_t k_lan = 0xc0a8010a;    // 192.168.1.10
constexpr uint64_t k_now = 1'700'000'000;
constexpr net::mac k_gw_mac{0x02, 0, 0, 0, 0, 1};
constexpr uint32_t k_spread_pid = 0, k_plain_pid = 1;

uint32_t vpn_of(uint32_t pid) { return 0x0a080002 + pid; }
net::outer_addr client_of(uint32_t pid) { return net::outer_v4(0x64400001 + pid, static_cast<uint16_t>(40000 + pid)); }
net::mac mac_of(uint32_t pid) { return {0x02, 0, 0, 0, 1, static_cast<uint8_t>(pid)}; }

using test::key2_of;
using test::span_of;

proto::data_key_params gcm(bool spread) {
  proto::data_key_params p;
  p.cipher = crypto::cipher_alg::aes_256_gcm;
  p.digest = crypto::digest_alg::none;
  if (spread) p.spread_window = proto::spread_replay_window(p.replay_window, 2, 256);
  return p;
}

using test::inner_v4;

bytes wan_frame(const net::outer_addr& from, const net::mac& mac, const bytes& ovpn) {
  return test::outer_frame(from, mac, k_gw_mac, k_gw_ip, k_gw_port, ovpn);
}

using test::bytes_of;
using test::mbuf_of;

// A net_ring port with two queues (made once per binary): what the lcores send comes back on the
// RX queue of the same index.
uint16_t ring_port(const char* name) {
  uint16_t port = RTE_MAX_ETHPORTS;
  if (rte_eth_dev_get_port_by_name(name, &port) == 0) return port;
  EXPECT_EQ(rte_vdev_init(name, ""), 0);
  EXPECT_EQ(rte_eth_dev_get_port_by_name(name, &port), 0);
  dp::port_conf conf{.port_id = port, .queues = 2, .rx_desc = 512, .tx_desc = 512, .pool = test::test_pool};
  dp::port_info info;
  std::string err;
  EXPECT_EQ(dp::setup_port(conf, info, err), 0) << err;
  return port;
}

std::vector<bytes> take_port(uint16_t port, uint16_t q) {
  std::vector<bytes> out;
  rte_mbuf* m[64];
  uint16_t n;
  while ((n = rte_eth_rx_burst(port, q, m, 64)) > 0)
    for (uint16_t i = 0; i < n; ++i) out.push_back(bytes_of(m[i])), rte_pktmbuf_free(m[i]);
  return out;
}

// Two lcores' state, built as app/main.cc and worker.cc's adopt() leave it: peer 0 spread over
// both lcores, peer 1 not; both owned by lcore 0.
struct world {
  dp_shared sh;
  std::unique_ptr<dp_lcore> lc[2];
  std::vector<std::unique_ptr<dp_peer>> peers;
  std::unique_ptr<worker_ctx> c[2];

  world() {
    sh.cfg.n_workers = 2;
    sh.cfg.exc_queues = 2;
    sh.cfg.tunnel_spread = 2;
    sh.cfg.local_ip = k_gw_ip;
    sh.cfg.local_port = k_gw_port;
    sh.cfg.wan_mac = k_gw_mac;
    sh.cfg.max_peers = 16;
    sh.cfg.wan_port = ring_port("net_ring8");
    sh.cfg.exc_port = ring_port("net_ring9");
    take_port(sh.cfg.wan_port, 0), take_port(sh.cfg.wan_port, 1);
    sh.pool = test::test_pool;
    sh.punt = rte_ring_create("sp_punt", 256, 0, RING_F_SC_DEQ);
    sh.owner = std::make_unique<std::atomic<uint16_t>[]>(sh.cfg.max_peers);
    sh.spread_peer = std::make_unique<std::atomic<dp_peer*>[]>(sh.cfg.max_peers);
    for (uint32_t i = 0; i < sh.cfg.max_peers; ++i) sh.owner[i].store(k_no_owner), sh.spread_peer[i].store(nullptr);
    sh.qsbr = static_cast<rte_rcu_qsbr*>(rte_zmalloc(nullptr, rte_rcu_qsbr_get_memsize(2), 64));
    rte_rcu_qsbr_init(sh.qsbr, 2);
    std::string err;
    sh.rt = routes_create(sh.qsbr, 64, 64, err);
    sh.addrs = test::outer_addr_hash("sp_addrs");
    test::make_lcores(sh, lc, 2, true);
    lc[1]->handoff_in[0] = rte_ring_create("sp_h01", 256, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    lc[0]->handoff_in[1] = rte_ring_create("sp_h10", 256, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    for (uint32_t pid : {k_spread_pid, k_plain_pid}) {
      const bool spread = pid == k_spread_pid;
      auto p = std::make_unique<dp_peer>();
      p->peer_id = pid;
      p->vpn_ip = vpn_of(pid);
      p->client = client_of(pid);
      p->client_mac = mac_of(pid);
      p->keys = proto::data_keys(true, gcm(spread));
      auto tx = proto::dc_tx::create(gcm(spread), span_of(key2_of(pid)), proto::k_dir_server_to_client, &err);
      auto rx = proto::dc_rx::create(gcm(spread), span_of(key2_of(pid)), proto::k_dir_client_to_server, &err);
      p->keys.install_prebuilt(0, tx, rx, k_now);
      p->spread = spread ? 2 : 1;
      lc[0]->peers[pid] = p.get();
      lc[0]->owned[lc[0]->n_owned++] = pid;
      if (spread) {
        p->keys.share();
        sh.spread_peer[pid].store(p.get());
      }
      sh.owner[pid].store(0);
      rte_hash_add_key_data(sh.addrs, &p->client, reinterpret_cast<void*>(uintptr_t{pid}));
      route_add_v4(sh.rt, vpn_of(pid), 32, pid);
      peers.push_back(std::move(p));
    }
    for (uint16_t w = 0; w < 2; ++w) c[w] = std::make_unique<worker_ctx>(worker_ctx{sh, *lc[w], {}, k_now, 0});
  }
  ~world() {
    auto drain = [](rte_ring* r) {
      void* o;
      while (r && rte_ring_dequeue(r, &o) == 0)
        if (!share_mark::is(o)) rte_pktmbuf_free(static_cast<rte_mbuf*>(o));
      rte_ring_free(r);
    };
    for (auto& cx : c) {
      for (uint16_t i = 0; i < cx->tx.n_wan; ++i) rte_pktmbuf_free(cx->tx.wan[i]);
      for (uint16_t i = 0; i < cx->tx.n_tun; ++i) rte_pktmbuf_free(cx->tx.tun[i]);
      for (uint16_t i = 0; i < cx->hold.n; ++i) rte_pktmbuf_free(cx->hold.m[i]);
      for (uint16_t i = 0; i < cx->order.n_m; ++i) rte_pktmbuf_free(cx->order.m[i]);
    }
    take_port(sh.cfg.exc_port, 0), take_port(sh.cfg.exc_port, 1);
    take_port(sh.cfg.wan_port, 0), take_port(sh.cfg.wan_port, 1);
    drain(sh.punt);
    drain(lc[1]->handoff_in[0]);
    drain(lc[0]->handoff_in[1]);
    rte_hash_free(sh.addrs);
    routes_destroy(sh.rt);
    rte_free(sh.qsbr);
  }
  // What lcore `from` handed to lcore `to`, run through `to` as worker_main's hand-off poll does;
  // how many packets (a share's mark is not one). max: the entries one poll takes.
  unsigned pass_handoffs(uint16_t from, uint16_t to, unsigned max = 256) {
    void* e[256];
    const unsigned n = rte_ring_dequeue_burst(lc[to]->handoff_in[from], e, std::min(max, 256u), nullptr);
    owner_input(*c[to], from, e, static_cast<uint16_t>(n));
    return static_cast<unsigned>(std::count_if(e, e + n, [](void* x) { return !share_mark::is(x); }));
  }
  // The exception-port packets lcore w collected (its TX batch), taken out.
  std::vector<bytes> take_tun(uint16_t w) {
    std::vector<bytes> out;
    for (uint16_t i = 0; i < c[w]->tx.n_tun; ++i) out.push_back(bytes_of(c[w]->tx.tun[i])), rte_pktmbuf_free(c[w]->tx.tun[i]);
    c[w]->tx.n_tun = 0;
    return out;
  }
  uint64_t dropped(uint16_t w, drop d) const { return lc[w]->ctr.drops[static_cast<size_t>(d)].load(); }
  uint64_t all_drops(uint16_t w) const {
    uint64_t n = 0;
    for (const auto& d : lc[w]->ctr.drops) n += d.load();
    return n;
  }
};

void burst(worker_ctx& c, const std::vector<bytes>& frames, bool wan) {
  std::vector<rte_mbuf*> m;
  for (const bytes& b : frames) m.push_back(mbuf_of(b));
  if (wan) wan_burst(c, m.data(), static_cast<uint16_t>(m.size()));
  else tun_burst(c, m.data(), static_cast<uint16_t>(m.size()));
}

bytes inner_of(uint32_t i) { return inner_v4(vpn_of(k_spread_pid), k_lan, static_cast<uint16_t>(60 + i), static_cast<uint8_t>(i)); }

// The spread peer's packets first .. first + n - 1 as its client sends them (ids go on from the
// last call: the client's own counter).
std::vector<bytes> client_frames(proto::dc_tx& client, crypto::engine& eng, uint32_t first, uint32_t n) {
  std::vector<bytes> f;
  for (uint32_t i = first; i < first + n; ++i) {
    const bytes plain = inner_of(i);
    bytes buf(256 + plain.size() + 64);
    std::copy(plain.begin(), plain.end(), buf.begin() + 256);
    buf_view v{buf.data() + 256, static_cast<uint32_t>(plain.size()), 256, 64};
    EXPECT_EQ(client.seal(eng, v, 0, k_spread_pid, proto::comp_framing::none), proto::dc_err::ok);
    f.push_back(wan_frame(client_of(k_spread_pid), mac_of(k_spread_pid), bytes(v.data, v.data + v.len)));
  }
  return f;
}

// The spread peer's client, sending packets first .. first + n - 1 of its tunnel; inner(first, n):
// what the gateway should put on the exception port for them.
struct spread_client {
  std::unique_ptr<crypto::engine> eng = crypto::engine::create();
  std::unique_ptr<proto::dc_tx> tx =
      proto::dc_tx::create(gcm(false), span_of(key2_of(k_spread_pid)), proto::k_dir_client_to_server, nullptr);
  std::vector<bytes> frames(uint32_t first, uint32_t n) { return client_frames(*tx, *eng, first, n); }
};
std::vector<bytes> inner(uint32_t first, uint32_t n) {
  std::vector<bytes> v;
  for (uint32_t i = first; i < first + n; ++i) v.push_back(inner_of(i));
  return v;
}

TEST(worker_spread, wan_burst_opened_on_two_lcores_each_packet_once) {
  ASSERT_TRUE(eal_ok);
  world w;
  auto eng = crypto::engine::create();
  std::string err;
  auto client = proto::dc_tx::create(gcm(false), span_of(key2_of(k_spread_pid)), proto::k_dir_client_to_server, &err);
  const std::vector<bytes> frames = client_frames(*client, *eng, 0, 48);  // ids 1 .. 48: three chunks of k_spread_chunk
  static_assert(k_spread_chunk == 16);
  burst(*w.c[0], frames, true);
  EXPECT_EQ(w.lc[0]->ctr.handoff_out.load(), 16u);  // chunk 1 to lcore 1
  EXPECT_EQ(w.pass_handoffs(0, 1), 16u);
  const std::vector<bytes> on0 = w.take_tun(0), on1 = w.take_tun(1);
  ASSERT_EQ(on0.size(), 32u);
  ASSERT_EQ(on1.size(), 16u);
  for (uint32_t i = 0; i < 16; ++i) {  // each lcore's output in arrival order
    EXPECT_EQ(on0[i], inner_of(i));
    EXPECT_EQ(on1[i], inner_of(16 + i));
    EXPECT_EQ(on0[16 + i], inner_of(32 + i));
  }
  EXPECT_EQ(w.lc[0]->ctr.decrypted.load(), 32u);
  EXPECT_EQ(w.lc[1]->ctr.decrypted.load(), 16u);
  EXPECT_EQ(w.lc[1]->ctr.spread_opened.load(), 16u);
  EXPECT_EQ(w.lc[0]->ctr.spread_opened.load(), 0u);  // the owner's own
  EXPECT_EQ(w.all_drops(0) + w.all_drops(1), 0u);
  spread_flush(*w.c[0]);  // the lcores' counter tallies, as their once-a-second tick does
  spread_flush(*w.c[1]);
  EXPECT_EQ(w.peers[k_spread_pid]->rx_pkts.load(), 48u);

  // The same frames again, now arriving on lcore 1 (it spreads them too): every one a replay,
  // refused by the shared window on whichever lcore opens it.
  burst(*w.c[1], frames, true);
  EXPECT_EQ(w.pass_handoffs(1, 0), 16u);
  EXPECT_EQ(w.dropped(0, drop::replay) + w.dropped(1, drop::replay), 48u);
  EXPECT_EQ(w.dropped(1, drop::replay), 32u);
  EXPECT_TRUE(w.take_tun(0).empty());
  EXPECT_TRUE(w.take_tun(1).empty());

  // Packet 49 from a new address, on lcore 1: a float candidate goes to the owner, which moves the
  // peer; a packet of the peer that is not spread goes to its owner as before.
  const net::outer_addr moved = net::outer_v4(0x64400099, 41000);
  bytes plain = inner_of(49), buf(256 + plain.size() + 64);
  std::copy(plain.begin(), plain.end(), buf.begin() + 256);
  buf_view v{buf.data() + 256, static_cast<uint32_t>(plain.size()), 256, 64};
  ASSERT_EQ(client->seal(*eng, v, 0, k_spread_pid, proto::comp_framing::none), proto::dc_err::ok);
  auto plain_client = proto::dc_tx::create(gcm(false), span_of(key2_of(k_plain_pid)), proto::k_dir_client_to_server, &err);
  bytes p1 = inner_v4(vpn_of(k_plain_pid), k_lan, 80, 1), buf1(256 + 80 + 64);
  std::copy(p1.begin(), p1.end(), buf1.begin() + 256);
  buf_view v1{buf1.data() + 256, 80, 256, 64};
  ASSERT_EQ(plain_client->seal(*eng, v1, 0, k_plain_pid, proto::comp_framing::none), proto::dc_err::ok);
  burst(*w.c[1], {wan_frame(moved, mac_of(k_spread_pid), bytes(v.data, v.data + v.len)),
                  wan_frame(client_of(k_plain_pid), mac_of(k_plain_pid), bytes(v1.data, v1.data + v1.len))}, true);
  EXPECT_EQ(w.pass_handoffs(1, 0), 2u);
  EXPECT_EQ(w.lc[0]->ctr.floats.load(), 1u);
  EXPECT_TRUE(net::same_outer(w.peers[k_spread_pid]->client, moved));
  const std::vector<bytes> owner_out = w.take_tun(0);
  ASSERT_EQ(owner_out.size(), 2u);
  EXPECT_EQ(owner_out[0], inner_of(49));
  EXPECT_EQ(owner_out[1], p1);
  EXPECT_EQ(w.dropped(0, drop::spread_float) + w.dropped(1, drop::spread_float), 0u);
}

TEST(worker_spread, tun_packets_sealed_on_both_lcores_with_id_blocks) {
  ASSERT_TRUE(eal_ok);
  world w;
  auto tun = [](uint32_t i) { return inner_v4(k_lan, vpn_of(k_spread_pid), static_cast<uint16_t>(100 + i), static_cast<uint8_t>(i)); };
  // Bursts of 10 alternate between lcore 1 and lcore 0 (the owner): ids 1-10, 11-20, 21-30, 31-40.
  for (uint32_t b = 0; b < 4; ++b) {
    std::vector<bytes> in;
    for (uint32_t i = 0; i < 10; ++i) in.push_back(tun(b * 10 + i));
    burst(*w.c[b % 2 == 0 ? 1 : 0], in, false);
    // Spread chunks leave at once (flush_wan): nothing waits in the TX batch.
    EXPECT_EQ(w.c[0]->tx.n_wan + w.c[1]->tx.n_wan, 0);
  }
  const std::vector<bytes> q0 = take_port(w.sh.cfg.wan_port, 0), q1 = take_port(w.sh.cfg.wan_port, 1);
  ASSERT_EQ(q0.size(), 20u);
  ASSERT_EQ(q1.size(), 20u);
  EXPECT_EQ(w.lc[1]->ctr.spread_sealed.load(), 20u);
  EXPECT_EQ(w.lc[0]->ctr.spread_sealed.load(), 0u);
  EXPECT_EQ(w.lc[0]->ctr.encrypted.load() + w.lc[1]->ctr.encrypted.load(), 40u);
  spread_flush(*w.c[0]);
  spread_flush(*w.c[1]);
  EXPECT_EQ(w.peers[k_spread_pid]->tx_pkts.load(), 40u);
  EXPECT_EQ(w.all_drops(0) + w.all_drops(1), 0u);
  // The client opens lcore 1's queue first, then lcore 0's (a reordering of 10 on the wire): every
  // packet opens, each id once, and they are 1 .. 40.
  std::string err;
  auto rx = proto::dc_rx::create(gcm(false), span_of(key2_of(k_spread_pid)), proto::k_dir_server_to_client, &err);
  auto eng = crypto::engine::create();
  std::set<uint32_t> ids;
  std::vector<bytes> opened;
  for (const auto* q : {&q1, &q0}) {
    for (const bytes& f : *q) {
      const net::frame_info fi = net::parse_frame(f.data(), f.size());
      ASSERT_EQ(fi.kind, net::frame_kind::ipv4_udp);
      EXPECT_EQ(fi.dst_ip, net::v4_of(client_of(k_spread_pid).ip));
      bytes ov(f.begin() + static_cast<long>(fi.payload_off), f.end());
      ids.insert(wire::get_u32(ov.data() + 4));
      buf_view v{ov.data(), static_cast<uint32_t>(ov.size()), 0, 0};
      proto::dc_kind kind;
      ASSERT_EQ(rx->open(*eng, v, k_now, proto::comp_framing::none, kind), proto::dc_err::ok);
      opened.emplace_back(v.data, v.data + v.len);
    }
  }
  ASSERT_EQ(ids.size(), 40u);
  EXPECT_EQ(*ids.begin(), 1u);
  EXPECT_EQ(*ids.rbegin(), 40u);
  for (uint32_t i = 0; i < 10; ++i) {
    EXPECT_EQ(opened[i], tun(i));            // lcore 1's first burst
    EXPECT_EQ(opened[20 + i], tun(10 + i));  // lcore 0's first burst
  }
  // Not spread: lcore 1 hands it to the owner.
  burst(*w.c[1], {inner_v4(k_lan, vpn_of(k_plain_pid), 90, 3)}, false);
  EXPECT_EQ(w.lc[1]->ctr.handoff_out.load(), 1u);
  EXPECT_EQ(w.pass_handoffs(1, 0), 1u);
  EXPECT_EQ(w.c[0]->tx.n_wan, 1);
}

// The send token: while another lcore holds the key's token (it is between its check and its
// tx_burst) a chunk waits in the hold, and this lcore reports no quiescent state (it holds the
// shared key); when the token comes back the chunk leaves in order. A held chunk whose ids fell a
// window behind what was sent meanwhile is dropped as spread_stale, never sent: the wire order a
// 64-packet peer sees has no replay drop.
TEST(worker_spread, a_taken_send_token_holds_the_chunk_and_stale_ids_never_reach_the_wire) {
  ASSERT_TRUE(eal_ok);
  world w;
  auto tun = [](uint32_t i) { return inner_v4(k_lan, vpn_of(k_spread_pid), static_cast<uint16_t>(100 + i), static_cast<uint8_t>(i)); };
  auto tuns = [&](uint32_t first, uint32_t n) {
    std::vector<bytes> v;
    for (uint32_t i = 0; i < n; ++i) v.push_back(tun(first + i));
    return v;
  };
  auto ids_of = [](const std::vector<bytes>& q) {
    std::vector<uint32_t> ids;
    for (const bytes& f : q) {
      const net::frame_info fi = net::parse_frame(f.data(), f.size());
      ids.push_back(wire::get_u32(f.data() + fi.payload_off + 4));
    }
    return ids;
  };
  proto::dc_tx* tx = w.peers[k_spread_pid]->keys.tx_shared();
  ASSERT_NE(tx, nullptr);
  for (uint32_t i = 0; i < 2; ++i) {
    rte_rcu_qsbr_thread_register(w.sh.qsbr, i);
    rte_rcu_qsbr_thread_online(w.sh.qsbr, i);
  }
  const uint16_t wan = w.sh.cfg.wan_port;
  ASSERT_TRUE(tx->try_take_send());  // another lcore is inside its send
  EXPECT_FALSE(tx->try_take_send());
  burst(*w.c[1], tuns(0, 10), false);  // ids 1-10
  EXPECT_EQ(w.c[1]->hold.n, 10);
  EXPECT_TRUE(take_port(wan, 1).empty());
  const uint64_t token = rte_rcu_qsbr_start(w.sh.qsbr);
  loop_quiescent(*w.c[0]);
  loop_quiescent(*w.c[1]);
  EXPECT_EQ(rte_rcu_qsbr_check(w.sh.qsbr, token, false), 0);  // lcore 1 still holds the key
  tx->give_send();
  loop_quiescent(*w.c[1]);
  EXPECT_EQ(w.c[1]->hold.n, 0);
  EXPECT_EQ(rte_rcu_qsbr_check(w.sh.qsbr, token, false), 1);
  std::vector<uint32_t> want(10);
  for (uint32_t i = 0; i < 10; ++i) want[i] = i + 1;
  EXPECT_EQ(ids_of(take_port(wan, 1)), want);
  EXPECT_EQ(tx->highest_sent(), 10u);

  // Lcore 1's next chunk (ids 11-20) waits for the token; meanwhile lcore 0 sends ids 21-84.
  ASSERT_TRUE(tx->try_take_send());
  burst(*w.c[1], tuns(10, 10), false);
  tx->give_send();
  burst(*w.c[0], tuns(20, 64), false);
  EXPECT_EQ(tx->highest_sent(), 84u);
  EXPECT_EQ(spread_release(*w.c[1]), 0);
  EXPECT_EQ(w.dropped(1, drop::spread_stale), 10u);
  EXPECT_TRUE(take_port(wan, 1).empty());
  const std::vector<uint32_t> q0 = ids_of(take_port(wan, 0));
  ASSERT_EQ(q0.size(), 64u);
  proto::replay_window peer(wire::k_replay_window_default);
  for (uint32_t i = 0; i < 10; ++i) ASSERT_EQ(peer.check(i + 1, 0, 0), proto::replay_verdict::ok), peer.commit(i + 1, 0, 0);
  for (uint32_t id : q0) ASSERT_EQ(peer.check(id, 0, 0), proto::replay_verdict::ok), peer.commit(id, 0, 0);
  // Sealed, then dropped before the wire: counted encrypted and spread_stale.
  EXPECT_EQ(w.lc[0]->ctr.encrypted.load() + w.lc[1]->ctr.encrypted.load(), 84u);
  EXPECT_EQ(w.lc[0]->ctr.wan_tx_pkts.load() + w.lc[1]->ctr.wan_tx_pkts.load(), 74u);
  for (uint32_t i = 0; i < 2; ++i) {
    rte_rcu_qsbr_thread_offline(w.sh.qsbr, i);
    rte_rcu_qsbr_thread_unregister(w.sh.qsbr, i);
  }
}

// The order (docs/dataplane.md, "Order"): a burst of three chunks on lcore 0, the middle one opened
// on lcore 1; each lcore flushes when it likes, and the exception port still sees chunk 0, 1, 2.
// Output whose receiver's order stands still too long goes anyway (order_gave_way), and nothing
// stays stuck.
TEST(worker_spread, shares_leave_in_arrival_order_whichever_lcore_flushes_first) {
  ASSERT_TRUE(eal_ok);
  world w;
  spread_client cl;
  const uint16_t exc = w.sh.cfg.exc_port;
  burst(*w.c[0], cl.frames(0, 48), true);  // chunk 0 and 2 stay (shares 1 and 3), chunk 1 to lcore 1 (2)
  flush_tx(*w.c[0]);
  EXPECT_EQ(take_port(exc, 0), inner(0, 16));  // share 1 went; share 3 waits for share 2
  EXPECT_EQ(w.c[0]->order.n_held, 1);
  flush_tx(*w.c[0]);
  EXPECT_TRUE(take_port(exc, 0).empty());
  EXPECT_EQ(w.pass_handoffs(0, 1), 16u);
  flush_tx(*w.c[1]);
  EXPECT_EQ(take_port(exc, 1), inner(16, 16));
  flush_tx(*w.c[0]);
  EXPECT_EQ(take_port(exc, 0), inner(32, 16));
  EXPECT_EQ(w.c[0]->order.n_held, 0);
  EXPECT_EQ(w.lc[0]->order.next.load(), 4u);
  EXPECT_EQ(w.lc[0]->ctr.order_held.load(), 1u);

  // Now hot (the last burst was all the spread tunnel's): whole bursts in turn, the one that stays
  // not cut again; a short burst while a share is still out is numbered too, and waits behind it.
  burst(*w.c[0], cl.frames(48, 32), true);  // share 4: stays whole
  burst(*w.c[0], cl.frames(80, 32), true);  // share 5: to lcore 1, unread
  burst(*w.c[0], cl.frames(112, 4), true);  // share 6: not spread, but after share 5
  flush_tx(*w.c[0]);
  EXPECT_EQ(take_port(exc, 0), inner(48, 32));
  EXPECT_EQ(w.pass_handoffs(0, 1), 32u);
  flush_tx(*w.c[1]);
  EXPECT_EQ(take_port(exc, 1), inner(80, 32));
  flush_tx(*w.c[0]);
  EXPECT_EQ(take_port(exc, 0), inner(112, 4));

  // Lcore 1 sits on share 8 past k_order_wait_us: lcore 0's share 9 goes anyway, share 8 after it
  // when it comes, and the order goes on from there.
  burst(*w.c[0], cl.frames(116, 32), true);  // not hot after the short burst: shares 7 (here) and 8 (lcore 1)
  burst(*w.c[0], cl.frames(148, 8), true);   // share 9
  flush_tx(*w.c[0]);
  EXPECT_EQ(take_port(exc, 0), inner(116, 16));
  rte_delay_us_block(2 * k_order_wait_us);
  flush_tx(*w.c[0]);  // the order moved since share 9 was held (share 7 went): it waits on
  EXPECT_TRUE(take_port(exc, 0).empty());
  rte_delay_us_block(2 * k_order_wait_us);
  flush_tx(*w.c[0]);  // and now it stood still
  EXPECT_EQ(take_port(exc, 0), inner(148, 8));
  EXPECT_EQ(w.lc[0]->ctr.order_gave_way.load(), 1u);
  EXPECT_EQ(w.pass_handoffs(0, 1), 16u);
  flush_tx(*w.c[1]);
  EXPECT_EQ(take_port(exc, 1), inner(132, 16));
  EXPECT_EQ(w.lc[0]->order.next.load(), 10u);
  burst(*w.c[0], cl.frames(156, 4), true);  // nothing outstanding: not numbered, out at once
  flush_tx(*w.c[0]);
  EXPECT_EQ(take_port(exc, 0), inner(156, 4));
  EXPECT_EQ(w.lc[0]->order.issued.load(), 9u);
  EXPECT_EQ(w.all_drops(0) + w.all_drops(1), 0u);
}

// A share's mark and its first packets in one poll, the rest in the next (a poll takes a burst and
// one mark; a backlog cuts shares anywhere): one share still, its packets out in order, done
// only with its last.
TEST(worker_spread, a_share_cut_across_two_polls_stays_one_share) {
  ASSERT_TRUE(eal_ok);
  world w;
  spread_client cl;
  const uint16_t exc = w.sh.cfg.exc_port;
  burst(*w.c[0], cl.frames(0, 32), true);  // not hot yet: chunk 0 stays (share 1), chunk 1 to lcore 1 (2)
  EXPECT_EQ(w.pass_handoffs(0, 1), 16u);
  flush_tx(*w.c[0]);
  flush_tx(*w.c[1]);
  EXPECT_EQ(take_port(exc, 0), inner(0, 16));
  EXPECT_EQ(take_port(exc, 1), inner(16, 16));
  burst(*w.c[0], cl.frames(32, 32), true);  // hot: share 3 stays whole
  burst(*w.c[0], cl.frames(64, 32), true);  // share 4: to lcore 1, unread, behind its mark
  EXPECT_EQ(rte_ring_count(w.lc[1]->handoff_in[0]), 33u);
  flush_tx(*w.c[0]);
  EXPECT_EQ(take_port(exc, 0), inner(32, 32));
  EXPECT_EQ(w.pass_handoffs(0, 1, 11), 10u);  // the mark and 10 packets
  flush_tx(*w.c[1]);
  EXPECT_EQ(take_port(exc, 1), inner(64, 10));
  EXPECT_EQ(w.lc[0]->order.next.load(), 4u);  // share 4 is not done
  EXPECT_EQ(w.pass_handoffs(0, 1), 22u);
  flush_tx(*w.c[1]);
  EXPECT_EQ(take_port(exc, 1), inner(74, 22));
  EXPECT_EQ(w.lc[0]->order.next.load(), 5u);
  EXPECT_EQ(w.lc[1]->ctr.handoff_in.load(), 48u);  // packets, not marks
  EXPECT_EQ(w.lc[1]->ctr.decrypted.load(), 48u);
  EXPECT_EQ(w.all_drops(0) + w.all_drops(1), 0u);
}

// cfg.spread_pull (docs/dataplane.md, "The queue pulled by whoever is free"): once the tunnel is
// hot on lcore 0's WAN queue, lcore 1 polls that queue itself (the net_ring's queue 0 here) and
// opens what it polled as the queue's next share, in order behind lcore 0's burst; a queue that
// another lcore holds is skipped, never waited for.
TEST(worker_spread, a_hot_queue_is_polled_by_the_lcore_that_is_free) {
  ASSERT_TRUE(eal_ok);
  world w;
  w.sh.cfg.spread_pull = true;
  spread_client cl;
  const uint16_t wan = w.sh.cfg.wan_port, exc = w.sh.cfg.exc_port;
  auto arrive = [&](uint32_t first, uint32_t n) {  // onto the WAN's RX queue 0 (the ring loops TX back)
    std::vector<rte_mbuf*> m;
    for (const bytes& b : cl.frames(first, n)) m.push_back(mbuf_of(b));
    ASSERT_EQ(rte_eth_tx_burst(wan, 0, m.data(), static_cast<uint16_t>(m.size())), m.size());
  };
  worker_ctx& c0 = *w.c[0];
  worker_ctx& c1 = *w.c[1];
  rte_mbuf* pk[k_max_burst];
  arrive(0, 32);
  EXPECT_EQ(wan_poll_own(c0, pk, 32), 32u);  // not hot yet: chunk 1 to lcore 1's ring, as without the pull
  EXPECT_EQ(wan_pull(c1, pk, 32), 0u);       // the queue is not published
  EXPECT_EQ(w.pass_handoffs(0, 1), 16u);
  flush_tx(c0);
  flush_tx(c1);
  EXPECT_EQ(take_port(exc, 0), inner(0, 16));
  EXPECT_EQ(take_port(exc, 1), inner(16, 16));

  arrive(32, 96);
  EXPECT_EQ(wan_poll_own(c0, pk, 32), 32u);  // hot now: kept whole (a share), and the queue published
  EXPECT_EQ(w.lc[0]->wan_q.hot.load(), 2);
  EXPECT_EQ(rte_ring_count(w.lc[1]->handoff_in[0]), 0u);  // nothing handed on: lcore 1 polls itself
  EXPECT_EQ(wan_pull(c1, pk, 32), 32u);      // the next burst, opened on lcore 1
  flush_tx(c1);
  EXPECT_TRUE(take_port(exc, 1).empty());    // behind lcore 0's burst, which is not out yet
  EXPECT_EQ(c1.order.n_held, 1);
  flush_tx(c0);
  EXPECT_EQ(take_port(exc, 0), inner(32, 32));
  flush_tx(c1);
  EXPECT_EQ(take_port(exc, 1), inner(64, 32));

  w.lc[0]->wan_q.holder.store(1);            // lcore 1 is polling it: lcore 0 goes on without
  EXPECT_EQ(wan_poll_own(c0, pk, 32), 0u);
  w.lc[0]->wan_q.holder.store(dp_lcore::wan_queue::k_free);
  EXPECT_EQ(wan_poll_own(c0, pk, 32), 32u);
  flush_tx(c0);
  EXPECT_EQ(take_port(exc, 0), inner(96, 32));
  EXPECT_EQ(w.lc[0]->ctr.decrypted.load(), 80u);
  EXPECT_EQ(w.lc[1]->ctr.decrypted.load(), 48u);
  EXPECT_EQ(w.lc[0]->order.next.load(), w.lc[0]->order.issued.load() + 1);  // every share out
  EXPECT_EQ(w.all_drops(0) + w.all_drops(1), 0u);
}

}  // namespace
}  // namespace dpvpn::dp
