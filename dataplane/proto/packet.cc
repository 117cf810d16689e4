// SPDX-License-Identifier: MIT
// Wire layer: datagram classification, control-packet body codec, TCP length framing (§1, §2.2).
#include "dpvpn/packet.h"

#include <algorithm>
#include <stdexcept>

namespace dpvpn::proto {

namespace {

// Bytes every packet of this opcode carries before anything we cannot see without keys:
// op/kid + peer-id for DATA_V2 (§1.5), op/kid alone for DATA_V1, op/kid + own sid for control
// (§1.4; the rest of a control packet may be wrapped, §3, so it is checked after unwrapping).
size_t fixed_header(uint8_t op) noexcept {
  switch (op) {
    case wire::P_DATA_V1: return wire::k_data_v1_hdr;
    case wire::P_DATA_V2: return wire::k_data_v2_hdr;
    default: return wire::k_ctl_header;
  }
}

bool is_hard_reset(uint8_t op) noexcept {
  return op == wire::P_CONTROL_HARD_RESET_CLIENT_V2 || op == wire::P_CONTROL_HARD_RESET_SERVER_V2 ||
         op == wire::P_CONTROL_HARD_RESET_CLIENT_V3;
}

void append(std::vector<uint8_t>& out, std::span<const uint8_t> b) { out.insert(out.end(), b.begin(), b.end()); }

void append_u32(std::vector<uint8_t>& out, uint32_t v) {
  uint8_t b[4];
  wire::put_u32(b, v);
  append(out, b);
}

}  // namespace

const char* to_string(pkt_err e) noexcept {
  switch (e) {
    case pkt_err::ok: return "ok";
    case pkt_err::empty: return "empty";
    case pkt_err::too_short: return "too_short";
    case pkt_err::too_long: return "too_long";
    case pkt_err::bad_opcode: return "bad_opcode";
    case pkt_err::bad_key_id: return "bad_key_id";
    case pkt_err::too_many_acks: return "too_many_acks";
    case pkt_err::zero_session_id: return "zero_session_id";
    case pkt_err::trailing_bytes: return "trailing_bytes";
    case pkt_err::frame_too_long: return "frame_too_long";
  }
  return "unknown";
}

pkt_err classify(std::span<const uint8_t> pkt, classified& out) noexcept {
  if (pkt.empty()) return pkt_err::empty;
  if (pkt.size() > k_max_packet) return pkt_err::too_long;
  const uint8_t op = wire::op_of(pkt[0]);
  const uint8_t kid = wire::key_id_of(pkt[0]);
  const bool data = wire::is_data_op(op);
  // §1.2: opcodes 1 and 2 (key-method 1 resets) are obsolete and dropped like unknown ones.
  if (!data && !wire::is_control_op(op)) return pkt_err::bad_opcode;
  // §1.2: a hard reset always starts key_id 0; renegotiation uses SOFT_RESET_V1.
  if (is_hard_reset(op) && kid != 0) return pkt_err::bad_key_id;
  if (pkt.size() < fixed_header(op)) return pkt_err::too_short;

  out.op = op;
  out.key_id = kid;
  out.is_data = data;
  out.peer_id = op == wire::P_DATA_V2 ? wire::get_u24(pkt.data() + 1) : wire::k_peer_id_none;
  return pkt_err::ok;
}

pkt_err decode_control_body(uint8_t op, std::span<const uint8_t> body, control_packet& out) noexcept {
  if (!wire::is_control_op(op)) return pkt_err::bad_opcode;
  if (body.empty()) return pkt_err::too_short;

  // §1.4 ACK record: n, n ids, then the receiver's sid only when n > 0.
  const uint8_t n = body[0];
  if (n > wire::k_ack_max) return pkt_err::too_many_acks;  // §2.1 RELIABLE_ACK_SIZE
  const size_t ack_len = wire::ack_record_size(n);
  if (body.size() < ack_len) return pkt_err::too_short;

  ack_record acks;
  acks.n = n;
  for (size_t i = 0; i < n; ++i) acks.ids[i] = wire::get_u32(body.data() + 1 + 4 * i);
  if (n > 0) std::copy_n(body.data() + 1 + 4 * n, wire::k_sid_size, acks.remote_sid.begin());
  auto rest = body.subspan(ack_len);

  // §2.3: P_ACK_V1 is the ACK record and nothing else.
  if (op == wire::P_ACK_V1) {
    if (!rest.empty()) return pkt_err::trailing_bytes;
    out.op = op;
    out.acks = acks;
    out.has_msg_id = false;
    out.msg_id = 0;
    out.payload = {};
    return pkt_err::ok;
  }
  if (rest.size() < 4) return pkt_err::too_short;
  out.op = op;
  out.acks = acks;
  out.has_msg_id = true;
  out.msg_id = wire::get_u32(rest.data());
  out.payload = rest.subspan(4);
  return pkt_err::ok;
}

pkt_err decode_control(std::span<const uint8_t> pkt, control_packet& out) noexcept {
  classified c;
  if (pkt_err e = classify(pkt, c); e != pkt_err::ok) return e;
  if (c.is_data) return pkt_err::bad_opcode;
  wire::session_id sid;
  std::copy_n(pkt.data() + 1, wire::k_sid_size, sid.begin());
  if (!wire::sid_defined(sid)) return pkt_err::zero_session_id;  // §1.3: all zero = undefined
  if (pkt_err e = decode_control_body(c.op, pkt.subspan(wire::k_ctl_header), out); e != pkt_err::ok)
    return e;
  out.key_id = c.key_id;
  out.sid = sid;
  return pkt_err::ok;
}

// Precondition: p.acks.n <= k_ack_max (the reliability layer never queues more, §2.3); entries
// past k_ack_max are not written so the output always parses.
void encode_control_body(const control_packet& p, std::vector<uint8_t>& out) {
  const uint8_t n = std::min<uint8_t>(p.acks.n, wire::k_ack_max);
  out.push_back(n);
  for (size_t i = 0; i < n; ++i) append_u32(out, p.acks.ids[i]);
  if (n > 0) append(out, p.acks.remote_sid);
  if (p.has_msg_id) append_u32(out, p.msg_id);
  append(out, p.payload);
}

void encode_control(const control_packet& p, std::vector<uint8_t>& out) {
  out.push_back(wire::op_byte(static_cast<wire::opcode>(p.op), p.key_id));
  append(out, p.sid);
  encode_control_body(p, out);
}

// §1.1: u16 BE length counting the bytes after it. Throws if the packet cannot be represented.
void tcp_frame(std::span<const uint8_t> pkt, std::vector<uint8_t>& out) {
  if (pkt.size() > 0xFFFF) throw std::length_error("tcp_frame: packet over 65535 bytes");
  uint8_t len[2];
  wire::put_u16(len, static_cast<uint16_t>(pkt.size()));
  append(out, len);
  append(out, pkt);
}

// Walks the length prefixes from the read position so a bad one is reported as soon as its two
// bytes have arrived, not only when the caller reaches it. Frames before it can still be popped.
pkt_err tcp_deframer::feed(std::span<const uint8_t> bytes) {
  if (broken_) return pkt_err::frame_too_long;
  append(buf_, bytes);
  size_t pos = off_;
  while (buf_.size() - pos >= 2) {
    const size_t len = wire::get_u16(buf_.data() + pos);
    if (len > k_max_packet) {
      broken_ = true;
      return pkt_err::frame_too_long;
    }
    if (buf_.size() - pos - 2 < len) break;
    pos += 2 + len;
  }
  return pkt_err::ok;
}

// A zero length frame yields an empty packet; classify() rejects it as `empty`.
bool tcp_deframer::next(std::vector<uint8_t>& out) {
  if (buf_.size() - off_ < 2) return false;
  const size_t len = wire::get_u16(buf_.data() + off_);
  if (len > k_max_packet || buf_.size() - off_ - 2 < len) return false;
  const auto* start = buf_.data() + off_ + 2;
  out.assign(start, start + len);
  off_ += 2 + len;
  // Compact once the consumed prefix dominates, so the buffer stays near one frame in size.
  if (off_ == buf_.size()) {
    buf_.clear();
    off_ = 0;
  } else if (off_ >= 4096 && off_ * 2 >= buf_.size()) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(off_));
    off_ = 0;
  }
  return true;
}

}  // namespace dpvpn::proto
