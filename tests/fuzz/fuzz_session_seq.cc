// SPDX-License-Identifier: MIT
// Fuzz the session state machine (control/proto/session*.cc), server role, with a sequence of
// packets, time steps and the calls the gateway makes (tick, authorize, send_text, renegotiate,
// note_data), for every wrap mode: none, tls-auth, tls-crypt, tls-crypt-v2. Keys are fixed test
// bytes; the TLS identity is a throwaway Ed25519 key made from fixed bytes and a self-signed
// certificate built in memory at start-up (test material only, no files), so runs are
// deterministic apart from the randomness OpenSSL and the session draw themselves.
//
// Input: u8 config, u32 start time (s), then records until the input ends; a record is u8 kind
// and its fields:
//   kind % 8 == 0  raw packet: u16 length (mod 2048), bytes
//              1  control packet the target wraps with the client's keys (mutations reach the
//                 reliability layer and TLS behind the HMAC / tag): u8 op/key_id, u8 flags,
//                 u8 ACK count (mod 10), that many u8 ACK ids, u8 or u32 message id, u16 payload
//                 length (mod 2048), payload. flags: 1 ACK remote sid = the server's own sid,
//                 2 sender sid is another client's, 4 repeat the last replay counter, 8 u32
//                 message id, 0x70 replay time offset
//              2  time step: u16, in ms (kind bit 3 clear) or s, then tick()
//              3  tick() at next_wakeup_ms() (if any)
//              4  authorize(kind bit 3 = ok) if an auth_request waits
//              5  send_text (EXIT or RESTART)
//              6  renegotiate()
//              7  note_data(u16 bytes, u8 packets)
// config: bits 0-1 wrap mode (none, tls-auth, tls-crypt, tls-crypt-v2), bit 2 TCP, bit 3 reauth
// off, bit 4 start from accept_cookie (as the gateway does after a cookie echo), bit 5 outputs
// are left queued (the per-session limits must hold), bit 6 short timers (hand-window 4 s,
// reneg-sec 20, tran-window 2 s, tls-timeout 500 ms), bit 7 tls-mtu at its minimum.
// Checked: every packet the server sends unwraps with the client's keys and decodes as a control
// packet from the server's session id; a failed session stays dead; queues stay within
// session::k_max_* or the session fails. FUZZ_DEBUG=1 in the environment prints what happens.
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "dpvpn/packet.h"
#include "dpvpn/session.h"
#include "dpvpn/tls_engine.h"
#include "fuzz_input.h"
#include "fuzz_pki.h"
#include "fuzz_wrap_keys.h"

using namespace dpvpn;

namespace {

// The server's identity: THROWAWAY TEST MATERIAL made in memory (fuzz_pki.h).
proto::tls_context& server_tls() {
  static std::unique_ptr<proto::tls_context> ctx = [] {
    const fuzz::throwaway_pem pem = fuzz::make_throwaway_pem(0xa0, "dpvpn-fuzz-throwaway");
    proto::tls_config c;
    c.server = true;
    c.cert_pem = pem.cert;
    c.ca_pem = pem.cert;
    c.key_pem = pem.key;
    std::string err;
    auto t = proto::tls_context::create(c, err);
    if (!t) {
      std::fprintf(stderr, "fuzz_session_seq: tls_context: %s\n", err.c_str());
      std::abort();
    }
    return t;
  }();
  return *ctx;
}

// The tls-crypt-v2 client: Kc from fixed bytes, WKc for server key 15.8 (made once).
const proto::key2& tcv2_kc() { return fuzz::k_key_15_9; }
const std::vector<uint8_t>& tcv2_wkc() {
  static const std::vector<uint8_t> wkc = [] {
    static constexpr uint8_t meta[] = {wire::k_tcv2_meta_user, 's', 'e', 'q'};
    auto w = proto::tcv2_wrap_wkc(fuzz::server_key_15_8(), tcv2_kc(), meta);
    if (w.empty()) std::abort();
    return w;
  }();
  return wkc;
}

bool debug() {
  static const bool d = std::getenv("FUZZ_DEBUG") != nullptr;
  return d;
}

constexpr wire::session_id k_client_sid{0xc1, 0x1e, 0x47, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr wire::session_id k_other_sid{0x07, 0x4e, 0x40, 0x00, 0x00, 0x00, 0x00, 0x02};
constexpr wire::session_id k_cookie_sid{0xc0, 0x0c, 0x1e, 0x00, 0x00, 0x00, 0x00, 0x03};

// What a live session may hold (session::queued_bytes) once its limits are checked: TLS output
// and un-ACKed messages of two key_ids, the packet and event queues, with room for the one
// packet that trips a limit.
constexpr size_t k_queue_bound =
    2 * (proto::session::k_max_tls_out + 2048 + (proto::session::k_max_send_queue + 1) * wire::k_tls_channel_buf) +
    (proto::session::k_max_out_packets + 1) * proto::k_max_packet +
    (proto::session::k_max_events + 1) * (sizeof(proto::session_event) + 512);

struct harness {
  proto::session_config cfg;
  proto::wrap_keys client;  // the client's wrapping keys
  std::unique_ptr<proto::session> s;
  uint64_t now = 0;
  uint32_t counter = 0;   // the client's replay counter
  bool keep = false;      // leave outputs queued
  bool auth_waiting = false;
  std::vector<uint8_t> pkt;
  proto::session_event ev;

  // Takes what the session produced and checks it; with `keep`, leaves it queued and checks
  // that the session's queue limits hold (a session over them must have failed).
  void drain() {
    if (keep) {
      if (!s->failed() && s->queued_bytes() > k_queue_bound) std::abort();
      return;
    }
    while (s->pop_packet(pkt)) {
      if (debug()) std::fprintf(stderr, "  out op %d len %zu\n", pkt[0] >> 3, pkt.size());
      check_out(pkt);
    }
    bool failed_ev = false;
    while (s->pop_event(ev)) {
      if (debug()) std::fprintf(stderr, "  event %s %s\n", proto::to_string(ev.type), ev.text.c_str());
      if (ev.type == proto::session_event_type::auth_request) auth_waiting = true;
      if (ev.type == proto::session_event_type::failed) failed_ev = true;
    }
    if (failed_ev && !s->failed()) std::abort();
  }

  void check_out(const std::vector<uint8_t>& p) {
    uint8_t op_kid = 0;
    wire::session_id sid{};
    proto::replay_id rid;
    std::vector<uint8_t> body;
    if (proto::unwrap(client, p, op_kid, sid, rid, body) != proto::wrap_err::ok) std::abort();
    proto::control_packet cp;
    const uint8_t op = wire::op_of(op_kid);
    if (sid != s->own_sid() || proto::decode_control_body(op, body, cp) != proto::pkt_err::ok) std::abort();
    if (op != wire::P_CONTROL_HARD_RESET_SERVER_V2 && op != wire::P_CONTROL_V1 && op != wire::P_ACK_V1 &&
        op != wire::P_CONTROL_SOFT_RESET_V1)
      std::abort();
    if (cp.acks.n > 0 && cp.acks.remote_sid != s->peer_sid()) std::abort();
  }

  void packet(std::span<const uint8_t> p) {
    const bool was_failed = s->failed();
    const proto::session_drop d = s->on_packet(p, now);
    if (debug()) std::fprintf(stderr, "  packet op %d len %zu: %s\n", p.empty() ? -1 : p[0] >> 3, p.size(), proto::to_string(d));
    if (was_failed && d != proto::session_drop::dead) std::abort();
  }
};

// Record kind 1: a control packet wrapped as the client would.
void wrapped_packet(harness& h, fuzz::reader& in) {
  const uint8_t op_kid = in.u8();
  const uint8_t flags = in.u8();
  proto::control_packet cp;
  cp.op = wire::op_of(op_kid);
  cp.key_id = wire::key_id_of(op_kid);
  const uint8_t nack = in.u8() % 10;  // 9 and more: the decoder must refuse them
  std::vector<uint8_t> body;
  if (nack > wire::k_ack_max) {
    body.push_back(nack);
    for (uint8_t i = 0; i < nack; ++i) {
      const uint32_t id = in.u8();
      for (int sh = 24; sh >= 0; sh -= 8) body.push_back(static_cast<uint8_t>(id >> sh));
    }
    const wire::session_id& r = (flags & 1) ? h.s->own_sid() : k_other_sid;
    body.insert(body.end(), r.begin(), r.end());
  } else {
    cp.acks.n = nack;
    for (uint8_t i = 0; i < nack; ++i) cp.acks.ids[i] = in.u8();
    cp.acks.remote_sid = (flags & 1) ? h.s->own_sid() : k_other_sid;
  }
  cp.has_msg_id = cp.op != wire::P_ACK_V1;
  cp.msg_id = (flags & 8) ? in.u32() : in.u8();
  const auto payload = in.bytes(in.u16() % 2048);
  if (nack > wire::k_ack_max) {
    if (cp.has_msg_id)
      for (int sh = 24; sh >= 0; sh -= 8) body.push_back(static_cast<uint8_t>(cp.msg_id >> sh));
    body.insert(body.end(), payload.begin(), payload.end());
  } else {
    cp.payload = payload;
    proto::encode_control_body(cp, body);
  }
  if (!(flags & 4)) ++h.counter;
  const proto::replay_id rid{h.counter, static_cast<uint32_t>(h.now / 1000) + ((flags >> 4) & 7) - 3};
  const wire::session_id& sid = (flags & 2) ? k_other_sid : k_client_sid;
  std::vector<uint8_t> out;
  proto::wrap(h.client, op_kid, sid, body, rid, out);
  if (h.cfg.tcv2 && (cp.op == wire::P_CONTROL_HARD_RESET_CLIENT_V3 || cp.op == wire::P_CONTROL_WKC_V1))
    out.insert(out.end(), tcv2_wkc().begin(), tcv2_wkc().end());
  h.packet(out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::reader in(data, size);
  const uint8_t conf = in.u8();
  harness h;
  proto::session_config& c = h.cfg;
  c.server = true;
  c.tls = &server_tls();
  c.tcp = conf & 4;
  c.reauth = !(conf & 8);
  switch (conf & 3) {
    case 0: h.client = proto::wrap_keys::none(); break;
    case 1:
      c.wrap = proto::wrap_mode::tls_auth;
      c.wrap_key = fuzz::k_key_15_11;
      c.auth_digest = crypto::digest_alg::sha256;
      c.key_direction = 0;
      h.client = proto::wrap_keys::tls_auth(fuzz::k_key_15_11, crypto::digest_alg::sha256, 1);
      break;
    case 2:
      c.wrap = proto::wrap_mode::tls_crypt;
      c.wrap_key = fuzz::k_key_15_9;
      h.client = proto::wrap_keys::tls_crypt(fuzz::k_key_15_9, false);
      break;
    case 3:
      c.tcv2 = true;
      c.tcv2_server = fuzz::server_key_15_8();
      h.client = proto::wrap_keys::tls_crypt(tcv2_kc(), false);
      break;
  }
  if (conf & 0x40) {
    c.hand_window_s = 4;
    c.reneg_sec = 20;
    c.tran_window_s = 2;
    c.tls_timeout_ms = 500;
  }
  if (conf & 0x80) c.tls_mtu = wire::k_tls_mtu_min;
  h.keep = conf & 0x20;
  h.now = uint64_t{in.u32()} * 1000;
  h.s = std::make_unique<proto::session>(c, h.now);
  if (conf & 0x10) {
    h.s->accept_cookie(k_cookie_sid, k_client_sid, c.tcv2 ? &tcv2_kc() : nullptr, h.now);
    h.counter = 1;
  }

  int records = 0;
  while (!in.empty() && ++records <= 256) {
    const uint8_t kind = in.u8();
    switch (kind % 8) {
      case 0: h.packet(in.bytes(in.u16() % 2048)); break;
      case 1: wrapped_packet(h, in); break;
      case 2:
        h.now += (kind & 8) ? uint64_t{in.u16()} * 1000 : in.u16();
        h.s->tick(h.now);
        break;
      case 3: {
        const uint64_t t = h.s->next_wakeup_ms();
        if (t == std::numeric_limits<uint64_t>::max()) break;
        if (t > h.now) h.now = t;
        h.s->tick(h.now);
        break;
      }
      case 4:
        if (!h.auth_waiting) break;
        h.auth_waiting = false;
        h.s->authorize(kind & 8, {"ping 10", "route 10.9.0.0 255.255.255.0"}, "fuzz", h.now);
        break;
      case 5: h.s->send_text((kind & 8) ? "EXIT" : "RESTART,fuzz", h.now); break;
      case 6: h.s->renegotiate(h.now); break;
      case 7: {
        const uint64_t b = in.u16();
        h.s->note_data(b, in.u8());
        break;
      }
    }
    h.drain();
  }
  h.keep = false;
  h.drain();
  return 0;
}
