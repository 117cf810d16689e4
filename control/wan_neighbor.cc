// SPDX-License-Identifier: MIT
// The client role's WAN next hop (wan_neighbor.h).
#include "wan_neighbor.h"

#include "dpvpn/ipaddr.h"
#include "dpvpn/netpkt_fwd.h"

namespace dpvpn::cp {

void wan_neighbor::target(const net::ip6& ip, uint64_t now_ms) {
  if (wanted_ && ip == want_ && have_) return;
  want_ = ip;
  wanted_ = ip != net::ip6{} && ip != net::v4_mapped(0);
  have_.reset();
  next_ms_ = now_ms;
}

std::string wan_neighbor::target_name() const { return v4() ? format_ipv4(net::v4_of(want_)) : format_ipv6(want_); }

std::vector<uint8_t> wan_neighbor::due_request(uint64_t now_ms) {
  if (!wanted_ || now_ms < next_ms_) return {};
  std::vector<uint8_t> f(128);
  const size_t n = v4() ? net::arp_request(f.data(), f.size(), mac_, ip_, net::v4_of(want_))
                        : net::nd_solicit(f.data(), f.size(), mac_, ip6_, want_);
  f.resize(n);
  next_ms_ = now_ms + (have_ ? k_reachable_ms : k_probe_ms);
  ++requests_;
  return f;
}

bool wan_neighbor::on_frame(std::span<const uint8_t> frame, uint64_t now_ms) {
  if (!wanted_) return false;
  if (v4()) {
    net::arp_info a;
    if (!net::arp_parse(frame.data(), frame.size(), a) || a.op != 2 || a.spa != net::v4_of(want_) || a.tpa != ip_)
      return false;
    have_ = a.sha;
  } else {
    // The advertisement for our target with its link-layer address (a solicited NA carries it;
    // one without it cannot tell us the MAC).
    net::na_info na;
    if (!net::nd_parse_advert(frame.data(), frame.size(), na) || na.target != want_ || !na.has_tlla) return false;
    have_ = na.tlla;
  }
  next_ms_ = now_ms + k_reachable_ms;
  return true;
}

}  // namespace dpvpn::cp
