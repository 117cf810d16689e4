// SPDX-License-Identifier: MIT
// Client VPN addresses: the IPv4 pool (one address per client with topology subnet, one /30 per
// client with net30), the IPv6 pool paired with it slot by slot (OpenVPN's unified pool: slot i is
// IPv4 base+i and IPv6 base+i), addresses pushed statically (ifconfig-push, ifconfig-ipv6-push),
// and the ifconfig-pool-persist file format. Sans-IO; control thread only.
//
// Choice of a slot (OpenVPN pool.c semantics): the slot this common name had before, if it is free;
// else a never-used slot; else the slot released longest ago. Every operation is O(1) (two
// intrusive free lists and a hash of names), so a /16 with 60 000 clients costs no scans per connect.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dpvpn/ipaddr.h"

namespace dpvpn::cp {

struct pool_params {
  bool net30 = false;  // one /30 per client (topology net30 / p2p): the client is .2 of it (§10.3)
  std::optional<std::pair<uint32_t, uint32_t>> v4;  // first..last, host order; none = no IPv4 pool
  std::optional<ipv6_net> v6;                        // pool base/bits; none = no IPv6 pool
  uint32_t server_ip = 0, network = 0, netmask = 0;  // the VPN subnet: never a client's address
  std::optional<ipv6_addr> server_ip6;
  bool duplicate_cn = false;  // names are not remembered: first free slot, no persistence
};

// What one client holds. Filled by acquire() / set_static_*(), given back with release().
struct address_lease {
  int32_t slot = -1;          // pool slot; -1 = none
  int32_t static_slot4 = -1;  // a pool slot taken by a pushed IPv4 address inside the pool
  int32_t static_slot6 = -1;  // the same for IPv6
  uint32_t v4 = 0;            // the client's IPv4 address; 0 = none
  uint32_t v4_local = 0;      // net30: the .1 of the client's /30 (its ifconfig peer); else 0
  std::optional<ipv6_addr> v6;
  bool v4_static = false, v6_static = false;
  bool static_v4_outside = false, static_v6_outside = false;  // kept in the static sets
};

class address_pool {
 public:
  static constexpr uint32_t k_max_slots = 65536;  // OpenVPN's IFCONFIG_POOL_MAX

  explicit address_pool(const pool_params& p = {});
  uint32_t size() const noexcept { return static_cast<uint32_t>(slots_.size()); }
  uint32_t in_use() const noexcept { return in_use_; }
  bool has_v4() const noexcept { return p_.v4.has_value(); }
  bool has_v6() const noexcept { return v6_enabled_; }

  // A pool slot for `cn` (ignored with duplicate_cn). False when the pool is exhausted or empty.
  bool acquire(std::string_view cn, address_lease& l);
  // A pushed IPv4 address: the pool slot is given back first (OpenVPN: a static IPv4 address
  // means no pool IPv6 address either). False (lease without IPv4) when the address is the
  // server's, the subnet's network or broadcast address, or held by another client.
  bool set_static_v4(address_lease& l, uint32_t ip);
  // A pushed IPv6 address (replaces any pool IPv6). False when held by another client.
  bool set_static_v6(address_lease& l, const ipv6_addr& a);
  // Gives everything back: the pool slot keeps the name (for its next connection), static slots
  // are forgotten.
  void release(address_lease& l);

  // ifconfig-pool-persist: one "NAME,IPV4,IPV6" line per slot that has a name (IPv4 is the slot's
  // base: the /30's network address with net30; a field is empty when that pool is off).
  std::string persist_text() const;
  // Reads such a file: each named slot is kept for its name; `fixed` (interval 0) slots go to
  // nobody else. Returns the number of lines applied; skipped lines are described in warnings.
  size_t load_persist(std::string_view text, bool fixed, std::vector<std::string>& warnings);

 private:
  enum class state : uint8_t { fresh, released, fixed, in_use, blocked };
  struct slot {
    std::string cn;
    int32_t prev = -1, next = -1;
    state st = state::fresh;
    bool fixed = false;  // read from a persist file with interval 0: for its name only
  };
  struct list {
    int32_t head = -1, tail = -1;
  };
  void link_back(list& l, int32_t i);
  void link_front(list& l, int32_t i);
  void unlink(int32_t i);
  void set_cn(int32_t i, std::string_view cn);
  void take(int32_t i);  // out of its free list, in use
  void free_hard(int32_t i);
  uint32_t slot_v4(int32_t i) const noexcept;
  ipv6_addr slot_v6(int32_t i) const noexcept;
  int32_t slot_of_v4(uint32_t ip) const noexcept;
  int32_t slot_of_v6(const ipv6_addr& a) const noexcept;

  pool_params p_;
  uint32_t v4_base_ = 0;
  ipv6_addr v6_base_{};
  bool v6_enabled_ = false;
  std::vector<slot> slots_;
  list fresh_, released_;
  std::unordered_map<std::string, int32_t> by_cn_;  // name -> the slot that remembers it
  std::set<uint32_t> static4_;                      // pushed addresses outside the pool
  std::set<ipv6_addr> static6_;
  uint32_t in_use_ = 0;
};

// `connect-freq N SECONDS` (OpenVPN otime.c frequency_limit): at most N new sessions per window of
// SECONDS, the window restarting at the first attempt after it ends. Refused attempts count too.
class connect_freq_limit {
 public:
  connect_freq_limit(unsigned max, unsigned per_s) : max_(max), per_s_(per_s) {}
  bool allow(uint64_t now_s) noexcept {
    if (per_s_ == 0) return true;
    if (now_s >= reset_s_ + per_s_) {
      reset_s_ = now_s;
      n_ = 0;
    }
    return ++n_ <= max_;
  }

 private:
  uint64_t max_, per_s_, reset_s_ = 0, n_ = 0;
};

}  // namespace dpvpn::cp
