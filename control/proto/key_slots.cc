// SPDX-License-Identifier: MIT
// key_slots: the primary and lame-duck key states, their deadlines and limits (§2.6, §12).
#include "dpvpn/key_slots.h"

#include <algorithm>

#include "dpvpn/crypto.h"

namespace dpvpn::proto {

key_slots::key_slots(const session_config& cfg) : cfg_(cfg) {
  if (cfg_.server && cfg_.reneg_sec > 10) {
    // §12.1: a server subtracts up to 10 % so that it, not the client, usually renegotiates.
    uint32_t r = 0;
    crypto::random_bytes(reinterpret_cast<uint8_t*>(&r), sizeof r);
    reneg_jitter_ms_ = r % (uint64_t{cfg_.reneg_sec} * 100);
  }
}

key_slots::~key_slots() = default;

key_state* key_slots::find(uint8_t kid) const noexcept {
  if (primary_ && primary_->kid == kid) return primary_.get();
  if (lame_duck_ && lame_duck_->kid == kid) return lame_duck_.get();
  return nullptr;
}

key_state& key_slots::start(uint8_t kid, uint64_t now_ms) {
  auto ks = std::make_unique<key_state>(kid, cfg_.tls_timeout_ms, now_ms);
  ks->authorized = !cfg_.server || !cfg_.reauth || kid == 0;  // key_id 0: the session's authorization
  if (cfg_.server) ks->tls = std::make_unique<tls_session>(*cfg_.tls);  // the client starts TLS
  primary_ = std::move(ks);                                             // on the peer's reset
  return *primary_;
}

std::optional<uint8_t> key_slots::rotate(uint64_t now_ms) {
  const uint8_t kid = wire::next_key_id(primary_->kid);
  std::optional<uint8_t> retired;
  if (lame_duck_) retired = lame_duck_->kid;
  lame_duck_ = std::move(primary_);
  // A key put back after a failed renegotiation keeps its first deadline: retrying never extends it.
  const uint64_t die = now_ms + uint64_t{cfg_.tran_window_s} * 1000;
  lame_duck_->must_die_ms = lame_duck_->must_die_ms ? std::min(lame_duck_->must_die_ms, die) : die;
  start(kid, now_ms);
  ++renegs_;
  return retired;
}

bool key_slots::restore() {
  if (!lame_duck_) return false;
  primary_ = std::move(lame_duck_);
  primary_->reneg_failed = true;
  return true;
}

std::optional<uint8_t> key_slots::expire_lame_duck(uint64_t now_ms) {
  if (!lame_duck_ || now_ms < lame_duck_->must_die_ms) return std::nullopt;
  const uint8_t kid = lame_duck_->kid;
  lame_duck_.reset();
  return kid;
}

bool key_slots::handshake_overdue(uint64_t now_ms) const noexcept {
  return primary_ && (primary_->kid == 0 ? !primary_->active : !primary_->generated) &&
         now_ms >= primary_->t_start_ms + uint64_t{cfg_.hand_window_s} * 1000;
}

uint64_t key_slots::reneg_at_ms() const noexcept {
  if (!primary_ || !primary_->generated || !primary_->active || primary_->reneg_failed || !cfg_.reneg_sec)
    return k_never;
  return primary_->t_active_ms + uint64_t{cfg_.reneg_sec} * 1000 - reneg_jitter_ms_;
}

// From the key's activation (its last key-method-2 ACKed): a server derives a renegotiated key
// before that, and its reneg-sec counts from when both sides surely hold it.
bool key_slots::reneg_due(uint64_t now_ms) const noexcept {
  if (!primary_ || !primary_->generated || !primary_->active || primary_->reneg_failed) return false;
  const bool by_time = cfg_.reneg_sec && now_ms >= reneg_at_ms();
  const bool by_bytes = cfg_.reneg_bytes && primary_->data_bytes >= cfg_.reneg_bytes;
  const bool by_pkts = cfg_.reneg_pkts && primary_->data_pkts >= cfg_.reneg_pkts;
  return by_time || by_bytes || by_pkts;
}

uint64_t key_slots::next_wakeup_ms() const noexcept {
  uint64_t t = k_never;
  auto consider = [&t](uint64_t v) { t = std::min(t, v); };
  for (const key_state* ks : {primary_.get(), lame_duck_.get()}) {
    if (!ks) continue;
    consider(ks->rel.next_timeout_ms());
    if (ks->kid == 0 ? !ks->active : !ks->generated) consider(ks->t_start_ms + uint64_t{cfg_.hand_window_s} * 1000);
  }
  if (lame_duck_) consider(lame_duck_->must_die_ms);
  if (primary_ && primary_->must_die_ms) consider(primary_->must_die_ms);
  consider(reneg_at_ms());
  return t;
}

void key_slots::note_data(uint64_t bytes, uint64_t pkts) noexcept {
  if (!primary_) return;
  primary_->data_bytes += bytes;
  primary_->data_pkts += pkts;
}

size_t key_slots::queued_bytes() const noexcept {
  size_t n = 0;
  for (const key_state* ks : {primary_.get(), lame_duck_.get()}) {
    if (!ks) continue;
    n += ks->rel.queued_bytes();
    if (ks->tls) n += ks->tls->pending_ciphertext();
  }
  return n;
}

std::string key_slots::over_limit() const {
  for (const key_state* ks : {primary_.get(), lame_duck_.get()}) {
    if (!ks) continue;
    if (ks->tls && ks->tls->pending_ciphertext() > k_max_tls_out)
      return "control channel: TLS output over " + std::to_string(k_max_tls_out) + " bytes (peer not ACKing)";
    if (ks->rel.unacked() > k_max_send_queue) return "control channel: reliability send queue over limit";
  }
  return {};
}

}  // namespace dpvpn::proto
