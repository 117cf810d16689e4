// SPDX-License-Identifier: MIT
// The client role's WAN next hop (control/wan_neighbor.h): requests while unresolved, the reply
// that resolves it, and replies that do not.
#include <gtest/gtest.h>

#include "dpvpn/netpkt6.h"
#include "dpvpn/netpkt_fwd.h"
#include "wan_neighbor.h"

namespace dpvpn::cp {
namespace {

constexpr net::mac k_ours{0x02, 0, 0, 0, 0, 1}, k_theirs{0x02, 0, 0, 0, 0, 2};
constexpr uint32_t k_our_ip = 0x0ACB0001, k_server = 0x0ACB000B;

// The server's answer to our request: a request from it for us, answered by arp_make_reply as
// the server would.
std::vector<uint8_t> reply_from(uint32_t from_ip, const net::mac& from_mac, uint32_t to_ip) {
  std::vector<uint8_t> f(64);
  f.resize(net::arp_request(f.data(), f.size(), k_ours, to_ip, from_ip));
  EXPECT_TRUE(net::arp_make_reply(f.data(), f.size(), from_ip, from_mac));
  return f;
}

TEST(wan_neighbor, resolves_with_arp) {
  wan_neighbor nb(k_ours, k_our_ip);
  EXPECT_TRUE(nb.due_request(0).empty());  // no target yet
  nb.target(k_server, 1000);
  auto req = nb.due_request(1000);
  ASSERT_FALSE(req.empty());
  net::arp_info a;
  ASSERT_TRUE(net::arp_parse(req.data(), req.size(), a));
  EXPECT_EQ(a.op, 1);
  EXPECT_EQ(a.spa, k_our_ip);
  EXPECT_EQ(a.tpa, k_server);
  EXPECT_TRUE(nb.due_request(1500).empty());  // one a second
  EXPECT_FALSE(nb.due_request(2000).empty());
  EXPECT_FALSE(nb.on_frame(reply_from(0x0ACB0063, k_theirs, k_our_ip), 2100));  // someone else
  EXPECT_FALSE(nb.on_frame(reply_from(k_server, k_theirs, 0x0ACB0002), 2100));  // for another address
  EXPECT_FALSE(nb.mac());
  EXPECT_TRUE(nb.on_frame(reply_from(k_server, k_theirs, k_our_ip), 2200));
  ASSERT_TRUE(nb.mac());
  EXPECT_EQ(*nb.mac(), k_theirs);
  EXPECT_TRUE(nb.due_request(3000).empty());  // resolved: asked again after a minute
  EXPECT_FALSE(nb.due_request(2200 + wan_neighbor::k_reachable_ms).empty());
  EXPECT_TRUE(nb.mac());  // still usable while it is asked again
  nb.target(0x0ACB00FE, 70000);  // another next hop: forgotten
  EXPECT_FALSE(nb.mac());
  EXPECT_EQ(nb.requests(), 3u);
}

// IPv6: a Neighbor Solicitation from our address for the target; the advertisement the target
// sends back (nd_make_advert turns our solicitation into it, as the server's stack would)
// resolves it; an advertisement for another target does not.
TEST(wan_neighbor, resolves_with_neighbor_discovery) {
  const net::ip6 ours = {0xfd, 0, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  net::ip6 server = ours, other = ours;
  server[15] = 0x11, other[15] = 0x12;
  wan_neighbor nb(k_ours, 0, ours);
  nb.target(server, 1000);
  EXPECT_EQ(nb.target_name(), "fd00:203::11");
  std::vector<uint8_t> req = nb.due_request(1000);
  ASSERT_EQ(req.size(), 86u);
  const net::frame6_info fi = net::parse_frame6(req.data(), req.size());
  ASSERT_EQ(fi.kind, net::frame6_kind::nd_solicit);
  EXPECT_EQ(fi.src, ours);
  EXPECT_EQ(fi.dst, net::solicited_node(server));
  auto advert_from = [&](const net::ip6& who) {
    std::vector<uint8_t> f(128);
    f.resize(net::nd_solicit(f.data(), f.size(), k_ours, ours, who));
    size_t len = f.size();
    f.resize(128);
    EXPECT_EQ(net::nd_make_advert(f.data(), len, f.size(), who, k_theirs), net::nd_result::advert);
    f.resize(len);
    return f;
  };
  EXPECT_FALSE(nb.on_frame(advert_from(other), 1100));
  EXPECT_FALSE(nb.mac());
  EXPECT_FALSE(nb.on_frame(req, 1100));  // not an advertisement
  EXPECT_TRUE(nb.on_frame(advert_from(server), 1200));
  ASSERT_TRUE(nb.mac());
  EXPECT_EQ(*nb.mac(), k_theirs);
  // IPv4 targets still go by ARP from the same object.
  nb.target(k_server, 2000);
  EXPECT_EQ(nb.target_name(), "10.203.0.11");
  net::arp_info a;
  const std::vector<uint8_t> arp = nb.due_request(2000);
  EXPECT_TRUE(net::arp_parse(arp.data(), arp.size(), a));
}

}  // namespace
}  // namespace dpvpn::cp
