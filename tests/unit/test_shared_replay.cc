// SPDX-License-Identifier: MIT
// The replay window several lcores share (dpvpn/shared_replay.h) and the packet-id blocks of a
// sending key (dc_tx::reserve_ids): one thread gives replay_window's verdicts; two threads never
// accept an id twice and refuse only what a window below an accepted id justifies.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "dpvpn/data_channel.h"
#include "dpvpn/data_keys.h"
#include "dpvpn/shared_replay.h"

using namespace dpvpn;
using namespace dpvpn::proto;

namespace {

constexpr auto OK = replay_verdict::ok;
constexpr auto ZERO = replay_verdict::zero_id;
constexpr auto REPLAY = replay_verdict::replayed;
constexpr auto OLD = replay_verdict::too_old;

struct step {
  uint32_t id;
  replay_verdict want;
  bool commit = true;
};
struct table_case {
  int no;
  const char* what;
  uint32_t size;
  std::vector<step> steps;
};

// Each step on both windows: the same verdict from replay_window and from shared_replay's check,
// and its commit takes exactly the ids the single-writer window takes.
void run(const table_case& c) {
  SCOPED_TRACE("case " + std::to_string(c.no) + ": " + c.what);
  replay_window ref(c.size);
  shared_replay w(c.size);
  int i = 0;
  for (const auto& s : c.steps) {
    SCOPED_TRACE("step " + std::to_string(i++) + " id " + std::to_string(s.id));
    ASSERT_EQ(ref.check(s.id, 0, 0), s.want);
    ASSERT_EQ(w.check(s.id), s.want) << to_string(w.check(s.id));
    if (s.commit) {
      ASSERT_EQ(w.commit(s.id), s.want);
      if (s.want == OK) ref.commit(s.id, 0, 0);
    }
  }
}

}  // namespace

TEST(shared_replay, table_same_as_replay_window) {
  const table_case cases[] = {
      {1, "id 0 is never valid", 64, {{0, ZERO}, {1, OK}, {0, ZERO}}},
      {2, "in order then duplicate", 64, {{1, OK}, {2, OK}, {3, OK}, {2, REPLAY}, {3, REPLAY}}},
      {3, "check alone does not record", 64, {{5, OK, false}, {5, OK}, {5, REPLAY}}},
      {4, "reordered inside the window", 64, {{10, OK}, {7, OK}, {9, OK}, {7, REPLAY}, {8, OK}}},
      {5, "edge: size-1 behind passes, size behind is too old", 64, {{100, OK}, {37, OK}, {36, OLD}, {37, REPLAY}}},
      {6, "edge: first ids when highest < size", 64, {{3, OK}, {1, OK}, {2, OK}, {1, REPLAY}}},
      {7, "a jump of >= size forgets everything older", 64, {{1, OK}, {2, OK}, {200, OK}, {137, OK}, {136, OLD}, {2, OLD}}},
      {8, "words reused after sliding", 8,
       {{1, OK}, {2, OK}, {3, OK}, {9, OK}, {10, OK}, {2, OLD}, {3, REPLAY}, {4, OK}, {5, OK}, {11, OK}, {3, OLD},
        {4, REPLAY}, {6, OK}, {17, OK}, {9, OLD}, {10, REPLAY}, {11, REPLAY}, {12, OK}, {12, REPLAY}, {18, OK},
        {10, OLD}, {11, REPLAY}}},
      {9, "window 1: only the newest and above", 1, {{5, OK}, {4, OLD}, {5, REPLAY}, {6, OK}}},
      {10, "window 0: strictly increasing only", 0, {{5, OK}, {5, REPLAY}, {4, OLD}, {7, OK}, {6, OLD}, {8, OK}}},
      {11, "block edges: ids 31, 32, 63, 64 and a word moved on", 64,
       {{31, OK}, {32, OK}, {63, OK}, {64, OK}, {160, OK}, {97, OK}, {96, OLD}, {31, OLD}, {159, OK}, {128, OK},
        {128, REPLAY}, {97, REPLAY}}},
      {12, "top far ahead of an old word", 64, {{1, OK}, {1000, OK}, {2, OLD}, {937, OK}, {936, OLD}}},
      {13, "ids near 2^32", 64, {{0xFFFFFFF0u, OK}, {0xFFFFFFFFu, OK}, {0xFFFFFFBFu, OLD}, {0xFFFFFFC0u + 2, OK}, {0xFFFFFFFFu, REPLAY}}},
  };
  for (const auto& c : cases) run(c);
}

// Random ids on a sliding range, as test_replay.cc does against its set model: every verdict and
// every commit the same as replay_window's, over several sizes (inline and allocated words).
TEST(shared_replay, differential_against_replay_window) {
  for (uint32_t size : {0u, 1u, 7u, 64u, 96u, 100u, 1024u}) {
    SCOPED_TRACE("size " + std::to_string(size));
    std::mt19937 rng(size + 7);
    replay_window ref(size);
    shared_replay w(size);
    uint32_t base = 1;
    const uint32_t spread = 2 * size + 40;
    int counts[6] = {};
    for (int i = 0; i < 100'000; ++i) {
      const uint32_t id = rng() % 1000 == 0 ? 0 : base + rng() % spread;
      const replay_verdict want = ref.check(id, 0, 0);
      ASSERT_EQ(w.check(id), want) << "step " << i << " id " << id;
      ++counts[static_cast<int>(want)];
      if (want == OK && rng() % 8 != 0) {  // some never authenticate: nothing recorded
        ASSERT_EQ(w.commit(id), OK);
        ref.commit(id, 0, 0);
      }
      if (rng() % 3 == 0) base += rng() % (size / 4 + 2);
    }
    EXPECT_GT(counts[static_cast<int>(OK)], 1000);
    EXPECT_GT(counts[static_cast<int>(REPLAY)], 100);
    EXPECT_GT(counts[static_cast<int>(OLD)], 100);
  }
}

namespace {

// Two threads commit their id lists into one window at once. Afterwards: no id accepted twice; an
// id refused as replayed was accepted by someone; an id refused as too old lies a window below
// an accepted id (so nothing fresh inside the window was refused). Returns the refusals.
struct stress_result {
  uint64_t accepted = 0, replayed = 0, too_old = 0;
};

stress_result stress(uint32_t size, const std::vector<uint32_t>& a, const std::vector<uint32_t>& b, uint32_t max_id,
                     uint32_t batch = 1) {
  shared_replay w(size);
  std::vector<std::atomic<uint8_t>> taken(max_id + 1);
  struct refusal {
    uint32_t id;
    replay_verdict v;
  };
  std::vector<refusal> ref_a, ref_b;
  std::atomic<int> ready{0};
  auto worker = [&](const std::vector<uint32_t>& ids, std::vector<refusal>& out) {
    ready.fetch_add(1);
    while (ready.load() < 2) {}
    replay_verdict v[32];
    for (size_t i = 0; i < ids.size(); i += batch) {
      const uint32_t n = static_cast<uint32_t>(std::min<size_t>(batch, ids.size() - i));
      if (batch == 1) v[0] = w.commit(ids[i]);
      else w.commit_burst(ids.data() + i, n, v);
      for (uint32_t k = 0; k < n; ++k) {
        if (v[k] == OK) taken[ids[i + k]].fetch_add(1);
        else out.push_back({ids[i + k], v[k]});
      }
    }
  };
  std::thread ta(worker, std::cref(a), std::ref(ref_a));
  std::thread tb(worker, std::cref(b), std::ref(ref_b));
  ta.join();
  tb.join();
  stress_result r;
  uint32_t max_taken = 0;
  for (uint32_t id = 1; id <= max_id; ++id) {
    EXPECT_LE(taken[id].load(), 1) << "id " << id << " accepted twice";
    if (taken[id].load()) {
      ++r.accepted;
      max_taken = id;
    }
  }
  EXPECT_EQ(w.highest_id(), max_taken);
  for (const auto* refs : {&ref_a, &ref_b}) {
    for (const refusal& f : *refs) {
      if (f.v == REPLAY) {
        ++r.replayed;
        EXPECT_EQ(taken[f.id].load(), 1) << "id " << f.id << " refused as replayed, never accepted";
      } else {
        ++r.too_old;
        EXPECT_EQ(f.v, OLD);
        EXPECT_GE(uint64_t{max_taken}, uint64_t{f.id} + size) << "id " << f.id << " refused inside the window";
      }
    }
  }
  return r;
}

}  // namespace

TEST(shared_replay, two_threads_disjoint_ids) {
  // Lcore-like: chunks of 16 consecutive ids alternate between the threads, each in order;
  // committed one by one, and in batches of a chunk (commit_burst).
  constexpr uint32_t n = 1'000'000;
  for (uint32_t batch : {1u, 16u}) {
    for (uint32_t size : {64u, 1024u}) {
      SCOPED_TRACE("size " + std::to_string(size) + " batch " + std::to_string(batch));
      std::vector<uint32_t> a, b;
      for (uint32_t id = 1; id <= n; ++id) ((id / 16) % 2 ? a : b).push_back(id);
      const stress_result r = stress(size, a, b, n, batch);
      EXPECT_EQ(r.replayed, 0u);  // every id offered once
      EXPECT_EQ(r.accepted + r.too_old, n);
    }
  }
}

// commit_burst against commit() one by one, on batches whose ids lie within one window of each
// other (with repeats and ids already taken): the same verdicts and the same window after.
TEST(shared_replay, burst_same_as_one_by_one) {
  for (uint32_t size : {64u, 100u, 1024u}) {
    SCOPED_TRACE("size " + std::to_string(size));
    std::mt19937 rng(size * 3);
    shared_replay one(size), burst(size);
    uint32_t base = 1;
    for (int round = 0; round < 20'000; ++round) {
      uint32_t ids[32];
      replay_verdict got[32];
      const uint32_t n = 1 + rng() % 32;
      const uint32_t span = std::min<uint32_t>(size, 48);
      for (uint32_t k = 0; k < n; ++k) ids[k] = base + rng() % span;
      burst.commit_burst(ids, n, got);
      for (uint32_t k = 0; k < n; ++k) ASSERT_EQ(got[k], one.commit(ids[k])) << "round " << round << " k " << k;
      ASSERT_EQ(burst.highest_id(), one.highest_id());
      base += rng() % 24;
    }
    for (uint32_t id = base > 2 * size ? base - 2 * size : 1; id < base + 64; ++id) ASSERT_EQ(burst.check(id), one.check(id));
  }
}

TEST(shared_replay, two_threads_overlapping_ids) {
  // Both threads offer every id (a replay of the whole stream racing the original), each with
  // local reordering inside blocks of 32: each id is accepted at most once, and an id neither
  // accepted is justified by the too-old rule.
  constexpr uint32_t n = 500'000;
  for (uint32_t size : {64u, 1024u}) {
    SCOPED_TRACE("size " + std::to_string(size));
    std::mt19937 rng(size);
    std::vector<uint32_t> a, b;
    for (uint32_t id = 1; id <= n; ++id) a.push_back(id), b.push_back(id);
    for (uint32_t s = 0; s + 32 <= n; s += 32) {
      std::shuffle(a.begin() + s, a.begin() + s + 32, rng);
      std::shuffle(b.begin() + s, b.begin() + s + 32, rng);
    }
    for (uint32_t batch : {1u, 16u}) {
      const stress_result r = stress(size, a, b, n, batch);
      EXPECT_EQ(r.accepted + r.replayed + r.too_old, 2u * n);
      EXPECT_GT(r.replayed, 0u);
    }
  }
}

// ---- packet-id blocks --------------------------------------------------------------------------

namespace {

using key2_t = std::array<uint8_t, wire::k_key2_size>;

key2_t test_key() {
  key2_t k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 13 + 1);
  return k;
}

data_key_params gcm() {
  data_key_params p;
  p.cipher = crypto::cipher_alg::aes_256_gcm;
  p.backend = crypto::backend::openssl;
  return p;
}

std::unique_ptr<dc_tx> make_tx(const key2_t& k) {
  std::string err;
  auto tx = dc_tx::create(gcm(), std::span<const uint8_t, wire::k_key2_size>(k), k_dir_server_to_client, &err);
  EXPECT_TRUE(tx) << err;
  return tx;
}

std::unique_ptr<dc_rx> make_rx(const key2_t& k) {
  std::string err;
  auto rx = dc_rx::create(gcm(), std::span<const uint8_t, wire::k_key2_size>(k), k_dir_server_to_client, &err);
  EXPECT_TRUE(rx) << err;
  return rx;
}

}  // namespace

TEST(packet_id_blocks, two_threads_take_disjoint_contiguous_blocks) {
  auto tx = make_tx(test_key());
  struct block {
    uint32_t first, n;
  };
  std::vector<block> blocks[2];
  auto worker = [&](int t) {
    std::mt19937 rng(t + 1);
    for (int i = 0; i < 200'000; ++i) {
      const uint32_t n = 1 + rng() % 32;
      blocks[t].push_back({tx->reserve_ids(n), n});
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  std::vector<block> all(blocks[0]);
  all.insert(all.end(), blocks[1].begin(), blocks[1].end());
  std::sort(all.begin(), all.end(), [](const block& x, const block& y) { return x.first < y.first; });
  uint64_t next = 1;
  for (const block& bl : all) {
    ASSERT_EQ(bl.first, next) << "a gap or an overlap";
    next += bl.n;
  }
  EXPECT_EQ(tx->packet_id(), next - 1);  // the last id handed out
}

TEST(packet_id_blocks, exhaustion_and_wrap_trigger) {
  auto tx = make_tx(test_key());
  tx->set_packet_id(0xFEFFFFF0);
  EXPECT_FALSE(tx->wrap_due());
  EXPECT_EQ(tx->reserve_ids(16), 0xFEFFFFF1u);
  EXPECT_TRUE(tx->wrap_due());  // 0xFF000000 taken
  tx->set_packet_id(0xFFFFFFF0);
  EXPECT_EQ(tx->reserve_ids(15), 0xFFFFFFF1u);  // up to 0xFFFFFFFF: still valid
  EXPECT_EQ(tx->reserve_ids(1), 0u);            // past 2^32 - 1: none
  EXPECT_EQ(tx->packet_id(), 0xFFFFFFFFu);      // saturated, never wrapped
  uint8_t buf[256] = {};
  buf_view v{buf + 128, 20, 128, 108};
  EXPECT_EQ(tx->seal_id(*crypto::engine::create(), v, 0, 7, comp_framing::none, 0), dc_err::packet_id_exhausted);
  EXPECT_EQ(v.len, 20u);  // untouched
}

// Blocks sealed out of order (two lcores) open through a shared window: all of them once, then
// every one again is a replay; and a data_keys pair whose sending side seals in blocks.
TEST(packet_id_blocks, sealed_out_of_order_open_once) {
  const key2_t k = test_key();
  auto tx = make_tx(k);
  auto rx = make_rx(k);
  rx->share_window();
  auto eng = crypto::engine::create();
  ASSERT_TRUE(eng);
  const uint32_t a = tx->reserve_ids(16), b = tx->reserve_ids(16);
  ASSERT_EQ(b, a + 16);
  std::vector<std::vector<uint8_t>> pkts;
  for (uint32_t first : {b, a}) {  // the second block leaves first
    for (uint32_t i = 0; i < 16; ++i) {
      std::vector<uint8_t> buf(256, 0);
      buf[128] = 0x45;
      buf[129] = static_cast<uint8_t>(i);
      buf_view v{buf.data() + 128, 40, 128, 88};
      ASSERT_EQ(tx->seal_id(*eng, v, 0, 7, comp_framing::none, first + i), dc_err::ok);
      pkts.emplace_back(v.data, v.data + v.len);
    }
  }
  for (int round = 0; round < 2; ++round) {
    for (const auto& p : pkts) {
      std::vector<uint8_t> copy(p);
      buf_view v{copy.data(), static_cast<uint32_t>(copy.size()), 0, 0};
      dc_kind kind;
      EXPECT_EQ(rx->open(*eng, v, 0, comp_framing::none, kind), round == 0 ? dc_err::ok : dc_err::replay);
    }
  }
  EXPECT_TRUE(rx->used());
  EXPECT_EQ(rx->shared_window().highest_id(), b + 15);
}

TEST(packet_id_blocks, shared_data_keys_seal_and_open) {
  const key2_t k = test_key();
  auto eng = crypto::engine::create();
  ASSERT_TRUE(eng);
  data_keys server(true, gcm()), client(false, gcm());
  std::string err;
  ASSERT_TRUE(server.install(0, k, crypto::cipher_alg::aes_256_gcm, crypto::digest_alg::none, 0, &err)) << err;
  ASSERT_TRUE(client.install(0, k, crypto::cipher_alg::aes_256_gcm, crypto::digest_alg::none, 0, &err)) << err;
  server.share();
  client.share();
  ASSERT_TRUE(server.shared());
  ASSERT_NE(server.tx_shared(), nullptr);
  ASSERT_NE(client.rx_shared(0), nullptr);
  EXPECT_EQ(client.rx_shared(1), nullptr);
  for (int i = 0; i < 3; ++i) {
    std::vector<uint8_t> buf(256, 0);
    buf[128] = 0x45;
    buf_view v{buf.data() + 128, 40, 128, 88};
    ASSERT_EQ(server.seal(*eng, v, 7, 0), dc_err::ok);
    EXPECT_EQ(wire::get_u32(v.data + 4), static_cast<uint32_t>(i + 1));  // ids from the block counter
    EXPECT_EQ(client.open(*eng, v, 0).err, dc_err::ok);
  }
  // A renegotiated key: pending until tick() sees it used (or its timer ran out).
  key2_t k2 = k;
  k2[0] ^= 1;
  ASSERT_TRUE(server.install(1, k2, crypto::cipher_alg::aes_256_gcm, crypto::digest_alg::none, 100, &err, true));
  EXPECT_EQ(server.tx_key_id(), 0);
  EXPECT_EQ(server.tx_shared()->key_id(), 0);
  server.tick(101);
  EXPECT_EQ(server.tx_key_id(), 0);
  server.tick(100 + server.switch_after_s);
  EXPECT_EQ(server.tx_key_id(), 1);
  EXPECT_EQ(server.tx_shared()->key_id(), 1);
  EXPECT_NE(server.rx_shared(1), nullptr);
  EXPECT_TRUE(server.rx_shared(1)->window_shared());
}

// The staged seal (data_keys::seal_prepare, then the job) gives the bytes seal() gives, takes the
// same ids, gives back the id of a packet that had no room, and seals a CBC key's packet whole.
TEST(staged_seal, same_bytes_and_ids_as_seal) {
  const key2_t k = test_key();
  auto eng = crypto::engine::create();
  ASSERT_TRUE(eng);
  std::string err;
  for (const auto& [c, d] : {std::pair{crypto::cipher_alg::aes_256_gcm, crypto::digest_alg::none},
                             std::pair{crypto::cipher_alg::chacha20_poly1305, crypto::digest_alg::none},
                             std::pair{crypto::cipher_alg::aes_256_cbc, crypto::digest_alg::sha256}}) {
    data_keys a(true, gcm()), b(true, gcm());
    ASSERT_TRUE(a.install(0, k, c, d, 0, &err)) << err;
    ASSERT_TRUE(b.install(0, k, c, d, 0, &err)) << err;
    const bool aead = c != crypto::cipher_alg::aes_256_cbc;
    for (uint32_t len : {0u, 1u, 40u, 1400u}) {
      std::vector<uint8_t> x(2048, 0x11), y(2048, 0x11);
      for (uint32_t i = 0; i < len; ++i) x[256 + i] = y[256 + i] = static_cast<uint8_t>(i * 7);
      buf_view vx{x.data() + 256, len, 256, 2048 - 256 - len}, vy = vx;
      vy.data = y.data() + 256;
      ASSERT_EQ(a.seal(*eng, vx, 7, 0), dc_err::ok);
      seal_job j;
      bool staged = false;
      ASSERT_EQ(b.seal_prepare(*eng, vy, 7, 0, j, staged), dc_err::ok);
      EXPECT_EQ(staged, aead);
      if (staged) {
        ASSERT_TRUE(j.run(*eng));
      }
      if (!aead) continue;  // CBC: a random IV per packet, so no two seals are alike
      ASSERT_EQ(vx.len, vy.len);
      EXPECT_EQ(vx.headroom, vy.headroom);
      EXPECT_TRUE(std::equal(vx.data, vx.data + vx.len, vy.data)) << len;
    }
    // No room: the id is given back, and the next packet takes it.
    std::vector<uint8_t> z(64, 0);
    buf_view tight{z.data() + 2, 10, 2, 52};
    seal_job j;
    bool staged = true;
    EXPECT_EQ(b.seal_prepare(*eng, tight, 7, 0, j, staged), dc_err::no_room);
    EXPECT_FALSE(staged);
    EXPECT_EQ(b.tx_peek()->packet_id(), 4u);
  }
}
