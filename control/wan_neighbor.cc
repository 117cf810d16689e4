// SPDX-License-Identifier: MIT
// The client role's WAN next hop (wan_neighbor.h).
#include "wan_neighbor.h"

#include "dpvpn/netpkt_fwd.h"

namespace dpvpn::cp {

void wan_neighbor::target(uint32_t ip, uint64_t now_ms) {
  if (ip == want_ && have_) return;
  want_ = ip;
  have_.reset();
  next_ms_ = now_ms;
}

std::vector<uint8_t> wan_neighbor::due_request(uint64_t now_ms) {
  if (want_ == 0 || now_ms < next_ms_) return {};
  std::vector<uint8_t> f(64);
  const size_t n = net::arp_request(f.data(), f.size(), mac_, ip_, want_);
  f.resize(n);
  next_ms_ = now_ms + (have_ ? k_reachable_ms : k_probe_ms);
  ++requests_;
  return f;
}

bool wan_neighbor::on_frame(std::span<const uint8_t> frame, uint64_t now_ms) {
  net::arp_info a;
  if (want_ == 0 || !net::arp_parse(frame.data(), frame.size(), a) || a.op != 2 || a.spa != want_ || a.tpa != ip_)
    return false;
  have_ = a.sha;
  next_ms_ = now_ms + k_reachable_ms;
  return true;
}

}  // namespace dpvpn::cp
