// SPDX-License-Identifier: MIT
// Wire layer: classify a datagram, decode/encode control-packet bodies (ACK record, message id),
// TCP 2-byte framing. Every parser returns a typed error on short, long or inconsistent input.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dpvpn/wire.h"

namespace dpvpn::proto {

enum class pkt_err : uint8_t {
  ok = 0,
  empty,
  too_short,        // fewer bytes than the opcode's fixed header
  too_long,         // over the largest packet we accept (k_max_packet)
  bad_opcode,       // not a known control or data opcode (incl. obsolete V1 resets)
  bad_key_id,       // key_id must be 0 for hard resets
  too_many_acks,    // ACK count > 8 (or > 4 where only piggybacking is legal, when strict)
  zero_session_id,  // own session id all zero
  trailing_bytes,   // P_ACK_V1 with bytes after the ACK record
  frame_too_long,   // TCP frame length over k_max_packet
};
const char* to_string(pkt_err e) noexcept;

inline constexpr size_t k_max_packet = 2048 + 256;  // largest datagram we parse (control or data)

struct classified {
  uint8_t op = 0;       // wire::opcode value
  uint8_t key_id = 0;
  bool is_data = false;
  uint32_t peer_id = wire::k_peer_id_none;  // P_DATA_V2 only
};
// First look at a datagram (dataplane fast path). No allocation.
pkt_err classify(std::span<const uint8_t> pkt, classified& out) noexcept;

struct ack_record {
  uint8_t n = 0;
  uint32_t ids[wire::k_ack_max] = {};
  wire::session_id remote_sid{};  // valid when n > 0
};

// A control packet split into its fields. `payload` points into the decoded buffer.
struct control_packet {
  uint8_t op = 0;
  uint8_t key_id = 0;
  wire::session_id sid{};
  ack_record acks;
  bool has_msg_id = false;  // false only for P_ACK_V1
  uint32_t msg_id = 0;
  std::span<const uint8_t> payload;
};

// Decode the body (bytes from offset 9 of the unwrapped packet: ACK record, msg id, payload)
// of a control packet whose op/key_id and sid are already known.
pkt_err decode_control_body(uint8_t op, std::span<const uint8_t> body, control_packet& out) noexcept;
// Decode a whole unwrapped control packet (op, sid, body).
pkt_err decode_control(std::span<const uint8_t> pkt, control_packet& out) noexcept;
// Append the body (ACK record, msg id if has_msg_id, payload) to out.
void encode_control_body(const control_packet& p, std::vector<uint8_t>& out);
// Append a whole unwrapped packet (op/key_id, sid, body) to out.
void encode_control(const control_packet& p, std::vector<uint8_t>& out);

// TCP transport (§1.1): every packet is preceded by a u16 BE length.
void tcp_frame(std::span<const uint8_t> pkt, std::vector<uint8_t>& out);
class tcp_deframer {
 public:
  // Append stream bytes. Returns frame_too_long if a length prefix is over k_max_packet (the
  // stream is then unusable), ok otherwise.
  pkt_err feed(std::span<const uint8_t> bytes);
  // Pop the next complete packet into out; false if none is complete yet.
  bool next(std::vector<uint8_t>& out);

 private:
  std::vector<uint8_t> buf_;
  size_t off_ = 0;
  bool broken_ = false;
};

}  // namespace dpvpn::proto
