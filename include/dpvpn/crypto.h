// SPDX-License-Identifier: MIT
// Crypto backends for the data channel: Intel IPsec-MB (fast path) and OpenSSL EVP (reference).
// Backend and key schedule are chosen once per key at install, never per packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "dpvpn/session_mem.h"

struct IMB_MGR;

namespace dpvpn::crypto {

enum class cipher_alg : uint8_t { none, aes_128_gcm, aes_256_gcm, chacha20_poly1305, aes_128_cbc, aes_256_cbc };
enum class digest_alg : uint8_t { none, sha1, sha256, sha512 };
enum class backend : uint8_t { openssl, ipsec_mb };

constexpr bool is_aead(cipher_alg c) {
  return c == cipher_alg::aes_128_gcm || c == cipher_alg::aes_256_gcm || c == cipher_alg::chacha20_poly1305;
}
constexpr size_t key_len(cipher_alg c) {
  return (c == cipher_alg::aes_128_gcm || c == cipher_alg::aes_128_cbc) ? 16 : (c == cipher_alg::none ? 0 : 32);
}
constexpr size_t digest_len(digest_alg d) {
  return d == digest_alg::sha1 ? 20 : d == digest_alg::sha256 ? 32 : d == digest_alg::sha512 ? 64 : 0;
}
// OpenVPN names, case-insensitive ("AES-256-GCM", "aes-256-gcm", "id-aes256-GCM", "CHACHA20-POLY1305").
std::optional<cipher_alg> cipher_from_name(std::string_view name) noexcept;
std::optional<digest_alg> digest_from_name(std::string_view name) noexcept;  // "SHA1", "SHA256", "SHA512"
const char* name(cipher_alg c) noexcept;  // canonical OpenVPN spelling
const char* name(digest_alg d) noexcept;
const char* name(backend b) noexcept;

// Per-thread crypto engine. Owns the IPsec-MB manager, which is not thread-safe: one per thread.
class engine {
 public:
  static std::unique_ptr<engine> create();  // picks the best IPsec-MB arch for this CPU
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;
  IMB_MGR* imb() noexcept { return mgr_; }
  // For one packet at a time where multi-buffer code wastes its lanes (HMAC, CBC encryption): an
  // SSE manager when the CPU has SHA-NI, which IPsec-MB 1.3 uses only there; otherwise imb().
  IMB_MGR* imb_single() noexcept { return single_ != nullptr ? single_ : mgr_; }
  const char* arch_name() const noexcept;

 private:
  engine() = default;
  IMB_MGR* mgr_ = nullptr;
  IMB_MGR* single_ = nullptr;
};

// One AEAD key for one direction, expanded once. All operations are in place.
// iv: 12 bytes. tag: 16 bytes. noexcept; no allocation.
class aead_key : public session_allocated {
 public:
  static std::unique_ptr<aead_key> create(backend b, cipher_alg c, std::span<const uint8_t> key);
  virtual ~aead_key() = default;
  virtual bool seal(engine& e, const uint8_t* iv, const uint8_t* aad, size_t aad_len, uint8_t* data, size_t len,
                    uint8_t* tag) noexcept = 0;
  // Returns false on a tag mismatch; `data` content is then unspecified.
  virtual bool open(engine& e, const uint8_t* iv, const uint8_t* aad, size_t aad_len, uint8_t* data, size_t len,
                    const uint8_t* tag) noexcept = 0;

  struct op {
    const uint8_t* iv;
    const uint8_t* aad;
    uint32_t aad_len;
    uint8_t* data;
    uint32_t len;
    uint8_t* tag;  // out for seal, in for open
    bool ok;       // result
  };
  // N independent operations with this key. The default loops over seal/open.
  virtual void seal_burst(engine& e, op* ops, size_t n) noexcept;
  virtual void open_burst(engine& e, op* ops, size_t n) noexcept;
  // The same through IPsec-MB's multi-buffer job API, whose lanes fill only when given several
  // operations: kept so that dpvpn-bench measures it beside the direct API in the same run
  // (docs/bench/dataplane.md). The default is the burst form.
  virtual void seal_jobs(engine& e, op* ops, size_t n) noexcept { seal_burst(e, ops, n); }
  virtual void open_jobs(engine& e, op* ops, size_t n) noexcept { open_burst(e, ops, n); }

  cipher_alg alg() const noexcept { return alg_; }
  backend which() const noexcept { return backend_; }
  // Prefetches the parts of the expanded key that a seal/open of `len` bytes reads first, so that
  // a burst can start those misses one pass before its crypto pass. A hint; the default does nothing.
  virtual void prefetch(size_t len) const noexcept { (void)len; }
  // Where the expanded key lives beside the object itself (the IPsec-MB keys: their key data), for
  // tools that place it in or out of the cache (dpvpn-bench --cold-sessions); empty when unknown.
  virtual std::span<const uint8_t> state() const noexcept { return {}; }

 protected:
  aead_key(backend b, cipher_alg c) : backend_(b), alg_(c) {}
  backend backend_;
  cipher_alg alg_;
};

// Legacy CBC + HMAC key for one direction (AES-128/256-CBC with SHA1/SHA256/SHA512).
class cbc_hmac_key {
 public:
  static std::unique_ptr<cbc_hmac_key> create(backend b, cipher_alg c, digest_alg d, std::span<const uint8_t> cipher_key,
                                               std::span<const uint8_t> hmac_key);
  virtual ~cbc_hmac_key() = default;
  // len must be a multiple of 16; in == out allowed. No padding is added or removed here.
  virtual bool encrypt(engine& e, const uint8_t* iv, const uint8_t* in, size_t len, uint8_t* out) noexcept = 0;
  virtual bool decrypt(engine& e, const uint8_t* iv, const uint8_t* in, size_t len, uint8_t* out) noexcept = 0;
  // HMAC of data; writes digest_len(digest()) bytes.
  virtual void hmac(engine& e, const uint8_t* data, size_t len, uint8_t* out) noexcept = 0;
  cipher_alg alg() const noexcept { return alg_; }
  digest_alg digest() const noexcept { return digest_; }

 protected:
  cbc_hmac_key(cipher_alg c, digest_alg d) : alg_(c), digest_(d) {}
  cipher_alg alg_;
  digest_alg digest_;
};

// tls-crypt's primitive (§3.4) and tls-auth's HMAC for the lcores' first-contact check
// (control/proto/front_filter.h): AES-256-CTR with a full 16-byte initial counter block, and an
// HMAC. A plain value with its expanded keys inside: set() allocates nothing, so a worker can key
// one per packet (a tls-crypt-v2 client key). IPsec-MB only; results equal tls_wrap.cc's OpenSSL
// code (tests/unit/test_front_filter.cc).
class ctr_hmac {
 public:
  // ke: 32 bytes, or null for an HMAC-only key. ka: the HMAC key (at most one block of d).
  // False when d is none or the IPsec-MB manager is missing.
  bool set(engine& e, const uint8_t* ke, std::span<const uint8_t> ka, digest_alg d) noexcept;
  // Encrypts or decrypts (the same in CTR); in == out allowed; len may be 0.
  bool ctr(engine& e, const uint8_t* iv16, const uint8_t* in, size_t len, uint8_t* out) noexcept;
  // Writes digest_len(d) bytes; a failed run writes zeros. len must be > 0.
  void hmac(engine& e, const uint8_t* data, size_t len, uint8_t* out) noexcept;
  void wipe() noexcept;
  ~ctr_hmac() { wipe(); }

 private:
  digest_alg d_ = digest_alg::none;
  alignas(16) uint8_t enc_[16 * 15] = {};
  alignas(16) uint8_t dec_[16 * 15] = {};
  alignas(16) uint8_t ipad_[64] = {};
  alignas(16) uint8_t opad_[64] = {};
};

// Cryptographically secure random bytes (OpenSSL RAND_bytes). Control plane and IV generation.
void random_bytes(uint8_t* out, size_t n);

}  // namespace dpvpn::crypto
