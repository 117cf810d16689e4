// SPDX-License-Identifier: MIT
// Control-channel reliability layer (§2): receive window and in-order delivery, ACK queue with
// repeats, send window, exponential-backoff and fast retransmit.
#include "dpvpn/reliable.h"

#include <algorithm>
#include <limits>

namespace dpvpn::proto {
namespace {

// Message ids wrap at 2^32 (§2.2): a is before b when the signed distance is negative.
constexpr bool id_before(uint32_t a, uint32_t b) noexcept {
  return static_cast<int32_t>(a - b) < 0;
}

constexpr uint64_t add_sat(uint64_t a, uint64_t b) noexcept {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max() : a + b;
}

}  // namespace

reliable::reliable(uint32_t initial_timeout_ms, uint32_t send_window)
    : initial_timeout_ms_(std::clamp<uint32_t>(initial_timeout_ms, 1, k_max_timeout_ms)),
      send_window_(std::max<uint32_t>(send_window, 1)) {}

// ---- receive side (§2.2 step 4 and 5)

reliable::rx_result reliable::receive(uint32_t msg_id, std::span<const uint8_t> payload) {
  // OpenVPN's test is "id - next_expected >= 12 (signed)": ids behind next_expected were
  // delivered already and are ACKed again, ids too far ahead would need a 13th slot.
  const int32_t dist = static_cast<int32_t>(msg_id - next_expected_);
  if (dist >= static_cast<int32_t>(wire::k_reliable_recv_window)) return rx_result::out_of_window;
  queue_ack(msg_id);
  if (dist < 0) return rx_result::duplicate;
  for (const auto& m : received_)
    if (m.msg_id == msg_id) return rx_result::duplicate;
  received_.push_back({msg_id, std::vector<uint8_t>(payload.begin(), payload.end())});
  return rx_result::stored;
}

bool reliable::pop_in_order(std::vector<uint8_t>& out) {
  for (auto it = received_.begin(); it != received_.end(); ++it) {
    if (it->msg_id != next_expected_) continue;
    out = std::move(it->payload);
    received_.erase(it);
    ++next_expected_;
    return true;
  }
  return false;
}

void reliable::set_next_expected(uint32_t id) noexcept {
  next_expected_ = id;
  std::erase_if(received_, [id](const stored_msg& m) {
    return static_cast<uint32_t>(m.msg_id - id) >= wire::k_reliable_recv_window;
  });
}

void reliable::queue_ack(uint32_t msg_id) {
  // A duplicate that is still owed stays where it is: one ACK covers both copies.
  if (std::find(pending_acks_.begin(), pending_acks_.end(), msg_id) != pending_acks_.end()) return;
  pending_acks_.push_front(msg_id);
  if (pending_acks_.size() > k_max_pending_acks) pending_acks_.pop_back();
}

// ---- ACKs we owe (§2.3)

void reliable::take_acks(ack_record& rec, size_t max, const wire::session_id& remote_sid) {
  max = std::min(max, wire::k_ack_max);
  size_t n = 0;
  auto listed = [&rec, &n](uint32_t id) { return std::find(rec.ids, rec.ids + n, id) != rec.ids + n; };

  // Fresh ids, newest first; each becomes the most recently used entry of the repeat list.
  while (n < max && !pending_acks_.empty()) {
    const uint32_t id = pending_acks_.front();
    pending_acks_.pop_front();
    rec.ids[n++] = id;
    std::erase(recent_acks_, id);
    recent_acks_.push_front(id);
    if (recent_acks_.size() > k_ack_mru_size) recent_acks_.pop_back();
  }
  // Then repeat recently ACKed ids while there is room, in case an earlier ACK was lost.
  for (uint32_t id : recent_acks_) {
    if (n >= max) break;
    if (!listed(id)) rec.ids[n++] = id;
  }
  rec.n = static_cast<uint8_t>(n);
  rec.remote_sid = remote_sid;
}

// ---- ACKs we received (§2.2 step 3)

size_t reliable::queued_bytes() const noexcept {
  size_t n = 0;
  for (const pending& p : sent_) n += p.payload.size();
  for (const stored_msg& m : received_) n += m.payload.size();
  return n;
}

void reliable::on_acks(const ack_record& rec) {
  const size_t n = std::min<size_t>(rec.n, wire::k_ack_max);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t id = rec.ids[i];
    // Only ids we have sent count; an unknown or bogus id must not trigger fast retransmits.
    if (!id_before(id, next_send_id_)) continue;
    // An id repeated inside one record counts once (issue 11: eight copies of one id were eight
    // ACKs towards fast retransmit, so one packet could force a resend of the whole window).
    if (std::find(rec.ids, rec.ids + i, id) != rec.ids + i) continue;
    std::erase_if(sent_, [id](const pending& p) { return p.msg_id == id; });
    for (auto& p : sent_)
      if (id_before(p.msg_id, id)) ++p.ack_count;
  }
}

// ---- send side (§2.4)

bool reliable::in_send_window(uint32_t msg_id) const noexcept {
  // sent_ is in id order, so its front is the lowest un-ACKed id.
  const uint32_t lowest = sent_.empty() ? next_send_id_ : sent_.front().msg_id;
  return msg_id - lowest < send_window_;
}

bool reliable::send_window_open() const noexcept { return in_send_window(next_send_id_); }

uint32_t reliable::enqueue(uint8_t op, std::vector<uint8_t> payload, uint64_t now_ms) {
  const uint32_t id = next_send_id_++;
  sent_.push_back({id, op, std::move(payload), now_ms, initial_timeout_ms_, 0});
  return id;
}

bool reliable::due(const pending& p, uint64_t now_ms) const noexcept {
  return in_send_window(p.msg_id) &&
         (p.next_try <= now_ms || p.ack_count >= wire::k_fast_retransmit_acks);
}

bool reliable::next_due(uint64_t now_ms, out_msg& out) {
  // sent_ is in id order, so the first due entry is the lowest id (§2.4).
  for (auto& p : sent_) {
    if (!due(p, now_ms)) continue;
    p.next_try = add_sat(now_ms, p.timeout);
    p.timeout = std::min(p.timeout * 2, k_max_timeout_ms);
    p.ack_count = 0;
    out.op = p.op;
    out.msg_id = p.msg_id;
    out.payload = p.payload;
    return true;
  }
  return false;
}

void reliable::reschedule_all(uint64_t now_ms) {
  for (auto& p : sent_) {
    p.next_try = now_ms;
    p.timeout = initial_timeout_ms_;
  }
}

uint64_t reliable::next_timeout_ms() const noexcept {
  uint64_t t = std::numeric_limits<uint64_t>::max();
  for (const auto& p : sent_) {
    if (!in_send_window(p.msg_id)) break;  // id order: the rest are held too
    t = std::min(t, p.ack_count >= wire::k_fast_retransmit_acks ? 0 : p.next_try);
  }
  return t;
}

}  // namespace dpvpn::proto
