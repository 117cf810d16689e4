// SPDX-License-Identifier: MIT
// data_keys: key slots per peer — open by key_id, seal with the confirmed newest key (§8.6, §12.3).
#include "dpvpn/data_keys.h"

namespace dpvpn::proto {

bool data_keys::install(uint8_t key_id, const key2& k, crypto::cipher_alg c, crypto::digest_alg d, uint64_t now_s,
                        std::string* err, bool armed) {
  data_key_params p = base_;
  p.cipher = c;
  p.digest = d;
  std::span<const uint8_t, wire::k_key2_size> ks(k.data(), k.size());
  const int tx_dir = server_ ? k_dir_server_to_client : k_dir_client_to_server;
  const int rx_dir = server_ ? k_dir_client_to_server : k_dir_server_to_client;
  auto tx = dc_tx::create(p, ks, tx_dir, err);
  auto rx = dc_rx::create(p, ks, rx_dir, err);
  if (!tx || !rx) return false;
  install_prebuilt(key_id, tx, rx, now_s, armed);
  return true;  // tx/rx now hold the evicted keys (if any) and free them here
}

data_keys& data_keys::operator=(data_keys&& o) noexcept {
  if (this == &o) return *this;
  switch_after_s = o.switch_after_s;
  framing = o.framing;
  server_ = o.server_;
  base_ = o.base_;
  slots_ = std::move(o.slots_);
  tx_ = o.tx_;
  pending_ = o.pending_;
  pending_since_s_ = o.pending_since_s_;
  serial_ = o.serial_;
  o.tx_ = o.pending_ = -1;
  for (slot& sl : o.slots_) sl.key_id = -1;
  o.publish();
  publish();
  return *this;
}

int data_keys::pick_slot(uint8_t key_id) const noexcept {
  // Reuse the slot of the same key_id, else the oldest one that is not sending.
  int idx = -1;
  for (size_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].key_id == key_id) return static_cast<int>(i);
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (static_cast<int>(i) == tx_) continue;
    if (idx < 0 || slots_[i].serial < slots_[static_cast<size_t>(idx)].serial) idx = static_cast<int>(i);
  }
  return idx;
}

void data_keys::install_prebuilt(uint8_t key_id, std::unique_ptr<dc_tx>& tx, std::unique_ptr<dc_rx>& rx,
                                 uint64_t now_s, bool armed) noexcept {
  const int idx = pick_slot(key_id);
  slot& s = slots_[static_cast<size_t>(idx)];
  s.key_id = key_id;
  s.serial = ++serial_;
  std::swap(s.tx, tx);
  std::swap(s.rx, rx);
  if (s.tx) s.tx->set_key_id(key_id);
  if (shared_ && s.rx) s.rx->share_window();
  if (tx_ < 0 || tx_ == idx) {
    tx_ = idx;
    pending_ = -1;
  } else {
    pending_ = idx;
    pending_since_s_ = armed ? now_s : k_not_armed;
  }
  publish();
}

void data_keys::publish() noexcept {
  tx_pub_.store(tx_ >= 0 ? slots_[static_cast<size_t>(tx_)].tx.get() : nullptr, std::memory_order_release);
  for (uint8_t k = 0; k < rx_pub_.size(); ++k) {
    dc_rx* rx = nullptr;
    for (const slot& sl : slots_)
      if (sl.key_id == k) rx = sl.rx.get();
    if (rx_pub_[k].load(std::memory_order_relaxed) != rx) rx_pub_[k].store(rx, std::memory_order_release);
  }
}

void data_keys::share() noexcept {
  shared_ = true;
  for (slot& sl : slots_)
    if (sl.rx) sl.rx->share_window();
}

void data_keys::tick(uint64_t now_s) noexcept {
  if (pending_ < 0) return;
  const slot& p = slots_[static_cast<size_t>(pending_)];
  if ((p.rx && p.rx->used()) || now_s >= pending_since_s_ + switch_after_s) promote_pending();
}

void data_keys::arm(uint8_t key_id, uint64_t now_s) noexcept {
  if (pending_ >= 0 && slots_[static_cast<size_t>(pending_)].key_id == key_id && pending_since_s_ == k_not_armed)
    pending_since_s_ = now_s;
}

void data_keys::retire(uint8_t key_id, std::unique_ptr<dc_tx>& tx_out, std::unique_ptr<dc_rx>& rx_out) noexcept {
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].key_id != key_id) continue;
    if (tx_ == static_cast<int>(i)) {
      if (pending_ < 0) continue;  // never retire the only sending key
      promote_pending();
    }
    if (pending_ == static_cast<int>(i)) pending_ = -1;
    std::swap(tx_out, slots_[i].tx);
    std::swap(rx_out, slots_[i].rx);
    slots_[i].key_id = -1;
    slots_[i].serial = 0;
  }
  publish();
}

void data_keys::promote_pending() noexcept {
  if (pending_ < 0) return;
  tx_ = pending_;
  pending_ = -1;
  publish();
}

void data_keys::retire(uint8_t key_id) noexcept {
  std::unique_ptr<dc_tx> tx;
  std::unique_ptr<dc_rx> rx;
  retire(key_id, tx, rx);
}

dc_err data_keys::seal(crypto::engine& e, buf_view& b, uint32_t peer_id, uint64_t now_s) noexcept {
  if (shared_) {  // a block of one id (the dataplane takes a block per run of a burst)
    dc_tx* tx = tx_shared();
    if (!tx) return dc_err::crypto_failure;
    return tx->seal_id(e, b, tx->key_id(), peer_id, framing, tx->reserve_ids(1));
  }
  seal_job j;
  bool staged = false;
  const dc_err r = seal_prepare(e, b, peer_id, now_s, j, staged);
  if (r != dc_err::ok || !staged) return r;
  return j.run(e) ? dc_err::ok : dc_err::crypto_failure;
}

}  // namespace dpvpn::proto
