// SPDX-License-Identifier: MIT
// Control-channel reliability layer for one key_id (§2): receive window, ACKs, send window,
// retransmit with backoff, fast retransmit, duplicate suppression. Time is passed in (ms).
//
// Message ids are compared with 32-bit wrap-around arithmetic everywhere (§2.2): "a before b"
// means int32(a - b) < 0. Not thread-safe: one owner (the session's control thread).
//
// Send window policy (§2.4): callers check send_window_open() before enqueue(). If they do
// not, enqueue() still accepts the message and returns its id, but it is held (never returned
// by next_due, not counted by next_timeout_ms) until the ACKs for older messages bring it
// inside the window; it is then due at once. Nothing is ever dropped on the send side.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "dpvpn/packet.h"
#include "dpvpn/wire.h"

namespace dpvpn::proto {

class reliable {
 public:
  // Retransmit backoff stops doubling here, so the timer never overflows; hand-window (60 s,
  // §2.6) ends a stuck handshake long before this matters.
  static constexpr uint32_t k_max_timeout_ms = 60'000;
  // Most ACK-recently-used ids kept for repeats (§2.3: OpenVPN keeps the last 8).
  static constexpr size_t k_ack_mru_size = wire::k_ack_max;
  // Most fresh ACKs owed at once. Beyond that the oldest owed ACK is forgotten; the peer
  // retransmits that message and it is ACKed again, so this only bounds memory.
  static constexpr size_t k_max_pending_acks = 2 * wire::k_reliable_recv_window;

  explicit reliable(uint32_t initial_timeout_ms = wire::k_tls_timeout_s * 1000,
                    uint32_t send_window = wire::k_reliable_send_window);

  // ---- receive side
  enum class rx_result : uint8_t { stored, duplicate, out_of_window };
  // Takes one received message. Ids in [next_expected, next_expected+12) are stored (if new)
  // and ACKed; ids before next_expected (already delivered) and ids already stored are
  // `duplicate` and ACKed again so the peer stops resending; ids at or beyond
  // next_expected+12 are `out_of_window`: dropped without an ACK (§2.2 step 4).
  rx_result receive(uint32_t msg_id, std::span<const uint8_t> payload);
  // Pops the next in-order payload; false if the next expected message has not arrived.
  bool pop_in_order(std::vector<uint8_t>& out);
  uint32_t next_expected() const noexcept { return next_expected_; }
  // Cookie path (§4.2): message 0 counts as received, so this is set to 1. Stored messages
  // that fall outside the new window are discarded.
  void set_next_expected(uint32_t id) noexcept;
  // Messages stored and not yet popped (never more than 12).
  size_t stored() const noexcept { return received_.size(); }

  // ---- ACKs we owe the peer
  bool acks_pending() const noexcept { return !pending_acks_.empty(); }
  // Fills rec with up to max ids (max is clamped to 8, App. B item 4; callers pass 4 for a
  // piggyback, 8 for P_ACK_V1): fresh pending ones first (newest first), then recently ACKed
  // ids repeated while there is room (§2.3). Fresh ids are moved to the repeat list. No id
  // appears twice. rec.remote_sid is set to remote_sid (meaningful only when rec.n > 0).
  void take_acks(ack_record& rec, size_t max, const wire::session_id& remote_sid);

  // ---- ACKs we received (remote sid already checked by the caller)
  // Deletes ACKed messages from the send buffer; every still pending message older than an
  // ACKed id gets one more ACK count (fast retransmit at 3, §2.2 step 3). Ids we never sent
  // are ignored; an id repeated within one record counts once.
  void on_acks(const ack_record& rec);

  // ---- send side
  // True when a new message would be inside the send window (§2.4): fewer than send_window
  // un-ACKed and its id below lowest_unacked + send_window.
  bool send_window_open() const noexcept;
  // Queues a new message for sending now; returns its message id. See the policy above for a
  // closed window.
  uint32_t enqueue(uint8_t op, std::vector<uint8_t> payload, uint64_t now_ms);
  // Cookie path (§4.2): our reset (message 0) counts as sent and ACKed, so this is set to 1.
  // Precondition: nothing queued yet.
  void set_next_send_id(uint32_t id) noexcept { next_send_id_ = id; }
  uint32_t next_send_id() const noexcept { return next_send_id_; }

  struct out_msg {
    uint8_t op = 0;
    uint32_t msg_id = 0;
    std::span<const uint8_t> payload;  // valid until the next call that changes this object
  };
  // The lowest-id message that is due now (timer expired or fast retransmit). Marks it sent:
  // next_try = now + timeout, timeout doubles (up to k_max_timeout_ms), ACK count cleared.
  // False if none is due.
  bool next_due(uint64_t now_ms, out_msg& out);
  // Make every pending message due now and restart its backoff at the initial timeout
  // ("burst", §2.4).
  void reschedule_all(uint64_t now_ms);
  // Earliest time a pending message becomes due (a time <= now means "due already");
  // UINT64_MAX if none.
  uint64_t next_timeout_ms() const noexcept;
  // Messages queued and not yet ACKed, including any held outside the window.
  size_t unacked() const noexcept { return sent_.size(); }
  bool all_acked() const noexcept { return sent_.empty(); }
  // Payload bytes held: un-ACKed messages and received ones not yet popped.
  size_t queued_bytes() const noexcept;

 private:
  struct pending {
    uint32_t msg_id;
    uint8_t op;
    std::vector<uint8_t> payload;
    uint64_t next_try;
    uint32_t timeout;
    uint32_t ack_count;
  };
  struct stored_msg {
    uint32_t msg_id;
    std::vector<uint8_t> payload;
  };
  bool in_send_window(uint32_t msg_id) const noexcept;
  bool due(const pending& p, uint64_t now_ms) const noexcept;
  void queue_ack(uint32_t msg_id);

  uint32_t initial_timeout_ms_;
  uint32_t send_window_;
  uint32_t next_expected_ = 0;
  uint32_t next_send_id_ = 0;
  std::vector<stored_msg> received_;  // out-of-order store, <= 12 entries, any order
  std::deque<uint32_t> pending_acks_;  // ids to ACK, newest at front, no duplicates
  std::deque<uint32_t> recent_acks_;   // MRU of ACKed ids for repeats, newest at front
  std::vector<pending> sent_;          // un-ACKed messages in id order (ids are consecutive
                                       // at enqueue; ACKs punch holes)
};

}  // namespace dpvpn::proto
