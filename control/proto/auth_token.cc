// SPDX-License-Identifier: MIT
// auth-gen-token: OpenVPN 2.6's session tokens (layout in auth_token.h), HMAC-SHA256 over the
// username and the first 28 bytes of the token data.
#include "dpvpn/auth_token.h"

#include <cstring>
#include <memory>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

namespace dpvpn::proto {

namespace {
constexpr size_t k_signed_len = k_auth_token_data_len - 32;  // session id + both timestamps
constexpr size_t k_pem_key_len = 128;                        // OpenVPN's struct key: 64 cipher + 64 HMAC
constexpr size_t k_pem_hmac_off = 64;

void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

void token_hmac(const auth_token_key& key, std::string_view username, const uint8_t* data, uint8_t out[32]) {
  // HMAC(username || data[0..28)): one buffer, so that one HMAC() call does it.
  std::string msg(username);
  msg.append(reinterpret_cast<const char*>(data), k_signed_len);
  unsigned len = 32;
  HMAC(EVP_sha256(), key.hmac.data(), static_cast<int>(key.hmac.size()), reinterpret_cast<const uint8_t*>(msg.data()),
       msg.size(), out, &len);
  OPENSSL_cleanse(msg.data(), msg.size());
}

// The 60 data bytes behind the prefix, or false: a token of any other length or alphabet is
// simply not ours (openvpn: "wrong size").
bool decode(std::string_view token, uint8_t out[k_auth_token_data_len]) {
  if (token.size() != k_auth_token_len || !is_auth_token(token)) return false;
  const std::string_view b64 = token.substr(k_auth_token_prefix.size());
  if (b64.find('=') != std::string_view::npos) return false;
  uint8_t buf[k_auth_token_data_len + 4];
  const int n = EVP_DecodeBlock(buf, reinterpret_cast<const uint8_t*>(b64.data()), static_cast<int>(b64.size()));
  if (n != static_cast<int>(k_auth_token_data_len)) return false;
  std::memcpy(out, buf, k_auth_token_data_len);
  return true;
}

std::string encode(const uint8_t data[k_auth_token_data_len]) {
  char b64[k_auth_token_data_len / 3 * 4 + 1];
  EVP_EncodeBlock(reinterpret_cast<uint8_t*>(b64), data, static_cast<int>(k_auth_token_data_len));
  return std::string(k_auth_token_prefix) + b64;
}
}  // namespace

std::optional<auth_token_key> parse_auth_token_key(std::string_view pem, std::string& err) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  if (!bio || PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
    err = "expected a PEM block '" + std::string(k_auth_token_pem_name) + "' (openvpn --genkey auth-token FILE)";
    return std::nullopt;
  }
  std::optional<auth_token_key> key;
  if (std::string_view(name) != k_auth_token_pem_name) {
    err = "expected a PEM block '" + std::string(k_auth_token_pem_name) + "', got '" + name + "'";
  } else if (len < static_cast<long>(k_pem_key_len)) {
    err = "expected at least " + std::to_string(k_pem_key_len) + " bytes of key, got " + std::to_string(len);
  } else {
    key.emplace();
    std::memcpy(key->hmac.data(), data + k_pem_hmac_off, key->hmac.size());
  }
  OPENSSL_cleanse(data, static_cast<size_t>(len));
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(data);
  return key;
}

auth_token_key random_auth_token_key() {
  auth_token_key k;
  if (RAND_bytes(k.hmac.data(), static_cast<int>(k.hmac.size())) != 1) std::abort();  // no entropy: nothing is safe
  return k;
}

auth_token_check verify_auth_token(const auth_token_key& key, std::string_view token, std::string_view username,
                                   uint64_t now_s, uint64_t renewal_s, uint64_t lifetime_s) {
  auth_token_check r;
  uint8_t data[k_auth_token_data_len];
  if (!decode(token, data)) return r;
  uint8_t mac[32];
  const uint8_t* theirs = data + k_signed_len;
  token_hmac(key, username, data, mac);
  if (CRYPTO_memcmp(mac, theirs, 32) == 0) {
    r.hmac_ok = true;
  } else {
    token_hmac(key, "", data, mac);
    if (CRYPTO_memcmp(mac, theirs, 32) != 0) return r;
    r.hmac_ok = r.empty_user = true;
  }
  const uint64_t initial = get_u64(data + k_auth_token_sessid_len);
  const uint64_t issued = get_u64(data + k_auth_token_sessid_len + 8);
  // Good from its issue time for two renewal intervals (it is renewed every interval).
  if (now_s < issued || now_s - issued >= 2 * renewal_s) r.expired = true;
  if (issued < initial) r.expired = true;  // broken or unsynchronised clock
  if (lifetime_s && now_s > initial + lifetime_s) r.expired = true;
  return r;
}

std::string generate_auth_token(const auth_token_key& key, std::string_view username, std::string_view initial,
                                bool empty_user, uint64_t now_s) {
  uint8_t data[k_auth_token_data_len];
  uint8_t old[k_auth_token_data_len];
  if (!initial.empty() && decode(initial, old)) {
    std::memcpy(data, old, k_auth_token_sessid_len + 8);  // same session id and initial timestamp
  } else {
    if (RAND_bytes(data, static_cast<int>(k_auth_token_sessid_len)) != 1) std::abort();
    put_u64(data + k_auth_token_sessid_len, now_s);
  }
  put_u64(data + k_auth_token_sessid_len + 8, now_s);
  token_hmac(key, empty_user ? std::string_view{} : username, data, data + k_signed_len);
  std::string t = encode(data);
  OPENSSL_cleanse(data, sizeof data);
  return t;
}

std::string auth_token_session_id(std::string_view token) {
  if (token.size() != k_auth_token_len || !is_auth_token(token)) return {};
  return std::string(token.substr(k_auth_token_prefix.size(), k_auth_token_sessid_len / 3 * 4));
}

}  // namespace dpvpn::proto
