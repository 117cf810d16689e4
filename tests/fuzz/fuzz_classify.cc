// SPDX-License-Identifier: MIT
// Fuzz classify() (§1.2, §1.5): never crash, and every accepted datagram obeys the invariants.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dpvpn/packet.h"

using namespace dpvpn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> pkt(data, size);
  proto::classified c;
  if (proto::classify(pkt, c) != proto::pkt_err::ok) return 0;
  if (c.op != wire::op_of(data[0]) || c.key_id != wire::key_id_of(data[0])) std::abort();
  if (c.is_data != wire::is_data_op(c.op)) std::abort();
  if (!c.is_data && !wire::is_control_op(c.op)) std::abort();
  const uint32_t want_peer = c.op == wire::P_DATA_V2 ? wire::get_u24(data + 1) : wire::k_peer_id_none;
  if (c.peer_id != want_peer) std::abort();
  if (size > proto::k_max_packet) std::abort();
  if (!c.is_data && size < wire::k_ctl_header) std::abort();
  return 0;
}
