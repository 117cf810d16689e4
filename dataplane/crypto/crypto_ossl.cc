// SPDX-License-Identifier: MIT
// OpenSSL EVP backend: the reference implementation and the oracle for differential tests.
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <climits>
#include <cstring>

#include "backends.h"

namespace dpvpn::crypto::detail {
namespace {

constexpr size_t k_tag_len = 16;

struct cipher_ctx_deleter {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;

const EVP_CIPHER* evp_cipher(cipher_alg c) noexcept {
  switch (c) {
    case cipher_alg::aes_128_gcm: return EVP_aes_128_gcm();
    case cipher_alg::aes_256_gcm: return EVP_aes_256_gcm();
    case cipher_alg::chacha20_poly1305: return EVP_chacha20_poly1305();
    case cipher_alg::aes_128_cbc: return EVP_aes_128_cbc();
    case cipher_alg::aes_256_cbc: return EVP_aes_256_cbc();
    case cipher_alg::none: break;
  }
  return nullptr;
}

// Both contexts get the key once here; per packet only the IV is set, so nothing is allocated
// and no key schedule is recomputed. Separate contexts because CBC decryption has its own schedule.
bool init_pair(cipher_alg c, std::span<const uint8_t> key, cipher_ctx_ptr& enc, cipher_ctx_ptr& dec) {
  const EVP_CIPHER* cipher = evp_cipher(c);
  enc.reset(EVP_CIPHER_CTX_new());
  dec.reset(EVP_CIPHER_CTX_new());
  if (cipher == nullptr || !enc || !dec) return false;
  if (EVP_EncryptInit_ex(enc.get(), cipher, nullptr, key.data(), nullptr) != 1) return false;
  if (EVP_DecryptInit_ex(dec.get(), cipher, nullptr, key.data(), nullptr) != 1) return false;
  return true;
}

class ossl_aead final : public aead_key {
 public:
  explicit ossl_aead(cipher_alg c) : aead_key(backend::openssl, c) {}
  bool init(std::span<const uint8_t> key) { return init_pair(alg_, key, enc_, dec_); }

  bool seal(engine&, const uint8_t* iv, const uint8_t* aad, size_t aad_len, uint8_t* data, size_t len,
            uint8_t* tag) noexcept override {
    EVP_CIPHER_CTX* c = enc_.get();
    int outl = 0;
    if (len > INT_MAX || aad_len > INT_MAX) return false;
    if (EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, iv) != 1) return false;
    if (aad_len > 0 && EVP_EncryptUpdate(c, nullptr, &outl, aad, static_cast<int>(aad_len)) != 1) return false;
    if (len > 0 && EVP_EncryptUpdate(c, data, &outl, data, static_cast<int>(len)) != 1) return false;
    uint8_t scratch[16];
    if (EVP_EncryptFinal_ex(c, scratch, &outl) != 1) return false;
    return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, k_tag_len, tag) == 1;
  }

  // OpenSSL compares the tag in constant time inside EVP_DecryptFinal_ex.
  bool open(engine&, const uint8_t* iv, const uint8_t* aad, size_t aad_len, uint8_t* data, size_t len,
            const uint8_t* tag) noexcept override {
    EVP_CIPHER_CTX* c = dec_.get();
    int outl = 0;
    if (len > INT_MAX || aad_len > INT_MAX) return false;
    if (EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, iv) != 1) return false;
    if (aad_len > 0 && EVP_DecryptUpdate(c, nullptr, &outl, aad, static_cast<int>(aad_len)) != 1) return false;
    if (len > 0 && EVP_DecryptUpdate(c, data, &outl, data, static_cast<int>(len)) != 1) return false;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, k_tag_len, const_cast<uint8_t*>(tag)) != 1) return false;
    uint8_t scratch[16];
    return EVP_DecryptFinal_ex(c, scratch, &outl) == 1;
  }

 private:
  cipher_ctx_ptr enc_, dec_;
};

const char* evp_digest_name(digest_alg d) noexcept {
  switch (d) {
    case digest_alg::sha1: return "SHA1";
    case digest_alg::sha256: return "SHA256";
    case digest_alg::sha512: return "SHA512";
    case digest_alg::none: break;
  }
  return nullptr;
}

class ossl_cbc_hmac final : public cbc_hmac_key {
 public:
  ossl_cbc_hmac(cipher_alg c, digest_alg d) : cbc_hmac_key(c, d) {}
  ~ossl_cbc_hmac() override {
    EVP_MAC_CTX_free(mac_ctx_);
    EVP_MAC_free(mac_);
  }

  bool init(std::span<const uint8_t> cipher_key, std::span<const uint8_t> hmac_key) {
    if (!init_pair(alg_, cipher_key, enc_, dec_)) return false;
    // OpenVPN's CBC carries its own PKCS#7 padding (§8.2); the cipher must not add any.
    EVP_CIPHER_CTX_set_padding(enc_.get(), 0);
    EVP_CIPHER_CTX_set_padding(dec_.get(), 0);
    if (digest_ == digest_alg::none) return true;
    mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac_ == nullptr) return false;
    mac_ctx_ = EVP_MAC_CTX_new(mac_);
    if (mac_ctx_ == nullptr) return false;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(evp_digest_name(digest_)), 0),
        OSSL_PARAM_construct_end()};
    static const uint8_t empty = 0;
    const uint8_t* k = hmac_key.empty() ? &empty : hmac_key.data();
    return EVP_MAC_init(mac_ctx_, k, hmac_key.size(), params) == 1;
  }

  bool encrypt(engine&, const uint8_t* iv, const uint8_t* in, size_t len, uint8_t* out) noexcept override {
    return run(enc_.get(), iv, in, len, out);
  }
  bool decrypt(engine&, const uint8_t* iv, const uint8_t* in, size_t len, uint8_t* out) noexcept override {
    return run(dec_.get(), iv, in, len, out);
  }

  void hmac(engine&, const uint8_t* data, size_t len, uint8_t* out) noexcept override {
    const size_t dl = digest_len(digest_);
    if (dl == 0) return;
    size_t outl = 0;
    // A NULL key re-initialises with the key given at create (OpenSSL 3 HMAC), without allocating.
    bool ok = EVP_MAC_init(mac_ctx_, nullptr, 0, nullptr) == 1 && (len == 0 || EVP_MAC_update(mac_ctx_, data, len) == 1) &&
              EVP_MAC_final(mac_ctx_, out, &outl, dl) == 1 && outl == dl;
    // A failed MAC must never compare equal to a real one by accident of leftover bytes.
    if (!ok) std::memset(out, 0, dl);
  }

 private:
  static bool run(EVP_CIPHER_CTX* c, const uint8_t* iv, const uint8_t* in, size_t len, uint8_t* out) noexcept {
    if (len % 16 != 0 || len > INT_MAX) return false;
    if (len == 0) return true;
    int outl = 0;
    if (EVP_CipherInit_ex(c, nullptr, nullptr, nullptr, iv, -1) != 1) return false;
    if (EVP_CipherUpdate(c, out, &outl, in, static_cast<int>(len)) != 1) return false;
    int fin = 0;
    return EVP_CipherFinal_ex(c, out + outl, &fin) == 1 && static_cast<size_t>(outl + fin) == len;
  }

  cipher_ctx_ptr enc_, dec_;
  EVP_MAC* mac_ = nullptr;
  EVP_MAC_CTX* mac_ctx_ = nullptr;
};

}  // namespace

std::unique_ptr<aead_key> make_ossl_aead(cipher_alg c, std::span<const uint8_t> key) {
  auto k = std::make_unique<ossl_aead>(c);
  if (!k->init(key)) return nullptr;
  return k;
}

std::unique_ptr<cbc_hmac_key> make_ossl_cbc_hmac(cipher_alg c, digest_alg d, std::span<const uint8_t> cipher_key,
                                                 std::span<const uint8_t> hmac_key) {
  auto k = std::make_unique<ossl_cbc_hmac>(c, d);
  if (!k->init(cipher_key, hmac_key)) return nullptr;
  return k;
}

}  // namespace dpvpn::crypto::detail
