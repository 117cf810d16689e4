// SPDX-License-Identifier: MIT
// The LAN port's tables (dp_lan.h): static routes (rte_lpm for IPv4, a short longest-first list
// for IPv6) and the neighbor table (rte_hash, one atomic word per entry).
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_lcore.h>
#include <rte_lpm.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <deque>
#include <memory>

#include "dpvpn/dp_lan.h"

namespace dpvpn::dp {

namespace {

// A static route's next hop, or the connected prefix's (next hop = the destination).
struct next_hop {
  bool connected = true;
  uint32_t via = 0;
  net::ip6 via6{};
};

struct route6 {
  net::ip6 net{};
  uint8_t len = 0;
  next_hop nh;
};

bool in_prefix6(const net::ip6& a, const net::ip6& net, uint8_t len) noexcept {
  const unsigned bytes = len / 8, bits = len % 8;
  if (std::memcmp(a.data(), net.data(), bytes) != 0) return false;
  if (!bits) return true;
  const uint8_t m = static_cast<uint8_t>(0xff << (8 - bits));
  return (a[bytes] & m) == (net[bytes] & m);
}

constexpr uint64_t k_valid = uint64_t{1} << 63;

}  // namespace

struct lan_routes {
  rte_lpm* lpm = nullptr;        // IPv4: next-hop index into hops
  std::vector<next_hop> hops;    // [0] = connected
  std::vector<route6> v6;        // longest prefix first; connected included
};

lan_routes* lan_routes_create(const lan_conf& lan, const std::vector<lan_route_spec>& routes, std::string& err) {
  auto r = std::make_unique<lan_routes>();
  rte_lpm_config lc{};
  lc.max_rules = static_cast<uint32_t>(routes.size() + 16);
  lc.number_tbl8s = 256;
  static unsigned seq = 0;
  const std::string name = "dpvpn_lan" + std::to_string(seq++);
  r->lpm = rte_lpm_create(name.c_str(), static_cast<int>(rte_socket_id()), &lc);
  if (!r->lpm) {
    err = std::string("dp-lan: rte_lpm_create: ") + rte_strerror(rte_errno);
    return nullptr;
  }
  r->hops.push_back(next_hop{});
  const uint8_t len4 = static_cast<uint8_t>(std::popcount(lan.mask));
  if (len4 && rte_lpm_add(r->lpm, lan.ip & lan.mask, len4, 0) != 0) {
    err = "dp-lan: cannot add the connected route";
    lan_routes_destroy(r.release());
    return nullptr;
  }
  if (lan.v6) r->v6.push_back({lan.ip6, lan.prefix6, next_hop{}});
  for (const lan_route_spec& s : routes) {
    if (s.v6) {
      r->v6.push_back({s.net6, s.len, next_hop{false, 0, s.via6}});
      continue;
    }
    const uint32_t idx = static_cast<uint32_t>(r->hops.size());
    r->hops.push_back(next_hop{false, s.via, {}});
    // rte_lpm takes depths 1..32: a default route is the two halves of the address space.
    const int rc = s.len ? rte_lpm_add(r->lpm, s.net, s.len, idx)
                         : (rte_lpm_add(r->lpm, 0, 1, idx) | rte_lpm_add(r->lpm, 0x80000000u, 1, idx));
    if (rc != 0) {
      err = "dp-route: rte_lpm_add failed";
      lan_routes_destroy(r.release());
      return nullptr;
    }
  }
  // The connected IPv6 prefix first among equals; otherwise longest prefix first.
  std::stable_sort(r->v6.begin(), r->v6.end(), [](const route6& a, const route6& b) { return a.len > b.len; });
  return r.release();
}

void lan_routes_destroy(lan_routes* r) {
  if (!r) return;
  rte_lpm_free(r->lpm);
  delete r;
}

bool lan_route_v4(const lan_routes* r, uint32_t dst, uint32_t& next_hop) noexcept {
  uint32_t idx = 0;
  if (rte_lpm_lookup(r->lpm, dst, &idx) != 0) return false;
  const auto& h = r->hops[idx];
  next_hop = h.connected ? dst : h.via;
  return true;
}

bool lan_route_v6(const lan_routes* r, const net::ip6& dst, net::ip6& next_hop) noexcept {
  for (const route6& e : r->v6) {
    if (!in_prefix6(dst, e.net, e.len)) continue;
    next_hop = e.nh.connected ? dst : e.nh.via6;
    return true;
  }
  return false;
}

struct neigh_table {
  rte_hash* h = nullptr;
  rte_rcu_qsbr* qsbr = nullptr;
  uint32_t cap = 0;
  uint32_t made = 0;                            // control only: slots handed out once, [0, made)
  uint32_t live = 0;                            // control only: entries not deleted
  std::vector<uint32_t> free;                   // control only: slots free for another address
  struct pending {
    uint32_t slot;
    uint64_t token;  // rte_rcu_qsbr_start at the delete
  };
  std::deque<pending> deleted;                  // control only: slots waiting for a grace period
  std::atomic<uint32_t> gen{1};                 // control: wo; workers: ro
  std::unique_ptr<std::atomic<uint64_t>[]> w;   // control: wo; workers: ro. k_valid | MAC
  std::unique_ptr<std::atomic<uint8_t>[]> used; // workers: set (neigh_note_use); control: clears
};

namespace {

// Deleted entries' slots whose grace period passed (no worker can still read them as the old
// address's) become free; with wait, at least one does (blocking for one grace period: the
// workers pass a quiescent state every loop).
void reclaim(neigh_table* t, bool wait) {
  while (!t->deleted.empty()) {
    const neigh_table::pending& p = t->deleted.front();
    if (rte_rcu_qsbr_check(t->qsbr, p.token, wait && t->free.empty()) != 1) return;
    t->free.push_back(p.slot);
    t->deleted.pop_front();
  }
}

}  // namespace

neigh_table* neigh_create(rte_rcu_qsbr* qsbr, uint32_t capacity, std::string& err) {
  auto t = std::make_unique<neigh_table>();
  static unsigned seq = 0;
  const std::string name = "dpvpn_neigh" + std::to_string(seq++);
  rte_hash_parameters hp{};
  hp.name = name.c_str();
  hp.entries = std::max<uint32_t>(capacity * 2, 64);
  hp.key_len = sizeof(net::ip6);
  hp.hash_func = rte_jhash;
  hp.socket_id = static_cast<int>(rte_socket_id());
  hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  t->h = rte_hash_create(&hp);
  if (!t->h) {
    err = std::string("dp-lan: neighbor table: ") + rte_strerror(rte_errno);
    return nullptr;
  }
  t->qsbr = qsbr;
  t->cap = capacity;
  t->w = std::make_unique<std::atomic<uint64_t>[]>(capacity);
  t->used = std::make_unique<std::atomic<uint8_t>[]>(capacity);
  t->free.reserve(capacity);
  if (qsbr) {  // the hash's own key slots: reused after a grace period too
    rte_hash_rcu_config rc{};
    rc.v = qsbr;
    rc.mode = RTE_HASH_QSBR_MODE_DQ;
    if (rte_hash_rcu_qsbr_add(t->h, &rc) != 0) {
      err = std::string("dp-lan: neighbor table: rte_hash_rcu_qsbr_add: ") + rte_strerror(rte_errno);
      rte_hash_free(t->h);
      return nullptr;
    }
  }
  return t.release();
}

void neigh_destroy(neigh_table* t) {
  if (!t) return;
  rte_hash_free(t->h);
  delete t;
}

bool neigh_lookup(const neigh_table* t, const net::ip6& ip, net::mac& mac, std::atomic<uint8_t>** used) noexcept {
  void* d = nullptr;
  if (rte_hash_lookup_data(t->h, ip.data(), &d) < 0) return false;
  const auto slot = reinterpret_cast<uintptr_t>(d);
  const uint64_t w = t->w[slot].load(std::memory_order_acquire);
  if (!(w & k_valid)) return false;
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(w >> (40 - 8 * i));
  if (used) *used = &t->used[slot];
  return true;
}

int neigh_find(const neigh_table* t, const net::ip6& ip) noexcept {
  void* d = nullptr;
  if (rte_hash_lookup_data(t->h, ip.data(), &d) < 0) return -1;
  return static_cast<int>(reinterpret_cast<uintptr_t>(d));
}

int neigh_slot(neigh_table* t, const net::ip6& ip) noexcept {
  const int found = neigh_find(t, ip);
  if (found >= 0) return found;
  if (t->qsbr) reclaim(t, t->made >= t->cap);
  uint32_t idx;
  if (!t->free.empty()) {
    idx = t->free.back();
  } else if (t->made < t->cap) {
    idx = t->made;
  } else {
    return -1;
  }
  t->w[idx].store(0, std::memory_order_relaxed);
  t->used[idx].store(0, std::memory_order_relaxed);
  if (rte_hash_add_key_data(t->h, ip.data(), reinterpret_cast<void*>(uintptr_t{idx})) != 0) return -1;
  if (idx < t->made) t->free.pop_back();
  else ++t->made;
  ++t->live;
  return static_cast<int>(idx);
}

void neigh_set(neigh_table* t, int slot, const net::mac& mac) noexcept {
  uint64_t w = 0;
  for (uint8_t b : mac) w = (w << 8) | b;
  t->w[slot].store(w | k_valid, std::memory_order_release);
  t->gen.store(t->gen.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void neigh_clear(neigh_table* t, int slot) noexcept {
  t->w[slot].store(0, std::memory_order_release);
  t->gen.store(t->gen.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void neigh_delete(neigh_table* t, int slot, const net::ip6& ip) noexcept {
  neigh_clear(t, slot);
  if (rte_hash_del_key(t->h, ip.data()) < 0) return;
  --t->live;
  const auto s = static_cast<uint32_t>(slot);
  if (t->qsbr) t->deleted.push_back({s, rte_rcu_qsbr_start(t->qsbr)});
  else t->free.push_back(s);  // no concurrent readers
}

bool neigh_take_use(neigh_table* t, int slot) noexcept {
  if (!t->used[slot].load(std::memory_order_relaxed)) return false;
  t->used[slot].store(0, std::memory_order_relaxed);
  return true;
}

uint32_t neigh_generation(const neigh_table* t) noexcept { return t->gen.load(std::memory_order_acquire); }

uint32_t neigh_count(const neigh_table* t) noexcept { return t->live; }

}  // namespace dpvpn::dp
