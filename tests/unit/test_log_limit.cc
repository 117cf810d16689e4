// SPDX-License-Identifier: MIT
// log_limit: at most `burst` lines per window, the rest counted and reported once.
#include <gtest/gtest.h>

#include "dpvpn/log_limit.h"

using dpvpn::cp::log_limit;

TEST(log_limit, burst_per_window_then_one_count) {
  log_limit l(3, 10);
  EXPECT_EQ(l.take_suppressed(100), 0u);
  int allowed = 0;
  for (int i = 0; i < 1000; ++i) allowed += l.allow(100 + i / 200);  // 1000 lines within 5 s
  EXPECT_EQ(allowed, 3);
  EXPECT_EQ(l.take_suppressed(105), 0u);    // the window (100..109) has not ended
  EXPECT_EQ(l.take_suppressed(110), 997u);  // ended: reported once
  EXPECT_EQ(l.take_suppressed(111), 0u);
  EXPECT_EQ(l.suppressed_total(), 997u);
  // A new window allows `burst` again.
  EXPECT_TRUE(l.allow(125));
  EXPECT_TRUE(l.allow(125));
  EXPECT_TRUE(l.allow(134));
  EXPECT_FALSE(l.allow(134));
  EXPECT_TRUE(l.allow(135));  // 125 + 10: the next window
  EXPECT_EQ(l.take_suppressed(135), 1u);
  EXPECT_EQ(l.suppressed_total(), 998u);
}

TEST(log_limit, quiet_windows_report_nothing) {
  log_limit l(1, 1);
  for (uint64_t s = 0; s < 100; ++s) {
    EXPECT_TRUE(l.allow(s * 2));
    EXPECT_EQ(l.take_suppressed(s * 2 + 1), 0u);
  }
  EXPECT_EQ(l.suppressed_total(), 0u);
}
