// SPDX-License-Identifier: MIT
// address_pool: IPv4/IPv6 client address pools, static addresses, ifconfig-pool-persist format.
#include "dpvpn/pools.h"

#include <algorithm>

namespace dpvpn::cp {

namespace {

uint32_t low32(const ipv6_addr& a) {
  return uint32_t{a[12]} << 24 | uint32_t{a[13]} << 16 | uint32_t{a[14]} << 8 | a[15];
}

bool printable_name(std::string_view cn) {
  return !cn.empty() && std::all_of(cn.begin(), cn.end(), [](char ch) { return ch >= 0x20 && ch <= 0x7E && ch != ','; });
}

}  // namespace

address_pool::address_pool(const pool_params& p) : p_(p) {
  uint64_t n = 0;
  bool limited = false;
  if (p_.v4) {
    const auto [first, last] = *p_.v4;
    if (p_.net30) {
      v4_base_ = first & ~3u;
      n = ((uint64_t{last} | 3) + 1 - v4_base_) >> 2;
    } else {
      v4_base_ = first;
      n = uint64_t{last} - first + 1;
    }
    limited = true;
  }
  if (p_.v6) {
    // OpenVPN pool.c: the host part is taken from the low 32 bits; a base whose host part is
    // zero (the subnet-router anycast address) starts one higher.
    v6_enabled_ = true;
    v6_base_ = p_.v6->addr;
    const unsigned host_bits = 128 - p_.v6->len;
    uint32_t host = low32(v6_base_);
    if (host_bits < 32) host &= (1u << host_bits) - 1;
    if (host == 0) {
      v6_base_ = ipv6_add(v6_base_, 1);
      ++host;
    }
    const uint64_t n6 = host_bits <= 16 ? (uint64_t{1} << host_bits) - host : k_max_slots;
    n = limited ? std::min(n, n6) : n6;
    limited = true;
  }
  n = std::min<uint64_t>(n, k_max_slots);
  slots_.resize(n);
  for (int32_t i = 0; i < static_cast<int32_t>(n); ++i) {
    // A hand-written ifconfig-pool may cover the server's own address: never hand it out.
    if (p_.v4 && !p_.net30 && slot_v4(i) == p_.server_ip) slots_[i].st = state::blocked;
    else link_back(fresh_, i);
  }
}

void address_pool::link_back(list& l, int32_t i) {
  slot& s = slots_[i];
  s.prev = l.tail;
  s.next = -1;
  (l.tail >= 0 ? slots_[l.tail].next : l.head) = i;
  l.tail = i;
}

void address_pool::link_front(list& l, int32_t i) {
  slot& s = slots_[i];
  s.prev = -1;
  s.next = l.head;
  (l.head >= 0 ? slots_[l.head].prev : l.tail) = i;
  l.head = i;
}

void address_pool::unlink(int32_t i) {
  slot& s = slots_[i];
  list* l = s.st == state::fresh ? &fresh_ : s.st == state::released ? &released_ : nullptr;
  if (!l) return;
  (s.prev >= 0 ? slots_[s.prev].next : l->head) = s.next;
  (s.next >= 0 ? slots_[s.next].prev : l->tail) = s.prev;
  s.prev = s.next = -1;
}

void address_pool::set_cn(int32_t i, std::string_view cn) {
  slot& s = slots_[i];
  if (!s.cn.empty()) {
    auto it = by_cn_.find(s.cn);
    if (it != by_cn_.end() && it->second == i) by_cn_.erase(it);
    s.cn.clear();
  }
  if (cn.empty() || p_.duplicate_cn) return;
  s.cn = cn;
  by_cn_[s.cn] = i;
}

void address_pool::take(int32_t i) {
  unlink(i);
  slots_[i].st = state::in_use;
  ++in_use_;
}

// Forgets the slot's name; it is reused before any slot that remembers one.
void address_pool::free_hard(int32_t i) {
  set_cn(i, {});
  slots_[i].st = state::fresh;
  slots_[i].fixed = false;
  link_front(fresh_, i);
  --in_use_;
}

uint32_t address_pool::slot_v4(int32_t i) const noexcept {
  return p_.net30 ? v4_base_ + (static_cast<uint32_t>(i) << 2) : v4_base_ + static_cast<uint32_t>(i);
}

ipv6_addr address_pool::slot_v6(int32_t i) const noexcept { return ipv6_add(v6_base_, static_cast<uint64_t>(i)); }

int32_t address_pool::slot_of_v4(uint32_t ip) const noexcept {
  if (!p_.v4 || ip < v4_base_) return -1;
  const uint32_t off = p_.net30 ? (ip - v4_base_) >> 2 : ip - v4_base_;
  return off < slots_.size() ? static_cast<int32_t>(off) : -1;
}

int32_t address_pool::slot_of_v6(const ipv6_addr& a) const noexcept {
  if (!v6_enabled_ || !std::equal(a.begin(), a.begin() + 12, v6_base_.begin())) return -1;
  const uint32_t base = low32(v6_base_), x = low32(a);
  if (x < base || x - base >= slots_.size()) return -1;
  return static_cast<int32_t>(x - base);
}

bool address_pool::acquire(std::string_view cn, address_lease& l) {
  int32_t i = -1;
  if (!p_.duplicate_cn && !cn.empty()) {
    auto it = by_cn_.find(std::string(cn));
    if (it != by_cn_.end()) {
      const state st = slots_[it->second].st;
      if (st == state::fresh || st == state::released || st == state::fixed) i = it->second;
    }
  }
  if (i < 0) i = fresh_.head >= 0 ? fresh_.head : released_.head;
  if (i < 0) return false;
  take(i);
  set_cn(i, cn);
  l.slot = i;
  if (p_.v4) {
    const uint32_t b = slot_v4(i);
    l.v4 = p_.net30 ? b + 2 : b;
    l.v4_local = p_.net30 ? b + 1 : 0;
  }
  if (v6_enabled_) l.v6 = slot_v6(i);
  return true;
}

bool address_pool::set_static_v4(address_lease& l, uint32_t ip) {
  if (l.slot >= 0) {
    // OpenVPN releases the pool entry "hard" (its name forgotten) when the address is pushed.
    free_hard(l.slot);
    l.slot = -1;
    if (!l.v6_static) l.v6.reset();
  }
  if (l.static_slot4 >= 0) free_hard(l.static_slot4);  // an earlier push (CCD) is replaced
  if (l.static_v4_outside) static4_.erase(l.v4);
  l.static_slot4 = -1;
  l.static_v4_outside = l.v4_static = false;
  l.v4 = l.v4_local = 0;
  const uint32_t bcast = p_.network | ~p_.netmask;
  if (ip == 0 || ip == p_.server_ip || (p_.netmask && (ip == p_.network || ip == bcast))) return false;
  const int32_t i = slot_of_v4(ip);
  if (i >= 0) {
    const state st = slots_[i].st;
    if (st != state::fresh && st != state::released) return false;
    take(i);
    set_cn(i, {});
    l.static_slot4 = i;
  } else {
    if (!static4_.insert(ip).second) return false;
    l.static_v4_outside = true;
  }
  l.v4 = ip;
  l.v4_static = true;
  return true;
}

bool address_pool::set_static_v6(address_lease& l, const ipv6_addr& a) {
  if (l.static_slot6 >= 0) free_hard(l.static_slot6);  // an earlier push (CCD) is replaced
  if (l.static_v6_outside && l.v6) static6_.erase(*l.v6);
  l.static_slot6 = -1;
  l.static_v6_outside = l.v6_static = false;
  l.v6 = l.slot >= 0 && v6_enabled_ && !l.v4_static ? std::optional<ipv6_addr>(slot_v6(l.slot)) : std::nullopt;
  if (p_.server_ip6 && a == *p_.server_ip6) return false;
  const int32_t i = slot_of_v6(a);
  if (i >= 0 && i == l.slot) {  // its own pool address, pushed explicitly
    l.v6 = a;
    return true;
  }
  if (i >= 0) {
    const state st = slots_[i].st;
    if (st != state::fresh && st != state::released) return false;
    take(i);
    set_cn(i, {});
    l.static_slot6 = i;
  } else {
    if (!static6_.insert(a).second) return false;
    l.static_v6_outside = true;
  }
  l.v6 = a;
  l.v6_static = true;
  return true;
}

void address_pool::release(address_lease& l) {
  if (l.slot >= 0) {
    slot& s = slots_[l.slot];
    --in_use_;
    if (s.fixed && !s.cn.empty()) {
      s.st = state::fixed;  // back to waiting for its name only
    } else {
      s.st = state::released;
      link_back(released_, l.slot);
    }
  }
  if (l.static_slot4 >= 0) free_hard(l.static_slot4);
  if (l.static_slot6 >= 0) free_hard(l.static_slot6);
  if (l.static_v4_outside) static4_.erase(l.v4);
  if (l.static_v6_outside && l.v6) static6_.erase(*l.v6);
  l = address_lease{};
}

std::string address_pool::persist_text() const {
  std::string out;
  for (int32_t i = 0; i < static_cast<int32_t>(slots_.size()); ++i) {
    const slot& s = slots_[i];
    if (!printable_name(s.cn)) continue;  // no name, or one the format cannot carry
    out += s.cn;
    out += ',';
    if (p_.v4) out += format_ipv4(slot_v4(i));
    out += ',';
    if (v6_enabled_) out += format_ipv6(slot_v6(i));
    out += '\n';
  }
  return out;
}

size_t address_pool::load_persist(std::string_view text, bool fixed, std::vector<std::string>& warnings) {
  if (p_.duplicate_cn) return 0;
  size_t applied = 0;
  unsigned line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    const std::string at = "line " + std::to_string(line_no) + ": ";
    const size_t c1 = line.find(',');
    if (c1 == std::string_view::npos) {
      warnings.push_back(at + "expected NAME,IPV4[,IPV6]");
      continue;
    }
    const std::string_view cn = line.substr(0, c1);
    std::string_view rest = line.substr(c1 + 1);
    const size_t c2 = rest.find(',');
    const std::string_view ip4 = rest.substr(0, c2);
    const std::string_view ip6 = c2 == std::string_view::npos ? std::string_view() : rest.substr(c2 + 1);
    if (!printable_name(cn)) {
      warnings.push_back(at + "expected a common name");
      continue;
    }
    int32_t h = -1, h6 = -1;
    if (!ip4.empty()) {
      auto a = parse_ipv4(ip4);
      if (!a) warnings.push_back(at + "invalid IPv4 address for " + std::string(cn));
      else if ((h = slot_of_v4(*a)) < 0) warnings.push_back(at + "IPv4 " + std::string(ip4) + " is outside the pool");
    }
    if (!ip6.empty()) {
      auto a = parse_ipv6(ip6);
      if (!a) warnings.push_back(at + "invalid IPv6 address for " + std::string(cn));
      else if ((h6 = slot_of_v6(*a)) < 0) warnings.push_back(at + "IPv6 " + std::string(ip6) + " is outside the pool");
      if (h < 0) h = h6;
    }
    if (h6 >= 0 && h != h6) warnings.push_back(at + "IPv4 and IPv6 are different pool slots: using the IPv4 one");
    if (h < 0) continue;
    const state st = slots_[h].st;
    if (st != state::fresh && st != state::released) {
      warnings.push_back(at + "pool slot of " + std::string(cn) + " is already taken");
      continue;
    }
    unlink(h);
    set_cn(h, cn);
    if (fixed) {
      slots_[h].st = state::fixed;
      slots_[h].fixed = true;
    } else {
      // As if released at start-up: after every never-used slot, before later releases.
      slots_[h].st = state::released;
      link_back(released_, h);
    }
    ++applied;
  }
  return applied;
}

}  // namespace dpvpn::cp
