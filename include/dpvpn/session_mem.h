// SPDX-License-Identifier: MIT
// Memory for the per-session state the workers read on every packet: peers, key slots' receive
// and send state, expanded keys (docs/dataplane.md, "Session memory").
//
// With 10 000 sessions that state is tens of MiB spread over 4 KiB pages: more pages than the
// core's TLB holds, so each packet's peer, receive state and key can cost a page walk each. Here
// it comes from 2 MiB chunks that the kernel is asked to back with transparent huge pages
// (madvise MADV_HUGEPAGE; where THP is off or unavailable the chunks are ordinary pages and
// nothing else changes). Freed blocks go to a free list of their size class and are reused;
// chunks are kept until exit, so the footprint is the peak number of sessions.
//
// Any thread may allocate and free (one mutex): the control thread builds and frees session
// state, tests do it anywhere. The workers never call it. Built with AddressSanitizer the blocks
// come from the global operator new instead, so that ASan keeps seeing every use after free.
#pragma once

#include <cstddef>
#include <new>

namespace dpvpn {

void* session_alloc(size_t size, size_t align);
void session_free(void* p, size_t size, size_t align) noexcept;

struct session_mem_stats {
  size_t mapped = 0;       // bytes of 2 MiB chunks mapped
  size_t thp_advised = 0;  // of those, bytes in chunks whose madvise(MADV_HUGEPAGE) was accepted
  size_t in_use = 0;       // bytes handed out and not freed
};
session_mem_stats session_mem_usage() noexcept;

// A class whose objects live in session memory: derive from it (its operator new/delete are
// inherited; a polymorphic base with a virtual destructor frees with the derived size).
struct session_allocated {
  static void* operator new(size_t n) { return session_alloc(n, __STDCPP_DEFAULT_NEW_ALIGNMENT__); }
  static void* operator new(size_t n, std::align_val_t a) { return session_alloc(n, static_cast<size_t>(a)); }
  static void operator delete(void* p, size_t n) noexcept { session_free(p, n, __STDCPP_DEFAULT_NEW_ALIGNMENT__); }
  static void operator delete(void* p, size_t n, std::align_val_t a) noexcept {
    session_free(p, n, static_cast<size_t>(a));
  }
};

}  // namespace dpvpn
