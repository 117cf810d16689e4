// SPDX-License-Identifier: MIT
// Fuzz the control codec (§1.4): whatever decodes must re-encode to exactly the input bytes.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "dpvpn/packet.h"

using namespace dpvpn;

namespace {

bool same(std::span<const uint8_t> a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);

  // The whole unwrapped packet.
  proto::control_packet p;
  if (proto::decode_control(in, p) == proto::pkt_err::ok) {
    if (p.acks.n > wire::k_ack_max) std::abort();
    if (p.has_msg_id == (p.op == wire::P_ACK_V1)) std::abort();
    std::vector<uint8_t> out;
    proto::encode_control(p, out);
    if (!same(in, out)) std::abort();
  }

  // The body alone, as after unwrapping (§3): the first byte picks the opcode.
  if (size == 0) return 0;
  proto::control_packet b;
  const uint8_t op = data[0] & 0x1f;
  if (proto::decode_control_body(op, in.subspan(1), b) == proto::pkt_err::ok) {
    if (!wire::is_control_op(op)) std::abort();
    std::vector<uint8_t> out;
    proto::encode_control_body(b, out);
    if (!same(in.subspan(1), out)) std::abort();
  }
  return 0;
}
