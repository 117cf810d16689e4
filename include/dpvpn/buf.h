// SPDX-License-Identifier: MIT
// buf_view: the one buffer type shared by protocol code (tests back it with a vector) and rte_mbuf.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace dpvpn {

// A window [data, data+len) inside a larger buffer with `headroom` bytes free before it and
// `tailroom` bytes free after it. Seal prepends headers into headroom and encrypts in place;
// open works in place and trims. Nothing here allocates.
struct buf_view {
  uint8_t* data = nullptr;
  uint32_t len = 0;
  uint32_t headroom = 0;
  uint32_t tailroom = 0;

  // Grow at the front by n bytes; returns the new start or nullptr if headroom is short.
  uint8_t* prepend(uint32_t n) noexcept {
    if (n > headroom) return nullptr;
    data -= n; len += n; headroom -= n;
    return data;
  }
  // Grow at the back by n bytes; returns a pointer to the new bytes or nullptr.
  uint8_t* append(uint32_t n) noexcept {
    if (n > tailroom) return nullptr;
    uint8_t* p = data + len;
    len += n; tailroom -= n;
    return p;
  }
  // Remove n bytes from the front (they become headroom).
  bool adj(uint32_t n) noexcept {
    if (n > len) return false;
    data += n; len -= n; headroom += n;
    return true;
  }
  // Remove n bytes from the back (they become tailroom).
  bool trim(uint32_t n) noexcept {
    if (n > len) return false;
    len -= n; tailroom += n;
    return true;
  }
  std::span<uint8_t> span() const noexcept { return {data, len}; }
};

// Headroom the dataplane guarantees in front of an inner packet (RTE_PKTMBUF_HEADROOM is 128):
// Ethernet 14 + IPv6 40 + UDP 8 + the largest OpenVPN data header we emit
// (DATA_V2 4 + HMAC-SHA512 64 + IV 16 = 84 for CBC; 24 for AEAD) = 146 -> 160 is enough.
inline constexpr uint32_t k_min_headroom = 160;
static_assert(k_min_headroom >= 14 + 40 + 8 + 4 + 64 + 16, "headroom must fit outer + OpenVPN header");

// Test/control-plane helper: a heap buffer with headroom and tailroom around the payload.
class owned_buf {
 public:
  explicit owned_buf(std::span<const uint8_t> payload, uint32_t headroom = k_min_headroom,
                     uint32_t tailroom = 128)
      : store_(headroom + payload.size() + tailroom) {
    view_.data = store_.data() + headroom;
    view_.len = static_cast<uint32_t>(payload.size());
    view_.headroom = headroom;
    view_.tailroom = tailroom;
    for (size_t i = 0; i < payload.size(); ++i) view_.data[i] = payload[i];
  }
  buf_view& view() { return view_; }
  std::vector<uint8_t> bytes() const { return {view_.data, view_.data + view_.len}; }

 private:
  std::vector<uint8_t> store_;
  buf_view view_;
};

}  // namespace dpvpn
