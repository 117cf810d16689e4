// SPDX-License-Identifier: MIT
// TAP mode's inner frames (dataplane/proto/l2frame.cc): the parse with and without an 802.1Q
// tag, the decisions for a client's frame and for the exception port's (numbered cases), and the
// ARP reply built in place.
#include <gtest/gtest.h>

#include <vector>

#include "dpvpn/l2frame.h"
#include "dpvpn/wire.h"

using namespace dpvpn;
using namespace dpvpn::net;

namespace {

const mac k_bcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
const mac k_mcast{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};  // 224.0.0.251 (mDNS)
const mac k_a{0x02, 0xaa, 0, 0, 0, 1};                  // client A's tap
const mac k_b{0x02, 0xbb, 0, 0, 0, 2};                  // client B's tap
const mac k_gw{0x02, 0x99, 0, 0, 0, 9};                 // the exception port
const mac k_lan{0x02, 0x55, 0, 0, 0, 5};                // a host on the bridged LAN
constexpr uint32_t k_ip_a = 0x0a080002, k_ip_b = 0x0a080003, k_ip_gw = 0x0a080001, k_ip_lan = 0x0a080064;
constexpr uint32_t k_peer_a = 1, k_peer_b = 2;

std::vector<uint8_t> eth(const mac& dst, const mac& src, uint16_t type, int vid = -1) {
  std::vector<uint8_t> f(dst.begin(), dst.end());
  f.insert(f.end(), src.begin(), src.end());
  if (vid >= 0) {
    f.resize(f.size() + 4);
    wire::put_u16(&f[12], k_ethertype_vlan);
    wire::put_u16(&f[14], static_cast<uint16_t>(0xa000 | vid));  // PCP 5
  }
  f.resize(f.size() + 2);
  wire::put_u16(&f[f.size() - 2], type);
  return f;
}

std::vector<uint8_t> arp(const mac& dst, const mac& src, uint16_t op, const mac& sha, uint32_t spa, uint32_t tpa,
                         int vid = -1) {
  auto f = eth(dst, src, k_ethertype_arp, vid);
  const size_t a = f.size();
  f.resize(a + k_arp_body);
  wire::put_u16(&f[a], 1);
  wire::put_u16(&f[a + 2], k_ethertype_ipv4);
  f[a + 4] = 6;
  f[a + 5] = 4;
  wire::put_u16(&f[a + 6], op);
  std::copy(sha.begin(), sha.end(), f.begin() + a + 8);
  wire::put_u32(&f[a + 14], spa);
  wire::put_u32(&f[a + 24], tpa);
  f.resize(60, 0);  // Ethernet padding
  return f;
}

std::vector<uint8_t> ipv4(const mac& dst, const mac& src, uint32_t sip, uint32_t dip) {
  auto f = eth(dst, src, k_ethertype_ipv4);
  const size_t i = f.size();
  f.resize(i + 28);
  f[i] = 0x45;
  wire::put_u16(&f[i + 2], 28);
  f[i + 8] = 64;
  f[i + 9] = k_proto_udp;
  wire::put_u32(&f[i + 12], sip);
  wire::put_u32(&f[i + 16], dip);
  return f;
}

std::vector<uint8_t> ipv6(const mac& dst, const mac& src, uint8_t first, uint8_t second) {
  auto f = eth(dst, src, k_ethertype_ipv6);
  const size_t i = f.size();
  f.resize(i + k_ipv6_hdr);
  f[i] = 0x60;
  f[i + 8] = first;
  f[i + 9] = second;
  f[i + 23] = 1;
  return f;
}

l2_frame parsed(const std::vector<uint8_t>& f) {
  l2_frame out;
  l2_drop why{};
  EXPECT_TRUE(l2_parse(f.data(), f.size(), out, why));
  return out;
}

TEST(l2frame, parse) {
  l2_frame f;
  l2_drop why{};
  auto frame = eth(k_bcast, k_a, 0x88b5);  // IEEE local experimental ethertype: no IP at all
  EXPECT_FALSE(l2_parse(frame.data(), 13, f, why));
  EXPECT_EQ(why, l2_drop::runt);
  ASSERT_TRUE(l2_parse(frame.data(), frame.size(), f, why));
  EXPECT_EQ(f.cast, l2_cast::broadcast);
  EXPECT_EQ(f.l3, l3_kind::other);
  EXPECT_EQ(f.ethertype, 0x88b5);
  EXPECT_EQ(f.src, k_a);
  EXPECT_FALSE(f.tagged);
  EXPECT_EQ(parsed(eth(k_mcast, k_a, 0x88b5)).cast, l2_cast::multicast);
  EXPECT_EQ(parsed(eth(k_b, k_a, 0x88b5)).cast, l2_cast::unicast);

  // 802.1Q: the tag's fields, the inner ethertype, the layer-3 offset; a tag cut short is a runt.
  frame = arp(k_bcast, k_a, 1, k_a, k_ip_a, k_ip_gw, 42);
  f = parsed(frame);
  EXPECT_TRUE(f.tagged);
  EXPECT_EQ(f.vid, 42);
  EXPECT_EQ(f.pcp, 5);
  EXPECT_EQ(f.ethertype, k_ethertype_arp);
  EXPECT_EQ(f.l3_off, 18u);
  EXPECT_EQ(f.l3, l3_kind::arp);
  EXPECT_EQ(f.arp.op, 1);
  EXPECT_EQ(f.arp.sha, k_a);
  EXPECT_EQ(f.arp.spa, k_ip_a);
  EXPECT_EQ(f.arp.tpa, k_ip_gw);
  EXPECT_FALSE(l2_parse(frame.data(), 17, f, why));
  EXPECT_EQ(why, l2_drop::runt);

  // ARP: Ethernet/IPv4 only, op 1 or 2, all 28 bytes.
  frame = arp(k_bcast, k_a, 1, k_a, k_ip_a, k_ip_gw);
  EXPECT_FALSE(l2_parse(frame.data(), 14 + 27, f, why));
  EXPECT_EQ(why, l2_drop::bad_arp);
  frame[14 + 7] = 3;  // RARP request
  EXPECT_FALSE(l2_parse(frame.data(), frame.size(), f, why));
  EXPECT_EQ(why, l2_drop::bad_arp);
  frame = arp(k_bcast, k_a, 1, k_a, k_ip_a, k_ip_gw);
  frame[14 + 3] = 0xdd;  // ptype 0x08dd
  EXPECT_FALSE(l2_parse(frame.data(), frame.size(), f, why));

  // IPv4: version 4, IHL >= 5, the header within the frame.
  frame = ipv4(k_b, k_a, k_ip_a, k_ip_b);
  f = parsed(frame);
  EXPECT_EQ(f.l3, l3_kind::ipv4);
  EXPECT_EQ(f.ip4_src, k_ip_a);
  EXPECT_EQ(f.ip4_dst, k_ip_b);
  EXPECT_FALSE(l2_parse(frame.data(), 14 + 19, f, why));
  EXPECT_EQ(why, l2_drop::bad_ipv4);
  frame[14] = 0x4f;  // IHL 15: 60 bytes, more than the frame
  EXPECT_FALSE(l2_parse(frame.data(), frame.size(), f, why));
  frame[14] = 0x44;
  EXPECT_FALSE(l2_parse(frame.data(), frame.size(), f, why));
  frame[14] = 0x65;
  EXPECT_FALSE(l2_parse(frame.data(), frame.size(), f, why));

  // IPv6: link-local and unspecified sources are marked (ND, DAD).
  EXPECT_TRUE(parsed(ipv6(k_b, k_a, 0xfe, 0x80)).ip6_src_local);
  EXPECT_TRUE(parsed(ipv6(k_b, k_a, 0xfe, 0xbf)).ip6_src_local);
  EXPECT_FALSE(parsed(ipv6(k_b, k_a, 0xfe, 0xc0)).ip6_src_local);
  EXPECT_FALSE(parsed(ipv6(k_b, k_a, 0xfd, 0x00)).ip6_src_local);
  frame = ipv6(k_b, k_a, 0, 0);
  frame[14 + 23] = 0;
  EXPECT_TRUE(parsed(frame).ip6_src_local);
  EXPECT_FALSE(l2_parse(frame.data(), 14 + 39, f, why));
  EXPECT_EQ(why, l2_drop::bad_ipv6);
}

struct expect {
  l2_action action;
  l2_drop reason = l2_drop::runt;  // for drop
  uint8_t dests = 0;
  uint32_t peer = k_no_peer;
  bool learn = false;
  mac answer{};
};

void check(int n, const l2_verdict& v, const expect& e) {
  SCOPED_TRACE("case " + std::to_string(n));
  EXPECT_EQ(v.action, e.action);
  if (e.action == l2_action::drop) {
    EXPECT_EQ(v.reason, e.reason) << l2_drop_name(v.reason);
    return;
  }
  EXPECT_EQ(v.learn, e.learn);
  if (e.action == l2_action::answer) {
    EXPECT_EQ(v.answer_mac, e.answer);
    return;
  }
  EXPECT_EQ(v.dests, e.dests);
  if (e.dests & to_peer) {
    EXPECT_EQ(v.peer, e.peer);
  }
}

// Frames from client A (peer 1). Facts as the lookups would give them: A's MAC is learned unless
// the case says otherwise; B (peer 2) holds k_b and 10.8.0.3.
TEST(l2frame, from_client) {
  l2_policy c2c{.client_to_client = true, .max_frame = 1514, .gateway_ip = k_ip_gw, .gateway_mac = k_gw};
  l2_policy plain = c2c;
  plain.client_to_client = false;
  l2_policy nogw = c2c;
  nogw.gateway_ip = 0;
  l2_policy vlan = c2c;
  vlan.vlan_tagging = true;
  l2_facts a_known{.src_mac_owner = k_peer_a, .src_ip_owner = k_peer_a};
  l2_facts to_b = a_known;
  to_b.dst_mac_owner = k_peer_b;
  l2_facts new_mac = a_known;
  new_mac.src_mac_owner = k_no_peer;
  l2_facts b_mac = a_known;
  b_mac.src_mac_owner = k_peer_b;
  l2_facts b_ip = a_known;
  b_ip.src_ip_owner = k_peer_b;
  l2_facts no_ip = a_known;
  no_ip.src_ip_owner = k_no_peer;
  l2_facts arp_b = a_known;
  arp_b.arp_target_owner = k_peer_b;
  arp_b.arp_target_mac = k_b;
  arp_b.arp_target_mac_known = true;
  l2_facts arp_b_unknown = arp_b;
  arp_b_unknown.arp_target_mac_known = false;
  const uint8_t flood = to_exception | to_all_peers;

  struct tc {
    std::vector<uint8_t> frame;
    bool checked;  // A has an assigned address
    l2_facts facts;
    l2_policy policy;
    expect want;
  } cases[] = {
      // 1-4: destinations. Broadcast, multicast and unknown unicast: the exception port, and with
      // client-to-client every other client; a known client directly, or via the exception port.
      {eth(k_bcast, k_a, 0x88b5), true, a_known, c2c, {l2_action::forward, {}, flood}},
      {eth(k_mcast, k_a, 0x88b5), true, a_known, plain, {l2_action::forward, {}, to_exception}},
      {eth(k_lan, k_a, 0x88b5), true, a_known, c2c, {l2_action::forward, {}, flood}},
      {ipv4(k_b, k_a, k_ip_a, k_ip_b), true, to_b, c2c, {l2_action::forward, {}, to_peer, k_peer_b}},
      // 5: without client-to-client a known client's frame still goes through the kernel
      {ipv4(k_b, k_a, k_ip_a, k_ip_b), true, to_b, plain, {l2_action::forward, {}, to_exception}},
      // 6-7: a new source MAC is forwarded and learned
      {ipv4(k_b, k_a, k_ip_a, k_ip_b), true, [&] { auto k = to_b; k.src_mac_owner = k_no_peer; return k; }(), c2c,
       {l2_action::forward, {}, to_peer, k_peer_b, true}},
      {eth(k_bcast, k_a, 0x88b5), true, new_mac, plain, {l2_action::forward, {}, to_exception, k_no_peer, true}},
      // 8-12: MAC checks
      {eth(k_bcast, k_b, 0x88b5), true, b_mac, c2c, {l2_action::drop, l2_drop::mac_spoof}},
      {eth(k_bcast, k_mcast, 0x88b5), true, a_known, c2c, {l2_action::drop, l2_drop::bad_src_mac}},
      {eth(k_bcast, mac{}, 0x88b5), true, a_known, c2c, {l2_action::drop, l2_drop::bad_src_mac}},
      {eth(k_a, k_a, 0x88b5), true, [&] { auto k = a_known; k.dst_mac_owner = k_peer_a; return k; }(), c2c,
       {l2_action::drop, l2_drop::loop}},
      {arp(k_bcast, k_a, 1, k_b, k_ip_a, k_ip_gw), true, a_known, c2c, {l2_action::drop, l2_drop::arp_sha_mismatch}},
      // 13-18: IPv4 / IPv6 sources
      {ipv4(k_bcast, k_a, k_ip_b, 0xffffffff), true, b_ip, c2c, {l2_action::drop, l2_drop::ip_spoof}},
      {ipv4(k_bcast, k_a, k_ip_lan, 0xffffffff), true, no_ip, c2c, {l2_action::drop, l2_drop::ip_spoof}},
      {ipv4(k_bcast, k_a, k_ip_lan, 0xffffffff), false, no_ip, c2c, {l2_action::forward, {}, flood}},
      {ipv4(k_bcast, k_a, k_ip_b, 0xffffffff), false, b_ip, c2c, {l2_action::drop, l2_drop::ip_spoof}},
      {ipv4(k_bcast, k_a, 0, 0xffffffff), true, no_ip, c2c, {l2_action::forward, {}, flood}},  // DHCPDISCOVER
      {ipv6(k_mcast, k_a, 0xfd, 0), true, no_ip, c2c, {l2_action::drop, l2_drop::ip_spoof}},
      // 19: a link-local IPv6 source is not checked (neighbour discovery)
      {ipv6(k_mcast, k_a, 0xfe, 0x80), true, no_ip, c2c, {l2_action::forward, {}, flood}},
      // 20-23: ARP answered for the gateway, and with client-to-client for B when B's MAC is known
      {arp(k_bcast, k_a, 1, k_a, k_ip_a, k_ip_gw), true, a_known, c2c, {l2_action::answer, {}, 0, k_no_peer, false, k_gw}},
      {arp(k_bcast, k_a, 1, k_a, k_ip_a, k_ip_b), true, arp_b, c2c, {l2_action::answer, {}, 0, k_no_peer, false, k_b}},
      {arp(k_bcast, k_a, 1, k_a, k_ip_a, k_ip_b), true, arp_b_unknown, c2c, {l2_action::forward, {}, flood}},
      {arp(k_bcast, k_a, 1, k_a, k_ip_a, k_ip_b), true, arp_b, plain, {l2_action::forward, {}, to_exception}},
      // 24: server-bridge nogw: no gateway address to answer for, the bridge's hosts answer
      {arp(k_bcast, k_a, 1, k_a, k_ip_a, k_ip_gw), true, a_known, nogw, {l2_action::forward, {}, flood}},
      // 25-28: ARP senders: a gratuitous ARP is flooded (and teaches the table), a probe from 0.0.0.0
      // passes, another client's address is a spoof, a new MAC's answer also learns
      {arp(k_bcast, k_a, 1, k_a, k_ip_a, k_ip_a), true, a_known, c2c, {l2_action::forward, {}, flood}},
      {arp(k_bcast, k_a, 1, k_a, 0, k_ip_a), true, no_ip, c2c, {l2_action::forward, {}, flood}},
      {arp(k_bcast, k_a, 2, k_a, k_ip_b, k_ip_b), true, b_ip, c2c, {l2_action::drop, l2_drop::ip_spoof}},
      {arp(k_bcast, k_a, 1, k_a, k_ip_a, k_ip_gw), true, new_mac, c2c, {l2_action::answer, {}, 0, k_no_peer, true, k_gw}},
      // 29-32: size and 802.1Q
      {[] { auto f = eth(k_bcast, k_a, 0x88b5); f.resize(1515); return f; }(), true, a_known, c2c,
       {l2_action::drop, l2_drop::too_big}},
      {eth(k_bcast, k_a, 0x88b5, 7), true, a_known, vlan, {l2_action::drop, l2_drop::tagged}},
      {eth(k_bcast, k_a, 0x88b5, 7), true, a_known, c2c, {l2_action::forward, {}, flood}},
      {eth(k_bcast, k_a, 0x88b5, 0), true, a_known, vlan, {l2_action::forward, {}, flood}},  // priority tag only
      // 33-35: the exception port's side. A LAN host's MAC (learned from the exception port) and the
      // gateway's own go there only, never to the other clients; a client may not claim one.
      {ipv4(k_lan, k_a, k_ip_a, k_ip_lan), true, [&] { auto k = a_known; k.dst_mac_owner = k_segment; return k; }(),
       c2c, {l2_action::forward, {}, to_exception}},
      {ipv4(k_gw, k_a, k_ip_a, k_ip_gw), true, a_known, c2c, {l2_action::forward, {}, to_exception}},
      {eth(k_bcast, k_lan, 0x88b5), true, [&] { auto k = a_known; k.src_mac_owner = k_segment; return k; }(), c2c,
       {l2_action::drop, l2_drop::mac_spoof}},
  };
  int n = 0;
  for (const auto& t : cases) {
    ++n;
    const l2_frame f = parsed(t.frame);
    check(n, l2_from_client(f, t.frame.size(), k_peer_a, t.checked, t.facts, t.policy), t.want);
  }
}

TEST(l2frame, from_exception) {
  l2_policy p{.client_to_client = false, .max_frame = 1514, .gateway_ip = k_ip_gw, .gateway_mac = k_gw};
  l2_facts lan{.src_mac_owner = k_segment};  // the LAN host's MAC is known on the exception side
  l2_facts to_b = lan;
  to_b.dst_mac_owner = k_peer_b;
  l2_facts arp_b = lan;
  arp_b.arp_target_owner = k_peer_b;
  arp_b.arp_target_mac = k_b;
  arp_b.arp_target_mac_known = true;
  const auto from_lan = [&](const std::vector<uint8_t>& f, const l2_facts& k, const l2_policy& pol, size_t len = 0) {
    return l2_from_exception(parsed(f), len ? len : f.size(), k, pol);
  };
  check(1, from_lan(eth(k_bcast, k_lan, 0x88b5), lan, p), {l2_action::forward, {}, to_all_peers});
  check(2, from_lan(eth(k_mcast, k_lan, 0x88b5), lan, p), {l2_action::forward, {}, to_all_peers});
  check(3, from_lan(eth(k_b, k_lan, 0x88b5), to_b, p), {l2_action::forward, {}, to_peer, k_peer_b});
  // Unknown unicast is flooded (entries age; openvpn drops it: it ages MACs only with stale-routes-check).
  check(4, from_lan(eth(k_a, k_lan, 0x88b5), lan, p), {l2_action::forward, {}, to_all_peers});
  // The bridge may not speak with a client's MAC; a new LAN MAC is learned for the segment.
  check(5, from_lan(eth(k_bcast, k_a, 0x88b5), l2_facts{.src_mac_owner = k_peer_a}, p),
        {l2_action::drop, l2_drop::mac_spoof});
  check(6, from_lan(eth(k_bcast, k_lan, 0x88b5), l2_facts{}, p), {l2_action::forward, {}, to_all_peers, k_no_peer, true});
  // Who-has B from the LAN: answered with B's MAC instead of a fan-out to every client.
  auto req = arp(k_bcast, k_lan, 1, k_lan, k_ip_lan, k_ip_b);
  check(7, from_lan(req, arp_b, p), {l2_action::answer, {}, 0, k_no_peer, false, k_b});
  l2_policy no_proxy = p;
  no_proxy.proxy_arp = false;
  check(8, from_lan(req, arp_b, no_proxy), {l2_action::forward, {}, to_all_peers});
  check(9, from_lan(eth(k_bcast, k_lan, 0x88b5), lan, p, 1515), {l2_action::drop, l2_drop::too_big});
  // A frame for a MAC on the exception side came back from there: nowhere to send it.
  check(10, from_lan(eth(k_gw, k_lan, 0x88b5), [&] { auto k = lan; k.dst_mac_owner = k_segment; return k; }(), p),
        {l2_action::drop, l2_drop::loop});
}

TEST(l2frame, arp_answer_in_place) {
  for (int vid : {-1, 42}) {
    SCOPED_TRACE(vid);
    auto f = arp(k_bcast, k_a, 1, k_a, k_ip_a, k_ip_gw, vid);
    const l2_frame pf = parsed(f);
    ASSERT_TRUE(arp_answer(f.data(), f.size(), pf, k_gw));
    const l2_frame r = parsed(f);
    EXPECT_EQ(r.dst, k_a);
    EXPECT_EQ(r.src, k_gw);
    EXPECT_EQ(r.tagged, vid >= 0);
    EXPECT_EQ(r.vid, vid >= 0 ? 42 : 0);
    EXPECT_EQ(r.arp.op, 2);
    EXPECT_EQ(r.arp.sha, k_gw);
    EXPECT_EQ(r.arp.spa, k_ip_gw);
    EXPECT_EQ(r.arp.tha, k_a);
    EXPECT_EQ(r.arp.tpa, k_ip_a);
    // A reply is not answered again; nor is a frame cut short.
    const auto before = f;
    EXPECT_FALSE(arp_answer(f.data(), f.size(), r, k_gw));
    EXPECT_EQ(f, before);
    auto g = arp(k_bcast, k_a, 1, k_a, k_ip_a, k_ip_gw, vid);
    EXPECT_FALSE(arp_answer(g.data(), pf.l3_off + 27, pf, k_gw));
  }
  // Not ARP at all.
  auto ip = ipv4(k_b, k_a, k_ip_a, k_ip_b);
  EXPECT_FALSE(arp_answer(ip.data(), ip.size(), parsed(ip), k_gw));
}

TEST(l2frame, drop_names) {
  EXPECT_STREQ(l2_drop_name(l2_drop::mac_spoof), "mac_spoof");
  EXPECT_STREQ(l2_drop_name(l2_drop::loop), "loop");
  EXPECT_STREQ(l2_drop_name(l2_drop::count_), "?");
  EXPECT_EQ(k_l2_drop_count, 12u);
}

}  // namespace
