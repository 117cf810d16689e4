// SPDX-License-Identifier: MIT
// dp_installer (control/dp_installer.h), the control thread's hands on the dataplane, against a
// real dp_shared built by shared_create and no worker running. Where a worker's part is needed,
// the test plays the owner lcore as the worker loop's apply step does: it takes the commands off
// its cmd ring, adopts a new_peer, hands a del_peer's peer back, and returns each command on the
// done ring.
//  - send_cmd: the command lands on the owner's cmd ring only, with the client's peer-id; a full
//    ring refuses it after its wait; a refused del_peer is kept and retry_pending() sends it once
//    the ring has room
//  - the key install as gateway_clients.cc does it: new_peer then new_key on the owner's ring,
//    then publish; the done messages: a handed-back peer's id comes back through peer_back, an
//    evicted key and an unadopted peer are freed without it
//  - publish / unpublish / move_addr: the peer-id -> owner array and the outer-address hash
//  - route_add / route_del, IPv4 and IPv6: the inner route tables
//  - send_frame: the whole Ethernet/IPv4 or IPv6/UDP frame on the worker's ctl_tx ring; a full
//    ring counts a drop
//  - poll_punt: the established clients' ring first, with the metadata and payload the worker wrote
//  - the clock and the stop flag; lan_routes_of; replace_lan_routes without a LAN port
#include <rte_hash.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../../control/dp_installer.h"
#include "dpvpn/data_channel.h"
#include "dpvpn/dp_routes.h"
#include "dpvpn/dp_setup.h"
#include "dpvpn/netpkt.h"
#include "dpvpn/netpkt6.h"
#include "dpvpn/wire.h"
#include "eal_env.h"

namespace dpvpn::cp {
namespace {

using test::eal_ok;
[[maybe_unused]] auto* const env = ::testing::AddGlobalTestEnvironment(new test::eal_env("dpvpn-test-installer"));

using bytes = std::vector<uint8_t>;
constexpr uint32_t k_gw_ip = 0xc6336401;  // 198.51.100.1
constexpr uint16_t k_gw_port = 1194;
constexpr net::mac k_gw_mac{0x02, 0, 0, 0, 0, 1};
constexpr net::mac k_client_mac{0x02, 0, 0, 0, 1, 7};
constexpr unsigned k_ring = 8;  // usable: 7 commands per cmd ring, 7 frames per ctl_tx ring

net::ip6 ip6_of(uint8_t last) {
  net::ip6 a{};
  a[0] = 0x20;
  a[1] = 0x01;
  a[2] = 0x0d;
  a[3] = 0xb8;
  a[15] = last;
  return a;
}

// A dataplane of two workers, as app/main.cc builds it (no crypto engines: nothing is sealed).
struct installer_test : ::testing::Test {
  dp::dp_shared sh;
  std::unique_ptr<dp_installer> dp;
  bool built = false;

  void SetUp() override {
    ASSERT_TRUE(eal_ok);
    sh.cfg.n_workers = 2;
    sh.cfg.max_peers = 16;
    sh.cfg.local_ip = k_gw_ip;
    sh.cfg.local_ip6 = ip6_of(1);
    sh.cfg.local_port = k_gw_port;
    sh.cfg.wan_mac = k_gw_mac;
    sh.pool = test::test_pool;
    dp::shared_params p;
    p.lcore_ids = {0, 1};
    p.ring_size = k_ring;
    p.engines = false;
    std::string err;
    built = dp::shared_create(sh, p, err);
    ASSERT_TRUE(built) << err;
    dp = std::make_unique<dp_installer>(sh, control_log{0});
  }
  void TearDown() override {
    if (built) dp::shared_destroy(sh);
  }

  client make_client(uint32_t peer_id, uint16_t owner, const net::outer_addr& addr) {
    client c;
    c.peer_id = peer_id;
    c.owner = owner;
    c.addr = addr;
    c.mac = k_client_mac;
    c.name = format_outer(addr);
    return c;
  }

  // The commands waiting on worker w's cmd ring, taken off it (the test owns them now).
  std::vector<std::unique_ptr<dp::peer_cmd>> take_cmds(uint16_t w) {
    std::vector<std::unique_ptr<dp::peer_cmd>> v;
    void* o;
    while (rte_ring_dequeue(sh.lcores[w]->cmd, &o) == 0) v.emplace_back(static_cast<dp::peer_cmd*>(o));
    return v;
  }

  // Worker w's apply step (dataplane/worker.cc): each command applied, then sent back on the done ring.
  unsigned apply_as_worker(uint16_t w) {
    dp::dp_lcore& me = *sh.lcores[w];
    unsigned n = 0;
    for (auto& cmd : take_cmds(w)) {
      dp::dp_peer*& slot = me.peers[cmd->peer_id];
      if (cmd->type == dp::cmd_type::new_peer && !slot) {
        slot = cmd->peer;
        cmd->peer = nullptr;
        me.owned[me.n_owned++] = cmd->peer_id;
      } else if (cmd->type == dp::cmd_type::new_key && slot) {
        slot->keys.install_prebuilt(cmd->key_id, cmd->tx, cmd->rx, 0, cmd->armed);
      } else if (cmd->type == dp::cmd_type::del_peer && slot) {
        cmd->peer = slot;
        slot = nullptr;
        for (uint32_t i = 0; i < me.n_owned; ++i)
          if (me.owned[i] == cmd->peer_id) me.owned[i] = me.owned[--me.n_owned];
      }
      EXPECT_EQ(rte_ring_enqueue(sh.done, cmd.release()), 0);
      ++n;
    }
    return n;
  }

  std::vector<uint32_t> poll_done() {
    std::vector<uint32_t> back;
    dp->poll_done([&](uint32_t id) { back.push_back(id); });
    return back;
  }

  std::vector<bytes> take_frames(uint16_t w) {
    std::vector<bytes> v;
    void* o;
    while (rte_ring_dequeue(sh.lcores[w]->ctl_tx, &o) == 0) {
      auto* m = static_cast<rte_mbuf*>(o);
      const uint8_t* d = rte_pktmbuf_mtod(m, const uint8_t*);
      v.emplace_back(d, d + m->data_len);
      rte_pktmbuf_free(m);
    }
    return v;
  }

  // A frame as a worker punts it: payload at offset 42, the metadata in the private area.
  rte_mbuf* punted(const net::outer_addr& src, uint8_t from_worker, const bytes& payload) {
    rte_mbuf* m = rte_pktmbuf_alloc(sh.pool);
    EXPECT_NE(m, nullptr);
    if (!m) return nullptr;
    auto* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(net::k_outer_v4 + payload.size())));
    std::memset(d, 0, net::k_outer_v4);
    std::memcpy(d + net::k_outer_v4, payload.data(), payload.size());
    auto& mm = *static_cast<dp::mbuf_meta*>(rte_mbuf_to_priv(m));
    mm = dp::mbuf_meta{};
    mm.src = src;
    mm.payload_off = net::k_outer_v4;
    mm.payload_len = static_cast<uint16_t>(payload.size());
    mm.from_worker = from_worker;
    mm.src_mac = k_client_mac;
    return m;
  }

  static std::unique_ptr<dp::peer_cmd> cmd_of(dp::cmd_type t) {
    auto c = std::make_unique<dp::peer_cmd>();
    c->type = t;
    return c;
  }
};

proto::data_key_params gcm() {
  proto::data_key_params p;
  p.cipher = crypto::cipher_alg::aes_256_gcm;
  p.digest = crypto::digest_alg::none;
  return p;
}

std::array<uint8_t, wire::k_key2_size> test_key2(uint8_t seed) {
  std::array<uint8_t, wire::k_key2_size> k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 31 + seed);
  return k;
}

std::span<const uint8_t, wire::k_key2_size> span_of(const std::array<uint8_t, wire::k_key2_size>& k) {
  return std::span<const uint8_t, wire::k_key2_size>(k.data(), k.size());
}

TEST_F(installer_test, CommandGoesToTheOwnerRingWithThePeerId) {
  client c = make_client(5, 1, net::outer_v4(0x64400001, 40000));
  auto cmd = cmd_of(dp::cmd_type::del_key);
  cmd->key_id = 2;
  const dp::peer_cmd* sent = cmd.get();
  ASSERT_TRUE(dp->send_cmd(c, std::move(cmd)));
  EXPECT_TRUE(take_cmds(0).empty());  // never on another worker's ring
  auto got = take_cmds(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].get(), sent);  // the command itself, moved, not copied
  EXPECT_EQ(got[0]->peer_id, 5u);
  EXPECT_EQ(got[0]->type, dp::cmd_type::del_key);
  EXPECT_EQ(got[0]->key_id, 2);
}

// gateway_clients.cc's first install: new_peer, then new_key, on the owner's ring; then the tables.
// The owner applies both and returns them; nothing comes back as a free peer-id.
TEST_F(installer_test, KeyInstallByMessageThenPublish) {
  const net::outer_addr a = net::outer_v4(0x64400002, 40001);
  client c = make_client(3, 1, a);
  auto np = cmd_of(dp::cmd_type::new_peer);
  auto* peer = new dp::dp_peer();
  peer->peer_id = 3;
  peer->client = a;
  peer->keys = proto::data_keys(true, gcm());
  np->peer = peer;
  ASSERT_TRUE(dp->send_cmd(c, std::move(np)));
  std::string err;
  auto nk = cmd_of(dp::cmd_type::new_key);
  nk->key_id = 0;
  const auto k = test_key2(1);
  nk->tx = proto::dc_tx::create(gcm(), span_of(k), proto::k_dir_server_to_client, &err);
  nk->rx = proto::dc_rx::create(gcm(), span_of(k), proto::k_dir_client_to_server, &err);
  ASSERT_TRUE(nk->tx && nk->rx) << err;
  ASSERT_TRUE(dp->send_cmd(c, std::move(nk)));
  ASSERT_EQ(dp->publish(c), 0);

  EXPECT_EQ(sh.owner[3].load(), 1);
  void* data = nullptr;
  ASSERT_GE(rte_hash_lookup_data(sh.addrs, &a, &data), 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(data), 3u);

  EXPECT_EQ(apply_as_worker(1), 2u);
  ASSERT_EQ(sh.lcores[1]->peers[3], peer);  // adopted by its owner
  EXPECT_TRUE(peer->keys.has_key());
  EXPECT_TRUE(poll_done().empty());          // new_peer and new_key done: no peer-id is free
  EXPECT_EQ(rte_ring_count(sh.done), 0u);    // every done message taken
}

// Teardown: unpublish, del_peer to the owner, which hands the peer back; poll_done frees it and
// returns its peer-id.
TEST_F(installer_test, TeardownHandsThePeerIdBack) {
  const net::outer_addr a = net::outer_v4(0x64400003, 40002);
  client c = make_client(7, 0, a);
  auto np = cmd_of(dp::cmd_type::new_peer);
  np->peer = new dp::dp_peer();
  np->peer->peer_id = 7;
  ASSERT_TRUE(dp->send_cmd(c, std::move(np)));
  ASSERT_EQ(dp->publish(c), 0);
  apply_as_worker(0);
  EXPECT_TRUE(poll_done().empty());

  dp->unpublish(c);
  EXPECT_EQ(sh.owner[7].load(), dp::k_no_owner);
  EXPECT_LT(rte_hash_lookup(sh.addrs, &a), 0);
  ASSERT_TRUE(dp->send_cmd(c, cmd_of(dp::cmd_type::del_peer)));
  EXPECT_TRUE(poll_done().empty());  // not before the owner applied it
  EXPECT_EQ(apply_as_worker(0), 1u);
  EXPECT_EQ(sh.lcores[0]->peers[7], nullptr);
  EXPECT_EQ(poll_done(), std::vector<uint32_t>{7});
}

// A done new_key carrying the key it evicted, and a new_peer the lcore did not adopt: freed, no
// peer-id comes back.
TEST_F(installer_test, DoneMessagesFreeEvictedKeysAndUnadoptedPeers) {
  std::string err;
  const auto k = test_key2(9);
  auto evicted = cmd_of(dp::cmd_type::new_key);
  evicted->peer_id = 2;
  evicted->tx = proto::dc_tx::create(gcm(), span_of(k), proto::k_dir_server_to_client, &err);
  evicted->rx = proto::dc_rx::create(gcm(), span_of(k), proto::k_dir_client_to_server, &err);
  ASSERT_EQ(rte_ring_enqueue(sh.done, evicted.release()), 0);
  auto unadopted = cmd_of(dp::cmd_type::new_peer);
  unadopted->peer_id = 2;
  unadopted->peer = new dp::dp_peer();
  ASSERT_EQ(rte_ring_enqueue(sh.done, unadopted.release()), 0);
  auto empty_del = cmd_of(dp::cmd_type::del_peer);  // the slot was empty: nothing handed back
  empty_del->peer_id = 4;
  ASSERT_EQ(rte_ring_enqueue(sh.done, empty_del.release()), 0);
  EXPECT_EQ(poll_done(), std::vector<uint32_t>{4});
  EXPECT_EQ(rte_ring_count(sh.done), 0u);
}

// The ring stays full for the whole wait: an ordinary command is dropped, a del_peer is kept and
// retried by housekeeping until the owner has made room.
TEST_F(installer_test, FullRingDropsCommandsButRetriesDelPeer) {
  client c = make_client(1, 0, net::outer_v4(0x64400004, 40003));
  for (unsigned i = 0; i < k_ring - 1; ++i) ASSERT_TRUE(dp->send_cmd(c, cmd_of(dp::cmd_type::arm_key)));
  EXPECT_FALSE(dp->send_cmd(c, cmd_of(dp::cmd_type::arm_key)));  // after its 1 s wait
  EXPECT_FALSE(dp->send_cmd(c, cmd_of(dp::cmd_type::del_peer)));
  dp->retry_pending();  // still full
  EXPECT_EQ(rte_ring_count(sh.lcores[0]->cmd), k_ring - 1);
  EXPECT_EQ(take_cmds(0).size(), k_ring - 1);  // the owner drains its ring
  dp->retry_pending();
  auto got = take_cmds(0);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->type, dp::cmd_type::del_peer);
  EXPECT_EQ(got[0]->peer_id, 1u);
  dp->retry_pending();  // sent once only
  EXPECT_TRUE(take_cmds(0).empty());
}

TEST_F(installer_test, MoveAddrFollowsAFloat) {
  const net::outer_addr from = net::outer_v4(0x64400005, 40004);
  const net::outer_addr to = net::outer_v6(ip6_of(9), 40005);
  client c = make_client(6, 1, from);
  ASSERT_EQ(dp->publish(c), 0);
  dp->move_addr(from, to, 6);
  EXPECT_LT(rte_hash_lookup(sh.addrs, &from), 0);
  void* data = nullptr;
  ASSERT_GE(rte_hash_lookup_data(sh.addrs, &to, &data), 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(data), 6u);
  EXPECT_EQ(sh.owner[6].load(), 1);  // the owner does not change with the address
}

TEST_F(installer_test, RoutesGoIntoTheTables) {
  route_writer& rw = *dp;  // as addressing sees it
  uint32_t pid = 0;
  ASSERT_EQ(rw.route_add_v4(0x0a080006, 32, 6), 0);        // 10.8.0.6/32
  ASSERT_EQ(rw.route_add_v4(0xc0a80100, 24, 9), 0);        // an iroute 192.168.1.0/24
  ASSERT_TRUE(dp::route_lookup_v4(sh.rt, 0x0a080006, pid));
  EXPECT_EQ(pid, 6u);
  ASSERT_TRUE(dp::route_lookup_v4(sh.rt, 0xc0a80177, pid));
  EXPECT_EQ(pid, 9u);
  EXPECT_FALSE(dp::route_lookup_v4(sh.rt, 0x0a080007, pid));
  ASSERT_EQ(rw.route_del_v4(0x0a080006, 32), 0);
  EXPECT_FALSE(dp::route_lookup_v4(sh.rt, 0x0a080006, pid));

  const net::ip6 n6 = ip6_of(0x42);
  ASSERT_EQ(rw.route_add_v6(n6.data(), 128, 11), 0);
  ASSERT_TRUE(dp::route_lookup_v6(sh.rt, n6.data(), pid));
  EXPECT_EQ(pid, 11u);
  ASSERT_EQ(rw.route_del_v6(n6.data(), 128), 0);
  EXPECT_FALSE(dp::route_lookup_v6(sh.rt, n6.data(), pid));
}

TEST_F(installer_test, SendFrameBuildsTheWholeIpv4Frame) {
  const bytes payload = {0x38, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  const net::outer_addr to = net::outer_v4(0x64400006, 40006);
  dp->send_frame(1, to, k_client_mac, payload);
  EXPECT_TRUE(take_frames(0).empty());
  auto f = take_frames(1);
  ASSERT_EQ(f.size(), 1u);
  const bytes& b = f[0];
  ASSERT_EQ(b.size(), net::k_outer_v4 + payload.size());
  EXPECT_TRUE(std::equal(k_client_mac.begin(), k_client_mac.end(), b.begin()));      // dst MAC
  EXPECT_TRUE(std::equal(k_gw_mac.begin(), k_gw_mac.end(), b.begin() + 6));          // src MAC
  EXPECT_EQ(wire::get_u16(&b[12]), 0x0800);
  EXPECT_EQ(b[23], 17);  // UDP
  EXPECT_EQ(wire::get_u32(&b[26]), k_gw_ip);
  EXPECT_EQ(wire::get_u32(&b[30]), 0x64400006u);
  EXPECT_EQ(wire::get_u16(&b[34]), k_gw_port);
  EXPECT_EQ(wire::get_u16(&b[36]), 40006);
  EXPECT_EQ(wire::get_u16(&b[38]), 8 + payload.size());
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), b.begin() + net::k_outer_v4));
  EXPECT_EQ(dp->ctl_tx_dropped(), 0u);
}

TEST_F(installer_test, SendFrameBuildsTheWholeIpv6Frame) {
  const bytes payload(100, 0x5a);
  const net::outer_addr to = net::outer_v6(ip6_of(7), 40007);
  dp->send_frame(0, to, k_client_mac, payload);
  auto f = take_frames(0);
  ASSERT_EQ(f.size(), 1u);
  const bytes& b = f[0];
  ASSERT_EQ(b.size(), net::k_outer_v6 + payload.size());
  EXPECT_EQ(wire::get_u16(&b[12]), 0x86dd);
  EXPECT_EQ(b[20], 17);  // next header: UDP
  const net::ip6 src = ip6_of(1), dst = ip6_of(7);
  EXPECT_TRUE(std::equal(src.begin(), src.end(), b.begin() + 22));
  EXPECT_TRUE(std::equal(dst.begin(), dst.end(), b.begin() + 38));
  EXPECT_EQ(wire::get_u16(&b[54]), k_gw_port);
  EXPECT_EQ(wire::get_u16(&b[56]), 40007);
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), b.begin() + net::k_outer_v6));
}

TEST_F(installer_test, SendFrameOnAFullRingIsCountedAndFreed) {
  const bytes payload = {1, 2, 3};
  const net::outer_addr to = net::outer_v4(0x64400007, 40008);
  const unsigned before = rte_mempool_in_use_count(sh.pool);
  for (unsigned i = 0; i < k_ring + 2; ++i) dp->send_frame(0, to, k_client_mac, payload);
  EXPECT_EQ(dp->ctl_tx_dropped(), 3u);
  EXPECT_EQ(rte_mempool_in_use_count(sh.pool), before + k_ring - 1);  // the refused mbufs went back
  EXPECT_EQ(take_frames(0).size(), k_ring - 1);
  EXPECT_EQ(rte_mempool_in_use_count(sh.pool), before);
}

TEST_F(installer_test, PollPuntTakesEstablishedClientsFirst) {
  const net::outer_addr a = net::outer_v4(0x64400008, 40009), b = net::outer_v4(0x64400009, 40010);
  const unsigned before = rte_mempool_in_use_count(sh.pool);
  ASSERT_EQ(rte_ring_enqueue(sh.punt, punted(a, 1, {0x20, 1})), 0);  // first contact, punted first
  ASSERT_EQ(rte_ring_enqueue(sh.punt_est, punted(b, 0, {0x20, 2, 2})), 0);
  ASSERT_EQ(rte_ring_enqueue(sh.punt_est, punted(b, 0, {0x20, 3})), 0);
  struct seen {
    net::outer_addr src;
    uint8_t from_worker;
    bytes payload;
  };
  std::vector<seen> got;
  EXPECT_TRUE(dp->poll_punt([&](const dp::mbuf_meta& mm, std::span<const uint8_t> p) {
    got.push_back({mm.src, mm.from_worker, bytes(p.begin(), p.end())});
  }));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].src, b);
  EXPECT_EQ(got[0].payload, (bytes{0x20, 2, 2}));
  EXPECT_EQ(got[1].payload, (bytes{0x20, 3}));
  EXPECT_EQ(got[2].src, a);
  EXPECT_EQ(got[2].from_worker, 1);
  EXPECT_EQ(got[2].payload, (bytes{0x20, 1}));
  EXPECT_EQ(rte_mempool_in_use_count(sh.pool), before);  // freed after the call
  EXPECT_FALSE(dp->poll_punt([&](const dp::mbuf_meta&, std::span<const uint8_t>) { ADD_FAILURE(); }));
}

TEST_F(installer_test, ClockAndStop) {
  dp->publish_clock(1'700'000'123'456);
  EXPECT_EQ(sh.now_s.load(), 1'700'000'123u);
  EXPECT_EQ(dp->now_s(), 1'700'000'123u);
  EXPECT_FALSE(sh.stop.load());
  dp->stop_workers();
  EXPECT_TRUE(sh.stop.load());
  EXPECT_EQ(dp->lcore_id(1), 1u);
}

TEST_F(installer_test, LanRoutes) {
  server_config cfg;
  server_config::lan_route r;
  r.net = 0xc0a80200;
  r.len = 24;
  r.via = 0xc0a8010a;
  cfg.dp_routes.push_back(r);
  const auto routes = lan_routes_of(cfg);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_FALSE(routes[0].v6);
  EXPECT_EQ(routes[0].net, 0xc0a80200u);
  EXPECT_EQ(routes[0].len, 24);
  EXPECT_EQ(routes[0].via, 0xc0a8010au);
  std::string err;
  EXPECT_FALSE(dp->replace_lan_routes(cfg, err));  // this gateway has no LAN port
  EXPECT_NE(err.find("no LAN port"), std::string::npos);
}

// At teardown a hand-off ring may still hold a spread share: its mark (not an mbuf, not a command)
// is skipped and its mbufs are freed.
TEST_F(installer_test, TeardownDrainsAShareLeftOnAHandOffRing) {
  const unsigned before = rte_mempool_in_use_count(sh.pool);
  rte_mbuf* m[2] = {rte_pktmbuf_alloc(sh.pool), rte_pktmbuf_alloc(sh.pool)};
  ASSERT_TRUE(m[0] && m[1]);
  void* ents[3] = {dp::share_mark{7, 2, dp::pkt_dir::wan_raw}.entry(), m[0], m[1]};
  ASSERT_EQ(rte_ring_enqueue_bulk(sh.lcores[1]->handoff_in[0], ents, 3, nullptr), 3u);
  dp::shared_destroy(sh);
  built = false;
  EXPECT_EQ(rte_mempool_in_use_count(sh.pool), before);
}

}  // namespace
}  // namespace dpvpn::cp
