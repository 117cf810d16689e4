// SPDX-License-Identifier: MIT
// Data channel (§8, §9): in-place seal/open of P_DATA_V1/V2 with AEAD or CBC+HMAC, framing, kinds.
#include "dpvpn/data_channel.h"

#include <openssl/crypto.h>  // CRYPTO_memcmp: constant-time HMAC compare (§8.2)

#include <algorithm>
#include <cstring>
#include <exception>

namespace dpvpn::proto {
namespace {

using crypto::cipher_alg;
using crypto::digest_alg;

constexpr uint32_t k_iv = wire::k_cbc_iv;
constexpr uint32_t k_block = wire::k_cbc_block;
constexpr size_t k_max_hmac = 64;  // SHA512

using dc_inline::apply_framing;
using dc_inline::framing_room;
using dc_inline::k_pid_len;  // short-form packet-id (§8.3): AEAD and CBC data use it
using dc_inline::k_tag;
using dc_inline::kind_of;
using dc_inline::make_nonce;
using dc_inline::op_hdr_len;
using dc_inline::room;
using dc_inline::undo_framing;
using dc_inline::use_v2;
using dc_inline::write_op_hdr;

// ---- key setup (§7.3) -------------------------------------------------------------------

struct built_keys {
  std::unique_ptr<crypto::aead_key> aead;
  std::unique_ptr<crypto::cbc_hmac_key> cbc;
  uint8_t implicit_iv[wire::k_implicit_iv] = {};
};

bool fail(std::string* err, const char* msg) {
  if (err) *err = msg;
  return false;
}

// keys[d].cipher = key2[128d .. 128d+63], keys[d].hmac = key2[128d+64 .. 128d+127].
bool build_keys(const data_key_params& p, std::span<const uint8_t, wire::k_key2_size> key2, int dir,
                built_keys& out, std::string* err) {
  if (dir != k_dir_client_to_server && dir != k_dir_server_to_client) return fail(err, "direction must be 0 or 1");
  if (p.cipher == cipher_alg::none) return fail(err, "data cipher 'none' is not supported");
  if (p.replay_window > wire::k_replay_window_max) return fail(err, "replay window above 65536");
  const size_t base = size_t(dir) * 2 * wire::k_key_slot;
  const auto cipher_key = key2.subspan(base, crypto::key_len(p.cipher));
  const auto hmac_slot = key2.subspan(base + wire::k_key_slot, wire::k_key_slot);
  // §7: a key2 whose cipher part is all zero over the key length is a "bad dynamic key".
  uint8_t any = 0;
  for (uint8_t c : cipher_key) any |= c;
  if (any == 0) return fail(err, "weak data key: cipher key is all zero");

  try {
    if (crypto::is_aead(p.cipher)) {
      // §7.3: implicit IV = first 8 bytes of the same direction's hmac slot.
      std::memcpy(out.implicit_iv, hmac_slot.data(), wire::k_implicit_iv);
      out.aead = crypto::aead_key::create(p.backend, p.cipher, cipher_key);
      if (!out.aead) return fail(err, "crypto backend refused the AEAD key");
    } else {
      const size_t h = crypto::digest_len(p.digest);
      if (h == 0) return fail(err, "CBC data cipher needs an HMAC digest (--auth none is not supported)");
      out.cbc = crypto::cbc_hmac_key::create(p.backend, p.cipher, p.digest, cipher_key, hmac_slot.first(h));
      if (!out.cbc) return fail(err, "crypto backend refused the CBC/HMAC key");
    }
  } catch (const std::exception& e) {
    if (err) *err = e.what();
    return false;
  }
  return true;
}

}  // namespace

const char* to_string(comp_framing f) noexcept {
  switch (f) {
    case comp_framing::none: return "none";
    case comp_framing::lzo_no: return "comp-lzo no";
    case comp_framing::stub: return "compress stub";
    case comp_framing::stub_v2: return "compress stub-v2";
  }
  return "?";
}

const char* to_string(dc_err e) noexcept {
  switch (e) {
    case dc_err::ok: return "ok";
    case dc_err::too_short: return "too_short";
    case dc_err::bad_opcode: return "bad_opcode";
    case dc_err::bad_tag: return "bad_tag";
    case dc_err::bad_padding: return "bad_padding";
    case dc_err::replay: return "replay";
    case dc_err::bad_framing: return "bad_framing";
    case dc_err::no_room: return "no_room";
    case dc_err::packet_id_exhausted: return "packet_id_exhausted";
    case dc_err::crypto_failure: return "crypto_failure";
  }
  return "unknown";
}


dc_kind classify_payload(std::span<const uint8_t> p) noexcept {
  if (!p.empty() && ((p[0] >> 4) == 4 || (p[0] >> 4) == 6)) return dc_kind::ip;
  // §9.2: ping is exactly the 16 magic bytes.
  if (p.size() == wire::k_ping_magic.size() && std::memcmp(p.data(), wire::k_ping_magic.data(), p.size()) == 0)
    return dc_kind::ping;
  // §9.3: OCC = magic (16) || opcode (1) || body. Magic alone (no opcode) is an unreadable OCC.
  if (p.size() >= wire::k_occ_magic.size() &&
      std::memcmp(p.data(), wire::k_occ_magic.data(), wire::k_occ_magic.size()) == 0) {
    const bool is_exit = p.size() > wire::k_occ_magic.size() && p[wire::k_occ_magic.size()] == wire::k_occ_exit;
    return is_exit ? dc_kind::occ_exit : dc_kind::occ_other;
  }
  return dc_kind::ip;
}

// ---- send ---------------------------------------------------------------------------------

std::unique_ptr<dc_tx> dc_tx::create(const data_key_params& p, std::span<const uint8_t, wire::k_key2_size> key2,
                                     int dir, std::string* err) {
  built_keys k;
  if (!build_keys(p, key2, dir, k, err)) return nullptr;
  std::unique_ptr<dc_tx> tx(new dc_tx());
  tx->params_ = p;
  tx->aead_ = std::move(k.aead);
  tx->cbc_ = std::move(k.cbc);
  std::memcpy(tx->implicit_iv_, k.implicit_iv, sizeof tx->implicit_iv_);
  return tx;
}

// Room is checked before anything is written, so no_room and packet_id_exhausted leave b and
// the packet-id untouched.
dc_err dc_tx::seal(crypto::engine& e, buf_view& b, uint8_t key_id, uint32_t peer_id, comp_framing f) noexcept {
  const uint64_t last = packet_id_.load(std::memory_order_relaxed);
  if (last >= UINT32_MAX) return dc_err::packet_id_exhausted;
  const dc_err r = seal_with(e, b, key_id, peer_id, f, static_cast<uint32_t>(last + 1));
  // no_room leaves the id unused (as before: room is checked before anything is written).
  if (r != dc_err::no_room) packet_id_.store(last + 1, std::memory_order_relaxed);
  return r;
}

dc_err dc_tx::seal_id(crypto::engine& e, buf_view& b, uint8_t key_id, uint32_t peer_id, comp_framing f,
                      uint32_t pid) const noexcept {
  if (pid == 0) return dc_err::packet_id_exhausted;
  return seal_with(e, b, key_id, peer_id, f, pid);
}

dc_err dc_tx::seal_with(crypto::engine& e, buf_view& b, uint8_t key_id, uint32_t peer_id, comp_framing f,
                        uint32_t pid) const noexcept {
  const bool v2 = use_v2(peer_id);
  const uint32_t hdr = op_hdr_len(v2);
  const room fr = framing_room(f, b);

  if (aead_) {
    seal_job j;
    const dc_err r = seal_prepare(b, key_id, peer_id, f, pid, j);
    if (r != dc_err::ok) return r;
    return j.run(e) ? dc_err::ok : dc_err::crypto_failure;
  }

  // §8.2: [op/kid (+peer-id)] [HMAC H] [IV 16] [CBC(packet-id 4 || payload || PKCS#7)]
  const uint32_t h = static_cast<uint32_t>(crypto::digest_len(cbc_->digest()));
  const uint32_t plain = k_pid_len + b.len + fr.head + fr.tail;
  const uint32_t pad = k_block - plain % k_block;  // 1..16: a full block when already aligned
  if (b.headroom < fr.head + k_pid_len + k_iv + h + hdr || b.tailroom < fr.tail + pad) return dc_err::no_room;
  // Random IV per packet (§8.2), drawn before anything changes so a failure leaves b intact.
  uint8_t fresh_iv[k_iv];
  try {
    crypto::random_bytes(fresh_iv, k_iv);
  } catch (const std::exception&) {
    return dc_err::crypto_failure;
  }
  apply_framing(f, b, fr);
  uint8_t* const pt = b.prepend(k_pid_len);
  wire::put_u32(pt, pid);
  std::memset(b.append(pad), static_cast<int>(pad), pad);
  const uint32_t ct_len = b.len;
  uint8_t* const iv = b.prepend(k_iv);
  std::memcpy(iv, fresh_iv, k_iv);
  if (!cbc_->encrypt(e, iv, pt, ct_len, pt)) return dc_err::crypto_failure;
  cbc_->hmac(e, iv, k_iv + ct_len, b.prepend(h));
  write_op_hdr(b.prepend(hdr), v2, key_id, peer_id);
  return dc_err::ok;
}

// ---- receive ------------------------------------------------------------------------------

std::unique_ptr<dc_rx> dc_rx::create(const data_key_params& p, std::span<const uint8_t, wire::k_key2_size> key2,
                                     int dir, std::string* err) {
  built_keys k;
  if (!build_keys(p, key2, dir, k, err)) return nullptr;
  // The shared window is built with the key (an allocation above 96 ids) and used only once the
  // owner of a spread peer calls share_window().
  std::unique_ptr<dc_rx> rx(new dc_rx(p.spread_window ? std::max(p.spread_window, p.replay_window) : p.replay_window));
  rx->params_ = p;
  rx->replay_ = replay_window(p.replay_window, p.replay_time);
  rx->aead_ = std::move(k.aead);
  rx->cbc_ = std::move(k.cbc);
  std::memcpy(rx->implicit_iv_, k.implicit_iv, sizeof rx->implicit_iv_);
  return rx;
}

dc_err dc_rx::open_prepare(const buf_view& b, uint64_t now, open_job& j) noexcept { return prepare_aead(b, now, j); }

dc_err dc_rx::open_finish(buf_view& b, const open_job& j, bool tag_ok, uint64_t now, comp_framing f, dc_kind& kind,
                          commit_state pre) noexcept {
  return finish_aead(b, j, tag_ok, now, f, kind, pre);
}

dc_err dc_rx::open(crypto::engine& e, buf_view& b, uint64_t now, comp_framing f, dc_kind& kind) noexcept {
  if (aead_) [[likely]] return open_aead(e, b, now, f, kind);
  bool v2 = false;
  uint32_t hdr = 0;
  if (const dc_err he = open_header(b, now, v2, hdr); he != dc_err::ok) return he;
  // CBC + HMAC (§8.2): the packet id is inside the ciphertext, so it is checked after decryption.
  {
    const uint32_t h = static_cast<uint32_t>(crypto::digest_len(cbc_->digest()));
    // The smallest CBC plaintext (packet-id + padding) is one block.
    if (b.len < hdr + h + k_iv + k_block) return dc_err::too_short;
    uint8_t* const iv = b.data + hdr + h;
    uint8_t* const ct = iv + k_iv;
    const uint32_t ct_len = b.len - (hdr + h + k_iv);
    // Encrypt-then-MAC (§8.2): HMAC(IV || ciphertext) first, in constant time.
    uint8_t mac[k_max_hmac];
    cbc_->hmac(e, iv, k_iv + ct_len, mac);
    if (CRYPTO_memcmp(mac, b.data + hdr, h) != 0) return dc_err::bad_tag;
    if (ct_len % k_block != 0) return dc_err::bad_padding;
    if (!cbc_->decrypt(e, iv, ct, ct_len, ct)) return dc_err::crypto_failure;
    // PKCS#7; the padding is authenticated already, so no padding oracle arises here.
    const uint8_t pad = ct[ct_len - 1];
    if (pad == 0 || pad > k_block || ct_len - pad < k_pid_len) return dc_err::bad_padding;
    for (uint32_t i = ct_len - pad; i < ct_len; ++i)
      if (ct[i] != pad) return dc_err::bad_padding;
    if (!commit_id(wire::get_u32(ct), now)) return dc_err::replay;
    b.adj(hdr + h + k_iv + k_pid_len);
    b.trim(pad);
  }

  if (const dc_err fe = undo_framing(f, b); fe != dc_err::ok) return fe;
  kind = kind_of(b.span());
  return dc_err::ok;
}

}  // namespace dpvpn::proto
