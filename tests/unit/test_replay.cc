// SPDX-License-Identifier: MIT
// Replay window (§8.5): numbered table cases at the window edges, time rules, expiry, and a
// differential test against a naive set model.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "dpvpn/replay.h"

using namespace dpvpn;
using namespace dpvpn::proto;

namespace {

constexpr uint64_t k_t0 = 1'700'000'000;  // a plausible Unix time for `now`

// One step: check (id, time) at `now`; if `commit` and the verdict is ok, commit it.
struct step {
  uint32_t id;
  uint32_t time;
  replay_verdict want;
  bool commit = true;
  uint64_t now = k_t0;
  bool reap_first = false;
};

struct table_case {
  int no;
  const char* what;
  uint32_t size;
  std::vector<step> steps;
};

constexpr auto OK = replay_verdict::ok;
constexpr auto ZERO = replay_verdict::zero_id;
constexpr auto REPLAY = replay_verdict::replayed;
constexpr auto OLD = replay_verdict::too_old;
constexpr auto EXPIRED = replay_verdict::expired;
constexpr auto BACK = replay_verdict::time_backtrack;

void run(const table_case& c) {
  SCOPED_TRACE("case " + std::to_string(c.no) + ": " + c.what);
  replay_window w(c.size);
  int i = 0;
  for (const auto& s : c.steps) {
    SCOPED_TRACE("step " + std::to_string(i++) + " id " + std::to_string(s.id));
    if (s.reap_first) w.reap(s.now);
    const auto got = w.check(s.id, s.time, s.now);
    ASSERT_EQ(got, s.want) << to_string(got) << " want " << to_string(s.want);
    if (got == OK && s.commit) w.commit(s.id, s.time, s.now);
  }
}

}  // namespace

TEST(replay, table) {
  const table_case cases[] = {
      {1, "id 0 is never valid", 64, {{0, 0, ZERO}, {1, 0, OK}, {0, 0, ZERO}}},
      {2, "in order then duplicate", 64, {{1, 0, OK}, {2, 0, OK}, {3, 0, OK}, {2, 0, REPLAY}, {3, 0, REPLAY}}},
      {3, "check alone does not record", 64, {{5, 0, OK, false}, {5, 0, OK}, {5, 0, REPLAY}}},
      {4, "reordered inside the window", 64, {{10, 0, OK}, {7, 0, OK}, {9, 0, OK}, {7, 0, REPLAY}, {8, 0, OK}}},
      {5, "edge: exactly size-1 behind passes, size behind is too old", 64,
       {{100, 0, OK}, {37, 0, OK}, {36, 0, OLD}, {37, 0, REPLAY}}},
      {6, "edge: first ids when highest < size", 64, {{3, 0, OK}, {1, 0, OK}, {2, 0, OK}, {1, 0, REPLAY}}},
      {7, "a jump of >= size forgets everything older", 64,
       {{1, 0, OK}, {2, 0, OK}, {200, 0, OK}, {137, 0, OK}, {136, 0, OLD}, {2, 0, OLD}}},
      {8, "bitmap wrap: slots reused after sliding", 8,
       {{1, 0, OK}, {2, 0, OK}, {3, 0, OK}, {9, 0, OK}, {10, 0, OK}, {2, 0, OLD}, {3, 0, REPLAY},
        {4, 0, OK}, {5, 0, OK}, {11, 0, OK}, {3, 0, OLD}, {4, 0, REPLAY}, {6, 0, OK}, {17, 0, OK},
        {9, 0, OLD}, {10, 0, REPLAY}, {11, 0, REPLAY}, {12, 0, OK}, {12, 0, REPLAY}, {18, 0, OK},
        {10, 0, OLD}, {11, 0, REPLAY}}},
      {9, "window 1: only the newest and above", 1, {{5, 0, OK}, {4, 0, OLD}, {5, 0, REPLAY}, {6, 0, OK}}},
      {10, "window 0: strictly increasing only", 0,
       {{5, 0, OK}, {5, 0, REPLAY}, {4, 0, OLD}, {7, 0, OK}, {6, 0, OLD}, {8, 0, OK}}},
      {11, "long form: time forward restarts the window", 64,
       {{50, 100, OK}, {49, 100, OK}, {3, 101, OK}, {50, 101, OK}, {49, 101, OK}, {3, 101, REPLAY},
        {49, 100, BACK}}},
      {12, "long form: older time rejected even for a new id", 64, {{1, 200, OK}, {2, 199, BACK}, {2, 200, OK}}},
      {13, "short form after long form is a backtrack", 64, {{1, 5, OK}, {2, 0, BACK}}},
      {14, "highest id", 64, {{0xFFFFFFFFu, 0, OK}, {0xFFFFFFFFu, 0, REPLAY}, {0xFFFFFFC0u, 0, OK},
                              {0xFFFFFFBFu, 0, OLD}}},
      {15, "maximum window size", 65536, {{70000, 0, OK}, {4465, 0, OK}, {4464, 0, OLD}, {70000, 0, REPLAY}}},
  };
  for (const auto& c : cases) run(c);
}

// §8.5 time backtrack: a seen slot older than the time window expires itself and all below.
TEST(replay, expiry_table) {
  const uint64_t t = k_t0;
  const table_case cases[] = {
      {1, "not yet expired at exactly 15 s", 64,
       {{1, 0, OK, true, t}, {3, 0, OK, true, t}, {2, 0, OK, false, t + 15, true}}},
      {2, "expired after 15 s even if never seen", 64,
       {{1, 0, OK, true, t}, {3, 0, OK, true, t}, {2, 0, EXPIRED, false, t + 16, true},
        {4, 0, OK, true, t + 16}, {2, 0, EXPIRED, true, t + 16}}},
      {3, "only slots at and below the first stale one expire", 64,
       {{1, 0, OK, true, t}, {5, 0, OK, true, t}, {20, 0, OK, true, t + 10}, {3, 0, EXPIRED, false, t + 16, true},
        {4, 0, EXPIRED, false, t + 16}, {6, 0, OK, false, t + 16}, {19, 0, OK, false, t + 16},
        {20, 0, REPLAY, false, t + 16}}},
      {4, "sliding past expired slots makes them usable again", 8,
       {{1, 0, OK, true, t}, {2, 0, OK, true, t}, {5, 0, OK, true, t}, {4, 0, EXPIRED, false, t + 20, true},
        {3, 0, EXPIRED, false, t + 20}, {12, 0, OK, true, t + 20}, {5, 0, EXPIRED, false, t + 20},
        {6, 0, OK, false, t + 20}, {11, 0, OK, false, t + 20}, {4, 0, OLD, false, t + 20}}},
      {5, "a time restart clears expiry", 64,
       {{1, 7, OK, true, t}, {3, 7, OK, true, t}, {2, 7, EXPIRED, false, t + 30, true}, {2, 8, OK, true, t + 30},
        {1, 8, OK, true, t + 30}, {2, 8, REPLAY, false, t + 30}}},
  };
  for (const auto& c : cases) run(c);
}

TEST(replay, reap_runs_at_most_every_5s) {
  replay_window w(64);
  w.commit(1, 0, k_t0);
  w.commit(3, 0, k_t0);
  w.reap(k_t0 + 14);  // runs: nothing is stale yet
  w.reap(k_t0 + 16);  // within 5 s of the last pass: skipped
  EXPECT_EQ(w.check(2, 0, k_t0 + 16), OK);
  w.reap(k_t0 + 19);  // 5 s later: runs and expires
  EXPECT_EQ(w.check(2, 0, k_t0 + 19), EXPIRED);
}

TEST(replay, custom_time_window) {
  replay_window w(64, 60);
  w.commit(1, 0, k_t0);
  w.commit(3, 0, k_t0);
  w.reap(k_t0 + 60);
  EXPECT_EQ(w.check(2, 0, k_t0 + 60), OK);
  w.reap(k_t0 + 65);
  EXPECT_EQ(w.check(2, 0, k_t0 + 65), EXPIRED);
}

TEST(replay, size_is_clamped_and_move_keeps_state) {
  replay_window big(1u << 20);
  EXPECT_EQ(big.size(), wire::k_replay_window_max);

  replay_window a(64);
  a.commit(10, 0, k_t0);
  replay_window b(std::move(a));
  EXPECT_EQ(b.highest_id(), 10u);
  EXPECT_EQ(b.check(10, 0, k_t0), REPLAY);
  EXPECT_EQ(b.check(9, 0, k_t0), OK);
  replay_window c(8);
  c = std::move(b);
  EXPECT_EQ(c.size(), 64u);
  EXPECT_EQ(c.check(10, 0, k_t0), REPLAY);
  // Moved-from windows behave as size 0 instead of crashing.
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(a.check(11, 0, k_t0), OK);
  EXPECT_EQ(a.check(9, 0, k_t0), OLD);
}

TEST(replay, verdict_names) {
  EXPECT_STREQ(to_string(OK), "ok");
  EXPECT_STREQ(to_string(EXPIRED), "expired");
  EXPECT_STREQ(to_string(BACK), "time_backtrack");
}

// Naive model of the short-form rules: a set of accepted ids and the highest one.
class set_model {
 public:
  explicit set_model(uint32_t size) : size_(size) {}
  replay_verdict check(uint32_t id) const {
    if (id == 0) return ZERO;
    if (id > highest_) return OK;
    if (uint64_t{highest_} - id >= size_) return size_ == 0 && id == highest_ ? REPLAY : OLD;
    return seen_.count(id) ? REPLAY : OK;
  }
  void commit(uint32_t id) {
    seen_.insert(id);
    if (id > highest_) highest_ = id;
    while (!seen_.empty() && uint64_t{highest_} - *seen_.begin() >= size_) seen_.erase(seen_.begin());
  }

 private:
  uint32_t size_;
  uint32_t highest_ = 0;
  std::set<uint32_t> seen_;
};

TEST(replay, differential_against_set_model) {
  for (uint32_t size : {0u, 1u, 7u, 64u, 100u, 1024u}) {
    SCOPED_TRACE("size " + std::to_string(size));
    std::mt19937 rng(size + 1);
    replay_window w(size);
    set_model m(size);
    uint32_t base = 1;  // ids drawn from a range that slides forward
    const uint32_t spread = 2 * size + 16;
    int counts[6] = {};
    for (int i = 0; i < 100'000; ++i) {
      const uint32_t id = rng() % 1000 == 0 ? 0 : base + rng() % spread;
      const auto got = w.check(id, 0, 0);
      ASSERT_EQ(got, m.check(id)) << "step " << i << " id " << id;
      ++counts[static_cast<int>(got)];
      // Drop a few accepted packets (authentication failure): check must not have recorded them.
      if (got == OK && rng() % 8 != 0) {
        w.commit(id, 0, 0);
        m.commit(id);
      }
      if (rng() % 3 == 0) base += rng() % (size / 4 + 2);
    }
    EXPECT_GT(counts[static_cast<int>(OK)], 1000);
    EXPECT_GT(counts[static_cast<int>(REPLAY)], 100);
    EXPECT_GT(counts[static_cast<int>(OLD)], 100);
  }
}

// The inline data-channel forms against check() + commit(): the same verdicts, and the same
// window afterwards, through slides of every length, replays, ids far behind and far ahead,
// id 0, expiry by reap(), and windows other than the default (which take the general path).
TEST(replay, short_forms_equal_check_and_commit) {
  for (uint32_t size : {64u, 0u, 32u, 100u}) {
    SCOPED_TRACE("size " + std::to_string(size));
    std::mt19937 rng(size + 7);
    replay_window ref(size, 15), fast(size, 15);
    uint64_t now = k_t0;
    uint32_t base = 1;
    for (int i = 0; i < 200'000; ++i) {
      const uint32_t r = rng() % 100;
      uint32_t id = r == 0 ? 0 : r < 3 ? base + 60 + rng() % 200 : base + rng() % 80;
      if (r == 3 && base > 70) id = base - 70;
      ASSERT_EQ(fast.check_short(id, now), ref.check(id, 0, now)) << "step " << i << " id " << id;
      const bool want = ref.check(id, 0, now) == OK;
      if (rng() % 8 == 0) continue;  // the tag failed: nothing committed
      if (want) ref.commit(id, 0, now);
      ASSERT_EQ(fast.take_short(id, now), want) << "step " << i << " id " << id;
      ASSERT_EQ(fast.highest_id(), ref.highest_id());
      if (rng() % 500 == 0) {  // time passes: reap() expires old slots in both
        now += 1 + rng() % 30;
        ref.reap(now);
        fast.reap(now);
      }
      if (rng() % 1000 == 0) {  // the whole neighbourhood of the top reads the same
        const uint32_t top = ref.highest_id();
        for (uint32_t k = top > 130 ? top - 130 : 0; k < top + 3; ++k) ASSERT_EQ(fast.check_short(k, now), ref.check(k, 0, now));
      }
      if (rng() % 3 == 0) base += rng() % 6;
    }
  }
}
