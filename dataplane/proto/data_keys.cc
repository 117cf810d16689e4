// SPDX-License-Identifier: MIT
// data_keys: key slots per peer — open by key_id, seal with the newest (§8.6, §12.3).
#include "dpvpn/data_keys.h"

namespace dpvpn::proto {

bool data_keys::install(uint8_t key_id, const key2& k, crypto::cipher_alg c, crypto::digest_alg d, std::string* err) {
  data_key_params p = base_;
  p.cipher = c;
  p.digest = d;
  std::span<const uint8_t, wire::k_key2_size> ks(k.data(), k.size());
  const int tx_dir = server_ ? k_dir_server_to_client : k_dir_client_to_server;
  const int rx_dir = server_ ? k_dir_client_to_server : k_dir_server_to_client;
  auto tx = dc_tx::create(p, ks, tx_dir, err);
  auto rx = dc_rx::create(p, ks, rx_dir, err);
  if (!tx || !rx) return false;
  // Reuse the slot of the same key_id, else the oldest one.
  int idx = -1;
  for (size_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].key_id == key_id) idx = static_cast<int>(i);
  if (idx < 0) {
    idx = 0;
    for (size_t i = 1; i < slots_.size(); ++i)
      if (slots_[i].serial < slots_[static_cast<size_t>(idx)].serial) idx = static_cast<int>(i);
  }
  slot& s = slots_[static_cast<size_t>(idx)];
  s.key_id = key_id;
  s.serial = ++serial_;
  s.tx = std::move(tx);
  s.rx = std::move(rx);
  newest_ = idx;
  return true;
}

void data_keys::retire(uint8_t key_id) noexcept {
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].key_id != key_id) continue;
    if (newest_ == static_cast<int>(i)) continue;  // never retire the sending key
    slots_[i] = slot{};
  }
}

data_keys::open_result data_keys::open(crypto::engine& e, buf_view& b, uint64_t now_s) noexcept {
  open_result r;
  if (b.len < 1) {
    r.err = dc_err::too_short;
    return r;
  }
  r.key_id = wire::key_id_of(b.data[0]);
  for (slot& s : slots_) {
    if (s.key_id != r.key_id || !s.rx) continue;
    r.err = s.rx->open(e, b, now_s, framing, r.kind);
    return r;
  }
  r.no_key = true;
  return r;
}

dc_err data_keys::seal(crypto::engine& e, buf_view& b, uint32_t peer_id) noexcept {
  if (newest_ < 0) return dc_err::crypto_failure;
  slot& s = slots_[static_cast<size_t>(newest_)];
  return s.tx->seal(e, b, static_cast<uint8_t>(s.key_id), peer_id, framing);
}

bool data_keys::wrap_due() const noexcept {
  return newest_ >= 0 && slots_[static_cast<size_t>(newest_)].tx->wrap_due();
}

}  // namespace dpvpn::proto
