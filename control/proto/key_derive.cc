// SPDX-License-Identifier: MIT
// Data-channel key derivation (§7): the OpenVPN PRF method (§7.2) and the TLS exporter (§7.1, §3.6).
#include "dpvpn/key_derive.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <algorithm>
#include <string_view>
#include <vector>

namespace dpvpn::proto {
namespace {

constexpr std::string_view k_master_label = "OpenVPN master secret";  // §7.2: no trailing space
constexpr std::string_view k_expansion_label = "OpenVPN key expansion";
constexpr std::string_view k_ekm_label = "EXPORTER-OpenVPN-datakeys";               // §7.1
constexpr std::string_view k_dyn_tls_crypt_label = "EXPORTER-OpenVPN-dynamic-tls-crypt";  // §3.6
constexpr size_t k_master_len = 48;

void append(std::vector<uint8_t>& v, std::span<const uint8_t> b) { v.insert(v.end(), b.begin(), b.end()); }
void append(std::vector<uint8_t>& v, std::string_view s) { v.insert(v.end(), s.begin(), s.end()); }

}  // namespace

// RFC 2246 §5: OpenSSL's TLS1-PRF with the MD5+SHA1 digest splits the secret into two halves that
// share a byte when its length is odd, and XORs P_MD5 with P_SHA1 (§15.1).
bool tls1_prf(std::span<const uint8_t> secret, std::span<const uint8_t> seed, std::span<uint8_t> out) {
  if (out.empty()) return true;
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_TLS1_PRF, nullptr);
  if (!pctx) return false;
  size_t len = out.size();
  bool ok = EVP_PKEY_derive_init(pctx) == 1 && EVP_PKEY_CTX_set_tls1_prf_md(pctx, EVP_md5_sha1()) == 1 &&
            EVP_PKEY_CTX_set1_tls1_prf_secret(pctx, secret.data(), static_cast<int>(secret.size())) == 1 &&
            EVP_PKEY_CTX_add1_tls1_prf_seed(pctx, seed.data(), static_cast<int>(seed.size())) == 1 &&
            EVP_PKEY_derive(pctx, out.data(), &len) == 1 && len == out.size();
  EVP_PKEY_CTX_free(pctx);
  return ok;
}

// §7.2: master = PRF(pre_master, label1 || c.random1 || s.random1, 48);
//       key2   = PRF(master, label2 || c.random2 || s.random2 || client sid || server sid, 256).
bool derive_prf(const km2_client& c, const km2_server& s, const wire::session_id& client_sid,
                const wire::session_id& server_sid, key2& out) {
  std::vector<uint8_t> seed;
  seed.reserve(k_expansion_label.size() + 2 * wire::k_random + 2 * wire::k_sid_size);
  append(seed, k_master_label);
  append(seed, c.random1);
  append(seed, s.random1);
  uint8_t master[k_master_len];
  if (!tls1_prf(c.pre_master, seed, master)) return false;

  seed.clear();
  append(seed, k_expansion_label);
  append(seed, c.random2);
  append(seed, s.random2);
  append(seed, client_sid);
  append(seed, server_sid);
  bool ok = tls1_prf(master, seed, out);
  OPENSSL_cleanse(master, sizeof master);
  return ok;
}

bool derive_ekm(tls_session& tls, key2& out) {
  return tls.export_keying_material(k_ekm_label, out.data(), out.size());
}

bool derive_dyn_tls_crypt(tls_session& tls, key2& out) {
  return tls.export_keying_material(k_dyn_tls_crypt_label, out.data(), out.size());
}

// §7: either direction's cipher key being all zero makes the key2 unusable.
bool key2_is_weak(const key2& k, size_t cipher_key_len) {
  size_t n = std::min(cipher_key_len, wire::k_key_slot);
  if (n == 0) return false;
  auto zero = [&](size_t off) {
    return std::all_of(k.begin() + off, k.begin() + off + n, [](uint8_t b) { return b == 0; });
  };
  return zero(0) || zero(2 * wire::k_key_slot);
}

}  // namespace dpvpn::proto
