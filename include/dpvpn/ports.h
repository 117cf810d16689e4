// SPDX-License-Identifier: MIT
// Port bring-up: the mbuf pool, WAN/exception ethdev configuration, and the RSS queue predictor.
#pragma once

#include <cstdint>
#include <string>

// Forward declaration keeps this header free of DPDK includes (it compiles on its own).
struct rte_mempool;

namespace dpvpn::dp {

// Private area behind every rte_mbuf header: per-packet metadata (peer, key slot, drop reason),
// reached through one typed accessor in the dataplane. Multiple of RTE_MBUF_PRIV_ALIGN (8).
inline constexpr uint16_t k_mbuf_priv_size = 64;
// Per-lcore mempool cache. create_mbuf_pool clamps it for small pools (DPDK needs n >= 1.5 x cache).
inline constexpr uint32_t k_mbuf_cache_size = 256;
// Data room after the 128-byte headroom: RTE_MBUF_DEFAULT_DATAROOM (2048) covers a 1500-byte MTU
// plus the OpenVPN overhead, and af_packet refuses rx queues below ~2016 bytes.
inline constexpr uint16_t k_mbuf_data_room = 2048 + 128;
// Largest RETA we keep a copy of (RTE_ETH_RSS_RETA_SIZE_512); bigger tables are reported off.
inline constexpr uint16_t k_max_reta = 512;
// Largest RSS hash key we keep (40 bytes is common, 52 on i40e/ice).
inline constexpr uint8_t k_max_rss_key = 64;

// Control thread only, after rte_eal_init. Returns nullptr and fills err on failure.
rte_mempool* create_mbuf_pool(const char* name, uint32_t n_mbufs, int socket, std::string& err);

// Mbufs to size a pool for: every rx descriptor filled, every tx descriptor in flight, every ring
// of ring_size that carries mbufs full (one handoff ring per ordered lcore pair, the punt ring, one
// ctl_tx ring per lcore), one cache and two bursts per lcore.
// Rounded up to 2^q - 1, the size rte_mempool stores best.
// extra_rings: more rings of ring_size that can fill with mbufs (priority punt, the LAN's), and
// extra_mbufs: mbufs held elsewhere (the LAN resolver's queues).
uint32_t mbufs_needed(uint16_t lcores, uint16_t wan_queues, uint16_t exc_queues, uint16_t rx_desc,
                      uint16_t tx_desc, uint16_t ring_size, uint16_t extra_rings = 0, uint32_t extra_mbufs = 0);

struct port_conf {
  uint16_t port_id = 0;
  uint16_t queues = 1;        // rx and tx queues alike: one per worker lcore
  uint16_t rx_desc = 1024;    // adjusted to the device limits (rte_eth_dev_adjust_nb_rx_tx_desc)
  uint16_t tx_desc = 1024;
  rte_mempool* pool = nullptr;
  // Spread on the outer UDP 4-tuple when the device can. false for exception ports: net_tap claims
  // RSS (BPF flow rules, often unavailable) but the kernel's automq picks the queue anyway.
  bool want_rss = true;
  // The RSS hash types wanted (RTE_ETH_RSS_*); 0: the outer UDP 4-tuple (the WAN). A LAN port
  // spreads plain IP traffic: IPv4/IPv6 with TCP and UDP ports.
  uint64_t rss_types = 0;
  // Ask the device to compute outer IPv4 header and UDP checksums on TX, when it can (the WAN).
  bool want_tx_csum = false;
};

// What setup_port learned; the control plane keeps it to predict the owner lcore of a client.
struct port_info {
  uint16_t port_id = 0;
  uint16_t queues = 0;
  uint16_t rx_desc = 0;       // after adjustment
  uint16_t tx_desc = 0;
  int socket = -1;            // NUMA node of the device, -1 if unknown
  uint8_t mac[6] = {};
  bool promiscuous = false;   // false where the PMD has no promiscuous mode (net_tun)
  bool rss_on = false;        // RSS configured on >1 queue with a UDP hash type
  uint64_t rss_hf = 0;        // RTE_ETH_RSS_* actually enabled
  uint8_t rss_key_len = 0;    // 0: key unreadable, rss_queue_for cannot predict
  alignas(4) uint8_t rss_key[k_max_rss_key] = {};  // rte_softrss reads it as 32-bit words
  uint16_t reta_size = 0;     // 0: no RETA readable
  uint16_t reta[k_max_reta] = {};  // queue per RETA entry, read back after start
  bool tx_csum = false;       // TX checksum offload on: IPv4 header and UDP (both families)
  char driver[32] = {};       // PMD name, for logs
};

// Configures port.queues rx/tx queues, RSS on the outer IPv4/IPv6 UDP 4-tuple if supported and
// wanted, starts the port, reads its MAC, RSS key and RETA, enables promiscuous mode where the PMD
// has one. Control thread only, before the workers poll the port. Returns 0, or a negative errno
// with err naming the port and the step that failed.
int setup_port(const port_conf& conf, port_info& out, std::string& err);

// Stops and closes a port (a vdev's ethdev is released on close). Control thread only.
int close_port(uint16_t port_id, std::string& err);

// The rx queue the NIC puts an outer IPv4 UDP datagram on (all arguments host byte order), computed
// with the port's key (Toeplitz, rte_softrss) and RETA so it matches the hardware. 0 when RSS is off
// or the key is unknown.
uint16_t rss_queue_for(const port_info& info, uint32_t src_ip, uint32_t dst_ip, uint16_t sport,
                       uint16_t dport);
// Same for outer IPv6 (addresses in network byte order as on the wire, ports host order).
uint16_t rss_queue_for6(const port_info& info, const uint8_t src_ip[16], const uint8_t dst_ip[16],
                        uint16_t sport, uint16_t dport);

// The first valid ethdev that is neither exclude_port (the exception port) nor exclude2 (the LAN
// port, -1 for none), or -1 if there is none.
int find_wan_port(uint16_t exclude_port, int exclude2 = -1);

}  // namespace dpvpn::dp
