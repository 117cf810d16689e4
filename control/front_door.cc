// SPDX-License-Identifier: MIT
// front_door: server_front's stateless answers, limited by connect-freq-initial.
#include "front_door.h"

#include <string>

#include "client.h"

namespace dpvpn::cp {

proto::server_front::result front_door::on_packet(std::span<const uint8_t> pkt, std::span<const uint8_t> client_addr,
                                                  uint64_t now_ms) {
  proto::server_front::result r = front_.on_packet(pkt, client_addr, now_ms);
  if (r.v == proto::server_front::verdict::drop) {
    ++front_dropped_;
  } else if ((r.v == proto::server_front::verdict::reply || r.v == proto::server_front::verdict::new_session) &&
             !allow_first_reply(now_ms)) {
    r = proto::server_front::result{};  // a drop, counted as connect-freq-initial's
  }
  return r;
}

// connect-freq-initial (openvpn 2.6 mudp.c, reflect_filter.c): a valid reset past the window's
// limit gets no reply and leaves no state. Only when configured: openvpn's default (100 per 10 s)
// would throttle a storm of clients that dpvpn's stateless front answers cheaply.
bool front_door::allow_first_reply(uint64_t now_ms) {
  if (!cfg_.connect_freq_initial) return true;
  if (!limit_) limit_.emplace(cfg_.connect_freq_initial->first, cfg_.connect_freq_initial->second);
  const control_log log{cfg_.verb};
  const first_reply_limit::verdict v = limit_->check(now_ms / 1000);
  const std::string lim = std::to_string(limit_->max()) + " " + std::to_string(limit_->per_s());
  if (v.dropped_last) log(3, "dropped " + std::to_string(v.dropped_last) + " initial handshake packets due to --connect-freq-initial " + lim);
  if (v.allow) return true;
  ++first_reply_dropped_;
  if (v.first_refusal)
    log(1, "Note: --connect-freq-initial " + lim + " rate limit exceeded, dropping initial handshake packets for the next " +
               std::to_string(limit_->window_end_s() - now_ms / 1000) + " seconds");
  return false;
}

}  // namespace dpvpn::cp
