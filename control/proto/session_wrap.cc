// SPDX-License-Identifier: MIT
// session_wrap: unwrap, session ids and replay on the way in; wrap on the way out (§3, §4.3).
#include "dpvpn/session_wrap.h"

#include "dpvpn/crypto.h"

namespace dpvpn::proto {

namespace {
wire::session_id random_sid() {
  wire::session_id s{};
  do {
    crypto::random_bytes(s.data(), s.size());
  } while (!wire::sid_defined(s));
  return s;
}
}  // namespace

session_wrap::session_wrap(const session_config& cfg, uint64_t now_ms) : cfg_(cfg) {
  own_sid_ = random_sid();
  time_ = static_cast<uint32_t>(now_ms / 1000);
  keys_ = static_wrap_keys(cfg_);  // a tls-crypt-v2 server's come from the client's WKc (§3.5)
  if (cfg_.tcv2 && !cfg_.server) {
    keys_ = wrap_keys::tls_crypt(cfg_.tcv2_client.kc, false);
    counter_ = wire::k_early_neg_start;  // first packet carries 0x0f000001 (§4.3)
  }
}

void session_wrap::accept_cookie(const wire::session_id& ours, const wire::session_id& theirs, const key2* kc) {
  own_sid_ = ours;
  peer_sid_ = theirs;
  peer_sid_known_ = true;
  if (cfg_.tcv2 && kc) {
    kc_ = *kc;
    keys_ = wrap_keys::tls_crypt(kc_, true);
  }
  counter_ = 1;  // the stateless reply used replay id 1
}

session_drop session_wrap::take_wkc(std::span<const uint8_t> pkt, std::span<const uint8_t>& wrapped) {
  if (!cfg_.tcv2 || !cfg_.server) return session_drop::bad_state;
  std::span<const uint8_t> wkc;
  if (tcv2_split(pkt, wrapped, wkc) != wrap_err::ok) return session_drop::malformed;
  if (keys_.mode == wrap_mode::none) {
    key2 kc{};
    std::vector<uint8_t> meta;
    if (tcv2_unwrap_wkc(cfg_.tcv2_server, wkc, kc, meta) != wrap_err::ok) return session_drop::unwrap_failed;
    // Check the wrapped part with Kc before keeping anything.
    wrap_keys k = wrap_keys::tls_crypt(kc, true);
    uint8_t op_kid = 0;
    wire::session_id sid{};
    replay_id rid;
    std::vector<uint8_t> body;
    if (unwrap(k, wrapped, op_kid, sid, rid, body) != wrap_err::ok) return session_drop::unwrap_failed;
    kc_ = kc;
    tcv2_meta_ = std::move(meta);
    keys_ = k;
  } else if (tcv2_meta_.empty()) {
    // Cookie path: accept_cookie() brought Kc; the metadata (for tls-crypt-v2-verify and
    // -max-age) comes from the WKc of the packet that echoed the cookie.
    key2 kc{};
    std::vector<uint8_t> meta;
    if (tcv2_unwrap_wkc(cfg_.tcv2_server, wkc, kc, meta) == wrap_err::ok && kc == kc_) tcv2_meta_ = std::move(meta);
  }
  return session_drop::none;
}

session_drop session_wrap::open(std::span<const uint8_t> pkt, uint64_t now_ms, std::vector<uint8_t>& body,
                                control_packet& cp) {
  if (pkt.empty()) return session_drop::malformed;
  const uint8_t op = wire::op_of(pkt[0]);
  if (wire::is_data_op(op)) return session_drop::not_control;
  if (!wire::is_control_op(op) || pkt.size() < wire::k_ctl_header) return session_drop::malformed;

  std::span<const uint8_t> wrapped = pkt;
  if (op == wire::P_CONTROL_HARD_RESET_CLIENT_V3 || op == wire::P_CONTROL_WKC_V1) {
    if (const session_drop d = take_wkc(pkt, wrapped); d != session_drop::none) return d;
  } else if (cfg_.tcv2 && cfg_.server && keys_.mode == wrap_mode::none) {
    return session_drop::unwrap_failed;  // a tls-crypt-v2 server takes nothing unwrapped (§3.5)
  }

  uint8_t op_kid = 0;
  wire::session_id sid{};
  replay_id rid;
  if (unwrap(keys_, wrapped, op_kid, sid, rid, body) != wrap_err::ok) return session_drop::unwrap_failed;
  const uint64_t now_s = now_ms / 1000;
  if (decode_control_body(op, body, cp) != pkt_err::ok) return session_drop::malformed;
  if (!wire::sid_defined(sid)) return session_drop::malformed;
  const uint8_t kid = wire::key_id_of(op_kid);
  cp.op = op;
  cp.key_id = kid;
  cp.sid = sid;

  const bool hard_reset_from_client =
      op == wire::P_CONTROL_HARD_RESET_CLIENT_V2 || op == wire::P_CONTROL_HARD_RESET_CLIENT_V3;
  if (hard_reset_from_client || op == wire::P_CONTROL_HARD_RESET_SERVER_V2) {
    if (kid != 0) return session_drop::bad_key_id;
    if (hard_reset_from_client != cfg_.server) return session_drop::bad_state;
  }
  // The session id before the replay window, as openvpn picks the session first: a client that
  // restarts from the same address (a new session id, its wrapper counters starting again) is
  // wrong_session, which lets the gateway replace this session, not a replay of it.
  if (peer_sid_known_ && sid != peer_sid_) return session_drop::wrong_session;
  if (keys_.mode != wrap_mode::none && replay_.check(rid.counter, rid.time, now_s) != replay_verdict::ok)
    return session_drop::replay;
  if (!peer_sid_known_) {
    if (!hard_reset_from_client && op != wire::P_CONTROL_HARD_RESET_SERVER_V2) return session_drop::wrong_session;
    peer_sid_ = sid;
    peer_sid_known_ = true;
  }
  if (cp.acks.n > 0 && cp.acks.remote_sid != own_sid_) return session_drop::wrong_session;
  if (keys_.mode != wrap_mode::none) replay_.commit(rid.counter, rid.time, now_s);
  return session_drop::none;
}

std::vector<uint8_t> session_wrap::seal(control_packet& cp) {
  cp.sid = own_sid_;
  // §4.3: after RESEND_WKC the client's message 1 goes out as WKC_V1 with WKc appended.
  bool append_wkc = false;
  if (!cfg_.server && cfg_.tcv2) {
    if (cp.op == wire::P_CONTROL_HARD_RESET_CLIENT_V3) append_wkc = true;
    if (resend_wkc_ && cp.key_id == 0 && cp.has_msg_id && cp.msg_id == 1 && cp.op == wire::P_CONTROL_V1) {
      cp.op = wire::P_CONTROL_WKC_V1;
      append_wkc = true;
    }
  }
  std::vector<uint8_t> body;
  encode_control_body(cp, body);
  std::vector<uint8_t> out;
  wrap(keys_, wire::op_byte(static_cast<wire::opcode>(cp.op), cp.key_id), own_sid_, body,
       replay_id{++counter_, time_}, out);
  if (append_wkc) out.insert(out.end(), cfg_.tcv2_client.wkc.begin(), cfg_.tcv2_client.wkc.end());
  return out;
}

// §4.3: TLVs in the payload of a hard reset.
bool session_wrap::on_server_reset(std::span<const uint8_t> p) {
  size_t off = 0;
  while (off < p.size()) {
    if (p.size() - off < 4) return false;
    const uint16_t type = wire::get_u16(p.data() + off);
    const uint16_t len = wire::get_u16(p.data() + off + 2);
    off += 4;
    if (p.size() - off < len) return false;
    if (type == wire::k_tlv_early_neg_flags && len == 2 &&
        (wire::get_u16(p.data() + off) & wire::k_early_neg_resend_wkc))
      resend_wkc_ = true;
    off += len;
  }
  return true;
}

size_t session_wrap::overhead() const noexcept {
  size_t n = keys_.overhead();
  if (!cfg_.server && cfg_.tcv2 && resend_wkc_) n += cfg_.tcv2_client.wkc.size();
  return n;
}

}  // namespace dpvpn::proto
