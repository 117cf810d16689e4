// SPDX-License-Identifier: MIT
// front_door (control/front_door.h): server_front's stateless answers counted and limited by
// connect-freq-initial. A real client session makes the hard resets (no wrapping, so no keys);
// the limiter's window runs on the simulated clock passed in.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "front_door.h"

using namespace dpvpn;
using namespace dpvpn::cp;
using verdict = proto::server_front::verdict;

namespace {

constexpr uint64_t k_t0 = 1'700'000'000'000;  // ms

// A client's first packet (HARD_RESET_CLIENT_V2), as a stock client sends it.
std::vector<uint8_t> client_reset() {
  proto::session_config c;
  c.server = false;
  proto::session s(c, k_t0);
  s.start(k_t0);
  std::vector<uint8_t> p;
  EXPECT_TRUE(s.pop_packet(p));
  return p;
}

std::array<uint8_t, 18> addr_of(uint8_t host) {
  std::array<uint8_t, 18> a{};
  a[10] = a[11] = 0xff;  // v4-mapped 10.0.0.host, port 40000
  a[12] = 10;
  a[15] = host;
  a[16] = 0x9c;
  a[17] = 0x40;
  return a;
}

struct fixture {
  server_config cfg;
  proto::session_config sc;  // server, no wrapping
  front_door door{sc, cfg};
  verdict answer(const std::vector<uint8_t>& pkt, uint8_t host, uint64_t now_ms) {
    const auto a = addr_of(host);
    return door.on_packet(pkt, a, now_ms).v;
  }
};

TEST(FrontDoor, RepliesWithoutLimitAndCountsItsDrops) {
  fixture f;
  const auto reset = client_reset();
  for (uint8_t h = 1; h <= 50; ++h) EXPECT_EQ(f.answer(reset, h, k_t0), verdict::reply);
  EXPECT_EQ(f.answer({0x38, 1, 2}, 1, k_t0), verdict::drop);  // too short: server_front's own drop
  EXPECT_EQ(f.door.front_dropped(), 1u);
  EXPECT_EQ(f.door.first_reply_dropped(), 0u);
}

// connect-freq-initial 2 10: two replies per 10 s window; the rest are drops counted apart from
// server_front's, and the next window replies again.
TEST(FrontDoor, ConnectFreqInitialLimitsReplies) {
  fixture f;
  f.cfg.connect_freq_initial = std::make_pair(uint64_t{2}, 10u);
  const auto reset = client_reset();
  EXPECT_EQ(f.answer(reset, 1, k_t0), verdict::reply);
  EXPECT_EQ(f.answer(reset, 2, k_t0 + 100), verdict::reply);
  EXPECT_EQ(f.answer(reset, 3, k_t0 + 200), verdict::drop);
  EXPECT_EQ(f.answer(reset, 4, k_t0 + 300), verdict::drop);
  EXPECT_EQ(f.door.first_reply_dropped(), 2u);
  EXPECT_EQ(f.door.front_dropped(), 0u);
  EXPECT_EQ(f.answer({0x38}, 5, k_t0 + 400), verdict::drop);  // not a reply: not the limit's
  EXPECT_EQ(f.door.first_reply_dropped(), 2u);
  EXPECT_EQ(f.door.front_dropped(), 1u);
  EXPECT_EQ(f.answer(reset, 6, k_t0 + 11'000), verdict::reply);  // past the window: a new one
}

// A reload that changes connect-freq-initial starts a new window with the new limit.
TEST(FrontDoor, ReloadResetsTheLimit) {
  fixture f;
  f.cfg.connect_freq_initial = std::make_pair(uint64_t{1}, 60u);
  const auto reset = client_reset();
  EXPECT_EQ(f.answer(reset, 1, k_t0), verdict::reply);
  EXPECT_EQ(f.answer(reset, 2, k_t0 + 1), verdict::drop);
  f.cfg.connect_freq_initial = std::make_pair(uint64_t{3}, 60u);
  f.door.reset_limit();
  EXPECT_EQ(f.answer(reset, 3, k_t0 + 2), verdict::reply);
  EXPECT_EQ(f.answer(reset, 4, k_t0 + 3), verdict::reply);
  EXPECT_EQ(f.answer(reset, 5, k_t0 + 4), verdict::reply);
  EXPECT_EQ(f.answer(reset, 6, k_t0 + 5), verdict::drop);
  EXPECT_EQ(f.door.first_reply_dropped(), 2u);
}

}  // namespace
