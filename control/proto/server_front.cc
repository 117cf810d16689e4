// SPDX-License-Identifier: MIT
// server_front: stateless HMAC-cookie handling of new clients (§4.2, §4.3).
#include "dpvpn/server_front.h"

#include "dpvpn/packet.h"

namespace dpvpn::proto {

server_front::server_front(const session_config& cfg) : cfg_(cfg) {
  crypto::random_bytes(cookie_key_.data(), cookie_key_.size());
}

uint32_t server_front::slot(uint64_t now_ms) const noexcept {
  const uint64_t width = (uint64_t{cfg_.hand_window_s} + 1) / 2;
  return static_cast<uint32_t>(now_ms / 1000 / (width ? width : 1));
}

server_front::result server_front::on_packet(std::span<const uint8_t> pkt, std::span<const uint8_t> client_addr,
                                             uint64_t now_ms) {
  result r;
  r.why = session_drop::malformed;
  if (pkt.size() < wire::k_ctl_header) return r;
  const uint8_t op = wire::op_of(pkt[0]);
  if (wire::key_id_of(pkt[0]) != 0) return r;
  const bool v3 = op == wire::P_CONTROL_HARD_RESET_CLIENT_V3;
  const bool wkc_op = op == wire::P_CONTROL_WKC_V1;
  if (op != wire::P_CONTROL_HARD_RESET_CLIENT_V2 && !v3 && op != wire::P_CONTROL_V1 && op != wire::P_ACK_V1 &&
      !wkc_op) {
    r.why = session_drop::bad_state;
    return r;
  }

  wrap_keys keys;
  std::span<const uint8_t> wrapped = pkt;
  if (v3 || wkc_op) {
    if (!cfg_.tcv2) return r;
    std::span<const uint8_t> wkc;
    std::vector<uint8_t> meta;
    if (tcv2_split(pkt, wrapped, wkc) != wrap_err::ok) return r;
    if (tcv2_unwrap_wkc(cfg_.tcv2_server, wkc, r.kc, meta) != wrap_err::ok) {
      r.why = session_drop::unwrap_failed;
      return r;
    }
    r.has_kc = true;
    keys = wrap_keys::tls_crypt(r.kc, true);
  } else if (cfg_.tcv2) {
    r.why = session_drop::unwrap_failed;  // tls-crypt-v2 servers take nothing without a WKc here
    return r;
  } else {
    keys = static_wrap_keys(cfg_);
  }

  uint8_t op_kid = 0;
  replay_id rid;
  std::vector<uint8_t> body;
  if (unwrap(keys, wrapped, op_kid, r.theirs, rid, body) != wrap_err::ok) {
    r.why = session_drop::unwrap_failed;
    return r;
  }
  control_packet cp;
  if (decode_control_body(op, body, cp) != pkt_err::ok || !wire::sid_defined(r.theirs)) return r;

  if (op == wire::P_CONTROL_HARD_RESET_CLIENT_V2 || v3) {
    const bool early_neg = v3 && (rid.counter & wire::k_early_neg_mask) == wire::k_early_neg_start;
    if (v3 && !early_neg) {
      if (cfg_.tcv2_force_cookie) {  // openvpn's CO_FORCE_TLSCRYPTV2_COOKIE: no state for old clients
        r.why = session_drop::bad_state;
        return r;
      }
      r.v = verdict::new_session;  // no other way to remember Kc (§4.2)
      r.why = session_drop::none;
      return r;
    }
    const wire::session_id ss = cookie_sid(cookie_key_, slot(now_ms), client_addr, r.theirs);
    control_packet reply;
    reply.op = wire::P_CONTROL_HARD_RESET_SERVER_V2;
    reply.sid = ss;
    reply.acks.n = 1;
    reply.acks.ids[0] = 0;
    reply.acks.remote_sid = r.theirs;
    reply.has_msg_id = true;
    reply.msg_id = 0;
    static constexpr uint8_t k_resend_wkc_tlv[] = {0x00, 0x01, 0x00, 0x02, 0x00, 0x01};  // §4.3
    if (v3) reply.payload = k_resend_wkc_tlv;
    std::vector<uint8_t> rbody;
    encode_control_body(reply, rbody);
    wrap(keys, wire::op_byte(wire::P_CONTROL_HARD_RESET_SERVER_V2, 0), ss, rbody,
         replay_id{1, static_cast<uint32_t>(now_ms / 1000)}, r.reply);
    r.v = verdict::reply;
    r.why = session_drop::none;
    return r;
  }

  // CONTROL_V1 / ACK_V1 / WKC_V1: the client must echo a cookie of slot -2..+1.
  if (cp.acks.n == 0) {
    r.why = session_drop::wrong_session;
    return r;
  }
  const uint32_t now_slot = slot(now_ms);
  for (int off = -2; off <= 1; ++off) {
    const wire::session_id ss =
        cookie_sid(cookie_key_, static_cast<uint32_t>(static_cast<int64_t>(now_slot) + off), client_addr, r.theirs);
    if (ss == cp.acks.remote_sid) {
      r.ours = ss;
      r.v = verdict::accept;
      r.why = session_drop::none;
      return r;
    }
  }
  r.why = session_drop::wrong_session;
  return r;
}

}  // namespace dpvpn::proto
