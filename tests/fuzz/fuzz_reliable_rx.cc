// SPDX-License-Identifier: MIT
// Fuzz the reliability layer (§2) with a sequence of operations read from the input, checking
// it against a small model: in-order exactly-once delivery, <= 12 stored, sane ACK records,
// send window respected.
//
// Input: 4 bytes start id (big endian; both directions start there), then operations, each
// one opcode byte followed by its arguments:
//   0 receive   d(1) len(1)       id = next_expected + int8(d), payload of len % 32 bytes
//   1 receive32 id(4) len(1)      absolute id
//   2 pop
//   3 take_acks max(1)            max % 10
//   4 on_acks   n(1) d(1)*n       ids = next_send_id + int8(d), n % 9
//   5 enqueue   len(1)            (also when the window is closed)
//   6 tick      dt(1)             now += dt * 100 ms, then send everything due
//   7 reschedule_all
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "dpvpn/reliable.h"

using dpvpn::proto::ack_record;
using dpvpn::proto::reliable;
namespace wire = dpvpn::wire;

namespace {

struct reader {
  const uint8_t* p;
  size_t n;
  bool u8(uint8_t& v) {
    if (n == 0) return false;
    v = *p++;
    --n;
    return true;
  }
  bool u32(uint32_t& v) {
    if (n < 4) return false;
    v = wire::get_u32(p);
    p += 4;
    n -= 4;
    return true;
  }
};

void check(bool ok) {
  if (!ok) std::abort();
}

std::vector<uint8_t> payload_for(uint32_t id, uint8_t len) {
  std::vector<uint8_t> v(4 + len % 32, uint8_t(len));
  wire::put_u32(v.data(), id);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reader in{data, size};
  uint32_t start = 0;
  if (!in.u32(start)) return 0;
  reliable r;
  r.set_next_expected(start);
  r.set_next_send_id(start);
  const wire::session_id sid{1, 2, 3, 4, 5, 6, 7, 8};

  std::vector<uint32_t> stored;  // model: ids stored, not yet popped
  std::vector<uint32_t> unacked;  // model: ids enqueued, not yet ACKed, in id order
  uint64_t now = 0;
  uint8_t op = 0;
  while (in.u8(op)) {
    switch (op % 8) {
      case 0:
      case 1: {
        uint32_t id = 0;
        uint8_t d = 0, len = 0;
        if (op % 8 == 0) {
          if (!in.u8(d)) return 0;
          id = r.next_expected() + uint32_t(int32_t(int8_t(d)));
        } else if (!in.u32(id)) {
          return 0;
        }
        if (!in.u8(len)) return 0;
        const int32_t dist = int32_t(id - r.next_expected());
        const bool had = std::find(stored.begin(), stored.end(), id) != stored.end();
        const auto res = r.receive(id, payload_for(id, len));
        if (dist >= int32_t(wire::k_reliable_recv_window)) {
          check(res == reliable::rx_result::out_of_window);
        } else if (dist < 0 || had) {
          check(res == reliable::rx_result::duplicate);
          check(r.acks_pending());
        } else {
          check(res == reliable::rx_result::stored);
          check(r.acks_pending());
          stored.push_back(id);
        }
        check(r.stored() == stored.size() && r.stored() <= wire::k_reliable_recv_window);
        break;
      }
      case 2: {
        const uint32_t want = r.next_expected();
        std::vector<uint8_t> out;
        const bool model_has = std::find(stored.begin(), stored.end(), want) != stored.end();
        check(r.pop_in_order(out) == model_has);
        if (model_has) {
          check(out.size() >= 4 && wire::get_u32(out.data()) == want);
          check(r.next_expected() == want + 1);
          std::erase(stored, want);
        } else {
          check(r.next_expected() == want);
        }
        break;
      }
      case 3: {
        uint8_t max = 0;
        if (!in.u8(max)) return 0;
        ack_record rec;
        r.take_acks(rec, max % 10, sid);
        check(rec.n <= std::min<size_t>(max % 10, wire::k_ack_max));
        std::vector<uint32_t> v(rec.ids, rec.ids + rec.n);
        std::sort(v.begin(), v.end());
        check(std::adjacent_find(v.begin(), v.end()) == v.end());
        break;
      }
      case 4: {
        uint8_t n = 0;
        if (!in.u8(n)) return 0;
        ack_record rec;
        rec.n = n % 9;
        rec.remote_sid = sid;
        for (size_t i = 0; i < rec.n; ++i) {
          uint8_t d = 0;
          if (!in.u8(d)) return 0;
          rec.ids[i] = r.next_send_id() + uint32_t(int32_t(int8_t(d)));
        }
        r.on_acks(rec);
        for (size_t i = 0; i < rec.n; ++i) std::erase(unacked, rec.ids[i]);
        check(r.unacked() == unacked.size());
        break;
      }
      case 5: {
        uint8_t len = 0;
        if (!in.u8(len)) return 0;
        if (unacked.size() > 64) break;  // bound memory; the API leaves that to the caller
        const bool open = r.send_window_open();
        check(open == (unacked.empty() ||
                       r.next_send_id() - unacked.front() < wire::k_reliable_send_window));
        const uint32_t id = r.enqueue(wire::P_CONTROL_V1, payload_for(0, len), now);
        unacked.push_back(id);
        check(r.next_send_id() == id + 1 && r.unacked() == unacked.size());
        break;
      }
      case 6: {
        uint8_t dt = 0;
        if (!in.u8(dt)) return 0;
        now += uint64_t(dt) * 100;
        reliable::out_msg m;
        for (int i = 0; i < 16 && r.next_due(now, m); ++i) {
          check(std::find(unacked.begin(), unacked.end(), m.msg_id) != unacked.end());
          check(m.msg_id - unacked.front() < wire::k_reliable_send_window);
          check(m.op == wire::P_CONTROL_V1 && m.payload.size() >= 4);
        }
        break;
      }
      case 7:
        r.reschedule_all(now);
        check(unacked.empty() || r.next_timeout_ms() <= now);
        break;
    }
    check(r.all_acked() == unacked.empty());
  }
  return 0;
}
