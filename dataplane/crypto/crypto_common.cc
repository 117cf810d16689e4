// SPDX-License-Identifier: MIT
// Algorithm names, the per-thread IPsec-MB engine, key factories and the default burst loops.
#include <intel-ipsec-mb.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <string_view>

#include "backends.h"
#include "dpvpn/crypto.h"

namespace dpvpn::crypto {
namespace {

bool iequal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char ch) { return (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

template <class T>
struct name_entry {
  std::string_view name;
  T value;
};

// OpenVPN accepts any OpenSSL name for a cipher and normalises it (§11): the short names
// ("id-aes256-GCM", "ChaCha20-Poly1305") and the bare "AES256" alias (which OpenSSL maps to CBC).
constexpr name_entry<cipher_alg> k_cipher_names[] = {
    {"AES-128-GCM", cipher_alg::aes_128_gcm},
    {"id-aes128-GCM", cipher_alg::aes_128_gcm},
    {"AES-256-GCM", cipher_alg::aes_256_gcm},
    {"id-aes256-GCM", cipher_alg::aes_256_gcm},
    {"CHACHA20-POLY1305", cipher_alg::chacha20_poly1305},
    {"AES-128-CBC", cipher_alg::aes_128_cbc},
    {"AES128", cipher_alg::aes_128_cbc},
    {"AES-256-CBC", cipher_alg::aes_256_cbc},
    {"AES256", cipher_alg::aes_256_cbc},
    {"none", cipher_alg::none},
};

constexpr name_entry<digest_alg> k_digest_names[] = {
    {"SHA1", digest_alg::sha1},     {"SHA-1", digest_alg::sha1},       {"SHA256", digest_alg::sha256},
    {"SHA-256", digest_alg::sha256}, {"SHA2-256", digest_alg::sha256}, {"SHA512", digest_alg::sha512},
    {"SHA-512", digest_alg::sha512}, {"SHA2-512", digest_alg::sha512}, {"none", digest_alg::none},
};

bool valid_cbc_pair(cipher_alg c, digest_alg d) noexcept {
  return (c == cipher_alg::aes_128_cbc || c == cipher_alg::aes_256_cbc) &&
         (d == digest_alg::none || d == digest_alg::sha1 || d == digest_alg::sha256 || d == digest_alg::sha512);
}

}  // namespace

std::optional<cipher_alg> cipher_from_name(std::string_view name) noexcept {
  for (const auto& e : k_cipher_names)
    if (iequal(e.name, name)) return e.value;
  return std::nullopt;
}

std::optional<digest_alg> digest_from_name(std::string_view name) noexcept {
  for (const auto& e : k_digest_names)
    if (iequal(e.name, name)) return e.value;
  return std::nullopt;
}

const char* name(cipher_alg c) noexcept {
  switch (c) {
    case cipher_alg::none: return "none";
    case cipher_alg::aes_128_gcm: return "AES-128-GCM";
    case cipher_alg::aes_256_gcm: return "AES-256-GCM";
    case cipher_alg::chacha20_poly1305: return "CHACHA20-POLY1305";
    case cipher_alg::aes_128_cbc: return "AES-128-CBC";
    case cipher_alg::aes_256_cbc: return "AES-256-CBC";
  }
  return "?";
}

const char* name(digest_alg d) noexcept {
  switch (d) {
    case digest_alg::none: return "none";
    case digest_alg::sha1: return "SHA1";
    case digest_alg::sha256: return "SHA256";
    case digest_alg::sha512: return "SHA512";
  }
  return "?";
}

const char* name(backend b) noexcept {
  switch (b) {
    case backend::openssl: return "openssl";
    case backend::ipsec_mb: return "ipsec-mb";
  }
  return "?";
}

// Returns nullptr when IPsec-MB cannot allocate or initialise a manager.
std::unique_ptr<engine> engine::create() {
  std::unique_ptr<engine> e(new engine());
  e->mgr_ = alloc_mb_mgr(0);
  if (e->mgr_ == nullptr) return nullptr;
  IMB_ARCH arch = IMB_ARCH_NONE;
  init_mb_mgr_auto(e->mgr_, &arch);
  if (imb_get_errno(e->mgr_) != 0 || arch == IMB_ARCH_NONE) return nullptr;
  // Measured on an AVX2+VAES+SHA-NI core with one job per call: HMAC-SHA256 of 1440 B runs 9x
  // faster and CBC encryption 1.5x faster on the SSE manager than on the 8/16-lane AVX2 one.
  if ((e->mgr_->features & IMB_FEATURE_SHANI) && arch > IMB_ARCH_SSE) {
    e->single_ = alloc_mb_mgr(0);
    if (e->single_ == nullptr) return nullptr;
    init_mb_mgr_sse(e->single_);
    if (imb_get_errno(e->single_) != 0) return nullptr;
  }
  return e;
}

engine::~engine() {
  if (single_ != nullptr) free_mb_mgr(single_);
  if (mgr_ != nullptr) free_mb_mgr(mgr_);
}

const char* engine::arch_name() const noexcept {
  if (mgr_ == nullptr) return "none";
  switch (mgr_->used_arch) {
    case IMB_ARCH_NOAESNI: return "noaesni";
    case IMB_ARCH_SSE: return "sse";
    case IMB_ARCH_AVX: return "avx";
    case IMB_ARCH_AVX2: return (mgr_->features & IMB_FEATURE_VAES) ? "avx2+vaes" : "avx2";
    case IMB_ARCH_AVX512: return (mgr_->features & IMB_FEATURE_VAES) ? "avx512+vaes" : "avx512";
    default: return "unknown";
  }
}

void aead_key::seal_burst(engine& e, op* ops, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i)
    ops[i].ok = seal(e, ops[i].iv, ops[i].aad, ops[i].aad_len, ops[i].data, ops[i].len, ops[i].tag);
}

void aead_key::open_burst(engine& e, op* ops, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i)
    ops[i].ok = open(e, ops[i].iv, ops[i].aad, ops[i].aad_len, ops[i].data, ops[i].len, ops[i].tag);
}

// Returns nullptr for a non-AEAD algorithm or a key of the wrong length.
std::unique_ptr<aead_key> aead_key::create(backend b, cipher_alg c, std::span<const uint8_t> key) {
  if (!is_aead(c) || key.size() != key_len(c)) return nullptr;
  return b == backend::ipsec_mb ? detail::make_imb_aead(c, key) : detail::make_ossl_aead(c, key);
}

// Returns nullptr for a non-CBC cipher, an unknown digest or a cipher key of the wrong length.
// The HMAC key is used as given (OpenVPN passes the first digest_len bytes of its slot, §7.3).
std::unique_ptr<cbc_hmac_key> cbc_hmac_key::create(backend b, cipher_alg c, digest_alg d,
                                                   std::span<const uint8_t> cipher_key,
                                                   std::span<const uint8_t> hmac_key) {
  if (!valid_cbc_pair(c, d) || cipher_key.size() != key_len(c)) return nullptr;
  return b == backend::ipsec_mb ? detail::make_imb_cbc_hmac(c, d, cipher_key, hmac_key)
                                : detail::make_ossl_cbc_hmac(c, d, cipher_key, hmac_key);
}

void random_bytes(uint8_t* out, size_t n) {
  // RAND_bytes takes an int; callers ask for a few dozen bytes, but split to stay correct.
  while (n > 0) {
    const int chunk = n > (1u << 20) ? (1 << 20) : static_cast<int>(n);
    if (RAND_bytes(out, chunk) != 1) throw std::runtime_error("RAND_bytes failed");
    out += chunk;
    n -= static_cast<size_t>(chunk);
  }
}

}  // namespace dpvpn::crypto
