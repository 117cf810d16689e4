// SPDX-License-Identifier: MIT
// key_slots: a session's per-key_id states (§2.6, §12) and the renegotiation bookkeeping.
// Owns the two slots, the primary key state and the lame duck (the previous key, alive until its
// tran-window ends), the count of renegotiations and the server's reneg-sec jitter. It knows the
// deadlines of the key states (reliability retransmits, hand-window, lame-duck expiry, reneg-sec,
// reneg-bytes, reneg-pkts) and the per-key queue limits. Called by proto::session only (session.cc
// for the plumbing and timers, session_ks.cc for the handshake); control thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "dpvpn/key_method2.h"
#include "dpvpn/reliable.h"
#include "dpvpn/session_types.h"
#include "dpvpn/tls_engine.h"
#include "dpvpn/wire.h"

namespace dpvpn::proto {

// One key_id's handshake (§2.6): reliability, TLS, both key-method-2 messages, its state flags
// and its times.
struct key_state {
  key_state(uint8_t k, uint32_t timeout_ms, uint64_t now_ms) : kid(k), rel(timeout_ms), t_start_ms(now_ms) {}

  uint8_t kid;
  reliable rel;                      // message ids restart at 0 per key_id
  std::unique_ptr<tls_session> tls;  // a fresh TLS session per key_id
  bool reset_received = false;       // peer's message 0 (hard or soft reset) delivered
  bool km2_sent = false;
  bool km2_received = false;
  bool active = false;               // S_ACTIVE: km2 both ways and everything ACKed
  bool generated = false;            // data keys derived
  bool authorized = false;           // server: this key_id may have data keys (reauth answered)
  bool peer_checked = false;         // server, key_id > 0: certificate compared with key_id 0's
  bool reneg_failed = false;         // the old key put back after a failed renegotiation
  km2_client ckm;
  km2_server skm;
  uint64_t t_start_ms;
  uint64_t t_active_ms = 0;
  uint64_t must_die_ms = 0;          // lame duck, or a key put back after a failed renegotiation
  uint64_t data_bytes = 0;
  uint64_t data_pkts = 0;
};

class key_slots {
 public:
  static constexpr uint64_t k_never = std::numeric_limits<uint64_t>::max();
  // Per-key limits (issue 11 F2): a peer that stops ACKing ends its own session.
  static constexpr size_t k_max_tls_out = 64 * 1024;  // TLS ciphertext waiting for the send window
  static constexpr size_t k_max_send_queue = 2 * wire::k_reliable_send_window;  // un-ACKed messages, one key_id

  // cfg is the session's own copy and outlives this object. A server draws its reneg-sec jitter here.
  explicit key_slots(const session_config& cfg);
  ~key_slots();
  key_slots(const key_slots&) = delete;
  key_slots& operator=(const key_slots&) = delete;

  key_state* primary() const noexcept { return primary_.get(); }
  key_state* lame_duck() const noexcept { return lame_duck_.get(); }
  key_state* find(uint8_t kid) const noexcept;
  // A fresh primary for kid (the old primary, if any, is dropped): the server's TLS session starts
  // at once, the client's on the peer's reset.
  key_state& start(uint8_t kid, uint64_t now_ms);
  // A renegotiation begins: the primary becomes the lame duck, due to die at tran-window (a key put
  // back after a failed renegotiation keeps its first deadline), and a new primary takes the next
  // key_id. Returns the key_id of the lame duck this replaced, which the caller retires.
  std::optional<uint8_t> rotate(uint64_t now_ms);
  // §12.3.5: a failed renegotiation puts the lame duck back as the primary (marked reneg_failed,
  // still due at its deadline). False when there is no lame duck to put back.
  bool restore();
  // The lame duck's tran-window is over: it is dropped and its key_id returned.
  std::optional<uint8_t> expire_lame_duck(uint64_t now_ms);

  // The primary has not finished its handshake within hand-window: key_id 0 until ACTIVE, a
  // renegotiation until its data key exists (after the re-authentication, if any).
  bool handshake_overdue(uint64_t now_ms) const noexcept;
  // reneg-sec (from the key's activation), reneg-bytes or reneg-pkts reached on the primary.
  bool reneg_due(uint64_t now_ms) const noexcept;
  // The earliest deadline of the key states (retransmit, hand-window, expiry, reneg-sec).
  uint64_t next_wakeup_ms() const noexcept;
  // Data-channel activity on the primary, for reneg-bytes / reneg-pkts.
  void note_data(uint64_t bytes, uint64_t pkts) noexcept;

  // Bytes held in TLS output and un-ACKed messages, both slots.
  size_t queued_bytes() const noexcept;
  // Why a slot is over its limits, or empty.
  std::string over_limit() const;
  uint32_t renegotiations() const noexcept { return renegs_; }

 private:
  uint64_t reneg_at_ms() const noexcept;  // reneg-sec's deadline on the primary, or k_never

  const session_config& cfg_;
  std::unique_ptr<key_state> primary_;
  std::unique_ptr<key_state> lame_duck_;
  uint64_t reneg_jitter_ms_ = 0;
  uint32_t renegs_ = 0;
};

}  // namespace dpvpn::proto
