// SPDX-License-Identifier: MIT
// The LAN port (docs/dataplane.md, "The LAN port"): `dp-lan` puts a second ethdev in the
// dataplane, so that clients' traffic to a LAN behind the gateway never crosses the kernel.
//  - lan_conf: what the workers need to know about the port (in dp_config, immutable).
//  - lan_routes: the LAN's connected prefix and the `dp-route` static routes, built once at
//    start-up and never changed, so the workers read them without any synchronisation.
//  - neigh_table: next hop IP -> MAC. One writer (the control thread's neigh_resolver, which
//    sends ARP / Neighbor Solicitations and reads the replies the workers punt to it), lock-free
//    readers (workers: rte_hash with RW_CONCURRENCY_LF, one 64-bit word per entry). An entry
//    the resolver deletes (a neighbor unused or gone) is freed after a QSBR grace period: its key
//    slot by rte_hash's defer queue, its word's slot back to the table's free list, so a reader
//    never sees a slot reused for another address within its critical section.
// DPDK types are forward-declared: this header compiles on its own.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "dpvpn/netpkt.h"
#include "dpvpn/netpkt6.h"

struct rte_hash;
struct rte_lpm;
struct rte_ring;
struct rte_rcu_qsbr;

namespace dpvpn::dp {

struct lan_conf {
  bool on = false;
  uint16_t port = 0;
  net::mac mac{};
  uint32_t ip = 0;         // host order: the gateway's LAN address
  uint32_t mask = 0;       // of the connected prefix
  bool v6 = false;         // an IPv6 LAN address is configured (else IPv6 is not forwarded to the LAN)
  net::ip6 ip6{};
  uint8_t prefix6 = 0;
  uint16_t mtu = 1500;     // the LAN's IP MTU: larger packets from clients are refused (ICMP too big)
  uint16_t tun_mtu = 1500; // the tunnel's: larger LAN packets for a client are refused the same way
  uint32_t icmp_per_s = 100;  // ICMP errors each lcore sends per second at most (RFC 1812 §4.3.2.8)
};

// Static routes out of the LAN port: the connected prefix (next hop = the destination itself) and
// each `dp-route`. Immutable after lan_routes_create.
struct lan_route_spec {
  bool v6 = false;
  uint32_t net = 0, via = 0;  // host order
  net::ip6 net6{}, via6{};
  uint8_t len = 0;
};
struct lan_routes;
// Control thread, start-up. nullptr with err on failure.
lan_routes* lan_routes_create(const lan_conf& lan, const std::vector<lan_route_spec>& routes, std::string& err);
void lan_routes_destroy(lan_routes* r);
// Workers: the next hop for dst when a LAN route covers it.
bool lan_route_v4(const lan_routes* r, uint32_t dst, uint32_t& next_hop) noexcept;
bool lan_route_v6(const lan_routes* r, const net::ip6& dst, net::ip6& next_hop) noexcept;

// Neighbor entries are keyed by an IPv6 address (IPv4 as v4-mapped, net::v4_mapped).
struct neigh_table;
neigh_table* neigh_create(rte_rcu_qsbr* qsbr, uint32_t capacity, std::string& err);
void neigh_destroy(neigh_table* t);
// Workers: the MAC of a resolved neighbor; false when unknown or not (or no longer) resolved.
// used: the entry's use flag (neigh_note_use), valid until the worker's next quiescent state.
bool neigh_lookup(const neigh_table* t, const net::ip6& ip, net::mac& mac,
                  std::atomic<uint8_t>** used = nullptr) noexcept;
// Workers: the entry was used for a packet. Written only while clear, so a busy neighbor's flag
// line is read, not moved between cores, until the resolver clears it (once per k_reachable_ms).
inline void neigh_note_use(std::atomic<uint8_t>* used) noexcept {
  if (used && !used->load(std::memory_order_relaxed)) used->store(1, std::memory_order_relaxed);
}
// Control thread (the single writer). neigh_slot: the entry for ip, created unresolved when new
// (-1 when the table is full). neigh_set / neigh_clear publish or withdraw its MAC. neigh_delete:
// the entry goes (its slot is reused after a grace period). neigh_take_use: whether a worker
// used it since the last call (and clears that).
int neigh_slot(neigh_table* t, const net::ip6& ip) noexcept;
int neigh_find(const neigh_table* t, const net::ip6& ip) noexcept;
void neigh_set(neigh_table* t, int slot, const net::mac& mac) noexcept;
void neigh_clear(neigh_table* t, int slot) noexcept;
void neigh_delete(neigh_table* t, int slot, const net::ip6& ip) noexcept;
bool neigh_take_use(neigh_table* t, int slot) noexcept;
uint32_t neigh_count(const neigh_table* t) noexcept;  // entries in the table (not yet deleted)
// Bumped by every neigh_set / neigh_clear (release): a worker's cached look-ups stay valid while
// it has not moved.
uint32_t neigh_generation(const neigh_table* t) noexcept;

// A worker's cache of recent look-ups (direct-mapped), so that a packet to a known next hop costs
// one compare instead of a hash look-up. Owner lcore only.
struct neigh_cache {
  static constexpr unsigned k_size = 64;
  struct line {
    net::ip6 ip{};
    net::mac mac{};
    uint32_t gen = 0;
    bool valid = false;
    std::atomic<uint8_t>* used = nullptr;  // the entry's use flag (valid while gen is current)
  };
  line l[k_size];
  bool lookup(const neigh_table* t, const net::ip6& ip, net::mac& mac) noexcept {
    line& e = l[(ip[15] ^ ip[14] * 7u) % k_size];
    const uint32_t g = neigh_generation(t);
    if (e.valid && e.gen == g && e.ip == ip) {
      mac = e.mac;
      neigh_note_use(e.used);
      return true;
    }
    std::atomic<uint8_t>* used = nullptr;
    if (!neigh_lookup(t, ip, mac, &used)) return false;
    e = line{ip, mac, g, true, used};
    neigh_note_use(used);
    return true;
  }
};

}  // namespace dpvpn::dp
