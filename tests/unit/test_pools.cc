// SPDX-License-Identifier: MIT
// address_pool: slot choice (OpenVPN pool.c order), net30/subnet/IPv6 pairing, static addresses,
// the ifconfig-pool-persist format, a /16 with 60 000 clients, and connect_freq_limit.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "dpvpn/pools.h"

using namespace dpvpn::cp;

namespace {

uint32_t ip(const char* s) { return *parse_ipv4(s); }
ipv6_addr ip6(const char* s) { return *parse_ipv6(s); }

// `server 10.8.0.0 255.255.255.0` + topology subnet, optionally `server-ipv6 fd00:8::/64`.
pool_params subnet24(bool v6 = false) {
  pool_params p;
  p.v4 = std::make_pair(ip("10.8.0.2"), ip("10.8.0.254"));
  p.server_ip = ip("10.8.0.1");
  p.network = ip("10.8.0.0");
  p.netmask = ip("255.255.255.0");
  if (v6) {
    p.v6 = ipv6_net{ip6("fd00:8::1000"), 64};
    p.server_ip6 = ip6("fd00:8::1");
  }
  return p;
}

TEST(Pools, SubnetHandsOutAddressesInOrder) {
  address_pool pool(subnet24());
  EXPECT_EQ(pool.size(), 253u);
  address_lease a, b;
  ASSERT_TRUE(pool.acquire("a", a));
  ASSERT_TRUE(pool.acquire("b", b));
  EXPECT_EQ(format_ipv4(a.v4), "10.8.0.2");
  EXPECT_EQ(format_ipv4(b.v4), "10.8.0.3");
  EXPECT_EQ(a.v4_local, 0u);
  EXPECT_FALSE(a.v6);
  EXPECT_EQ(pool.in_use(), 2u);
}

TEST(Pools, Net30GivesTheDotTwoOfEachSlash30) {
  pool_params p = subnet24();
  p.net30 = true;
  p.v4 = std::make_pair(ip("10.8.0.4"), ip("10.8.0.251"));  // what `server` sets for net30
  address_pool pool(p);
  EXPECT_EQ(pool.size(), 62u);  // OpenVPN: up to .248-.251 (the pool ends 4 below broadcast)
  address_lease a, b;
  ASSERT_TRUE(pool.acquire("a", a));
  ASSERT_TRUE(pool.acquire("b", b));
  EXPECT_EQ(format_ipv4(a.v4), "10.8.0.6");
  EXPECT_EQ(format_ipv4(a.v4_local), "10.8.0.5");
  EXPECT_EQ(format_ipv4(b.v4), "10.8.0.10");
  // The persist file names the /30's base, as OpenVPN writes it.
  EXPECT_EQ(pool.persist_text(), "a,10.8.0.4,\nb,10.8.0.8,\n");
}

TEST(Pools, Ipv6PairsWithTheIpv4Slot) {
  address_pool pool(subnet24(true));
  EXPECT_EQ(pool.size(), 253u);  // the IPv4 pool is the smaller one
  address_lease a, b;
  ASSERT_TRUE(pool.acquire("a", a));
  ASSERT_TRUE(pool.acquire("b", b));
  EXPECT_EQ(format_ipv6(*a.v6), "fd00:8::1000");
  EXPECT_EQ(format_ipv6(*b.v6), "fd00:8::1001");
  EXPECT_EQ(pool.persist_text(), "a,10.8.0.2,fd00:8::1000\nb,10.8.0.3,fd00:8::1001\n");
}

TEST(Pools, SmallIpv6PoolLimitsAndSkipsTheAnycastAddress) {
  pool_params p = subnet24(true);
  p.v6 = ipv6_net{ip6("fd00:8::"), 124};  // 16 addresses; ::0 is the subnet-router anycast
  address_pool pool(p);
  EXPECT_EQ(pool.size(), 15u);
  address_lease a;
  ASSERT_TRUE(pool.acquire("a", a));
  EXPECT_EQ(format_ipv6(*a.v6), "fd00:8::1");
}

TEST(Pools, ReturningNameGetsItsSlotOthersPreferNeverUsedOnes) {
  address_pool pool(subnet24());
  address_lease a, b, c;
  ASSERT_TRUE(pool.acquire("a", a));
  ASSERT_TRUE(pool.acquire("b", b));
  pool.release(a);  // 10.8.0.2 remembers "a"
  ASSERT_TRUE(pool.acquire("c", c));
  EXPECT_EQ(format_ipv4(c.v4), "10.8.0.4") << "a never-used slot comes before a remembered one";
  ASSERT_TRUE(pool.acquire("a", a));
  EXPECT_EQ(format_ipv4(a.v4), "10.8.0.2");
}

TEST(Pools, ExhaustedPoolReusesTheSlotReleasedLongestAgo) {
  pool_params p = subnet24();
  p.v4 = std::make_pair(ip("10.8.0.2"), ip("10.8.0.4"));
  address_pool pool(p);
  address_lease l[4];
  ASSERT_TRUE(pool.acquire("a", l[0]));
  ASSERT_TRUE(pool.acquire("b", l[1]));
  ASSERT_TRUE(pool.acquire("c", l[2]));
  EXPECT_FALSE(pool.acquire("d", l[3]));
  pool.release(l[1]);
  pool.release(l[0]);
  ASSERT_TRUE(pool.acquire("d", l[3]));
  EXPECT_EQ(format_ipv4(l[3].v4), "10.8.0.3") << "b's slot was released first";
  ASSERT_TRUE(pool.acquire("b", l[1]));
  EXPECT_EQ(format_ipv4(l[1].v4), "10.8.0.2") << "b's old slot is d's now; a's is next";
}

TEST(Pools, DuplicateCnRemembersNoNames) {
  pool_params p = subnet24();
  p.duplicate_cn = true;
  address_pool pool(p);
  address_lease a, b;
  ASSERT_TRUE(pool.acquire("same", a));
  ASSERT_TRUE(pool.acquire("same", b));
  EXPECT_NE(a.v4, b.v4);
  EXPECT_EQ(pool.persist_text(), "");
  std::vector<std::string> warn;
  EXPECT_EQ(pool.load_persist("x,10.8.0.9,\n", false, warn), 0u);
}

TEST(Pools, StaticAddressInsideThePoolTakesItsSlot) {
  address_pool pool(subnet24(true));
  address_lease s, a;
  ASSERT_TRUE(pool.acquire("s", s));
  ASSERT_TRUE(pool.set_static_v4(s, ip("10.8.0.2")));  // its own pool slot was given back first
  EXPECT_TRUE(s.v4_static);
  EXPECT_FALSE(s.v6) << "static IPv4 means no pool IPv6 (OpenVPN)";
  ASSERT_TRUE(pool.acquire("a", a));
  EXPECT_EQ(format_ipv4(a.v4), "10.8.0.3");
  address_lease t;
  EXPECT_FALSE(pool.set_static_v4(t, ip("10.8.0.3"))) << "held by a";
  EXPECT_FALSE(pool.set_static_v4(t, ip("10.8.0.1"))) << "the server";
  EXPECT_FALSE(pool.set_static_v4(t, ip("10.8.0.255"))) << "broadcast";
  EXPECT_FALSE(pool.set_static_v4(t, ip("10.8.0.0"))) << "network";
  EXPECT_EQ(pool.in_use(), 2u);
  pool.release(s);
  address_lease b;
  ASSERT_TRUE(pool.acquire("b", b));
  EXPECT_EQ(format_ipv4(b.v4), "10.8.0.2") << "a static slot is forgotten: reused first";
}

TEST(Pools, StaticAddressOutsideThePoolIsExclusive) {
  pool_params p = subnet24();
  p.v4 = std::make_pair(ip("10.8.0.100"), ip("10.8.0.200"));
  address_pool pool(p);
  address_lease a, b;
  ASSERT_TRUE(pool.set_static_v4(a, ip("10.8.0.50")));
  EXPECT_FALSE(pool.set_static_v4(b, ip("10.8.0.50")));
  pool.release(a);
  EXPECT_TRUE(pool.set_static_v4(b, ip("10.8.0.50")));
}

TEST(Pools, StaticIpv6) {
  address_pool pool(subnet24(true));
  address_lease a, b, c;
  ASSERT_TRUE(pool.acquire("a", a));
  ASSERT_TRUE(pool.set_static_v6(a, ip6("fd00:8::77")));
  EXPECT_EQ(format_ipv4(a.v4), "10.8.0.2") << "dynamic IPv4 stays";
  EXPECT_EQ(format_ipv6(*a.v6), "fd00:8::77");
  EXPECT_FALSE(pool.set_static_v6(b, ip6("fd00:8::77")));
  EXPECT_FALSE(pool.set_static_v6(b, ip6("fd00:8::1"))) << "the server";
  ASSERT_TRUE(pool.set_static_v6(b, ip6("fd00:8::1001")));  // inside the pool: slot 1
  ASSERT_TRUE(pool.acquire("c", c));
  EXPECT_EQ(format_ipv6(*c.v6), "fd00:8::1002");
  pool.release(a);
  pool.release(b);
  EXPECT_TRUE(pool.set_static_v6(a, ip6("fd00:8::77")));
}

TEST(Pools, PersistRoundTripAndReadRules) {
  address_pool one(subnet24(true));
  address_lease a, b;
  ASSERT_TRUE(one.acquire("alice", a));
  ASSERT_TRUE(one.acquire("bob", b));
  one.release(a);
  const std::string text = one.persist_text();
  EXPECT_EQ(text, "alice,10.8.0.2,fd00:8::1000\nbob,10.8.0.3,fd00:8::1001\n");

  address_pool two(subnet24(true));
  std::vector<std::string> warn;
  EXPECT_EQ(two.load_persist(text, false, warn), 2u);
  EXPECT_TRUE(warn.empty());
  address_lease n, bb;
  ASSERT_TRUE(two.acquire("new", n));
  EXPECT_EQ(format_ipv4(n.v4), "10.8.0.4") << "remembered slots wait for their names";
  ASSERT_TRUE(two.acquire("bob", bb));
  EXPECT_EQ(format_ipv4(bb.v4), "10.8.0.3");

  // CN,,IP6 (no IPv4), comments, garbage, out of range, mismatched slots.
  address_pool three(subnet24(true));
  warn.clear();
  const size_t applied = three.load_persist(
      "# comment\n;x\n\nv6only,,fd00:8::1005\nnocomma\nbad,10.9.0.1,\nmix,10.8.0.10,fd00:8::1000\n", false, warn);
  EXPECT_EQ(applied, 2u);
  EXPECT_EQ(warn.size(), 3u);
  address_lease v, m;
  ASSERT_TRUE(three.acquire("v6only", v));
  EXPECT_EQ(format_ipv4(v.v4), "10.8.0.7");
  ASSERT_TRUE(three.acquire("mix", m));
  EXPECT_EQ(format_ipv4(m.v4), "10.8.0.10") << "IPv4 wins when the two disagree";
}

TEST(Pools, FixedEntriesGoToNobodyElse) {
  pool_params p = subnet24();
  p.v4 = std::make_pair(ip("10.8.0.2"), ip("10.8.0.3"));
  address_pool pool(p);
  std::vector<std::string> warn;
  ASSERT_EQ(pool.load_persist("vip,10.8.0.2,\n", true, warn), 1u);
  address_lease a, b, v;
  ASSERT_TRUE(pool.acquire("a", a));
  EXPECT_EQ(format_ipv4(a.v4), "10.8.0.3");
  EXPECT_FALSE(pool.acquire("b", b)) << "10.8.0.2 is vip's only";
  ASSERT_TRUE(pool.acquire("vip", v));
  EXPECT_EQ(format_ipv4(v.v4), "10.8.0.2");
  pool.release(v);
  EXPECT_FALSE(pool.acquire("b", b)) << "still vip's after it left";
}

TEST(Pools, HostileNamesStayOutOfThePersistFile) {
  address_pool pool(subnet24());
  address_lease a, b;
  ASSERT_TRUE(pool.acquire("evil,10.8.0.9", a));
  ASSERT_TRUE(pool.acquire("line\nbreak", b));
  EXPECT_EQ(pool.persist_text(), "");
}

// A /16 (`server 10.0.0.0 255.255.0.0`): 60 000 clients connect, half leave, half come back.
// Each operation is O(1): the whole run takes milliseconds, not the minutes O(n) scans would.
TEST(Pools, Slash16With60000Clients) {
  pool_params p;
  p.v4 = std::make_pair(ip("10.0.0.2"), ip("10.0.255.254"));
  p.server_ip = ip("10.0.0.1");
  p.network = ip("10.0.0.0");
  p.netmask = ip("255.255.0.0");
  p.v6 = ipv6_net{ip6("fd00::1000"), 64};
  address_pool pool(p);
  EXPECT_EQ(pool.size(), 65533u);
  constexpr int n = 60000;
  std::vector<address_lease> l(n);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) ASSERT_TRUE(pool.acquire("c" + std::to_string(i), l[i]));
  EXPECT_EQ(format_ipv4(l[n - 1].v4), "10.0.234.97");
  for (int i = 0; i < n; i += 2) pool.release(l[i]);
  for (int i = 0; i < n; i += 2) ASSERT_TRUE(pool.acquire("c" + std::to_string(i), l[i]));
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(format_ipv4(l[2].v4), "10.0.0.4") << "each returning name got its own address";
  EXPECT_EQ(pool.in_use(), static_cast<uint32_t>(n));
  std::printf("[ info ] 90000 acquires + 30000 releases on a /16: %.1f ms\n", ms);
  EXPECT_LT(ms, 2000.0);
}

TEST(ConnectFreq, NPerWindow) {
  connect_freq_limit f(3, 10);
  EXPECT_TRUE(f.allow(100));
  EXPECT_TRUE(f.allow(100));
  EXPECT_TRUE(f.allow(105));
  EXPECT_FALSE(f.allow(109));
  EXPECT_FALSE(f.allow(109));
  EXPECT_TRUE(f.allow(110)) << "the window restarts 10 s after it began";
  EXPECT_TRUE(f.allow(111));
  EXPECT_TRUE(f.allow(119));
  EXPECT_FALSE(f.allow(119));
}

}  // namespace
