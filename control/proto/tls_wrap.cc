// SPDX-License-Identifier: MIT
// Control-channel wrapping (§3.2-§3.6) and the stateless session-id cookie (§4.2), on OpenSSL.
#include "dpvpn/tls_wrap.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <climits>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <stdexcept>

namespace dpvpn::proto {
namespace {

using bytes = std::span<const uint8_t>;

constexpr size_t k_ka_len = 32;  // HMAC-SHA256 key = first 32 bytes of .hmac
constexpr size_t k_clear_hdr = wire::k_ctl_header + wire::k_replay_long;  // 17 bytes HMACed in clear
constexpr size_t k_wkc_len_field = 2;
constexpr size_t k_wkc_min = wire::k_tls_crypt_tag + k_wkc_len_field;
constexpr size_t k_wkc_max_meta = wire::k_tcv2_max_wkc - (wire::k_tcv2_client_key + k_wkc_min);  // 734

// tls-auth uses the --auth digest; a key built without one (digest none) falls back to SHA1,
// the default, so no path ever runs a zero-length HMAC that would accept anything.
crypto::digest_alg auth_digest(crypto::digest_alg d) {
  return d == crypto::digest_alg::none ? crypto::digest_alg::sha1 : d;
}

const char* md_name(crypto::digest_alg d) {
  switch (d) {
    case crypto::digest_alg::sha256: return "SHA256";
    case crypto::digest_alg::sha512: return "SHA512";
    default: return "SHA1";
  }
}

struct mac_ctx_free {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
struct cipher_ctx_free {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

// HMAC over the concatenation of parts; writes the full digest to out. False only if OpenSSL fails.
bool hmac(const char* md, bytes key, std::initializer_list<bytes> parts, uint8_t* out) {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);  // shared, never freed
  if (!mac) return false;
  std::unique_ptr<EVP_MAC_CTX, mac_ctx_free> ctx(EVP_MAC_CTX_new(mac));
  if (!ctx) return false;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(md), 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1) return false;
  for (bytes p : parts)
    if (!p.empty() && EVP_MAC_update(ctx.get(), p.data(), p.size()) != 1) return false;
  size_t len = 0;
  return EVP_MAC_final(ctx.get(), out, &len, EVP_MAX_MD_SIZE) == 1;
}

// AES-256-CTR with a full 16-byte initial counter block (§3.4); encrypt and decrypt are the same.
bool aes256_ctr(const uint8_t* key, const uint8_t* iv, bytes in, uint8_t* out) {
  if (in.size() > INT_MAX) return false;
  std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_free> ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  return ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_ctr(), nullptr, key, iv) == 1 &&
         EVP_EncryptUpdate(ctx.get(), out, &len, in.data(), static_cast<int>(in.size())) == 1;
}

void put_rid(uint8_t* p, replay_id rid) {
  wire::put_u32(p, rid.counter);
  wire::put_u32(p + 4, rid.time);
}

// §3.4 receive side: decrypt with IV = tag[0..15], then check the tag over clear || plaintext.
bool tls_crypt_open(const uint8_t* ke, const uint8_t* ka, bytes clear, const uint8_t* tag, bytes ct,
                    std::vector<uint8_t>& plain) {
  std::vector<uint8_t> p(ct.size());
  if (!ct.empty() && !aes256_ctr(ke, tag, ct, p.data())) return false;
  uint8_t want[EVP_MAX_MD_SIZE];
  if (!hmac("SHA256", {ka, k_ka_len}, {clear, p}, want)) return false;
  if (CRYPTO_memcmp(want, tag, wire::k_tls_crypt_tag) != 0) return false;
  plain = std::move(p);
  return true;
}

}  // namespace

const char* to_string(wrap_err e) noexcept {
  switch (e) {
    case wrap_err::ok: return "ok";
    case wrap_err::too_short: return "too short";
    case wrap_err::bad_hmac: return "tls-auth HMAC mismatch";
    case wrap_err::bad_tag: return "tls-crypt tag mismatch";
    case wrap_err::bad_wkc_len: return "tls-crypt-v2 WKc length inconsistent";
    case wrap_err::wkc_too_long: return "tls-crypt-v2 WKc longer than 1024 bytes";
    case wrap_err::bad_wkc_tag: return "tls-crypt-v2 WKc tag mismatch";
    case wrap_err::bad_metadata: return "tls-crypt-v2 WKc shorter than the client key";
  }
  return "unknown";
}

wrap_keys wrap_keys::none() { return {}; }

// §3.2: NORMAL (0) sends with keys[0] and receives with keys[1]; INVERSE (1) the opposite;
// bidirectional (-1) uses keys[0] both ways.
wrap_keys wrap_keys::tls_auth(const key2& k, crypto::digest_alg d, int key_direction) {
  wrap_keys w;
  w.mode = wrap_mode::tls_auth;
  w.digest = auth_digest(d);
  size_t send = key_direction == 1 ? 1 : 0;
  size_t recv = key_direction == 0 ? 1 : 0;
  const uint8_t* base = k.data();
  std::memcpy(w.send_cipher.data(), base + send * 2 * wire::k_key_slot, wire::k_key_slot);
  std::memcpy(w.send_hmac.data(), base + (send * 2 + 1) * wire::k_key_slot, wire::k_key_slot);
  std::memcpy(w.recv_cipher.data(), base + recv * 2 * wire::k_key_slot, wire::k_key_slot);
  std::memcpy(w.recv_hmac.data(), base + (recv * 2 + 1) * wire::k_key_slot, wire::k_key_slot);
  return w;
}

// §3.2: tls-crypt ignores key-direction; the server is NORMAL and the client INVERSE.
wrap_keys wrap_keys::tls_crypt(const key2& k, bool server) {
  wrap_keys w = tls_auth(k, crypto::digest_alg::sha256, server ? 0 : 1);
  w.mode = wrap_mode::tls_crypt;
  return w;
}

size_t wrap_keys::overhead() const noexcept {
  switch (mode) {
    case wrap_mode::tls_auth: return wire::k_replay_long + crypto::digest_len(auth_digest(digest));
    case wrap_mode::tls_crypt: return wire::k_replay_long + wire::k_tls_crypt_tag;
    default: return 0;
  }
}

void tls_crypt_seal(const wrap_keys& k, bytes clear, bytes plain, std::vector<uint8_t>& out) {
  uint8_t tag[EVP_MAX_MD_SIZE];
  if (!hmac("SHA256", {k.send_hmac.data(), k_ka_len}, {clear, plain}, tag))
    throw std::runtime_error("tls-crypt: HMAC-SHA256 failed");
  size_t at = out.size();
  out.insert(out.end(), tag, tag + wire::k_tls_crypt_tag);
  out.resize(at + wire::k_tls_crypt_tag + plain.size());
  if (!plain.empty() && !aes256_ctr(k.send_cipher.data(), tag, plain, out.data() + at + wire::k_tls_crypt_tag))
    throw std::runtime_error("tls-crypt: AES-256-CTR failed");
}

void wrap(const wrap_keys& k, uint8_t op_kid, const wire::session_id& sid, bytes body, replay_id rid,
          std::vector<uint8_t>& out) {
  uint8_t clear[k_clear_hdr];  // op || sid || replay id
  clear[0] = op_kid;
  std::memcpy(clear + 1, sid.data(), sid.size());
  put_rid(clear + wire::k_ctl_header, rid);
  switch (k.mode) {
    case wrap_mode::none:
      out.insert(out.end(), clear, clear + wire::k_ctl_header);
      out.insert(out.end(), body.begin(), body.end());
      return;
    case wrap_mode::tls_auth: {
      // §3.3: HMAC over replay id || op || sid || body; on the wire op, sid, HMAC, replay id, body.
      size_t h = crypto::digest_len(auth_digest(k.digest));
      uint8_t mac[EVP_MAX_MD_SIZE];
      if (!hmac(md_name(k.digest), {k.send_hmac.data(), h},
                {bytes(clear + wire::k_ctl_header, wire::k_replay_long), bytes(clear, wire::k_ctl_header), body}, mac))
        throw std::runtime_error("tls-auth: HMAC failed");
      out.insert(out.end(), clear, clear + wire::k_ctl_header);
      out.insert(out.end(), mac, mac + h);
      out.insert(out.end(), clear + wire::k_ctl_header, clear + k_clear_hdr);
      out.insert(out.end(), body.begin(), body.end());
      return;
    }
    case wrap_mode::tls_crypt:
      out.insert(out.end(), clear, clear + k_clear_hdr);
      tls_crypt_seal(k, bytes(clear, k_clear_hdr), body, out);
      return;
  }
}

wrap_err unwrap(const wrap_keys& k, bytes pkt, uint8_t& op_kid, wire::session_id& sid, replay_id& rid,
                std::vector<uint8_t>& body) {
  if (pkt.size() < wire::k_ctl_header + k.overhead()) return wrap_err::too_short;
  const uint8_t* p = pkt.data();
  replay_id r{};
  switch (k.mode) {
    case wrap_mode::none:
      body.assign(p + wire::k_ctl_header, p + pkt.size());
      break;
    case wrap_mode::tls_auth: {
      size_t h = crypto::digest_len(auth_digest(k.digest));
      const uint8_t* rp = p + wire::k_ctl_header + h;
      bytes rest = pkt.subspan(wire::k_ctl_header + h + wire::k_replay_long);
      uint8_t want[EVP_MAX_MD_SIZE];
      if (!hmac(md_name(k.digest), {k.recv_hmac.data(), h},
                {bytes(rp, wire::k_replay_long), bytes(p, wire::k_ctl_header), rest}, want) ||
          CRYPTO_memcmp(want, p + wire::k_ctl_header, h) != 0)
        return wrap_err::bad_hmac;
      r = {wire::get_u32(rp), wire::get_u32(rp + 4)};
      body.assign(rest.begin(), rest.end());
      break;
    }
    case wrap_mode::tls_crypt: {
      const uint8_t* tag = p + k_clear_hdr;
      if (!tls_crypt_open(k.recv_cipher.data(), k.recv_hmac.data(), bytes(p, k_clear_hdr), tag,
                          pkt.subspan(wire::k_tls_crypt_hdr), body))
        return wrap_err::bad_tag;
      r = {wire::get_u32(p + wire::k_ctl_header), wire::get_u32(p + wire::k_ctl_header + 4)};
      break;
    }
  }
  op_kid = p[0];
  std::memcpy(sid.data(), p + 1, sid.size());
  rid = r;
  return wrap_err::ok;
}

// §3.5: the WKc is the last `len` bytes, len being the packet's trailing u16; what precedes it is
// an ordinary tls-crypt packet, so it must leave at least the 49-byte tls-crypt header.
wrap_err tcv2_split(bytes pkt, bytes& wrapped, bytes& wkc) {
  if (pkt.size() < wire::k_tls_crypt_hdr + k_wkc_min) return wrap_err::too_short;
  size_t len = wire::get_u16(pkt.data() + pkt.size() - k_wkc_len_field);
  if (len > wire::k_tcv2_max_wkc) return wrap_err::wkc_too_long;
  if (len < k_wkc_min || len > pkt.size() - wire::k_tls_crypt_hdr) return wrap_err::bad_wkc_len;
  wrapped = pkt.first(pkt.size() - len);
  wkc = pkt.last(len);
  return wrap_err::ok;
}

// §3.5: WKc = T || AES-256-CTR(Ke_srv, T[0..15], Kc || metadata) || len,
// T = HMAC-SHA256(Ka_srv, len || Kc || metadata).
wrap_err tcv2_unwrap_wkc(const tcv2_server_key& sk, bytes wkc, key2& kc, std::vector<uint8_t>& metadata) {
  if (wkc.size() < k_wkc_min) return wrap_err::too_short;
  if (wkc.size() > wire::k_tcv2_max_wkc) return wrap_err::wkc_too_long;
  const uint8_t* len_field = wkc.data() + wkc.size() - k_wkc_len_field;
  if (wire::get_u16(len_field) != wkc.size()) return wrap_err::bad_wkc_len;
  const uint8_t* ke = sk.bytes.data();
  const uint8_t* ka = sk.bytes.data() + wire::k_key_slot;
  std::vector<uint8_t> plain;
  if (!tls_crypt_open(ke, ka, bytes(len_field, k_wkc_len_field), wkc.data(),
                      wkc.subspan(wire::k_tls_crypt_tag, wkc.size() - k_wkc_min), plain))
    return wrap_err::bad_wkc_tag;
  if (plain.size() < kc.size()) return wrap_err::bad_metadata;
  std::memcpy(kc.data(), plain.data(), kc.size());
  metadata.assign(plain.begin() + static_cast<ptrdiff_t>(kc.size()), plain.end());
  return wrap_err::ok;
}

std::vector<uint8_t> tcv2_wrap_wkc(const tcv2_server_key& sk, const key2& kc, bytes metadata) {
  if (metadata.size() > k_wkc_max_meta) return {};
  size_t len = k_wkc_min + kc.size() + metadata.size();
  uint8_t len_field[k_wkc_len_field];
  wire::put_u16(len_field, static_cast<uint16_t>(len));
  std::vector<uint8_t> plain(kc.begin(), kc.end());
  plain.insert(plain.end(), metadata.begin(), metadata.end());
  wrap_keys w;  // the server key is one direction only: Ke = cipher[0..31], Ka = hmac[0..31]
  std::memcpy(w.send_cipher.data(), sk.bytes.data(), wire::k_key_slot);
  std::memcpy(w.send_hmac.data(), sk.bytes.data() + wire::k_key_slot, wire::k_key_slot);
  std::vector<uint8_t> out;
  out.reserve(len);
  tls_crypt_seal(w, bytes(len_field, k_wkc_len_field), plain, out);
  out.insert(out.end(), len_field, len_field + k_wkc_len_field);
  return out;
}

// §4.2: Ss = first 8 bytes of HMAC-SHA256(key, u32 BE slot || client sockaddr bytes || Sc).
wire::session_id cookie_sid(std::span<const uint8_t, 32> key, uint32_t slot, bytes client_addr,
                            const wire::session_id& sc) {
  uint8_t slot_be[4];
  wire::put_u32(slot_be, slot);
  uint8_t mac[EVP_MAX_MD_SIZE];
  if (!hmac("SHA256", key, {bytes(slot_be, sizeof slot_be), client_addr, sc}, mac))
    throw std::runtime_error("cookie: HMAC-SHA256 failed");
  wire::session_id s;
  std::memcpy(s.data(), mac, s.size());
  return s;
}

// §3.6: D = exporter output XOR the original key2 (static key file or Kc), if there was one.
key2 dyn_tls_crypt_key(const key2& exporter_out, const key2* original) {
  key2 d = exporter_out;
  if (original)
    for (size_t i = 0; i < d.size(); ++i) d[i] ^= (*original)[i];
  return d;
}

// openvpn's tls_crypt_v2_check_client_key_age (tls-crypt-v2-max-age): too short, another metadata
// type, or older than max_days is refused; a timestamp in the future is not.
bool tcv2_key_age_ok(std::span<const uint8_t> metadata, uint64_t now_unix_s, uint32_t max_days) noexcept {
  if (metadata.size() < 9 || metadata[0] != wire::k_tcv2_meta_timestamp) return false;
  uint64_t ts = 0;
  for (size_t i = 1; i < 9; ++i) ts = ts << 8 | metadata[i];
  const int64_t age = static_cast<int64_t>(now_unix_s) - static_cast<int64_t>(ts);
  return age <= static_cast<int64_t>(max_days) * 24 * 60 * 60;
}

}  // namespace dpvpn::proto
