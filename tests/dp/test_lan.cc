// SPDX-License-Identifier: MIT
// The LAN port (worker_lan.cc, lan_tables.cc, neigh_resolver.cc) without a real port: frames go
// into lan_burst / wan_burst, and what the worker collects for each port, the resolver's rings
// and the counters are checked.
//  - client -> LAN: a decrypted packet for the connected prefix or a dp-route goes out with the
//    next hop's MAC and TTL - 1, or waits at the resolver; TTL 1 and oversize DF packets get an
//    ICMP error sealed back to the client; echo to the LAN address is answered.
//  - LAN -> client: sealed by the owner or handed off; ARP / echo answered; bad frames dropped
//    with their reason (another MAC, bad checksum, spoofed source, TTL 1 with an ICMP error back).
//  - the resolver: a waiting packet makes an ARP request; the reply resolves the neighbor and
//    sends the packet; an unsolicited reply changes nothing; three unanswered probes drop.
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <memory>
#include <string>
#include <vector>

#include "../../dataplane/worker_internal.h"
#include "dpvpn/dp_setup.h"
#include "dpvpn/neigh_resolver.h"
#include "dpvpn/netpkt_fwd.h"
#include "dpvpn/wire.h"
#include "dp_frames.h"
#include "dp_world.h"
#include "eal_env.h"

namespace dpvpn::dp {
namespace {

using test::eal_ok;
[[maybe_unused]] auto* const env = ::testing::AddGlobalTestEnvironment(new test::eal_env("dpvpn-test-lan"));

using bytes = std::vector<uint8_t>;
constexpr uint32_t k_gw_ip = 0xc6336401;    // 198.51.100.1 (WAN)
constexpr uint16_t k_gw_port = 1194;
constexpr uint32_t k_lan_gw = 0xc0a80101;   // 192.168.1.1/24
constexpr uint32_t k_host = 0xc0a80114;     // 192.168.1.20
constexpr uint32_t k_router = 0xc0a801fe;   // 192.168.1.254: next hop of 10.50.0.0/16
constexpr uint32_t k_far = 0x0a320007;      // 10.50.0.7
constexpr uint64_t k_now = 1'700'000'000;
constexpr net::mac k_gw_mac{0x02, 0, 0, 0, 0, 1};
constexpr net::mac k_lan_mac{0x02, 0, 0, 0, 0, 2};
constexpr net::mac k_host_mac{0x02, 0, 0, 0, 9, 9};
constexpr net::mac k_client_mac{0x02, 0, 0, 0, 1, 0};

uint32_t vpn_of(uint32_t pid) { return 0x0a080002 + pid; }  // 10.8.0.2 + pid
net::outer_addr client_of(uint32_t pid) { return net::outer_v4(0x64400001 + pid, static_cast<uint16_t>(40000 + pid)); }

using test::gcm;
using test::key2_of;
using test::span_of;

// IPv4/UDP, TTL ttl, DF set.
bytes ip4(uint32_t src, uint32_t dst, uint16_t len, uint8_t ttl = 64) {
  bytes p(len, 0xab);
  std::fill(p.begin(), p.begin() + 28, 0);
  p[0] = 0x45;
  wire::put_u16(&p[2], len);
  p[6] = 0x40;
  p[8] = ttl;
  p[9] = net::k_proto_udp;
  wire::put_u32(&p[12], src);
  wire::put_u32(&p[16], dst);
  wire::put_u16(&p[10], net::ipv4_header_checksum(p.data(), 20));
  wire::put_u16(&p[20], 5000);
  wire::put_u16(&p[22], 5001);
  wire::put_u16(&p[24], static_cast<uint16_t>(len - 20));
  return p;
}

bytes eth(const net::mac& dst, const net::mac& src, uint16_t type, const bytes& payload) {
  bytes f(14 + payload.size());
  net::write_eth(f.data(), dst, src, type);
  std::copy(payload.begin(), payload.end(), f.begin() + 14);
  return f;
}

bytes arp(uint16_t op, const net::mac& sha, uint32_t spa, uint32_t tpa) {
  bytes a(28, 0);
  a[1] = 1, a[2] = 0x08, a[4] = 6, a[5] = 4;
  wire::put_u16(&a[6], op);
  std::copy(sha.begin(), sha.end(), a.begin() + 8);
  wire::put_u32(&a[14], spa);
  wire::put_u32(&a[24], tpa);
  const net::mac dst = op == 1 ? net::mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} : k_lan_mac;
  return eth(dst, sha, net::k_ethertype_arp, a);
}

using test::bytes_of;
using test::mbuf_of;

// A dataplane with the LAN port on: peer 0 on lcore 0 (this test), peer 1 on lcore 1.
struct world {
  dp_shared sh;
  std::unique_ptr<dp_lcore> lc[2];
  std::vector<std::unique_ptr<dp_peer>> peers;
  std::unique_ptr<worker_ctx> c;
  std::unique_ptr<crypto::engine> client_eng = crypto::engine::create();
  std::unique_ptr<proto::dc_tx> client_tx;   // peer 0's client side
  std::unique_ptr<proto::dc_rx> client_rx;

  world() {
    static int seq = 0;
    const std::string sfx = std::to_string(seq++);
    sh.cfg.n_workers = 2;
    sh.cfg.local_ip = k_gw_ip;
    sh.cfg.local_port = k_gw_port;
    sh.cfg.wan_mac = k_gw_mac;
    sh.cfg.max_peers = 16;
    lan_conf& lan = sh.cfg.lan;
    lan.on = true;
    lan.mac = k_lan_mac;
    lan.ip = k_lan_gw;
    lan.mask = 0xffffff00;
    lan.mtu = 1500;
    sh.pool = test::test_pool;
    sh.punt = rte_ring_create(("lp" + sfx).c_str(), 256, 0, RING_F_SC_DEQ);
    sh.done = rte_ring_create(("ld" + sfx).c_str(), 256, 0, RING_F_SC_DEQ);
    sh.lan_punt = rte_ring_create(("ll" + sfx).c_str(), 256, 0, RING_F_SC_DEQ);
    sh.lan_ctl = rte_ring_create(("lc" + sfx).c_str(), 256, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    sh.owner = std::make_unique<std::atomic<uint16_t>[]>(sh.cfg.max_peers);
    for (uint32_t i = 0; i < sh.cfg.max_peers; ++i) sh.owner[i].store(k_no_owner);
    sh.qsbr = static_cast<rte_rcu_qsbr*>(rte_zmalloc(nullptr, rte_rcu_qsbr_get_memsize(2), 64));
    rte_rcu_qsbr_init(sh.qsbr, 2);
    std::string err;
    sh.rt = routes_create(sh.qsbr, 64, 64, err);
    lan_route_spec r;
    r.net = 0x0a320000;
    r.len = 16;
    r.via = k_router;
    sh.lan_rt = lan_routes_create(lan, {r}, err);
    sh.neigh = neigh_create(sh.qsbr, 16, err);
    sh.addrs = test::outer_addr_hash("la" + sfx);
    test::make_lcores(sh, lc, 2, false);
    lc[0]->eng = crypto::engine::create();
    lc[1]->handoff_in[0] = rte_ring_create(("lh" + sfx).c_str(), 256, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    for (uint32_t pid = 0; pid < 2; ++pid) {
      auto p = std::make_unique<dp_peer>();
      p->peer_id = pid;
      p->vpn_ip = vpn_of(pid);
      p->client = client_of(pid);
      p->client_mac = k_client_mac;
      p->keys = proto::data_keys(true, gcm());
      auto tx = proto::dc_tx::create(gcm(), span_of(key2_of(pid)), proto::k_dir_server_to_client, &err);
      auto rx = proto::dc_rx::create(gcm(), span_of(key2_of(pid)), proto::k_dir_client_to_server, &err);
      p->keys.install_prebuilt(0, tx, rx, k_now);
      lc[pid]->peers[pid] = p.get();
      lc[pid]->owned[lc[pid]->n_owned++] = pid;
      sh.owner[pid].store(static_cast<uint16_t>(pid));
      rte_hash_add_key_data(sh.addrs, &p->client, reinterpret_cast<void*>(uintptr_t{pid}));
      route_add_v4(sh.rt, vpn_of(pid), 32, pid);
      peers.push_back(std::move(p));
    }
    client_tx = proto::dc_tx::create(gcm(), span_of(key2_of(0)), proto::k_dir_client_to_server, &err);
    client_rx = proto::dc_rx::create(gcm(), span_of(key2_of(0)), proto::k_dir_server_to_client, &err);
    c = std::make_unique<worker_ctx>(worker_ctx{sh, *lc[0], {}, k_now, 0});
  }
  ~world() {
    auto drain = [](rte_ring* r) {
      void* o;
      while (r && rte_ring_dequeue(r, &o) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(o));
      rte_ring_free(r);
    };
    clear();
    drain(sh.punt);
    drain(sh.done);
    drain(sh.lan_punt);
    drain(sh.lan_ctl);
    drain(lc[1]->handoff_in[0]);
    rte_hash_free(sh.addrs);
    routes_destroy(sh.rt);
    lan_routes_destroy(sh.lan_rt);
    neigh_destroy(sh.neigh);
    rte_free(sh.qsbr);
  }
  void clear() {
    for (uint16_t i = 0; i < c->tx.n_wan; ++i) rte_pktmbuf_free(c->tx.wan[i]);
    for (uint16_t i = 0; i < c->tx.n_tun; ++i) rte_pktmbuf_free(c->tx.tun[i]);
    for (uint16_t i = 0; i < c->tx.n_lan; ++i) rte_pktmbuf_free(c->tx.lan[i]);
    c->tx.n_wan = c->tx.n_tun = c->tx.n_lan = 0;
  }
  // Peer 0's client sends plain (an inner IP packet) to the gateway: one WAN frame through wan_burst.
  void from_client(const bytes& plain) {
    bytes buf(256 + plain.size() + 64);
    std::copy(plain.begin(), plain.end(), buf.begin() + 256);
    buf_view v{buf.data() + 256, static_cast<uint32_t>(plain.size()), 256, 64};
    EXPECT_EQ(client_tx->seal(*client_eng, v, 0, 0, proto::comp_framing::none), proto::dc_err::ok);
    bytes f(net::k_outer_v4 + v.len);
    net::udp_endpoints e;
    e.src_mac = k_client_mac;
    e.dst_mac = k_gw_mac;
    e.src_ip = net::v4_of(client_of(0).ip);
    e.dst_ip = k_gw_ip;
    e.src_port = client_of(0).port;
    e.dst_port = k_gw_port;
    std::copy(v.data, v.data + v.len, f.begin() + net::k_outer_v4);
    net::write_outer_v4(f.data(), e, v.len, 1, true);
    rte_mbuf* m = mbuf_of(f);
    wan_burst(*c, &m, 1);
  }
  // The inner packet of a WAN frame the gateway sent to peer 0.
  bytes open_wan(const rte_mbuf* m) {
    bytes f = bytes_of(m);
    buf_view v{f.data() + net::k_outer_v4, static_cast<uint32_t>(f.size() - net::k_outer_v4), net::k_outer_v4, 0};
    proto::dc_kind kind{};
    if (client_rx->open(*client_eng, v, k_now, proto::comp_framing::none, kind) != proto::dc_err::ok) return {};
    return bytes(v.data, v.data + v.len);
  }
  void from_lan(const bytes& f) {
    rte_mbuf* m = mbuf_of(f);
    lan_burst(*c, &m, 1);
  }
  uint64_t dropped(drop d) const { return lc[0]->ctr.drops[static_cast<size_t>(d)].load(); }
};

std::vector<rte_mbuf*> take(rte_ring* r) {
  std::vector<rte_mbuf*> out;
  void* o;
  while (rte_ring_dequeue(r, &o) == 0) out.push_back(static_cast<rte_mbuf*>(o));
  return out;
}

TEST(lan, client_to_lan_waits_then_goes_out_with_the_neighbors_mac) {
  ASSERT_TRUE(eal_ok);
  world w;
  w.from_client(ip4(vpn_of(0), k_host, 100));
  EXPECT_EQ(w.c->tx.n_lan, 0);
  std::vector<rte_mbuf*> waiting = take(w.sh.lan_punt);
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_EQ(meta_of(waiting[0]).dir, pkt_dir::lan_wait);
  EXPECT_EQ(meta_of(waiting[0]).src.ip, net::v4_mapped(k_host));
  EXPECT_EQ(w.lc[0]->ctr.lan_wait.load(), 1u);
  rte_pktmbuf_free(waiting[0]);

  const int slot = neigh_slot(w.sh.neigh, net::v4_mapped(k_host));
  ASSERT_GE(slot, 0);
  neigh_set(w.sh.neigh, slot, k_host_mac);
  w.from_client(ip4(vpn_of(0), k_host, 100));
  ASSERT_EQ(w.c->tx.n_lan, 1);
  const bytes f = bytes_of(w.c->tx.lan[0]);
  ASSERT_EQ(f.size(), 114u);
  EXPECT_TRUE(std::equal(k_host_mac.begin(), k_host_mac.end(), f.begin()));
  EXPECT_TRUE(std::equal(k_lan_mac.begin(), k_lan_mac.end(), f.begin() + 6));
  EXPECT_EQ(wire::get_u16(&f[12]), net::k_ethertype_ipv4);
  EXPECT_EQ(f[14 + 8], 63);  // TTL - 1
  EXPECT_EQ(net::csum_fold(net::csum_partial(&f[14], 20)), 0);
  EXPECT_EQ(w.lc[0]->ctr.to_lan.load(), 1u);
  EXPECT_EQ(w.c->tx.n_tun, 0);
}

TEST(lan, static_route_uses_its_next_hop_and_the_rest_goes_to_the_exception_port) {
  ASSERT_TRUE(eal_ok);
  world w;
  w.from_client(ip4(vpn_of(0), k_far, 60));
  std::vector<rte_mbuf*> waiting = take(w.sh.lan_punt);
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_EQ(meta_of(waiting[0]).src.ip, net::v4_mapped(k_router));
  rte_pktmbuf_free(waiting[0]);
  w.from_client(ip4(vpn_of(0), 0x08080808, 60));  // no LAN route: the kernel's
  EXPECT_EQ(w.c->tx.n_tun, 1);
}

TEST(lan, ttl_1_and_oversize_get_icmp_errors_sealed_back) {
  ASSERT_TRUE(eal_ok);
  world w;
  w.sh.cfg.lan.mtu = 1300;
  w.from_client(ip4(vpn_of(0), k_host, 100, 1));
  EXPECT_EQ(w.dropped(drop::ttl_exceeded), 1u);
  ASSERT_EQ(w.c->tx.n_wan, 1);
  bytes e = w.open_wan(w.c->tx.wan[0]);
  ASSERT_GE(e.size(), 56u);
  EXPECT_EQ(wire::get_u32(&e[12]), k_lan_gw);
  EXPECT_EQ(wire::get_u32(&e[16]), vpn_of(0));
  EXPECT_EQ(e[20], 11);  // time exceeded
  w.clear();
  w.from_client(ip4(vpn_of(0), k_host, 1400));
  EXPECT_EQ(w.dropped(drop::too_big), 1u);
  ASSERT_EQ(w.c->tx.n_wan, 1);
  e = w.open_wan(w.c->tx.wan[0]);
  ASSERT_GE(e.size(), 56u);
  EXPECT_EQ(e[20], 3);
  EXPECT_EQ(e[21], 4);
  EXPECT_EQ(wire::get_u16(&e[26]), 1300);  // next-hop MTU
  EXPECT_EQ(w.lc[0]->ctr.icmp_errors.load(), 2u);
}

TEST(lan, echo_to_the_lan_address_from_a_client_is_answered) {
  ASSERT_TRUE(eal_ok);
  world w;
  bytes ping = ip4(vpn_of(0), k_lan_gw, 64);
  ping[9] = 1;  // ICMP echo request
  std::fill(ping.begin() + 20, ping.begin() + 28, 0);
  ping[20] = 8;
  wire::put_u16(&ping[10], 0);
  wire::put_u16(&ping[10], net::ipv4_header_checksum(ping.data(), 20));
  wire::put_u16(&ping[22], net::csum_fold(net::csum_partial(&ping[20], ping.size() - 20)));
  w.from_client(ping);
  ASSERT_EQ(w.c->tx.n_wan, 1);
  const bytes r = w.open_wan(w.c->tx.wan[0]);
  ASSERT_EQ(r.size(), ping.size());
  EXPECT_EQ(r[20], 0);  // echo reply
  EXPECT_EQ(wire::get_u32(&r[12]), k_lan_gw);
  EXPECT_EQ(w.lc[0]->ctr.lan_echo.load(), 1u);
}

TEST(lan, lan_to_client_sealed_by_owner_or_handed_off) {
  ASSERT_TRUE(eal_ok);
  world w;
  w.from_lan(eth(k_lan_mac, k_host_mac, net::k_ethertype_ipv4, ip4(k_host, vpn_of(0), 200)));
  ASSERT_EQ(w.c->tx.n_wan, 1);
  const bytes in = w.open_wan(w.c->tx.wan[0]);
  ASSERT_EQ(in.size(), 200u);
  EXPECT_EQ(in[8], 63);
  w.from_lan(eth(k_lan_mac, k_host_mac, net::k_ethertype_ipv4, ip4(k_host, vpn_of(1), 200)));
  std::vector<rte_mbuf*> handed = take(w.lc[1]->handoff_in[0]);
  EXPECT_EQ(handed.size(), 1u);
  for (rte_mbuf* x : handed) rte_pktmbuf_free(x);
  EXPECT_EQ(w.lc[0]->ctr.from_lan.load(), 2u);
  EXPECT_EQ(w.lc[0]->ctr.lan_rx_pkts.load(), 2u);
}

TEST(lan, arp_answered_replies_to_the_resolver_and_bad_frames_counted) {
  ASSERT_TRUE(eal_ok);
  world w;
  w.from_lan(arp(1, k_host_mac, k_host, k_lan_gw));
  ASSERT_EQ(w.c->tx.n_lan, 1);
  net::arp_info a;
  ASSERT_TRUE(net::arp_parse(rte_pktmbuf_mtod(w.c->tx.lan[0], const uint8_t*), w.c->tx.lan[0]->data_len, a));
  EXPECT_EQ(a.op, 2);
  EXPECT_EQ(a.spa, k_lan_gw);
  EXPECT_EQ(a.sha, k_lan_mac);
  w.from_lan(arp(2, k_host_mac, k_host, k_lan_gw));
  std::vector<rte_mbuf*> l2 = take(w.sh.lan_punt);
  ASSERT_EQ(l2.size(), 1u);
  EXPECT_EQ(meta_of(l2[0]).dir, pkt_dir::lan_l2);
  rte_pktmbuf_free(l2[0]);
  w.from_lan(arp(2, k_host_mac, k_lan_gw, k_lan_gw));  // claims our address
  EXPECT_EQ(w.dropped(drop::lan_addr_conflict), 1u);

  const net::mac other{0x02, 0, 0, 0, 7, 7};
  w.from_lan(eth(other, k_host_mac, net::k_ethertype_ipv4, ip4(k_host, vpn_of(0), 100)));
  EXPECT_EQ(w.dropped(drop::lan_not_for_us), 1u);
  bytes bad = ip4(k_host, vpn_of(0), 100);
  bad[10] ^= 1;
  w.from_lan(eth(k_lan_mac, k_host_mac, net::k_ethertype_ipv4, bad));
  EXPECT_EQ(w.dropped(drop::lan_malformed), 1u);
  w.from_lan(eth(k_lan_mac, k_host_mac, net::k_ethertype_ipv4, ip4(vpn_of(1), vpn_of(0), 100)));
  EXPECT_EQ(w.dropped(drop::lan_spoofed_src), 1u);
  w.clear();
  w.from_lan(eth(k_lan_mac, k_host_mac, net::k_ethertype_ipv4, ip4(k_host, vpn_of(0), 100, 1)));
  EXPECT_EQ(w.dropped(drop::ttl_exceeded), 1u);
  ASSERT_EQ(w.c->tx.n_lan, 1);  // time exceeded, back to the sender's MAC
  const bytes te = bytes_of(w.c->tx.lan[0]);
  EXPECT_TRUE(std::equal(k_host_mac.begin(), k_host_mac.end(), te.begin()));
  EXPECT_EQ(te[14 + 20], 11);
  EXPECT_EQ(w.c->tx.n_wan, 0);  // nothing reached a client
}

TEST(lan, resolver_asks_holds_and_sends) {
  ASSERT_TRUE(eal_ok);
  world w;
  neigh_resolver r(w.sh);
  w.from_client(ip4(vpn_of(0), k_host, 100));
  EXPECT_TRUE(r.poll(1000));
  std::vector<rte_mbuf*> out = take(w.sh.lan_ctl);
  ASSERT_EQ(out.size(), 1u);  // the ARP request
  net::arp_info a;
  ASSERT_TRUE(net::arp_parse(rte_pktmbuf_mtod(out[0], const uint8_t*), out[0]->data_len, a));
  EXPECT_EQ(a.op, 1);
  EXPECT_EQ(a.tpa, k_host);
  EXPECT_EQ(a.spa, k_lan_gw);
  rte_pktmbuf_free(out[0]);
  // An unsolicited reply for another address changes nothing.
  rte_mbuf* u = mbuf_of(arp(2, k_host_mac, 0xc0a80133, k_lan_gw));
  meta_of(u).dir = pkt_dir::lan_l2;
  rte_ring_enqueue(w.sh.lan_punt, u);
  r.poll(1100);
  EXPECT_EQ(r.counts().unsolicited, 1u);
  // The answer: the held packet goes out with the host's MAC.
  rte_mbuf* m = mbuf_of(arp(2, k_host_mac, k_host, k_lan_gw));
  meta_of(m).dir = pkt_dir::lan_l2;
  rte_ring_enqueue(w.sh.lan_punt, m);
  r.poll(1200);
  out = take(w.sh.lan_ctl);
  ASSERT_EQ(out.size(), 1u);
  const bytes f = bytes_of(out[0]);
  EXPECT_TRUE(std::equal(k_host_mac.begin(), k_host_mac.end(), f.begin()));
  EXPECT_EQ(f.size(), 114u);
  rte_pktmbuf_free(out[0]);
  net::mac mac;
  EXPECT_TRUE(neigh_lookup(w.sh.neigh, net::v4_mapped(k_host), mac));
  EXPECT_EQ(mac, k_host_mac);
  // A next hop that never answers: three probes a second apart, then what waits is dropped.
  w.from_client(ip4(vpn_of(0), k_far, 60));
  w.from_client(ip4(vpn_of(0), k_far, 60));
  uint64_t t = 5000;
  for (int i = 0; i < 50; ++i, t += 100) r.poll(t);
  out = take(w.sh.lan_ctl);
  EXPECT_EQ(out.size(), 3u);
  for (rte_mbuf* x : out) rte_pktmbuf_free(x);
  EXPECT_EQ(r.counts().unresolved, 2u);
}

// The table holds the next hops in use: one nothing was sent to for k_reachable_ms leaves it, one in
// use is asked again and stays, one that stops answering leaves it; their slots serve other
// addresses, so a table of 16 serves 40 hosts in turn.
TEST(lan, resolver_forgets_next_hops_not_in_use) {
  ASSERT_TRUE(eal_ok);
  world w;
  neigh_resolver r(w.sh);
  auto answer = [&](uint32_t ip, uint64_t now) {
    rte_mbuf* m = mbuf_of(arp(2, k_host_mac, ip, k_lan_gw));
    meta_of(m).dir = pkt_dir::lan_l2;
    rte_ring_enqueue(w.sh.lan_punt, m);
    r.poll(now);
  };
  auto sent = [&] {  // what the resolver sent (requests, held packets), freed
    const std::vector<rte_mbuf*> out = take(w.sh.lan_ctl);
    for (rte_mbuf* x : out) rte_pktmbuf_free(x);
    return out.size();
  };
  constexpr uint64_t k_period = neigh_resolver::k_reachable_ms;
  uint64_t t = 1000;
  for (uint32_t i = 0; i < 40; ++i) {
    const uint32_t host = k_host + i;
    w.from_client(ip4(vpn_of(0), host, 100));
    r.poll(t);
    answer(host, t + 10);
    EXPECT_EQ(sent(), 2u);  // the request, the held packet
    net::mac mac;
    ASSERT_TRUE(neigh_lookup(w.sh.neigh, net::v4_mapped(host), mac)) << i;
    t += k_period + 200;
    r.poll(t);  // nothing went to it since: it goes
    EXPECT_FALSE(neigh_lookup(w.sh.neigh, net::v4_mapped(host), mac)) << i;
  }
  EXPECT_EQ(r.counts().table_full, 0u);
  EXPECT_EQ(r.counts().expired, 40u);
  EXPECT_EQ(neigh_count(w.sh.neigh), 0u);

  // In use: the worker sends straight to it; after the period it is asked again and stays.
  w.from_client(ip4(vpn_of(0), k_host, 100));
  r.poll(t);
  answer(k_host, t + 10);
  EXPECT_EQ(sent(), 2u);
  w.from_client(ip4(vpn_of(0), k_host, 100));
  EXPECT_EQ(w.c->tx.n_lan, 1);  // forwarded by the worker, the use noted
  w.clear();
  t += k_period + 200;
  r.poll(t);
  EXPECT_EQ(sent(), 1u);  // asked again
  answer(k_host, t + 10);
  net::mac mac;
  EXPECT_TRUE(neigh_lookup(w.sh.neigh, net::v4_mapped(k_host), mac));
  EXPECT_EQ(r.counts().expired, 40u);
  // Used again, then it stops answering: three requests, and it goes.
  w.from_client(ip4(vpn_of(0), k_host, 100));
  w.clear();
  t += k_period + 200;
  for (int i = 0; i < 40; ++i, t += 100) r.poll(t);
  EXPECT_EQ(sent(), 3u);
  EXPECT_FALSE(neigh_lookup(w.sh.neigh, net::v4_mapped(k_host), mac));
  EXPECT_EQ(r.counts().expired, 41u);
  EXPECT_EQ(neigh_count(w.sh.neigh), 0u);
  EXPECT_EQ(w.dropped(drop::neigh_wait_full), 0u);
}

}  // namespace
}  // namespace dpvpn::dp

namespace dpvpn::dp {
namespace {

// dp-contact-rate: control frames from one address with no client are cut on the lcore past the
// bucket's burst; other addresses are not slowed by it; established clients never count.
TEST(contact_rate, one_address_flood_is_cut_on_the_lcore) {
  ASSERT_TRUE(eal_ok);
  world w;
  w.sh.cfg.contact_burst = 40;
  w.sh.cfg.contact_pps = 10;
  w.lc[0]->contact = std::make_unique<dp_lcore::contact_bucket[]>(dp_lcore::k_contact_buckets);
  auto reset_from = [&](uint32_t ip, uint16_t port) {
    bytes ctl(30, 0);
    ctl[0] = wire::op_byte(wire::P_CONTROL_HARD_RESET_CLIENT_V2, 0);
    bytes f(net::k_outer_v4 + ctl.size());
    net::udp_endpoints e;
    e.src_mac = k_client_mac;
    e.dst_mac = k_gw_mac;
    e.src_ip = ip;
    e.dst_ip = k_gw_ip;
    e.src_port = port;
    e.dst_port = k_gw_port;
    std::copy(ctl.begin(), ctl.end(), f.begin() + net::k_outer_v4);
    net::write_outer_v4(f.data(), e, ctl.size(), 1, true);
    rte_mbuf* m = mbuf_of(f);
    wan_burst(*w.c, &m, 1);
  };
  for (uint16_t i = 0; i < 100; ++i) reset_from(0x0b000001, static_cast<uint16_t>(1000 + i));  // one host, many ports
  EXPECT_GE(w.dropped(drop::contact_rate), 59u);
  EXPECT_LE(w.dropped(drop::contact_rate), 60u);
  const uint64_t before = w.dropped(drop::contact_rate);
  for (uint32_t i = 0; i < 100; ++i) reset_from(0x0c000000 + i, 2000);  // 100 hosts: one each
  EXPECT_EQ(w.dropped(drop::contact_rate), before);
  // An established client's control frames go to the priority ring, never limited.
  dp::addr_del(w.sh, w.peers[0]->client);
  w.sh.punt_est = rte_ring_create("lpe", 512, 0, RING_F_SC_DEQ);
  dp::addr_set(w.sh, w.peers[0]->client, 0);
  for (int i = 0; i < 100; ++i) reset_from(net::v4_of(client_of(0).ip), client_of(0).port);
  EXPECT_EQ(w.dropped(drop::contact_rate), before);
  EXPECT_EQ(rte_ring_count(w.sh.punt_est), 100u);
  for (rte_mbuf* m : take(w.sh.punt_est)) rte_pktmbuf_free(m);
  rte_ring_free(w.sh.punt_est);
  w.sh.punt_est = nullptr;
  for (rte_mbuf* m : take(w.sh.punt)) rte_pktmbuf_free(m);
}

}  // namespace
}  // namespace dpvpn::dp
