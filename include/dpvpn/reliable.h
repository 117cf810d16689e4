// SPDX-License-Identifier: MIT
// Control-channel reliability layer for one key_id (§2): receive window, ACKs, send window,
// retransmit with backoff, fast retransmit, duplicate suppression. Time is passed in (ms).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <vector>

#include "dpvpn/packet.h"
#include "dpvpn/wire.h"

namespace dpvpn::proto {

class reliable {
 public:
  explicit reliable(uint32_t initial_timeout_ms = wire::k_tls_timeout_s * 1000,
                    uint32_t send_window = wire::k_reliable_send_window);

  // ---- receive side
  enum class rx_result : uint8_t { stored, duplicate, out_of_window };
  // Takes one received message. Queues an ACK for it (even for a duplicate) unless it is out of
  // the 12-message window (32-bit wrap-around arithmetic).
  rx_result receive(uint32_t msg_id, std::span<const uint8_t> payload);
  // Pops the next in-order payload; false if the next expected message has not arrived.
  bool pop_in_order(std::vector<uint8_t>& out);
  uint32_t next_expected() const noexcept { return next_expected_; }
  void set_next_expected(uint32_t id) noexcept { next_expected_ = id; }  // cookie path (§4.2)

  // ---- ACKs we owe the peer
  bool acks_pending() const noexcept { return !pending_acks_.empty(); }
  // Fills rec with up to max ids: fresh pending ones first (newest first), then recently
  // ACKed ids repeated while there is room (§2.3). Fresh ids are moved to the repeat list.
  void take_acks(ack_record& rec, size_t max, const wire::session_id& remote_sid);

  // ---- ACKs we received (remote sid already checked by the caller)
  void on_acks(const ack_record& rec);

  // ---- send side
  bool send_window_open() const noexcept;
  // Queues a new message for sending now; returns its message id.
  uint32_t enqueue(uint8_t op, std::vector<uint8_t> payload, uint64_t now_ms);
  void set_next_send_id(uint32_t id) noexcept { next_send_id_ = id; }  // cookie path
  uint32_t next_send_id() const noexcept { return next_send_id_; }

  struct out_msg {
    uint8_t op = 0;
    uint32_t msg_id = 0;
    std::span<const uint8_t> payload;  // valid until the next call that changes this object
  };
  // The lowest-id message that is due now (timer expired or fast retransmit). Marks it sent:
  // next_try = now + timeout, timeout doubles. False if none is due.
  bool next_due(uint64_t now_ms, out_msg& out);
  // Make every pending message due now ("burst", §2.4).
  void reschedule_all(uint64_t now_ms);
  // Earliest time a pending message becomes due; UINT64_MAX if none.
  uint64_t next_timeout_ms() const noexcept;
  size_t unacked() const noexcept { return sent_.size(); }
  bool all_acked() const noexcept { return sent_.empty(); }

 private:
  struct pending {
    uint8_t op;
    std::vector<uint8_t> payload;
    uint64_t next_try;
    uint32_t timeout;
    uint32_t ack_count;
  };
  uint32_t initial_timeout_ms_;
  uint32_t send_window_;
  uint32_t next_expected_ = 0;
  uint32_t next_send_id_ = 0;
  std::map<uint32_t, std::vector<uint8_t>> received_;  // out-of-order store, <= 12 entries
  std::deque<uint32_t> pending_acks_;                  // ids to ACK, newest at front
  std::deque<uint32_t> recent_acks_;                   // MRU of ACKed ids, for repeats
  std::map<uint32_t, pending> sent_;                   // un-ACKed messages by id
};

}  // namespace dpvpn::proto
