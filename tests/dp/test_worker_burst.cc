// SPDX-License-Identifier: MIT
// The staged burst path (worker_rx.cc, worker_tx.cc) against packet-at-a-time: one burst that
// mixes sessions, ciphers (GCM, CHACHA20, CBC), key_ids, replays (in the burst and from an earlier
// one), bad tags, a missing key, control packets, ARP, an unknown peer, a hand-off to another
// lcore, a spoofed inner source, floats (allowed, and onto another client's address), pings and
// a malformed frame goes through wan_burst whole, and again one packet per call into an identical
// fresh dataplane. Every output frame (exception port, WAN, punt ring, hand-off ring), every lcore
// counter and every peer counter must be the same. The same for the exception-port side
// (tun_burst). The expected verdicts are checked too, so that "the same" is not "the same wrong".
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "../../dataplane/worker_internal.h"
#include "dpvpn/dp_setup.h"
#include "dpvpn/netpkt.h"
#include "dpvpn/wire.h"
#include "dp_frames.h"
#include "dp_world.h"
#include "eal_env.h"

namespace dpvpn::dp {
namespace {

using test::eal_ok;
[[maybe_unused]] auto* const env = ::testing::AddGlobalTestEnvironment(new test::eal_env("dpvpn-test-burst"));

using bytes = std::vector<uint8_t>;
constexpr uint32_t k_gw_ip = 0xc6336401;  // 198.51.100.1
constexpr uint16_t k_gw_port = 1194;
constexpr uint32_t k_lan = 0xc0a8010a;    // 192.168.1.10
constexpr uint64_t k_now = 1'700'000'000;
constexpr net::mac k_gw_mac{0x02, 0, 0, 0, 0, 1};

struct peer_spec {
  crypto::cipher_alg cipher;
  uint16_t owner;  // worker index
  std::vector<uint8_t> key_ids;
};
// pid 0: GCM-256, key_ids 0 and 1 (1 pending); pid 1: CHACHA20; pid 2: GCM-128 on lcore 1 (hand-off);
// pid 3: AES-256-CBC + HMAC-SHA256.
const peer_spec k_peers[] = {{crypto::cipher_alg::aes_256_gcm, 0, {0, 1}},
                             {crypto::cipher_alg::chacha20_poly1305, 0, {0}},
                             {crypto::cipher_alg::aes_128_gcm, 1, {0}},
                             {crypto::cipher_alg::aes_256_cbc, 0, {0}}};
constexpr uint32_t k_npeers = 4;

uint32_t vpn_of(uint32_t pid) { return 0x0a080002 + pid; }  // 10.8.0.2 + pid
net::outer_addr client_of(uint32_t pid) { return net::outer_v4(0x64400001 + pid, static_cast<uint16_t>(40000 + pid)); }
net::mac mac_of(uint32_t pid) { return {0x02, 0, 0, 0, 1, static_cast<uint8_t>(pid)}; }

proto::data_key_params params_of(crypto::cipher_alg c) {
  proto::data_key_params p;
  p.cipher = c;
  p.digest = crypto::is_aead(c) ? crypto::digest_alg::none : crypto::digest_alg::sha256;
  return p;
}

using test::key2_of;
using test::span_of;

// A valid inner IPv4/UDP packet (dp_frames.h).
using test::inner_v4;

// Ethernet/IPv4/UDP from `from` to the gateway around an OpenVPN packet.
bytes wan_frame(const net::outer_addr& from, const net::mac& mac, const bytes& ovpn) {
  return test::outer_frame(from, mac, k_gw_mac, k_gw_ip, k_gw_port, ovpn);
}

// The clients' side: one sealing key per (peer, key_id), as the clients would hold them.
struct clients {
  std::unique_ptr<crypto::engine> eng = crypto::engine::create();
  std::unique_ptr<proto::dc_tx> tx[k_npeers][3];
  clients() {
    std::string err;
    for (uint32_t pid = 0; pid < k_npeers; ++pid)
      for (uint8_t kid : k_peers[pid].key_ids)
        tx[pid][kid] = proto::dc_tx::create(params_of(k_peers[pid].cipher), span_of(key2_of(pid, kid)),
                                            proto::k_dir_client_to_server, &err);
  }
  bytes seal(uint32_t pid, uint8_t kid, const bytes& plain) {
    bytes buf(256 + plain.size() + 64);
    std::copy(plain.begin(), plain.end(), buf.begin() + 256);
    buf_view v{buf.data() + 256, static_cast<uint32_t>(plain.size()), 256, 64};
    EXPECT_EQ(tx[pid][kid]->seal(*eng, v, kid, pid, proto::comp_framing::none), proto::dc_err::ok);
    return bytes(v.data, v.data + v.len);
  }
};

// One complete dataplane (two workers' state; this test runs as worker 0), built the way
// app/main.cc builds it, with identical keys every time.
struct world {
  dp_shared sh;
  std::unique_ptr<dp_lcore> lc[2];
  std::vector<std::unique_ptr<dp_peer>> peers;
  std::unique_ptr<worker_ctx> c;

  explicit world(int n) {
    const std::string sfx = std::to_string(n);
    sh.cfg.n_workers = 2;
    sh.cfg.local_ip = k_gw_ip;
    sh.cfg.local_port = k_gw_port;
    sh.cfg.wan_mac = k_gw_mac;
    sh.cfg.max_peers = 16;
    sh.pool = test::test_pool;
    sh.punt = rte_ring_create(("bp" + sfx).c_str(), 256, 0, RING_F_SC_DEQ);
    sh.done = rte_ring_create(("bd" + sfx).c_str(), 256, 0, RING_F_SC_DEQ);
    sh.owner = std::make_unique<std::atomic<uint16_t>[]>(sh.cfg.max_peers);
    for (uint32_t i = 0; i < sh.cfg.max_peers; ++i) sh.owner[i].store(k_no_owner);
    sh.qsbr = static_cast<rte_rcu_qsbr*>(rte_zmalloc(nullptr, rte_rcu_qsbr_get_memsize(2), 64));
    rte_rcu_qsbr_init(sh.qsbr, 2);
    std::string err;
    sh.rt = routes_create(sh.qsbr, 64, 64, err);
    sh.addrs = test::outer_addr_hash("ba" + sfx);
    test::make_lcores(sh, lc, 2, false);
    lc[0]->eng = crypto::engine::create();
    lc[1]->handoff_in[0] = rte_ring_create(("bh" + sfx).c_str(), 256, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    for (uint32_t pid = 0; pid < k_npeers; ++pid) {
      auto p = std::make_unique<dp_peer>();
      p->peer_id = pid;
      p->vpn_ip = vpn_of(pid);
      p->client = client_of(pid);
      p->client_mac = mac_of(pid);
      const proto::data_key_params prm = params_of(k_peers[pid].cipher);
      p->keys = proto::data_keys(true, prm);
      for (uint8_t kid : k_peers[pid].key_ids) {
        auto tx = proto::dc_tx::create(prm, span_of(key2_of(pid, kid)), proto::k_dir_server_to_client, &err);
        auto rx = proto::dc_rx::create(prm, span_of(key2_of(pid, kid)), proto::k_dir_client_to_server, &err);
        p->keys.install_prebuilt(kid, tx, rx, k_now);
      }
      const uint16_t owner = k_peers[pid].owner;
      lc[owner]->peers[pid] = p.get();
      lc[owner]->owned[lc[owner]->n_owned++] = pid;
      sh.owner[pid].store(owner);
      rte_hash_add_key_data(sh.addrs, &p->client, reinterpret_cast<void*>(uintptr_t{pid}));
      route_add_v4(sh.rt, vpn_of(pid), 32, pid);
      peers.push_back(std::move(p));
    }
    c = std::make_unique<worker_ctx>(worker_ctx{sh, *lc[0], {}, k_now, 0});
  }
  ~world() {
    auto drain = [](rte_ring* r) {
      void* o;
      while (r && rte_ring_dequeue(r, &o) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(o));
      rte_ring_free(r);
    };
    for (uint16_t i = 0; i < c->tx.n_wan; ++i) rte_pktmbuf_free(c->tx.wan[i]);
    for (uint16_t i = 0; i < c->tx.n_tun; ++i) rte_pktmbuf_free(c->tx.tun[i]);
    drain(sh.punt);
    drain(sh.done);
    drain(lc[1]->handoff_in[0]);
    rte_hash_free(sh.addrs);
    routes_destroy(sh.rt);
    rte_free(sh.qsbr);
  }
};

rte_mbuf* mbuf_of(const bytes& b) {
  rte_mbuf* m = rte_pktmbuf_alloc(test::test_pool);
  if (!m) return nullptr;
  std::copy(b.begin(), b.end(), rte_pktmbuf_mtod(m, uint8_t*));
  m->data_len = static_cast<uint16_t>(b.size());
  m->pkt_len = static_cast<uint32_t>(b.size());
  return m;
}

bytes bytes_of(const rte_mbuf* m) {
  const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
  return bytes(d, d + m->data_len);
}

// Everything a run leaves behind, comparable.
struct outcome {
  std::vector<bytes> tun, wan, punt, handoff;
  std::vector<uint64_t> lcore;     // every lcore counter, drops included
  std::vector<uint64_t> per_peer;  // rx/tx packets and bytes, and the outer address of each peer
  bool operator==(const outcome&) const = default;
};

std::vector<bytes> take(rte_ring* r) {
  std::vector<bytes> out;
  void* o;
  while (rte_ring_dequeue(r, &o) == 0) {
    out.push_back(bytes_of(static_cast<rte_mbuf*>(o)));
    rte_pktmbuf_free(static_cast<rte_mbuf*>(o));
  }
  return out;
}

outcome collect(world& w) {
  outcome o;
  for (uint16_t i = 0; i < w.c->tx.n_tun; ++i) o.tun.push_back(bytes_of(w.c->tx.tun[i]));
  for (uint16_t i = 0; i < w.c->tx.n_wan; ++i) o.wan.push_back(bytes_of(w.c->tx.wan[i]));
  o.punt = take(w.sh.punt);
  o.handoff = take(w.lc[1]->handoff_in[0]);
  const lcore_counters& k = w.lc[0]->ctr;
  for (const auto* a : {&k.wan_rx_pkts, &k.wan_rx_bytes, &k.tun_rx_pkts, &k.tun_rx_bytes, &k.decrypted, &k.encrypted,
                        &k.pings_rx, &k.punted, &k.arp_replies, &k.handoff_out, &k.hairpin, &k.floats, &k.mss_clamped})
    o.lcore.push_back(a->load());
  for (const auto& d : k.drops) o.lcore.push_back(d.load());
  for (const auto& p : w.peers) {
    for (const auto* a : {&p->rx_pkts, &p->rx_bytes, &p->tx_pkts, &p->tx_bytes}) o.per_peer.push_back(a->load());
    o.per_peer.push_back(net::v4_of(p->client.ip));
    o.per_peer.push_back(p->client.port);
  }
  return o;
}

// Field by field first, so that a failure names what differs.
void expect_same(const outcome& a, const outcome& b) {
  EXPECT_EQ(a.tun, b.tun);
  EXPECT_EQ(a.lcore, b.lcore);
  EXPECT_EQ(a.per_peer, b.per_peer);
  EXPECT_EQ(a.wan, b.wan);
  EXPECT_EQ(a.punt, b.punt);
  EXPECT_EQ(a.handoff, b.handoff);
  EXPECT_TRUE(a == b);
}

uint64_t drops(const outcome& o, drop d) { return o.lcore[13 + static_cast<size_t>(d)]; }

// The WAN burst: frames, in order, and where run A splits them into two bursts.
std::vector<bytes> wan_frames(clients& cl, size_t& split) {
  std::vector<bytes> f;
  auto data = [&](uint32_t pid, uint8_t kid, uint32_t src, uint16_t len) {
    return cl.seal(pid, kid, inner_v4(src, k_lan, len, static_cast<uint8_t>(len)));
  };
  const bytes p0a = data(0, 0, vpn_of(0), 100), p1a = data(1, 0, vpn_of(1), 64), p3a = data(3, 0, vpn_of(3), 200);
  f.push_back(wan_frame(client_of(0), mac_of(0), p0a));                          // ok
  f.push_back(wan_frame(client_of(1), mac_of(1), p1a));                          // ok (CHACHA20)
  f.push_back(wan_frame(client_of(0), mac_of(0), data(0, 0, vpn_of(0), 1400)));  // ok
  f.push_back(wan_frame(client_of(0), mac_of(0), p0a));                          // replay in the burst
  f.push_back(wan_frame(client_of(2), mac_of(2), data(2, 0, vpn_of(2), 80)));    // hand-off to lcore 1
  bytes bad = data(0, 0, vpn_of(0), 90);
  bad.back() ^= 1;
  f.push_back(wan_frame(client_of(0), mac_of(0), bad));                          // bad tag
  bytes ctl(30, 0);
  ctl[0] = wire::op_byte(wire::P_CONTROL_HARD_RESET_CLIENT_V2, 0);
  f.push_back(wan_frame(client_of(3), mac_of(3), ctl));                          // punted
  f.push_back(wan_frame(client_of(0), mac_of(0), data(0, 1, vpn_of(0), 120)));  // key_id 1 (pending)
  bytes nokey = data(0, 0, vpn_of(0), 70);
  nokey[0] = wire::op_byte(wire::P_DATA_V2, 2);
  f.push_back(wan_frame(client_of(0), mac_of(0), nokey));                        // no key_id 2
  bytes unknown = data(0, 0, vpn_of(0), 70);
  wire::put_u24(&unknown[1], 9);
  f.push_back(wan_frame(client_of(0), mac_of(0), unknown));                      // unknown peer-id 9
  bytes arp(42, 0);
  std::fill(arp.begin(), arp.begin() + 6, 0xff);
  const net::mac m1 = mac_of(1);
  std::copy(m1.begin(), m1.end(), arp.begin() + 6);
  arp[12] = 0x08, arp[13] = 0x06, arp[15] = 1, arp[16] = 0x08, arp[18] = 6, arp[19] = 4, arp[21] = 1;
  std::copy(m1.begin(), m1.end(), arp.begin() + 22);
  wire::put_u32(&arp[28], net::v4_of(client_of(1).ip));
  wire::put_u32(&arp[38], k_gw_ip);
  f.push_back(arp);                                                              // ARP request: answered
  split = f.size();
  f.push_back(wan_frame(client_of(3), mac_of(3), p3a));                          // ok (CBC)
  f.push_back(wan_frame(client_of(3), mac_of(3), p3a));                          // CBC replay
  f.push_back(wan_frame(client_of(0), mac_of(0), data(0, 0, vpn_of(1), 60)));   // spoofed: another client's
  f.push_back(wan_frame(client_of(0), mac_of(0), data(0, 0, 0x0a4d0005, 60)));  // spoofed: routes nowhere
  f.push_back(wan_frame(client_of(0), mac_of(1), data(1, 0, vpn_of(1), 60)));   // float onto pid 0's address
  const net::outer_addr moved = net::outer_v4(0x64400099, 41000);
  f.push_back(wan_frame(moved, mac_of(1), data(1, 0, vpn_of(1), 60)));           // float to a free address
  const bytes later = data(0, 0, vpn_of(0), 61);  // sealed first: the lower packet id
  f.push_back(wan_frame(client_of(0), mac_of(0), data(0, 0, vpn_of(0), 63)));
  f.push_back(wan_frame(client_of(0), mac_of(0), later));                        // out of order, in window
  f.push_back(wan_frame(client_of(0), mac_of(0), cl.seal(0, 0, bytes(wire::k_ping_magic.begin(), wire::k_ping_magic.end()))));
  f.push_back(wan_frame(client_of(1), mac_of(1), p1a));                          // replay from the first burst
  f.push_back(bytes(f[0].begin(), f[0].begin() + 30));                           // truncated: malformed
  return f;
}

void run_wan(world& w, const std::vector<bytes>& f, const std::vector<size_t>& cuts) {
  std::vector<rte_mbuf*> m;
  for (const bytes& b : f) m.push_back(mbuf_of(b));
  size_t from = 0;
  for (size_t to : cuts) {
    wan_burst(*w.c, m.data() + from, static_cast<uint16_t>(to - from));
    from = to;
  }
}

TEST(worker_burst, wan_staged_equals_packet_at_a_time) {
  ASSERT_TRUE(eal_ok);
  clients cl;
  size_t split = 0;
  const std::vector<bytes> f = wan_frames(cl, split);
  outcome staged, single, chunked;
  {
    world w(1);
    run_wan(w, f, {split, f.size()});
    staged = collect(w);
  }
  {
    world w(2);
    std::vector<size_t> cuts;
    for (size_t i = 1; i <= f.size(); ++i) cuts.push_back(i);
    run_wan(w, f, cuts);
    single = collect(w);
  }
  {  // the open stage's two forms: whole packets (open_each, the default) and open_chunk's passes
    world w(3);
    const bool was = set_open_each(false);
    run_wan(w, f, {split, f.size()});
    set_open_each(was);
    chunked = collect(w);
  }
  expect_same(staged, single);
  expect_same(chunked, single);
  // The verdicts themselves: 3 + key_id 1 + CBC + 2 spoofed + moved float + 2 in window + ping = 11
  // opened (the spoofed ones are dropped after they opened), 8 of them IP to the exception port.
  EXPECT_EQ(staged.tun.size(), 8u);
  EXPECT_EQ(staged.wan.size(), 1u);  // the ARP reply
  EXPECT_EQ(staged.punt.size(), 1u);
  EXPECT_EQ(staged.handoff.size(), 1u);
  EXPECT_EQ(drops(staged, drop::replay), 3u);
  EXPECT_EQ(drops(staged, drop::bad_tag), 1u);
  EXPECT_EQ(drops(staged, drop::no_key), 1u);
  EXPECT_EQ(drops(staged, drop::unknown_peer), 1u);
  EXPECT_EQ(drops(staged, drop::spoofed_src), 2u);
  EXPECT_EQ(drops(staged, drop::float_taken), 1u);
  EXPECT_EQ(drops(staged, drop::malformed_frame), 1u);
  EXPECT_EQ(staged.lcore[4], 11u);  // decrypted
  EXPECT_EQ(staged.lcore[6], 1u);   // pings_rx
  EXPECT_EQ(staged.lcore[11], 1u);  // floats
}

// The WAN's inline path for the common frame (worker_rx.cc, wan_fast_v4) against the general
// one (parse_frame, udp_classify) on the mixed burst and on frames at each of its conditions'
// edges: IP options, a fragment, another port or address, a UDP length shorter than the IP
// payload (trailing bytes), longer than it, an IP length past the frame, Ethernet padding,
// P_DATA_V1, the reserved peer-id, a VLAN tag. Same verdicts, bytes and counters.
TEST(worker_burst, wan_common_frame_inline_equals_general_path) {
  ASSERT_TRUE(eal_ok);
  clients cl;
  size_t split = 0;
  std::vector<bytes> f = wan_frames(cl, split);
  const bytes ok = wan_frame(client_of(0), mac_of(0), cl.seal(0, 0, inner_v4(vpn_of(0), k_lan, 90, 1)));
  auto edit = [&](auto fn) {
    bytes b = wan_frame(client_of(0), mac_of(0), cl.seal(0, 0, inner_v4(vpn_of(0), k_lan, 90, 2)));
    fn(b);
    f.push_back(b);
  };
  constexpr size_t ip = 14, udp = 34;
  auto fix_ip_csum = [](bytes& b) {
    b[ip + 10] = b[ip + 11] = 0;
    wire::put_u16(&b[ip + 10], net::ipv4_header_checksum(&b[ip], (b[ip] & 15) * 4u));
  };
  f.push_back(ok);
  edit([&](bytes& b) {  // IP options: 4 bytes of NOP, ihl 6
    b.insert(b.begin() + udp, {1, 1, 1, 1});
    b[ip] = 0x46;
    wire::put_u16(&b[ip + 2], static_cast<uint16_t>(wire::get_u16(&b[ip + 2]) + 4));
    fix_ip_csum(b);
  });
  edit([&](bytes& b) { wire::put_u16(&b[ip + 6], 0x2000); });                      // MF: a fragment
  edit([&](bytes& b) { wire::put_u16(&b[udp + 2], k_gw_port + 1); });             // another port
  edit([&](bytes& b) { b[ip + 19] ^= 1; });                                        // another address
  edit([&](bytes& b) { wire::put_u16(&b[udp + 4], static_cast<uint16_t>(wire::get_u16(&b[udp + 4]) - 5)); });
  edit([&](bytes& b) { wire::put_u16(&b[udp + 4], static_cast<uint16_t>(wire::get_u16(&b[udp + 4]) + 1)); });
  edit([&](bytes& b) { b.resize(b.size() - 3); });                                 // IP length past the frame
  edit([&](bytes& b) { b.resize(b.size() + 9, 0); });                              // Ethernet padding
  edit([&](bytes& b) { wire::put_u16(&b[udp + 4], 11); });                         // 3 bytes of payload
  edit([&](bytes& b) { wire::put_u24(&b[udp + 9], wire::k_peer_id_none); });     // the reserved peer-id
  edit([&](bytes& b) { b[udp + 8] = wire::op_byte(wire::P_DATA_V1, 0); });         // DATA_V1
  edit([&](bytes& b) { b.insert(b.begin() + 12, {0x81, 0x00, 0x00, 0x05}); });    // a VLAN tag
  f.push_back(ok);                                                                 // a replay of the first
  outcome fast, general;
  {
    world w(1);
    run_wan(w, f, {split, f.size()});
    fast = collect(w);
  }
  {
    world w(2);
    const bool was = set_wan_fast_path(false);
    run_wan(w, f, {split, f.size()});
    set_wan_fast_path(was);
    general = collect(w);
  }
  expect_same(fast, general);
  EXPECT_EQ(fast.tun.size(), 8u + 3u);  // the burst's 8; ok, the one with IP options, the padded one
}

// Where the peer is found by the outer address (the client role; DATA_V1), each lcore memos its
// last hit. A change to the table (addr_set / addr_del) must end the memo at once: the address
// handed to another peer, then removed.
TEST(worker_burst, an_address_memo_ends_when_the_table_changes) {
  ASSERT_TRUE(eal_ok);
  clients cl;
  world w(5);
  w.sh.cfg.client_role = true;
  const bytes pkt = cl.seal(0, 0, inner_v4(vpn_of(0), k_lan, 64, 1));
  auto classify = [&](uint32_t& pid) {
    rte_mbuf* m = mbuf_of(wan_frame(client_of(0), mac_of(0), pkt));
    const bool mine = wan_classify(*w.c, m);
    pid = meta_of(m).peer_id;
    if (mine) rte_pktmbuf_free(m);
    return mine;
  };
  uint32_t pid = 99;
  ASSERT_TRUE(classify(pid));
  EXPECT_EQ(pid, 0u);
  ASSERT_TRUE(classify(pid));  // from the memo
  EXPECT_EQ(pid, 0u);
  ASSERT_EQ(addr_set(w.sh, client_of(0), 1), 0);  // the address now belongs to peer 1
  ASSERT_TRUE(classify(pid));
  EXPECT_EQ(pid, 1u);
  ASSERT_EQ(addr_del(w.sh, client_of(0)), 0);
  EXPECT_FALSE(classify(pid));
  EXPECT_EQ(w.lc[0]->ctr.drops[static_cast<size_t>(drop::unknown_peer)].load(), 1u);
}

TEST(worker_burst, tun_staged_equals_packet_at_a_time) {
  ASSERT_TRUE(eal_ok);
  std::vector<bytes> f;
  // Peers 0-2 (peer 3's CBC draws a random IV per packet, so two runs never match byte for byte).
  for (uint32_t i = 0; i < 12; ++i) f.push_back(inner_v4(k_lan, vpn_of(i % 3), static_cast<uint16_t>(60 + 97 * i), uint8_t(i)));
  f.push_back(inner_v4(k_lan, 0x0a0800f0, 100, 1));  // no client has it
  f.push_back(bytes(40, 0x00));                      // not IP
  auto run = [&](world& w, size_t step) {
    std::vector<rte_mbuf*> m;
    for (const bytes& b : f) m.push_back(mbuf_of(b));
    for (size_t i = 0; i < m.size(); i += step)
      tun_burst(*w.c, m.data() + i, static_cast<uint16_t>(std::min(step, m.size() - i)));
    return collect(w);
  };
  world a(3), b(4);
  const outcome staged = run(a, f.size()), single = run(b, 1);
  expect_same(staged, single);
  EXPECT_EQ(staged.wan.size(), 8u);      // peers 0 and 1 are owned here
  EXPECT_EQ(staged.handoff.size(), 4u);  // peer 2 lives on lcore 1
  EXPECT_EQ(drops(staged, drop::no_route), 1u);
  EXPECT_EQ(drops(staged, drop::inner_not_ip), 1u);
}

// TX checksum offload (a WAN port that computes checksums): the frames carry the offload flags
// and header lengths, and what the device finishes equals the software frames byte for byte.
TEST(worker_burst, tx_checksum_offload_completes_to_the_software_frame) {
  ASSERT_TRUE(eal_ok);
  std::vector<bytes> f;
  for (uint32_t i = 0; i < 6; ++i) f.push_back(inner_v4(k_lan, vpn_of(i % 2), static_cast<uint16_t>(40 + 211 * i), uint8_t(i)));
  auto run = [&](world& w, std::vector<rte_mbuf*>& out) {
    std::vector<rte_mbuf*> m;
    for (const bytes& b : f) m.push_back(mbuf_of(b));
    tun_burst(*w.c, m.data(), static_cast<uint16_t>(m.size()));
    out.assign(w.c->tx.wan, w.c->tx.wan + w.c->tx.n_wan);
  };
  world hw(5), sw(6);
  hw.sh.cfg.tx_csum_offload = true;
  std::vector<rte_mbuf*> a, b;
  run(hw, a);
  run(sw, b);
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const uint64_t want = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
    EXPECT_EQ(a[i]->ol_flags & want, want);
    EXPECT_EQ(b[i]->ol_flags & want, 0u);
    EXPECT_EQ(a[i]->l2_len, net::k_eth_hdr);
    EXPECT_EQ(a[i]->l3_len, net::k_ipv4_hdr);
    bytes fin = bytes_of(a[i]);
    uint8_t* ip = fin.data() + net::k_eth_hdr;
    wire::put_u16(ip + 10, net::ipv4_header_checksum(ip, net::k_ipv4_hdr));
    uint8_t* udp = ip + net::k_ipv4_hdr;
    const uint16_t c = net::csum_fold(net::csum_partial(udp, fin.size() - net::k_eth_hdr - net::k_ipv4_hdr));
    wire::put_u16(udp + 6, c == 0 ? 0xffff : c);
    EXPECT_EQ(fin, bytes_of(b[i])) << i;
  }
}

}  // namespace
}  // namespace dpvpn::dp

namespace dpvpn::dp {
namespace {

// §8.3 (issue 11 F7): when the sending key's packet-id reaches the wrap trigger, the owner tells
// the control thread once (dp_peer::wrap_seq), which renegotiates; before, nothing did, and the
// tunnel went silent at 2^32 until reneg-sec (or for good with reneg-sec 0).
TEST(worker_burst, packet_id_wrap_is_signalled_once_per_key) {
  ASSERT_TRUE(eal_ok);
  world w(5);
  dp_peer& p = *w.peers[0];
  std::string err;
  const proto::data_key_params prm = params_of(k_peers[0].cipher);
  auto tx = proto::dc_tx::create(prm, span_of(key2_of(0, 0)), proto::k_dir_server_to_client, &err);
  auto rx = proto::dc_rx::create(prm, span_of(key2_of(0, 0)), proto::k_dir_client_to_server, &err);
  tx->set_packet_id(wire::k_packet_id_wrap_trigger - 2);
  p.keys.install_prebuilt(0, tx, rx, k_now);
  auto send = [&](int n) {
    for (int i = 0; i < n; ++i) {
      rte_mbuf* m = mbuf_of(inner_v4(k_lan, vpn_of(0), 100, 1));
      tun_burst(*w.c, &m, 1);
    }
  };
  send(1);  // packet id trigger - 1
  EXPECT_EQ(p.wrap_seq.load(), 0u);
  send(1);  // packet id == trigger
  EXPECT_EQ(p.wrap_seq.load(), 1u);
  send(3);
  EXPECT_EQ(p.wrap_seq.load(), 1u);  // once per key
  EXPECT_EQ(w.c->tx.n_wan, 5u);      // nothing dropped on the way
}

}  // namespace
}  // namespace dpvpn::dp
