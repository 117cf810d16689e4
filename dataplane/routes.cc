// SPDX-License-Identifier: MIT
// Inner-address LPM tables: rte_lpm + QSBR for IPv4, host hash + RCU-published prefix snapshot for IPv6.
#include "dpvpn/dp_routes.h"
#include "route_v4.h"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_lcore.h>
#include <rte_lpm.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace dpvpn::dp {

namespace {

using v6_key = std::array<uint8_t, 16>;

// One open-addressing slot of the IPv6 prefix snapshot; peer_plus1 == 0 marks it empty.
struct v6_slot {
  v6_key net;
  uint32_t peer_plus1;
};

// All prefixes of one length: slots[first .. first + mask], a power of two at most half full.
struct v6_level {
  uint8_t len;
  uint32_t first;
  uint32_t mask;
};

// Immutable once published: the control thread builds it, workers only read it, and it is freed
// one QSBR grace period after being replaced. Levels are ordered longest prefix first.
struct v6_snapshot {
  std::vector<v6_level> levels;
  std::vector<v6_slot> slots;
};

uint64_t fmix64(uint64_t h) noexcept {  // a 64-bit finaliser: every input bit moves every output bit
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

uint32_t v6_hash(const uint8_t* a) noexcept {
  uint64_t x, y;
  std::memcpy(&x, a, 8);
  std::memcpy(&y, a + 8, 8);
  return static_cast<uint32_t>(fmix64(x ^ fmix64(y + 0x9e3779b97f4a7c15ull)));
}

void v6_mask(const uint8_t* a, unsigned len, uint8_t* out) noexcept {
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned bits = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * i : 0;
    out[i] = static_cast<uint8_t>(a[i] & (bits ? 0xff00u >> bits : 0));
  }
}

bool v6_is_network(const uint8_t* a, unsigned len) noexcept {
  uint8_t m[16];
  v6_mask(a, len, m);
  return std::memcmp(m, a, 16) == 0;
}

uint32_t v4_mask(uint8_t len) noexcept { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }

size_t heap_in_use() noexcept {
  size_t sum = 0;
  for (unsigned s = 0; s < rte_socket_count(); ++s) {
    rte_malloc_socket_stats st{};
    if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(s), &st) == 0) sum += st.heap_allocsz_bytes;
  }
  return sum;
}

size_t snapshot_bytes(const v6_snapshot* s) noexcept {
  return s ? sizeof(*s) + s->levels.capacity() * sizeof(v6_level) + s->slots.capacity() * sizeof(v6_slot) : 0;
}

std::atomic<unsigned> g_instance{0};  // DPDK object names must be unique per process

}  // namespace

struct route_tables {
  route_v4_hot v4;  // first: route_hot() reads it through the opaque pointer
  rte_rcu_qsbr* qsbr = nullptr;
  rte_hash* host6 = nullptr;
  std::atomic<const v6_snapshot*> prefix6{nullptr};  // cp: wo (publish), dp: ro (acquire)
  // Control thread only.
  uint32_t max_v6 = 0;
  uint32_t n_host6 = 0;
  std::map<std::pair<v6_key, uint8_t>, uint32_t> prefixes6;  // the snapshot's source of truth
  size_t v4_heap = 0, v6_heap = 0;
};

route_tables* routes_create(rte_rcu_qsbr* qsbr, uint32_t max_v4, uint32_t max_v6, std::string& err) {
  if (!qsbr) {
    err = "routes: a QSBR variable is required";
    return nullptr;
  }
  auto rt = std::make_unique<route_tables>();
  // route_hot() reads the first member through the opaque pointer. The struct is not
  // standard-layout (std::map), so the language does not promise offset 0; the ABI does, and this
  // checks it where the tables are made.
  if (static_cast<const void*>(&rt->v4) != static_cast<const void*>(rt.get())) {
    err = "routes: the IPv4 look-up head is not at the start of the tables";
    return nullptr;
  }
  rt->qsbr = qsbr;
  rt->max_v6 = std::max<uint32_t>(max_v6, 1);
  const unsigned id = g_instance.fetch_add(1);
  const int socket = static_cast<int>(rte_socket_id()) == SOCKET_ID_ANY ? 0 : static_cast<int>(rte_socket_id());

  // tbl8 groups: a route longer than /24 needs one per /24 it falls in. A client pool of 60 000
  // in a /16 fills at most 256; 256 more cover groups still waiting in the defer queue; and one
  // in eight routes may be a longer-than-/24 iroute in a /24 of its own. 1 KiB each.
  size_t before = heap_in_use();
  rte_lpm_config lc{};
  lc.max_rules = std::max<uint32_t>(max_v4, 1);
  lc.number_tbl8s = std::min<uint32_t>(512 + lc.max_rules / 8, RTE_LPM_MAX_TBL8_NUM_GROUPS);
  const std::string n4 = "dpvpn_rt4_" + std::to_string(id);
  rt->v4.lpm4 = rte_lpm_create(n4.c_str(), socket, &lc);
  if (!rt->v4.lpm4) {
    err = "routes: rte_lpm_create(" + std::to_string(lc.max_rules) + " rules): " + rte_strerror(rte_errno);
    return nullptr;
  }
  rte_lpm_rcu_config rc4{};
  rc4.v = qsbr;
  rc4.mode = RTE_LPM_QSBR_MODE_DQ;  // deletes never block; freed tbl8 groups wait in a FIFO
  if (rte_lpm_rcu_qsbr_add(rt->v4.lpm4, &rc4) != 0) {
    err = std::string("routes: rte_lpm_rcu_qsbr_add: ") + rte_strerror(rte_errno);
    routes_destroy(rt.release());
    return nullptr;
  }
  rt->v4_heap = heap_in_use() - before;

  before = heap_in_use();
  const std::string n6 = "dpvpn_rt6_" + std::to_string(id);
  rte_hash_parameters hp{};
  hp.name = n6.c_str();
  hp.entries = std::max<uint32_t>(rt->max_v6 * 2, 64);  // cuckoo slack, as for the other tables
  hp.key_len = 16;
  hp.hash_func = rte_jhash;
  hp.socket_id = socket;
  hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  rt->host6 = rte_hash_create(&hp);
  if (!rt->host6) {
    err = "routes: rte_hash_create(" + n6 + "): " + rte_strerror(rte_errno);
    routes_destroy(rt.release());
    return nullptr;
  }
  rte_hash_rcu_config rc6{};
  rc6.v = qsbr;
  rc6.mode = RTE_HASH_QSBR_MODE_DQ;
  if (rte_hash_rcu_qsbr_add(rt->host6, &rc6) != 0) {
    err = std::string("routes: rte_hash_rcu_qsbr_add: ") + rte_strerror(rte_errno);
    routes_destroy(rt.release());
    return nullptr;
  }
  rt->v6_heap = heap_in_use() - before;
  return rt.release();
}

void routes_destroy(route_tables* rt) {
  if (!rt) return;
  rte_lpm_free(rt->v4.lpm4);
  rte_hash_free(rt->host6);
  delete rt->prefix6.load();
  delete rt;
}

int route_add_v4(route_tables* rt, uint32_t net, uint8_t len, uint32_t peer_id) {
  if (len > 32 || peer_id > k_route_max_peer_id || (net & ~v4_mask(len)) != 0) return -EINVAL;
  if (len == 0) {
    rt->v4.default_v4.store(uint64_t{1} << 32 | peer_id, std::memory_order_release);
    return 0;
  }
  int rc = rte_lpm_add(rt->v4.lpm4, net, len, peer_id);
  if (rc == -ENOSPC) {
    // Maybe only tbl8 groups still in the defer queue: after a grace period rte_lpm_add reclaims one.
    rte_rcu_qsbr_synchronize(rt->qsbr, RTE_QSBR_THRID_INVALID);
    rc = rte_lpm_add(rt->v4.lpm4, net, len, peer_id);
  }
  return rc;
}

int route_del_v4(route_tables* rt, uint32_t net, uint8_t len) {
  if (len > 32 || (net & ~v4_mask(len)) != 0) return -EINVAL;
  if (len == 0) return rt->v4.default_v4.exchange(0, std::memory_order_release) ? 0 : -ENOENT;
  const int rc = rte_lpm_delete(rt->v4.lpm4, net, len);
  return rc == -EINVAL ? -ENOENT : rc;  // the arguments are valid: rte_lpm says "no such rule"
}

namespace {

// Control thread: builds a snapshot from rt->prefixes6, publishes it, frees the old one after
// every worker has passed a quiescent state (none can still be reading it).
void republish_v6(route_tables* rt) {
  v6_snapshot* s = nullptr;
  if (!rt->prefixes6.empty()) {
    s = new v6_snapshot;
    std::map<uint8_t, std::vector<std::pair<v6_key, uint32_t>>, std::greater<>> by_len;
    for (const auto& [k, pid] : rt->prefixes6) by_len[k.second].emplace_back(k.first, pid);
    for (const auto& [len, entries] : by_len) {
      uint32_t size = 4;
      while (size < entries.size() * 2) size *= 2;
      const v6_level lv{len, static_cast<uint32_t>(s->slots.size()), size - 1};
      s->slots.resize(s->slots.size() + size, v6_slot{});
      for (const auto& [net, pid] : entries) {
        uint32_t i = v6_hash(net.data()) & lv.mask;
        while (s->slots[lv.first + i].peer_plus1) i = (i + 1) & lv.mask;
        s->slots[lv.first + i] = v6_slot{net, pid + 1};
      }
      s->levels.push_back(lv);
    }
  }
  const v6_snapshot* old = rt->prefix6.exchange(s, std::memory_order_acq_rel);
  if (old) {
    rte_rcu_qsbr_synchronize(rt->qsbr, RTE_QSBR_THRID_INVALID);
    delete old;
  }
}

}  // namespace

int route_add_v6(route_tables* rt, const uint8_t net[16], uint8_t len, uint32_t peer_id) {
  if (len > 128 || peer_id > k_route_max_peer_id || !v6_is_network(net, len)) return -EINVAL;
  const uint32_t used = rt->n_host6 + static_cast<uint32_t>(rt->prefixes6.size());
  if (len == 128) {
    void* old = nullptr;
    const bool exists = rte_hash_lookup_data(rt->host6, net, &old) >= 0;
    if (!exists && used >= rt->max_v6) return -ENOSPC;
    void* data = reinterpret_cast<void*>(uintptr_t{peer_id});
    int rc = rte_hash_add_key_data(rt->host6, net, data);
    if (rc == -ENOSPC) {  // key slots freed by deletes wait for a grace period
      rte_rcu_qsbr_synchronize(rt->qsbr, RTE_QSBR_THRID_INVALID);
      rc = rte_hash_add_key_data(rt->host6, net, data);
    }
    if (rc == 0 && !exists) ++rt->n_host6;
    return rc;
  }
  v6_key k;
  std::memcpy(k.data(), net, 16);
  auto [it, inserted] = rt->prefixes6.try_emplace({k, len}, peer_id);
  if (!inserted) {
    if (it->second == peer_id) return 0;
    it->second = peer_id;
  } else if (used >= rt->max_v6) {
    rt->prefixes6.erase(it);
    return -ENOSPC;
  }
  republish_v6(rt);
  return 0;
}

int route_del_v6(route_tables* rt, const uint8_t net[16], uint8_t len) {
  if (len > 128 || !v6_is_network(net, len)) return -EINVAL;
  if (len == 128) {
    const int rc = rte_hash_del_key(rt->host6, net);
    if (rc < 0) return rc;
    --rt->n_host6;
    return 0;
  }
  v6_key k;
  std::memcpy(k.data(), net, 16);
  if (rt->prefixes6.erase({k, len}) == 0) return -ENOENT;
  republish_v6(rt);
  return 0;
}

bool route_lookup_v4(const route_tables* rt, uint32_t dst, uint32_t& peer_id) noexcept {
  return route_lookup_v4_inline(rt, dst, peer_id);
}

bool route_lookup_v6(const route_tables* rt, const uint8_t dst[16], uint32_t& peer_id) noexcept {
  void* data = nullptr;
  if (rte_hash_lookup_data(rt->host6, dst, &data) >= 0) {
    peer_id = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data));
    return true;
  }
  const v6_snapshot* s = rt->prefix6.load(std::memory_order_acquire);
  if (!s) return false;
  for (const v6_level& lv : s->levels) {
    uint8_t k[16];
    v6_mask(dst, lv.len, k);
    for (uint32_t i = v6_hash(k) & lv.mask;; i = (i + 1) & lv.mask) {
      const v6_slot& sl = s->slots[lv.first + i];
      if (!sl.peer_plus1) break;
      if (std::memcmp(sl.net.data(), k, 16) == 0) {
        peer_id = sl.peer_plus1 - 1;
        return true;
      }
    }
  }
  return false;
}

route_mem routes_memory(const route_tables* rt) noexcept {
  route_mem m;
  if (!rt) return m;
  m.v4_bytes = rt->v4_heap;
  m.v6_bytes = rt->v6_heap + snapshot_bytes(rt->prefix6.load(std::memory_order_acquire));
  return m;
}

}  // namespace dpvpn::dp
