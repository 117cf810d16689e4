// SPDX-License-Identifier: MIT
// Port bring-up: mbuf pool sizing, ethdev configuration with outer-UDP RSS, RSS queue prediction.
#include "dpvpn/ports.h"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_thash.h>

#include <algorithm>
#include <cstring>

namespace dpvpn::dp {

static_assert(k_mbuf_priv_size % RTE_MBUF_PRIV_ALIGN == 0, "mbuf private area must stay aligned");
static_assert(k_mbuf_data_room >= RTE_MBUF_DEFAULT_BUF_SIZE, "data room below the DPDK default");
static_assert(k_max_reta == RTE_ETH_RSS_RETA_SIZE_512, "RETA copy sized for the largest table");

namespace {

// The Toeplitz key most NICs ship with (Microsoft RSS verification key), repeated past 40 bytes.
// Programming it ourselves keeps rss_queue_for right even where the PMD cannot report its key.
constexpr uint8_t k_default_rss_key[40] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

// Outer UDP only: OpenVPN data arrives as UDP; everything else hashes to RETA entry 0.
constexpr uint64_t k_rss_udp = RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV6_UDP;

int fail(std::string& err, const port_info& p, const char* step, int rc) {
  err = "port " + std::to_string(p.port_id) + " (" + p.driver + "): " + step + ": " +
        rte_strerror(rc < 0 ? -rc : rc);
  return rc < 0 ? rc : -rc;
}

uint32_t round_up_pow2_minus1(uint64_t n) {
  uint64_t v = 1;
  while (v - 1 < n) v <<= 1;
  return static_cast<uint32_t>(std::min<uint64_t>(v - 1, UINT32_MAX));
}

// Program an even RETA (entry i -> queue i % queues) and read it back; the read-back is what the
// hardware uses. Leaves reta_size 0 if the table cannot be read.
void load_reta(const rte_eth_dev_info& dev, port_info& p) {
  uint16_t size = dev.reta_size;
  if (size == 0 || size > k_max_reta || size % RTE_ETH_RETA_GROUP_SIZE != 0) return;
  rte_eth_rss_reta_entry64 conf[k_max_reta / RTE_ETH_RETA_GROUP_SIZE] = {};
  uint16_t groups = size / RTE_ETH_RETA_GROUP_SIZE;
  for (uint16_t i = 0; i < size; ++i) {
    conf[i / RTE_ETH_RETA_GROUP_SIZE].mask = ~0ULL;
    conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] = i % p.queues;
  }
  (void)rte_eth_dev_rss_reta_update(p.port_id, conf, size);  // not all PMDs allow it; the query decides
  for (uint16_t g = 0; g < groups; ++g) conf[g].mask = ~0ULL;
  if (rte_eth_dev_rss_reta_query(p.port_id, conf, size) != 0) return;
  for (uint16_t i = 0; i < size; ++i)
    p.reta[i] = conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
  p.reta_size = size;
}

// Read the key back; fall back to the key we programmed when the PMD cannot report it.
void load_rss_key(const rte_eth_dev_info& dev, const uint8_t* programmed, uint8_t programmed_len,
                  port_info& p) {
  uint8_t key[k_max_rss_key] = {};
  rte_eth_rss_conf rc = {};
  rc.rss_key = key;
  rc.rss_key_len = dev.hash_key_size ? dev.hash_key_size : sizeof(k_default_rss_key);
  if (rc.rss_key_len <= k_max_rss_key && rte_eth_dev_rss_hash_conf_get(p.port_id, &rc) == 0 &&
      rc.rss_key_len >= 16 && rc.rss_key_len <= k_max_rss_key) {
    std::memcpy(p.rss_key, key, rc.rss_key_len);
    p.rss_key_len = rc.rss_key_len;
    if (rc.rss_hf) p.rss_hf = rc.rss_hf;
    return;
  }
  if (programmed_len) {
    std::memcpy(p.rss_key, programmed, programmed_len);
    p.rss_key_len = programmed_len;
  }
}

uint32_t load_be32(const uint8_t* b) {
  return uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3];
}

uint16_t reta_lookup(const port_info& p, uint32_t hash) {
  return p.reta[hash % p.reta_size];
}

bool can_predict(const port_info& p) { return p.rss_on && p.rss_key_len >= 40 && p.reta_size; }

}  // namespace

rte_mempool* create_mbuf_pool(const char* name, uint32_t n_mbufs, int socket, std::string& err) {
  // rte_mempool_create rejects a cache larger than n / 1.5.
  uint32_t cache = std::min<uint32_t>(k_mbuf_cache_size, n_mbufs * 2 / 3);
  rte_mempool* mp = rte_pktmbuf_pool_create(name, n_mbufs, cache, k_mbuf_priv_size, k_mbuf_data_room,
                                            socket < 0 ? SOCKET_ID_ANY : socket);
  if (!mp)
    err = std::string("mbuf pool ") + name + " (" + std::to_string(n_mbufs) + " mbufs of " +
          std::to_string(k_mbuf_data_room) + " B): " + rte_strerror(rte_errno);
  return mp;
}

uint32_t mbufs_needed(uint16_t lcores, uint16_t wan_queues, uint16_t exc_queues, uint16_t rx_desc,
                      uint16_t tx_desc, uint16_t ring_size, uint16_t extra_rings, uint32_t extra_mbufs) {
  uint64_t per_queue = uint64_t(rx_desc) + tx_desc;
  uint64_t n = (uint64_t(wan_queues) + exc_queues) * per_queue;
  // Every ring that carries mbufs, all full: one handoff ring per ordered lcore pair, the punt ring
  // (workers -> control thread) and one ctl_tx ring per lcore (control thread -> worker).
  const uint64_t rings = uint64_t(lcores) * (lcores - 1) + 1 + lcores + extra_rings;
  n += rings * ring_size;
  // A mempool cache holds up to 1.5x its size; each worker holds two bursts (rx + tx) of 32;
  // one more cache for the main lcore, which sends ARP replies and control packets.
  n += (uint64_t(lcores) + 1) * (k_mbuf_cache_size * 3 / 2 + 2 * 32);
  n += extra_mbufs;
  return round_up_pow2_minus1(n);
}

int setup_port(const port_conf& c, port_info& out, std::string& err) {
  out = port_info{};
  out.port_id = c.port_id;
  std::strcpy(out.driver, "?");
  if (!rte_eth_dev_is_valid_port(c.port_id)) return fail(err, out, "lookup", -ENODEV);
  if (!c.pool || c.queues == 0) return fail(err, out, "arguments (pool, queues)", -EINVAL);

  rte_eth_dev_info dev{};
  int rc = rte_eth_dev_info_get(c.port_id, &dev);
  if (rc != 0) return fail(err, out, "rte_eth_dev_info_get", rc);
  if (dev.driver_name) std::snprintf(out.driver, sizeof out.driver, "%s", dev.driver_name);
  if (c.queues > dev.max_rx_queues || c.queues > dev.max_tx_queues) {
    fail(err, out, "queue count", -EINVAL);
    err += " (asked " + std::to_string(c.queues) + ", device has " +
           std::to_string(std::min(dev.max_rx_queues, dev.max_tx_queues)) + ")";
    return -EINVAL;
  }
  out.queues = c.queues;

  rte_eth_conf conf{};
  uint8_t key[k_max_rss_key] = {};
  uint8_t key_len = 0;
  uint64_t hf = c.want_rss && c.queues > 1 ? (c.rss_types ? c.rss_types : k_rss_udp) & dev.flow_type_rss_offloads : 0;
  if (hf) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = hf;
    if (dev.hash_key_size >= sizeof(k_default_rss_key) && dev.hash_key_size <= k_max_rss_key) {
      key_len = dev.hash_key_size;
      for (uint8_t i = 0; i < key_len; ++i) key[i] = k_default_rss_key[i % sizeof(k_default_rss_key)];
      conf.rx_adv_conf.rss_conf.rss_key = key;
      conf.rx_adv_conf.rss_conf.rss_key_len = key_len;
    }
  }
  constexpr uint64_t k_tx_csum = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  if (c.want_tx_csum && (dev.tx_offload_capa & k_tx_csum) == k_tx_csum) {
    conf.txmode.offloads |= k_tx_csum;
    out.tx_csum = true;
  }
  rc = rte_eth_dev_configure(c.port_id, c.queues, c.queues, &conf);
  if (rc != 0) return fail(err, out, "rte_eth_dev_configure", rc);

  out.rx_desc = c.rx_desc;
  out.tx_desc = c.tx_desc;
  rc = rte_eth_dev_adjust_nb_rx_tx_desc(c.port_id, &out.rx_desc, &out.tx_desc);
  if (rc != 0) return fail(err, out, "rte_eth_dev_adjust_nb_rx_tx_desc", rc);

  out.socket = rte_eth_dev_socket_id(c.port_id);
  unsigned socket = out.socket < 0 ? unsigned(SOCKET_ID_ANY) : unsigned(out.socket);
  for (uint16_t q = 0; q < c.queues; ++q) {
    rc = rte_eth_rx_queue_setup(c.port_id, q, out.rx_desc, socket, nullptr, c.pool);
    if (rc != 0) return fail(err, out, ("rx queue " + std::to_string(q) + " setup").c_str(), rc);
    rc = rte_eth_tx_queue_setup(c.port_id, q, out.tx_desc, socket, nullptr);
    if (rc != 0) return fail(err, out, ("tx queue " + std::to_string(q) + " setup").c_str(), rc);
  }

  rc = rte_eth_dev_start(c.port_id);
  if (rc != 0) return fail(err, out, "rte_eth_dev_start", rc);

  rte_ether_addr mac{};
  rc = rte_eth_macaddr_get(c.port_id, &mac);
  if (rc != 0) {
    rte_eth_dev_stop(c.port_id);
    return fail(err, out, "rte_eth_macaddr_get", rc);
  }
  std::memcpy(out.mac, mac.addr_bytes, sizeof out.mac);

  // The gateway answers ARP for its own address and receives client frames sent to it; promiscuous
  // mode also keeps frames to a virtual MAC. Some PMDs (net_null, net_ring) have no such mode.
  rc = rte_eth_promiscuous_enable(c.port_id);
  if (rc != 0 && rc != -ENOTSUP) {
    rte_eth_dev_stop(c.port_id);
    return fail(err, out, "rte_eth_promiscuous_enable", rc);
  }
  out.promiscuous = rc == 0;

  if (hf) {
    out.rss_on = true;
    out.rss_hf = hf;
    load_rss_key(dev, key, key_len, out);
    load_reta(dev, out);
  }
  return 0;
}

int close_port(uint16_t port_id, std::string& err) {
  if (!rte_eth_dev_is_valid_port(port_id)) {
    err = "port " + std::to_string(port_id) + ": close: " + rte_strerror(ENODEV);
    return -ENODEV;
  }
  int rc = rte_eth_dev_stop(port_id);
  if (rc != 0 && rc != -ENOTSUP) {
    err = "port " + std::to_string(port_id) + ": rte_eth_dev_stop: " + rte_strerror(-rc);
    return rc;
  }
  rc = rte_eth_dev_close(port_id);
  if (rc != 0) {
    err = "port " + std::to_string(port_id) + ": rte_eth_dev_close: " + rte_strerror(-rc);
    return rc;
  }
  return 0;
}

uint16_t rss_queue_for(const port_info& info, uint32_t src_ip, uint32_t dst_ip, uint16_t sport,
                       uint16_t dport) {
  if (!can_predict(info) || !(info.rss_hf & RTE_ETH_RSS_NONFRAG_IPV4_UDP)) return 0;
  // rte_softrss takes the tuple as host-order 32-bit words: src, dst, sport << 16 | dport.
  uint32_t tuple[RTE_THASH_V4_L4_LEN] = {src_ip, dst_ip, uint32_t(sport) << 16 | dport};
  return reta_lookup(info, rte_softrss(tuple, RTE_THASH_V4_L4_LEN, info.rss_key));
}

uint16_t rss_queue_for6(const port_info& info, const uint8_t src_ip[16], const uint8_t dst_ip[16],
                        uint16_t sport, uint16_t dport) {
  if (!can_predict(info) || !(info.rss_hf & RTE_ETH_RSS_NONFRAG_IPV6_UDP)) return 0;
  uint32_t tuple[RTE_THASH_V6_L4_LEN];
  for (int i = 0; i < 4; ++i) {
    tuple[i] = load_be32(src_ip + 4 * i);
    tuple[4 + i] = load_be32(dst_ip + 4 * i);
  }
  tuple[8] = uint32_t(sport) << 16 | dport;
  return reta_lookup(info, rte_softrss(tuple, RTE_THASH_V6_L4_LEN, info.rss_key));
}

int find_wan_port(uint16_t exclude_port, int exclude2) {
  uint16_t p;
  RTE_ETH_FOREACH_DEV(p) {
    if (p != exclude_port && p != exclude2) return p;
  }
  return -1;
}

}  // namespace dpvpn::dp
