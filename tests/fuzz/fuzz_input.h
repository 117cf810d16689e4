// SPDX-License-Identifier: MIT
// A byte reader for fuzz targets that take several values from one input (gcc has no
// FuzzedDataProvider, and the seed corpora replay under gcc). Reading past the end yields zeros
// and empty spans, so every input is valid.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

namespace dpvpn::fuzz {

class reader {
 public:
  reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool empty() const noexcept { return n_ == 0; }
  size_t left() const noexcept { return n_; }
  uint8_t u8() noexcept {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  // Big-endian; each byte read in its own statement (operand order is unspecified).
  uint16_t u16() noexcept {
    const uint16_t hi = u8();
    return static_cast<uint16_t>(hi << 8 | u8());
  }
  uint32_t u32() noexcept {
    const uint32_t hi = u16();
    return hi << 16 | u16();
  }
  uint64_t u64() noexcept {
    const uint64_t hi = u32();
    return hi << 32 | u32();
  }
  std::span<const uint8_t> bytes(size_t k) noexcept {
    k = std::min(k, n_);
    std::span<const uint8_t> s(p_, k);
    p_ += k;
    n_ -= k;
    return s;
  }
  std::span<const uint8_t> rest() noexcept { return bytes(n_); }

 private:
  const uint8_t* p_;
  size_t n_;
};

}  // namespace dpvpn::fuzz
