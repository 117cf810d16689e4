// SPDX-License-Identifier: MIT
// Session memory (include/dpvpn/session_mem.h): blocks are aligned, distinct, reused after a free,
// counted; what the module does not serve goes to the global operator new; the session classes
// allocate from it.
#include "dpvpn/session_mem.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "dpvpn/crypto.h"
#include "dpvpn/data_channel.h"

namespace dpvpn {
namespace {

bool aligned(const void* p, size_t a) { return reinterpret_cast<uintptr_t>(p) % a == 0; }

TEST(SessionMem, BlocksAreAlignedDistinctAndWritable) {
  std::vector<std::pair<void*, size_t>> blocks;
  std::set<uintptr_t> seen;
  for (size_t i = 0; i < 3000; ++i) {
    const size_t size = 1 + (i * 97) % 5000;
    void* p = session_alloc(size, 64);
    ASSERT_TRUE(aligned(p, 64)) << size;
    std::memset(p, static_cast<int>(i), size);
    ASSERT_TRUE(seen.insert(reinterpret_cast<uintptr_t>(p)).second);
    blocks.emplace_back(p, size);
  }
  // No block overlaps the next one of the same allocation order: each still holds its own byte.
  for (size_t i = 0; i < blocks.size(); ++i) {
    const auto* b = static_cast<const uint8_t*>(blocks[i].first);
    ASSERT_EQ(b[0], static_cast<uint8_t>(i));
    ASSERT_EQ(b[blocks[i].second - 1], static_cast<uint8_t>(i));
  }
  for (auto& [p, n] : blocks) session_free(p, n, 64);
}

TEST(SessionMem, FreedBlockIsReusedForItsSizeClass) {
  void* a = session_alloc(1000, 64);
  session_free(a, 1000, 64);
  void* b = session_alloc(1010, 64);  // same 64-byte class (1024)
#if defined(__SANITIZE_ADDRESS__)
  (void)b;  // ASan builds use the global operator new: reuse is not promised
#else
  EXPECT_EQ(a, b);
#endif
  session_free(b, 1010, 64);
}

TEST(SessionMem, InUseCountsWhatIsHandedOut) {
  const size_t before = session_mem_usage().in_use;
  void* p = session_alloc(100, 16);
  void* q = session_alloc(64, 64);
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_EQ(session_mem_usage().in_use, before + 128 + 64);
  EXPECT_GE(session_mem_usage().mapped, size_t{2} << 20);
  EXPECT_LE(session_mem_usage().thp_advised, session_mem_usage().mapped);
#endif
  session_free(p, 100, 16);
  session_free(q, 64, 64);
  EXPECT_EQ(session_mem_usage().in_use, before);
}

TEST(SessionMem, LargeAndOverAlignedBlocksUseTheGlobalHeap) {
  const size_t before = session_mem_usage().in_use;
  void* big = session_alloc(1 << 20, 64);
  void* page = session_alloc(256, 4096);
  EXPECT_TRUE(aligned(page, 4096));
  EXPECT_EQ(session_mem_usage().in_use, before);
  std::memset(big, 1, 1 << 20);
  session_free(big, 1 << 20, 64);
  session_free(page, 256, 4096);
}

TEST(SessionMem, ThreadsAllocateAndFreeConcurrently) {
  auto work = [] {
    std::vector<void*> v;
    for (int r = 0; r < 20; ++r) {
      for (int i = 0; i < 500; ++i) v.push_back(session_alloc(64 + (i % 7) * 64, 64));
      for (size_t i = 0; i < v.size(); ++i) session_free(v[i], 64 + (i % 7) * 64, 64);
      v.clear();
    }
  };
  const size_t before = session_mem_usage().in_use;
  std::thread t1(work), t2(work);
  t1.join();
  t2.join();
  EXPECT_EQ(session_mem_usage().in_use, before);
}

TEST(SessionMem, SessionClassesLiveThere) {
  const size_t before = session_mem_usage().in_use;
  uint8_t key[32] = {1, 2, 3};
  auto k = crypto::aead_key::create(crypto::backend::ipsec_mb, crypto::cipher_alg::aes_256_gcm, key);
  ASSERT_TRUE(k);
  EXPECT_TRUE(aligned(k.get(), 64));
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_GT(session_mem_usage().in_use, before);
#endif
  k.reset();  // freed through the base class with the derived size
  EXPECT_EQ(session_mem_usage().in_use, before);
}

}  // namespace
}  // namespace dpvpn
