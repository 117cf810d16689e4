// SPDX-License-Identifier: MIT
// Session memory: size classes of 64 bytes carved from 2 MiB chunks backed by transparent huge
// pages where the kernel allows (see session_mem.h).
#include "dpvpn/session_mem.h"

#include <sys/mman.h>

#include <array>
#include <cstdint>
#include <mutex>

#if defined(__SANITIZE_ADDRESS__)
#define DPVPN_SESSION_MEM_PLAIN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DPVPN_SESSION_MEM_PLAIN 1
#endif
#endif

namespace dpvpn {

namespace {

constexpr size_t k_chunk = size_t{2} << 20;  // one huge page
constexpr size_t k_unit = 64;                // size classes: multiples of a cache line
constexpr size_t k_max = 64 * 1024;          // larger blocks: the global operator new
constexpr size_t k_classes = k_max / k_unit;

// Blocks this module serves; the rest go to the global operator new. Decided from (size, align)
// alone, so that alloc and free agree.
bool served(size_t size, size_t align) noexcept {
#ifdef DPVPN_SESSION_MEM_PLAIN
  (void)size;
  (void)align;
  return false;
#else
  return size != 0 && size <= k_max && align <= k_unit;
#endif
}

struct free_block {
  free_block* next;
};

struct arena {
  std::mutex mu;
  std::array<free_block*, k_classes> free{};
  uint8_t* cur = nullptr;  // bump pointer into the newest chunk
  size_t left = 0;
  session_mem_stats stats;

  // A fresh 2 MiB-aligned chunk: map twice the size and trim, so that a huge page can back it.
  bool grow() noexcept {
    void* m = mmap(nullptr, 2 * k_chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return false;
    auto* base = static_cast<uint8_t*>(m);
    const uintptr_t a = (reinterpret_cast<uintptr_t>(base) + k_chunk - 1) & ~(uintptr_t{k_chunk} - 1);
    auto* start = reinterpret_cast<uint8_t*>(a);
    if (start > base) munmap(base, static_cast<size_t>(start - base));
    const uint8_t* end = base + 2 * k_chunk;
    if (start + k_chunk < end) munmap(start + k_chunk, static_cast<size_t>(end - (start + k_chunk)));
    stats.mapped += k_chunk;
    if (madvise(start, k_chunk, MADV_HUGEPAGE) == 0) stats.thp_advised += k_chunk;
    cur = start;
    left = k_chunk;
    return true;
  }
};

arena& the_arena() {
  static arena* a = new arena();  // never destroyed: objects may be freed during static destruction
  return *a;
}

}  // namespace

void* session_alloc(size_t size, size_t align) {
  if (!served(size, align)) return ::operator new(size, std::align_val_t{align});
  const size_t cls = (size + k_unit - 1) / k_unit;
  arena& a = the_arena();
  std::lock_guard<std::mutex> lock(a.mu);
  a.stats.in_use += cls * k_unit;
  if (free_block* b = a.free[cls - 1]) {
    a.free[cls - 1] = b->next;
    return b;
  }
  if (a.left < cls * k_unit && !a.grow()) {
    a.stats.in_use -= cls * k_unit;
    throw std::bad_alloc();
  }
  void* p = a.cur;
  a.cur += cls * k_unit;
  a.left -= cls * k_unit;
  return p;
}

void session_free(void* p, size_t size, size_t align) noexcept {
  if (!p) return;
  if (!served(size, align)) {
    ::operator delete(p, std::align_val_t{align});
    return;
  }
  const size_t cls = (size + k_unit - 1) / k_unit;
  arena& a = the_arena();
  std::lock_guard<std::mutex> lock(a.mu);
  a.stats.in_use -= cls * k_unit;
  auto* b = static_cast<free_block*>(p);
  b->next = a.free[cls - 1];
  a.free[cls - 1] = b;
}

session_mem_stats session_mem_usage() noexcept {
  arena& a = the_arena();
  std::lock_guard<std::mutex> lock(a.mu);
  return a.stats;
}

}  // namespace dpvpn
