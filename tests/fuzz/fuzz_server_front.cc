// SPDX-License-Identifier: MIT
// Fuzz the stateless first-contact front (control/proto/server_front.cc, §4.2, §4.3) with every
// wrap mode: none, tls-auth, tls-crypt, tls-crypt-v2 (and tls-crypt-v2 force-cookie), keys from
// fixed test bytes. The input gives the time, the client's address bytes and the packet, either
// as raw bytes sent to every front, or as fields (op, sid, replay id, body) that the target wraps
// for each front with the client's keys, so mutations reach the decode and cookie paths behind
// the HMAC / tag. Checked: a reply decodes with the client's keys as a HARD_RESET_SERVER_V2 that
// ACKs the client's message 0; echoing its cookie is accepted at once, and at a later or earlier
// time exactly when the slots are within -2..+1 (§4.2); new_session only for a tls-crypt-v2 V3
// reset without early negotiation and without force-cookie.
//
// Input: u8 flags (bit 0: fields form), u64 now (ms), u8 address length (mod 20) + address,
// i32 time step of the echo (ms), then the raw packet, or: u8 op/key_id, 8-byte sid, u32 replay
// counter, u32 replay time, body. FUZZ_DEBUG=1 in the environment prints each front's verdict.
#include <cstdio>
#include <cstdlib>

#include "dpvpn/packet.h"
#include "dpvpn/server_front.h"
#include "fuzz_input.h"
#include "fuzz_wrap_keys.h"

using namespace dpvpn;
using proto::server_front;

namespace {

struct front_case {
  proto::session_config cfg;
  proto::wrap_keys client;  // the client's side of cfg's static wrapping (not tls-crypt-v2)
  std::unique_ptr<server_front> front;
};

// The tls-crypt-v2 client key of the fields form: Kc from fixed bytes, wrapped for server key 15.12.
const proto::key2& tcv2_kc() { return fuzz::k_key_15_9; }
const std::vector<uint8_t>& tcv2_wkc() {
  static const std::vector<uint8_t> wkc = [] {
    static constexpr uint8_t meta[] = {wire::k_tcv2_meta_user, 'f', 'u', 'z', 'z'};
    auto w = proto::tcv2_wrap_wkc(fuzz::server_key_15_12(), tcv2_kc(), meta);
    if (w.empty()) std::abort();
    return w;
  }();
  return wkc;
}

std::vector<front_case>& fronts() {
  static std::vector<front_case> v = [] {
    std::vector<front_case> out;
    auto add = [&out](proto::session_config c, proto::wrap_keys client) {
      front_case fc;
      fc.cfg = c;
      fc.client = client;
      fc.front = std::make_unique<server_front>(c);
      out.push_back(std::move(fc));
    };
    proto::session_config none;
    add(none, proto::wrap_keys::none());
    proto::session_config ta;  // §15.4: key 15.2, SHA1, server direction 0
    ta.wrap = proto::wrap_mode::tls_auth;
    ta.wrap_key = fuzz::k_key_15_2;
    ta.auth_digest = crypto::digest_alg::sha1;
    ta.key_direction = 0;
    add(ta, proto::wrap_keys::tls_auth(fuzz::k_key_15_2, crypto::digest_alg::sha1, 1));
    proto::session_config tc;  // §15.3: key 15.2
    tc.wrap = proto::wrap_mode::tls_crypt;
    tc.wrap_key = fuzz::k_key_15_2;
    add(tc, proto::wrap_keys::tls_crypt(fuzz::k_key_15_2, false));
    proto::session_config v2;  // §15.12 server key
    v2.tcv2 = true;
    v2.tcv2_server = fuzz::server_key_15_12();
    add(v2, proto::wrap_keys::none());
    proto::session_config v2f = v2;  // force-cookie, and the narrowest cookie slot (1 s)
    v2f.tcv2_force_cookie = true;
    v2f.hand_window_s = 1;
    add(v2f, proto::wrap_keys::none());
    return out;
  }();
  return v;
}

uint32_t slot_of(const proto::session_config& c, uint64_t now_ms) {
  const uint64_t width = (uint64_t{c.hand_window_s} + 1) / 2;
  return static_cast<uint32_t>(now_ms / 1000 / (width ? width : 1));
}

// Builds the client's packet for one front from the fields form.
std::vector<uint8_t> wrap_for(const front_case& fc, uint8_t op_kid, const wire::session_id& sid, proto::replay_id rid,
                              std::span<const uint8_t> body) {
  std::vector<uint8_t> out;
  if (!fc.cfg.tcv2) {
    proto::wrap(fc.client, op_kid, sid, body, rid, out);
    return out;
  }
  proto::wrap(proto::wrap_keys::tls_crypt(tcv2_kc(), false), op_kid, sid, body, rid, out);
  const uint8_t op = wire::op_of(op_kid);
  if (op == wire::P_CONTROL_HARD_RESET_CLIENT_V3 || op == wire::P_CONTROL_WKC_V1)
    out.insert(out.end(), tcv2_wkc().begin(), tcv2_wkc().end());
  return out;
}

void check(front_case& fc, std::span<const uint8_t> pkt, std::span<const uint8_t> addr, uint64_t now, int32_t step) {
  const server_front::result r = fc.front->on_packet(pkt, addr, now);
  static const bool debug = std::getenv("FUZZ_DEBUG") != nullptr;
  if (debug) std::fprintf(stderr, "  front %zu: verdict %d why %s\n", &fc - fronts().data(), int(r.v), proto::to_string(r.why));
  const uint8_t op = pkt.empty() ? 0 : wire::op_of(pkt[0]);
  if (r.v != server_front::verdict::drop && r.why != proto::session_drop::none) std::abort();
  if (r.v == server_front::verdict::new_session) {
    if (!fc.cfg.tcv2 || fc.cfg.tcv2_force_cookie || op != wire::P_CONTROL_HARD_RESET_CLIENT_V3 || !r.has_kc)
      std::abort();
    return;
  }
  if (r.v != server_front::verdict::reply) {
    if (!r.reply.empty()) std::abort();
    return;
  }
  if (op != wire::P_CONTROL_HARD_RESET_CLIENT_V2 && op != wire::P_CONTROL_HARD_RESET_CLIENT_V3) std::abort();
  if (fc.cfg.tcv2 != r.has_kc) std::abort();

  // The reply, as the client reads it.
  const proto::wrap_keys client = fc.cfg.tcv2 ? proto::wrap_keys::tls_crypt(r.kc, false) : fc.client;
  uint8_t rop = 0;
  wire::session_id ours{};
  proto::replay_id rrid;
  std::vector<uint8_t> body;
  if (proto::unwrap(client, r.reply, rop, ours, rrid, body) != proto::wrap_err::ok) std::abort();
  proto::control_packet cp;
  if (rop != wire::op_byte(wire::P_CONTROL_HARD_RESET_SERVER_V2, 0) ||
      proto::decode_control_body(wire::P_CONTROL_HARD_RESET_SERVER_V2, body, cp) != proto::pkt_err::ok ||
      !wire::sid_defined(ours) || cp.acks.n != 1 || cp.acks.ids[0] != 0 || cp.acks.remote_sid != r.theirs ||
      !cp.has_msg_id || cp.msg_id != 0)
    std::abort();

  // The client echoes the cookie: P_ACK_V1, or WKC_V1 with its WKc for tls-crypt-v2 (§4.3).
  proto::control_packet echo;
  echo.acks.n = 1;
  echo.acks.ids[0] = 0;
  echo.acks.remote_sid = ours;
  std::vector<uint8_t> ebody, epkt;
  if (fc.cfg.tcv2) {
    std::span<const uint8_t> wrapped, wkc;
    if (proto::tcv2_split(pkt, wrapped, wkc) != proto::wrap_err::ok) std::abort();
    echo.op = wire::P_CONTROL_WKC_V1;
    echo.has_msg_id = true;
    echo.msg_id = 1;
    proto::encode_control_body(echo, ebody);
    proto::wrap(client, wire::op_byte(wire::P_CONTROL_WKC_V1, 0), r.theirs, ebody, {2, 0}, epkt);
    epkt.insert(epkt.end(), wkc.begin(), wkc.end());
  } else {
    echo.op = wire::P_ACK_V1;
    proto::encode_control_body(echo, ebody);
    proto::wrap(client, wire::op_byte(wire::P_ACK_V1, 0), r.theirs, ebody, {2, 0}, epkt);
  }
  const server_front::result a = fc.front->on_packet(epkt, addr, now);
  if (a.v != server_front::verdict::accept || a.ours != ours || a.theirs != r.theirs || a.has_kc != r.has_kc ||
      (a.has_kc && a.kc != r.kc))
    std::abort();
  // Later (or earlier): accepted exactly when the reply's slot is within -2..+1 of the echo's.
  const uint64_t then = now + static_cast<uint64_t>(static_cast<int64_t>(step));
  const server_front::result b = fc.front->on_packet(epkt, addr, then);
  const uint32_t diff = slot_of(fc.cfg, now) - slot_of(fc.cfg, then);
  const bool in_window = diff <= 1 || diff >= 0xFFFFFFFEu;
  if ((b.v == server_front::verdict::accept) != in_window) std::abort();
  if (b.v == server_front::verdict::accept && b.ours != ours) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::reader in(data, size);
  const uint8_t flags = in.u8();
  const uint64_t now = in.u64();
  const auto addr = in.bytes(in.u8() % 20);
  const auto step = static_cast<int32_t>(in.u32());
  if (!(flags & 1)) {
    const auto pkt = in.rest();
    for (auto& fc : fronts()) check(fc, pkt, addr, now, step);
    return 0;
  }
  const uint8_t op_kid = in.u8();
  wire::session_id sid{};
  const auto s = in.bytes(sid.size());
  std::copy(s.begin(), s.end(), sid.begin());
  proto::replay_id rid;
  rid.counter = in.u32();
  rid.time = in.u32();
  const auto body = in.rest();
  for (auto& fc : fronts()) check(fc, wrap_for(fc, op_kid, sid, rid, body), addr, now, step);
  return 0;
}
