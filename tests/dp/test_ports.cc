// SPDX-License-Identifier: MIT
// dp tier: mbuf pool sizing, setup_port on net_ring / net_null vdevs, RSS prediction, WAN port pick.
#include "dpvpn/ports.h"

#include <rte_bus_vdev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstring>

#include "eal_env.h"

namespace dpvpn::test {
namespace {

[[maybe_unused]] auto* const env =
    ::testing::AddGlobalTestEnvironment(new eal_env("dpvpn-test-ports"));

uint16_t make_vdev(const char* name, const char* args = "") {
  EXPECT_EQ(rte_vdev_init(name, args), 0) << name;
  uint16_t port = RTE_MAX_ETHPORTS;
  EXPECT_EQ(rte_eth_dev_get_port_by_name(name, &port), 0) << name;
  return port;
}

void drop_vdev(const char* name) {
  uint16_t port;
  if (rte_eth_dev_get_port_by_name(name, &port) == 0) {
    std::string err;
    EXPECT_EQ(dp::close_port(port, err), 0) << err;
  }
  rte_vdev_uninit(name);
}

bool is_pow2_minus1(uint32_t n) { return ((uint64_t(n) + 1) & n) == 0; }

TEST(pool, mbufs_needed_counts_queues_rings_and_caches) {
  // 2 lcores, 2+2 queues of 1024+1024, rings of 1024: 2 handoff (ordered lcore pairs), 1 punt,
  // 2 ctl_tx; 3 caches of 384 + 64: 8192 + 5120 + 1344 = 14656 -> 16383.
  EXPECT_EQ(dp::mbufs_needed(2, 2, 2, 1024, 1024, 1024), 16383u);
  // 1 lcore: no handoff rings; punt and ctl_tx. 2048 + 2048 + 2 * 448 = 4992 -> 8191.
  EXPECT_EQ(dp::mbufs_needed(1, 1, 1, 512, 512, 1024), 8191u);
  // The punt and ctl_tx rings alone: 2 * 1600 + 896 = 4096 -> 8191 (not 1023).
  EXPECT_EQ(dp::mbufs_needed(1, 0, 0, 0, 0, 1600), 8191u);
  EXPECT_EQ(dp::mbufs_needed(1, 0, 0, 0, 0, 1599), 4095u);
  // 4 lcores, rings of 256: 12 handoff + 1 punt + 4 ctl_tx = 17 rings = 4352, + 5 * 448 = 6592.
  EXPECT_EQ(dp::mbufs_needed(4, 0, 0, 0, 0, 256), 8191u);
  // Exactly 2^12 - 1 needed (3199 + 2 * 448) stays; one more doubles.
  EXPECT_EQ(dp::mbufs_needed(1, 1, 0, 3199, 0, 0), 4095u);
  EXPECT_EQ(dp::mbufs_needed(1, 1, 0, 3200, 0, 0), 8191u);
  uint32_t prev = 0;
  for (uint16_t l = 1; l <= 16; ++l) {
    uint32_t n = dp::mbufs_needed(l, l, l, 1024, 1024, 512);
    EXPECT_TRUE(is_pow2_minus1(n)) << n;
    EXPECT_GE(n, uint32_t(2) * l * 2048);
    EXPECT_GE(n, prev);
    prev = n;
  }
}

TEST(pool, create_uses_priv_size_data_room_and_clamped_cache) {
  ASSERT_TRUE(eal_ok);
  std::string err;
  rte_mempool* mp = dp::create_mbuf_pool("pool_big", 1023, 0, err);
  ASSERT_NE(mp, nullptr) << err;
  EXPECT_EQ(rte_pktmbuf_priv_size(mp), dp::k_mbuf_priv_size);
  EXPECT_EQ(rte_pktmbuf_data_room_size(mp), dp::k_mbuf_data_room);
  EXPECT_GE(rte_pktmbuf_data_room_size(mp) - RTE_PKTMBUF_HEADROOM, 2016);  // af_packet's minimum
  EXPECT_EQ(mp->cache_size, dp::k_mbuf_cache_size);
  EXPECT_EQ(rte_mempool_avail_count(mp), 1023u);

  // Same name again: refused, and the error names the pool.
  rte_mempool* dup = dp::create_mbuf_pool("pool_big", 1023, 0, err);
  EXPECT_EQ(dup, nullptr);
  EXPECT_NE(err.find("pool_big"), std::string::npos) << err;
  rte_mempool_free(mp);

  // A pool too small for a 256 cache still works (cache <= n / 1.5).
  mp = dp::create_mbuf_pool("pool_tiny", 15, SOCKET_ID_ANY, err);
  ASSERT_NE(mp, nullptr) << err;
  EXPECT_LE(mp->cache_size * 3 / 2, 15u);
  rte_mempool_free(mp);
}

TEST(ports, ring_loopback_two_queues) {
  ASSERT_TRUE(eal_ok);
  uint16_t port = make_vdev("net_ring7");
  dp::port_conf conf{.port_id = port, .queues = 2, .rx_desc = 512, .tx_desc = 512, .pool = test_pool};
  dp::port_info info;
  std::string err;
  ASSERT_EQ(dp::setup_port(conf, info, err), 0) << err;
  EXPECT_EQ(info.port_id, port);
  EXPECT_EQ(info.queues, 2);
  EXPECT_GT(info.rx_desc, 0);
  EXPECT_FALSE(info.rss_on);  // net_ring has no RSS: everything is queue 0 to the predictor
  EXPECT_EQ(dp::rss_queue_for(info, 0x0a000001, 0x0a000002, 1194, 1194), 0);
  EXPECT_STREQ(info.driver, "net_ring");

  // net_ring loops each tx queue back into the rx queue of the same index.
  for (uint16_t q = 0; q < 2; ++q) {
    rte_mbuf* m = rte_pktmbuf_alloc(test_pool);
    ASSERT_NE(m, nullptr);
    char* d = rte_pktmbuf_append(m, 60);
    ASSERT_NE(d, nullptr);
    for (int i = 0; i < 60; ++i) d[i] = static_cast<char>(i + q);
    ASSERT_EQ(rte_eth_tx_burst(port, q, &m, 1), 1);
    rte_mbuf* rx[4];
    ASSERT_EQ(rte_eth_rx_burst(port, q, rx, 4), 1) << "queue " << q;
    ASSERT_EQ(rte_pktmbuf_pkt_len(rx[0]), 60u);
    EXPECT_EQ(rte_pktmbuf_mtod(rx[0], char*)[59], static_cast<char>(59 + q));
    rte_pktmbuf_free(rx[0]);
    EXPECT_EQ(rte_eth_rx_burst(port, 1 - q, rx, 4), 0) << "no cross-queue leak";
  }

  // Reconfiguring a started port fails; the error names port and step.
  EXPECT_LT(dp::setup_port(conf, info, err), 0);
  EXPECT_NE(err.find("port " + std::to_string(port)), std::string::npos) << err;
  EXPECT_NE(err.find("rte_eth_dev_configure"), std::string::npos) << err;
  drop_vdev("net_ring7");
}

TEST(ports, null_four_queues_rx_and_tx) {
  ASSERT_TRUE(eal_ok);
  uint16_t port = make_vdev("net_null7");
  dp::port_conf conf{.port_id = port, .queues = 4, .pool = test_pool};
  dp::port_info info;
  std::string err;
  ASSERT_EQ(dp::setup_port(conf, info, err), 0) << err;
  unsigned before = rte_mempool_avail_count(test_pool);
  for (uint16_t q = 0; q < 4; ++q) {
    rte_mbuf* pkts[8];
    uint16_t n = rte_eth_rx_burst(port, q, pkts, 8);
    EXPECT_EQ(n, 8) << "net_null fills every rx burst";
    EXPECT_EQ(rte_eth_tx_burst(port, q, pkts, n), n);  // net_null frees what it sends
  }
  EXPECT_EQ(rte_mempool_avail_count(test_pool), before) << "no mbuf leaked";
  drop_vdev("net_null7");
}

TEST(ports, setup_errors_name_port_and_step) {
  ASSERT_TRUE(eal_ok);
  dp::port_info info;
  std::string err;
  dp::port_conf bad{.port_id = 200, .queues = 1, .pool = test_pool};
  EXPECT_EQ(dp::setup_port(bad, info, err), -ENODEV);
  EXPECT_NE(err.find("port 200"), std::string::npos) << err;

  uint16_t port = make_vdev("net_ring8");
  dp::port_conf no_pool{.port_id = port, .queues = 1, .pool = nullptr};
  EXPECT_EQ(dp::setup_port(no_pool, info, err), -EINVAL);
  dp::port_conf too_many{.port_id = port, .queues = 17, .pool = test_pool};  // net_ring has 16
  EXPECT_EQ(dp::setup_port(too_many, info, err), -EINVAL);
  EXPECT_NE(err.find("queue count"), std::string::npos) << err;
  EXPECT_NE(err.find("asked 17"), std::string::npos) << err;
  drop_vdev("net_ring8");
}

// Microsoft's RSS verification vectors (Toeplitz with the default key), UDP hashed like TCP:
// "Verifying the RSS Hash Calculation", IPv4 with TCP ports and IPv6 with TCP ports.
TEST(rss, queue_matches_toeplitz_known_answers) {
  static constexpr uint8_t key[40] = {
      0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
      0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
      0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
  dp::port_info info;
  info.rss_on = true;
  info.rss_hf = RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV6_UDP;
  std::memcpy(info.rss_key, key, sizeof key);
  info.rss_key_len = sizeof key;
  info.reta_size = 128;
  for (uint16_t i = 0; i < 128; ++i) info.reta[i] = i;  // queue == low 7 bits of the hash

  struct v4 { uint32_t src, dst; uint16_t sport, dport; uint32_t hash; };
  const v4 cases[] = {
      {0x420995bb, 0xa18e6450, 2794, 1766, 0x51ccc178},   // 66.9.149.187 -> 161.142.100.80
      {0xc75c6f02, 0x41458c53, 14230, 4739, 0xc626b0ea},  // 199.92.111.2 -> 65.69.140.83
      {0x1813c65f, 0x0c16cfb8, 12898, 38024, 0x5c2b394a}, // 24.19.198.95 -> 12.22.207.184
      {0x261bcd1e, 0xd18ea306, 48228, 2217, 0xafc7327f},  // 38.27.205.30 -> 209.142.163.6
      {0x9927a3bf, 0xcabc7f02, 44251, 1303, 0x10e828a2},  // 153.39.163.191 -> 202.188.127.2
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    const v4& c = cases[i];
    EXPECT_EQ(dp::rss_queue_for(info, c.src, c.dst, c.sport, c.dport), c.hash & 127) << "case " << i;
  }

  // 3ffe:2501:200:1fff::7 port 2794 -> 3ffe:2501:200:3::1 port 1766: hash 0x40207d3d.
  const uint8_t src6[16] = {0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, 7};
  const uint8_t dst6[16] = {0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(dp::rss_queue_for6(info, src6, dst6, 2794, 1766), 0x40207d3d & 127);

  // A 4-queue RETA folds the same hash.
  for (uint16_t i = 0; i < 128; ++i) info.reta[i] = i % 4;
  EXPECT_EQ(dp::rss_queue_for(info, cases[1].src, cases[1].dst, cases[1].sport, cases[1].dport),
            (0xc626b0ea & 127) % 4);

  // Off, or without a key: queue 0.
  info.rss_on = false;
  EXPECT_EQ(dp::rss_queue_for(info, cases[1].src, cases[1].dst, cases[1].sport, cases[1].dport), 0);
  info.rss_on = true;
  info.rss_key_len = 0;
  EXPECT_EQ(dp::rss_queue_for6(info, src6, dst6, 2794, 1766), 0);
}

TEST(ports, find_wan_port_skips_the_exception_port) {
  ASSERT_TRUE(eal_ok);
  uint16_t a = make_vdev("net_null8");
  uint16_t b = make_vdev("net_ring9");
  ASSERT_NE(a, b);
  uint16_t first = std::min(a, b);
  EXPECT_EQ(dp::find_wan_port(a), a == first ? b : first);
  EXPECT_EQ(dp::find_wan_port(b), b == first ? a : first);
  EXPECT_EQ(dp::find_wan_port(RTE_MAX_ETHPORTS), first);
  drop_vdev("net_ring9");
  // Every other test removes its vdevs, so only the "exception" port is left: no WAN port.
  ASSERT_EQ(rte_eth_dev_count_avail(), 1u);
  EXPECT_EQ(dp::find_wan_port(a), -1);
  EXPECT_EQ(dp::find_wan_port(RTE_MAX_ETHPORTS), a);
  drop_vdev("net_null8");
  EXPECT_EQ(dp::find_wan_port(RTE_MAX_ETHPORTS), -1);
}

}  // namespace
}  // namespace dpvpn::test
