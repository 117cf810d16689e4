// SPDX-License-Identifier: MIT
// dp_routes: LPM semantics for IPv4 and IPv6, capacity and argument errors, and readers that stay
// correct while the single writer churns the tables (QSBR reclamation), plus a lookup benchmark.
#include "dpvpn/dp_routes.h"

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "eal_env.h"

namespace dpvpn::dp {
namespace {

using test::eal_ok;

[[maybe_unused]] auto* const env = ::testing::AddGlobalTestEnvironment(new test::eal_env("dpvpn-test-routes"));
using v6 = std::array<uint8_t, 16>;

constexpr uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

// 2001:db8:AAAA:BBBB::LAST, enough variety for the tests.
v6 ip6(uint16_t a, uint16_t b, uint16_t last = 0, uint8_t byte8 = 0) {
  v6 x{0x20, 0x01, 0x0d, 0xb8};
  x[4] = static_cast<uint8_t>(a >> 8);
  x[5] = static_cast<uint8_t>(a);
  x[6] = static_cast<uint8_t>(b >> 8);
  x[7] = static_cast<uint8_t>(b);
  x[8] = byte8;
  x[14] = static_cast<uint8_t>(last >> 8);
  x[15] = static_cast<uint8_t>(last);
  return x;
}

constexpr uint32_t k_miss = ~0u;
uint32_t look4(const route_tables* rt, uint32_t a) {
  uint32_t p = 0;
  return route_lookup_v4(rt, a, p) ? p : k_miss;
}
uint32_t look6(const route_tables* rt, const v6& a) {
  uint32_t p = 0;
  return route_lookup_v6(rt, a.data(), p) ? p : k_miss;
}

// A QSBR variable for up to two reader threads, and the tables on it.
struct fixture {
  rte_rcu_qsbr* qsbr = nullptr;
  route_tables* rt = nullptr;
  fixture(uint32_t max_v4, uint32_t max_v6) {
    const size_t sz = rte_rcu_qsbr_get_memsize(2);
    qsbr = static_cast<rte_rcu_qsbr*>(rte_zmalloc("test_qsbr", sz, RTE_CACHE_LINE_SIZE));
    if (!qsbr || rte_rcu_qsbr_init(qsbr, 2) != 0) return;
    std::string err;
    rt = routes_create(qsbr, max_v4, max_v6, err);
    EXPECT_NE(rt, nullptr) << err;
  }
  ~fixture() {
    routes_destroy(rt);
    rte_free(qsbr);
  }
};

TEST(routes, create_needs_qsbr) {
  ASSERT_TRUE(eal_ok);
  std::string err;
  EXPECT_EQ(routes_create(nullptr, 16, 16, err), nullptr);
  EXPECT_NE(err.find("QSBR"), std::string::npos);
}

TEST(routes, v4_most_specific_wins) {
  ASSERT_TRUE(eal_ok);
  fixture f(64, 64);
  ASSERT_NE(f.rt, nullptr);
  route_tables* rt = f.rt;
  EXPECT_EQ(look4(rt, ip4(10, 8, 0, 5)), k_miss);
  ASSERT_EQ(route_add_v4(rt, ip4(10, 8, 0, 0), 24, 1), 0);
  ASSERT_EQ(route_add_v4(rt, ip4(10, 8, 0, 5), 32, 2), 0);
  ASSERT_EQ(route_add_v4(rt, 0, 0, 3), 0);
  ASSERT_EQ(route_add_v4(rt, ip4(10, 8, 0, 128), 25, 4), 0);
  EXPECT_EQ(look4(rt, ip4(10, 8, 0, 5)), 2u);    // /32
  EXPECT_EQ(look4(rt, ip4(10, 8, 0, 6)), 1u);    // /24
  EXPECT_EQ(look4(rt, ip4(10, 8, 0, 200)), 4u);  // /25 inside the /24
  EXPECT_EQ(look4(rt, ip4(192, 0, 2, 1)), 3u);   // /0
  // Replace: same prefix, new peer.
  ASSERT_EQ(route_add_v4(rt, ip4(10, 8, 0, 0), 24, 7), 0);
  EXPECT_EQ(look4(rt, ip4(10, 8, 0, 6)), 7u);
  EXPECT_EQ(look4(rt, ip4(10, 8, 0, 5)), 2u);
  // Delete restores the shorter match.
  ASSERT_EQ(route_del_v4(rt, ip4(10, 8, 0, 5), 32), 0);
  EXPECT_EQ(look4(rt, ip4(10, 8, 0, 5)), 7u);
  ASSERT_EQ(route_del_v4(rt, ip4(10, 8, 0, 0), 24), 0);
  EXPECT_EQ(look4(rt, ip4(10, 8, 0, 5)), 3u);
  EXPECT_EQ(look4(rt, ip4(10, 8, 0, 200)), 4u);
  ASSERT_EQ(route_del_v4(rt, 0, 0), 0);
  EXPECT_EQ(look4(rt, ip4(10, 8, 0, 5)), k_miss);
  EXPECT_EQ(route_del_v4(rt, 0, 0), -ENOENT);
  EXPECT_EQ(route_del_v4(rt, ip4(10, 8, 0, 5), 32), -ENOENT);
}

TEST(routes, v4_bad_arguments) {
  ASSERT_TRUE(eal_ok);
  fixture f(64, 64);
  ASSERT_NE(f.rt, nullptr);
  EXPECT_EQ(route_add_v4(f.rt, ip4(10, 8, 0, 1), 24, 1), -EINVAL);  // host bits
  EXPECT_EQ(route_add_v4(f.rt, ip4(11, 0, 0, 0), 7, 1), -EINVAL);
  EXPECT_EQ(route_add_v4(f.rt, 1, 0, 1), -EINVAL);
  EXPECT_EQ(route_add_v4(f.rt, ip4(10, 8, 0, 1), 33, 1), -EINVAL);
  EXPECT_EQ(route_add_v4(f.rt, ip4(10, 8, 0, 1), 32, k_route_max_peer_id + 1), -EINVAL);
  EXPECT_EQ(route_add_v4(f.rt, ip4(10, 8, 0, 1), 32, k_route_max_peer_id), 0);
  EXPECT_EQ(look4(f.rt, ip4(10, 8, 0, 1)), k_route_max_peer_id);
  EXPECT_EQ(route_del_v4(f.rt, ip4(10, 8, 0, 1), 24), -EINVAL);
}

TEST(routes, v4_full_table) {
  ASSERT_TRUE(eal_ok);
  fixture f(4, 4);
  ASSERT_NE(f.rt, nullptr);
  for (uint8_t i = 1; i <= 4; ++i) ASSERT_EQ(route_add_v4(f.rt, ip4(10, 8, 0, i), 32, i), 0);
  EXPECT_EQ(route_add_v4(f.rt, ip4(10, 8, 0, 5), 32, 5), -ENOSPC);
  EXPECT_EQ(route_add_v4(f.rt, ip4(10, 9, 0, 0), 16, 5), -ENOSPC);
  EXPECT_EQ(route_add_v4(f.rt, ip4(10, 8, 0, 4), 32, 9), 0);  // replacing needs no room
  EXPECT_EQ(look4(f.rt, ip4(10, 8, 0, 4)), 9u);
  ASSERT_EQ(route_del_v4(f.rt, ip4(10, 8, 0, 1), 32), 0);
  EXPECT_EQ(route_add_v4(f.rt, ip4(10, 8, 0, 5), 32, 5), 0);
  EXPECT_EQ(look4(f.rt, ip4(10, 8, 0, 5)), 5u);
  EXPECT_EQ(look4(f.rt, ip4(10, 8, 0, 1)), k_miss);
}

TEST(routes, v6_most_specific_wins) {
  ASSERT_TRUE(eal_ok);
  fixture f(64, 64);
  ASSERT_NE(f.rt, nullptr);
  route_tables* rt = f.rt;
  const v6 host = ip6(1, 2, 0x1000), in64 = ip6(1, 2, 0x2000), in48 = ip6(1, 9, 7), other = ip6(7, 7, 7);
  EXPECT_EQ(look6(rt, host), k_miss);
  ASSERT_EQ(route_add_v6(rt, host.data(), 128, 1), 0);
  ASSERT_EQ(route_add_v6(rt, ip6(1, 2).data(), 64, 2), 0);
  ASSERT_EQ(route_add_v6(rt, ip6(1, 0).data(), 48, 3), 0);
  const v6 zero{};
  ASSERT_EQ(route_add_v6(rt, zero.data(), 0, 4), 0);
  EXPECT_EQ(look6(rt, host), 1u);
  EXPECT_EQ(look6(rt, in64), 2u);
  EXPECT_EQ(look6(rt, in48), 3u);
  EXPECT_EQ(look6(rt, other), 4u);
  // Prefix lengths that are not byte multiples: /57 covers byte 7's top bit.
  ASSERT_EQ(route_add_v6(rt, ip6(1, 0x0080).data(), 57, 5), 0);
  EXPECT_EQ(look6(rt, ip6(1, 0x00ff, 1)), 5u);
  EXPECT_EQ(look6(rt, ip6(1, 0x007f, 1)), 3u);
  // Replace, then delete back to the shorter match.
  ASSERT_EQ(route_add_v6(rt, ip6(1, 2).data(), 64, 8), 0);
  EXPECT_EQ(look6(rt, in64), 8u);
  ASSERT_EQ(route_add_v6(rt, host.data(), 128, 9), 0);
  EXPECT_EQ(look6(rt, host), 9u);
  ASSERT_EQ(route_del_v6(rt, host.data(), 128), 0);
  EXPECT_EQ(look6(rt, host), 8u);
  ASSERT_EQ(route_del_v6(rt, ip6(1, 2).data(), 64), 0);
  EXPECT_EQ(look6(rt, host), 3u);
  ASSERT_EQ(route_del_v6(rt, ip6(1, 0).data(), 48), 0);
  EXPECT_EQ(look6(rt, host), 4u);
  ASSERT_EQ(route_del_v6(rt, zero.data(), 0), 0);
  EXPECT_EQ(look6(rt, host), k_miss);
  EXPECT_EQ(route_del_v6(rt, zero.data(), 0), -ENOENT);
  EXPECT_EQ(route_del_v6(rt, host.data(), 128), -ENOENT);
}

TEST(routes, v6_many_prefixes_one_length) {
  ASSERT_TRUE(eal_ok);
  fixture f(64, 2000);
  ASSERT_NE(f.rt, nullptr);
  for (uint16_t i = 0; i < 1000; ++i) ASSERT_EQ(route_add_v6(f.rt, ip6(3, i).data(), 64, i), 0);
  for (uint16_t i = 0; i < 1000; ++i) ASSERT_EQ(look6(f.rt, ip6(3, i, 77, 0x55)), i);
  EXPECT_EQ(look6(f.rt, ip6(3, 1000, 77)), k_miss);
}

TEST(routes, v6_bad_arguments_and_full) {
  ASSERT_TRUE(eal_ok);
  fixture f(4, 3);
  ASSERT_NE(f.rt, nullptr);
  EXPECT_EQ(route_add_v6(f.rt, ip6(1, 2, 1).data(), 64, 1), -EINVAL);  // host bits
  EXPECT_EQ(route_add_v6(f.rt, ip6(1, 2, 0, 0x80).data(), 64, 1), -EINVAL);
  EXPECT_EQ(route_add_v6(f.rt, ip6(1, 2, 0, 0x80).data(), 65, 1), 0);
  EXPECT_EQ(route_add_v6(f.rt, ip6(1, 2).data(), 129, 1), -EINVAL);
  EXPECT_EQ(route_add_v6(f.rt, ip6(1, 2).data(), 64, k_route_max_peer_id + 1), -EINVAL);
  EXPECT_EQ(route_del_v6(f.rt, ip6(1, 2, 1).data(), 64), -EINVAL);
  ASSERT_EQ(route_add_v6(f.rt, ip6(1, 2, 1).data(), 128, 2), 0);
  ASSERT_EQ(route_add_v6(f.rt, ip6(1, 2, 2).data(), 128, 3), 0);  // 3 of 3 used
  EXPECT_EQ(route_add_v6(f.rt, ip6(1, 2, 3).data(), 128, 4), -ENOSPC);
  EXPECT_EQ(route_add_v6(f.rt, ip6(5, 0).data(), 48, 4), -ENOSPC);
  EXPECT_EQ(route_add_v6(f.rt, ip6(1, 2, 2).data(), 128, 6), 0);  // replace
  EXPECT_EQ(look6(f.rt, ip6(1, 2, 2)), 6u);
  ASSERT_EQ(route_del_v6(f.rt, ip6(1, 2, 0, 0x80).data(), 65), 0);
  EXPECT_EQ(route_add_v6(f.rt, ip6(5, 0).data(), 48, 4), 0);
  EXPECT_EQ(look6(f.rt, ip6(5, 0, 9)), 4u);
}

// One reader thread looks up continuously (reporting quiescent states) while this thread churns
// routes 100 000 times per family. Untouched prefixes must always answer exactly; churned ones
// must answer their own peer or the covering stable route, never another /24's peer (which is
// what a tbl8 group reused before the reader left it would produce).
TEST(routes, readers_during_churn) {
  ASSERT_TRUE(eal_ok);
  fixture f(4096, 4096);
  ASSERT_NE(f.rt, nullptr);
  route_tables* rt = f.rt;
  constexpr uint32_t k_cover = 100, k_host = 101, k_net6 = 102, k_host6 = 103;
  ASSERT_EQ(route_add_v4(rt, ip4(10, 9, 0, 0), 16, k_cover), 0);
  ASSERT_EQ(route_add_v4(rt, ip4(10, 9, 7, 1), 32, k_host), 0);
  ASSERT_EQ(route_add_v6(rt, ip6(9, 0).data(), 48, k_cover), 0);
  ASSERT_EQ(route_add_v6(rt, ip6(9, 1).data(), 64, k_net6), 0);
  ASSERT_EQ(route_add_v6(rt, ip6(9, 2, 1).data(), 128, k_host6), 0);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> wrong{0}, lookups{0};
  std::thread reader([&] {
    rte_rcu_qsbr_thread_register(f.qsbr, 0);
    rte_rcu_qsbr_thread_online(f.qsbr, 0);
    uint64_t n = 0, bad = 0;
    uint32_t k = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      bad += look4(rt, ip4(10, 9, 7, 1)) != k_host;
      bad += look4(rt, ip4(10, 9, 7, 2)) != k_cover;
      bad += look4(rt, ip4(10, 8, 1, 1)) != k_miss;
      bad += look6(rt, ip6(9, 1, 5)) != k_net6;
      bad += look6(rt, ip6(9, 2, 1)) != k_host6;
      bad += look6(rt, ip6(9, 2, 2)) != k_cover;
      // Churned: /24 number c (10.9.c.0) only ever routes to peer c or to the cover.
      const uint8_t c = static_cast<uint8_t>(k++ % 4);
      const uint32_t a = look4(rt, ip4(10, 9, c, static_cast<uint8_t>(k % 200)));
      bad += a != c && a != k_cover;
      const uint32_t b = look6(rt, ip6(9, 3, static_cast<uint16_t>(k % 64)));
      bad += b != k_cover && b != 1000 + k % 64;
      n += 9;
      rte_rcu_qsbr_quiescent(f.qsbr, 0);
    }
    wrong.store(bad);
    lookups.store(n);
    rte_rcu_qsbr_thread_offline(f.qsbr, 0);
    rte_rcu_qsbr_thread_unregister(f.qsbr, 0);
  });

  std::mt19937 rng(7);
  int failures = 0;
  for (int i = 0; i < 100000; ++i) {
    // IPv4: /25../32 routes in 10.9.0-3.x (each /24 its own peer), so tbl8 groups come and go.
    const uint8_t c = static_cast<uint8_t>(rng() % 4);
    const uint8_t len = static_cast<uint8_t>(25 + rng() % 8);
    const uint32_t net = ip4(10, 9, c, static_cast<uint8_t>(rng() % 200)) & (~0u << (32 - len));
    if (i % 2 == 0) failures += route_add_v4(rt, net, len, c) != 0;
    else route_del_v4(rt, net, len);  // -ENOENT is fine: a random prefix
    // IPv6: host routes in 2001:db8:9:3::/64 (peer 1000 + last), a /64 prefix every 64th op.
    const uint16_t h = static_cast<uint16_t>(rng() % 64);
    if (i % 2 == 0) failures += route_add_v6(rt, ip6(9, 3, h).data(), 128, 1000 + h) != 0;
    else route_del_v6(rt, ip6(9, 3, h).data(), 128);
    if (i % 64 == 0) {
      const v6 p = ip6(9, static_cast<uint16_t>(0x100 + rng() % 16));
      if (rng() % 2) failures += route_add_v6(rt, p.data(), 64, 2000) != 0;
      else route_del_v6(rt, p.data(), 64);
    }
  }
  stop.store(true);
  reader.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_GT(lookups.load(), 0u);
  std::printf("churn: 100000 v4 + 100000 v6 changes, %llu concurrent lookups, %llu wrong\n",
              static_cast<unsigned long long>(lookups.load()), static_cast<unsigned long long>(wrong.load()));
}

// Not a pass/fail check: ns per lookup with 60 000 clients' /32 routes in a /16, one core, and
// what the tables hold in memory.
TEST(routes, bench_60000_clients) {
  ASSERT_TRUE(eal_ok);
  constexpr uint32_t n = 60000;
  fixture f(n + 4096, n + 4096);
  ASSERT_NE(f.rt, nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(route_add_v4(f.rt, ip4(10, 8, 0, 0) + 2 + i, 32, i), 0);
  const auto t1 = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < n; ++i) {
    v6 a = ip6(8, 0, static_cast<uint16_t>(0x1000 + i));
    a[13] = static_cast<uint8_t>(i >> 16);
    ASSERT_EQ(route_add_v6(f.rt, a.data(), 128, i), 0);
  }
  for (uint16_t i = 0; i < 8; ++i) ASSERT_EQ(route_add_v6(f.rt, ip6(0x100, static_cast<uint16_t>(i << 8)).data(), 56, n + i), 0);
  const auto t2 = std::chrono::steady_clock::now();

  std::mt19937 rng(1);
  constexpr size_t k = 1 << 16, rounds = 64;
  std::vector<uint32_t> q4(k);
  std::vector<v6> q6(k);
  for (size_t i = 0; i < k; ++i) {
    const uint32_t j = rng() % n;
    q4[i] = ip4(10, 8, 0, 0) + 2 + j;
    q6[i] = ip6(8, 0, static_cast<uint16_t>(0x1000 + j));
    q6[i][13] = static_cast<uint8_t>(j >> 16);
  }
  uint64_t sum = 0;
  const auto t3 = std::chrono::steady_clock::now();
  for (size_t r = 0; r < rounds; ++r)
    for (size_t i = 0; i < k; ++i) sum += look4(f.rt, q4[i]);
  const auto t4 = std::chrono::steady_clock::now();
  for (size_t r = 0; r < rounds / 8; ++r)
    for (size_t i = 0; i < k; ++i) sum += look6(f.rt, q6[i]);
  const auto t5 = std::chrono::steady_clock::now();
  for (size_t r = 0; r < rounds / 8; ++r)  // a miss walks the host hash and every prefix level
    for (size_t i = 0; i < k; ++i) sum += look6(f.rt, ip6(0x200, static_cast<uint16_t>(i)));
  const auto t6 = std::chrono::steady_clock::now();
  EXPECT_NE(sum, 0u);
  auto ns = [](auto a, auto b, double ops) { return std::chrono::duration<double, std::nano>(b - a).count() / ops; };
  const route_mem m = routes_memory(f.rt);
  std::printf("v4: %u /32 adds %.0f us each; lookup %.1f ns (random hits)\n"
              "v6: %u /128 + 8 /56 adds %.1f us each; lookup %.1f ns (host hit), %.1f ns (miss)\n"
              "memory: v4 %.1f MiB, v6 %.1f MiB\n",
              n, ns(t0, t1, n) / 1000, ns(t3, t4, double(k) * rounds), n, ns(t1, t2, n + 8) / 1000,
              ns(t4, t5, double(k) * rounds / 8), ns(t5, t6, double(k) * rounds / 8), m.v4_bytes / 1048576.0,
              m.v6_bytes / 1048576.0);
}

}  // namespace
}  // namespace dpvpn::dp
