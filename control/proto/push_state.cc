// SPDX-License-Identifier: MIT
// push_state: PUSH_REQUEST / PUSH_REPLY and the data-channel parameters they settle (§10, §11).
#include "dpvpn/push_state.h"

#include <algorithm>

namespace dpvpn::proto {

std::optional<comp_framing> pushed_framing(const std::vector<std::string>& options) {
  std::optional<comp_framing> f;
  for (const std::string& line : options) {
    const size_t sp = line.find(' ');
    const std::string_view k = std::string_view(line).substr(0, sp);
    const std::string_view a = sp == std::string::npos ? std::string_view{} : std::string_view(line).substr(sp + 1);
    if (k == "comp-lzo") {
      f = comp_framing::lzo_no;
    } else if (k == "compress") {
      if (a.empty() || a == "stub" || a == "lz4") f = comp_framing::stub;
      else if (a == "stub-v2" || a == "lz4-v2") f = comp_framing::stub_v2;
      else if (a == "lzo") f = comp_framing::lzo_no;
    }
  }
  return f;
}

bool push_state::negotiate(const peer_info& pi) {
  auto c = ncp_select(cfg_.data_ciphers, pi, cfg_.data_ciphers_fallback);
  if (!c) return false;
  cipher_ = *c;
  ekm_ = cfg_.allow_ekm && (pi.iv_proto & wire::k_iv_proto_tls_key_export);
  // The push list (global and per-client) is final here; what it says the client will use
  // is what the keys are installed with. Without one, the server's own framing (§9.1).
  framing_ = pushed_framing(options_).value_or(cfg_.comp);
  return true;
}

std::vector<std::string> push_state::reply(const peer_info& pi, uint64_t now_ms) {
  std::vector<std::string> opts = options_;
  if (pi.iv_proto & wire::k_iv_proto_data_v2) {
    peer_id_ = cfg_.peer_id;
    opts.push_back("peer-id " + std::to_string(peer_id_));
  }
  opts.push_back(std::string("cipher ") + crypto::name(cipher_));
  if (pi.iv_proto & wire::k_iv_proto_cc_exit_notify)
    opts.push_back(ekm_ ? "protocol-flags cc-exit tls-ekm" : "protocol-flags cc-exit");
  else if (ekm_)
    opts.push_back("key-derivation tls-ekm");
  options_ = opts;
  sent_ = true;
  reply_expiry_ms_ = now_ms + k_reply_interval_ms;
  return build_push_reply(opts);
}

// openvpn's process_incoming_push_request: one PUSH_REPLY per 30 s, the rest are ignored.
std::vector<std::string> push_state::repeat_reply(uint64_t now_ms) {
  if (now_ms < reply_expiry_ms_) return {};
  reply_expiry_ms_ = now_ms + k_reply_interval_ms;
  return build_push_reply(options_);
}

push_state::reply_status push_state::on_reply(std::string_view msg) {
  if (!acc_.feed(msg)) return reply_status::partial;
  pushed_ = parse_pushed_options(acc_.options());
  std::optional<crypto::cipher_alg> c;
  if (pushed_.cipher) c = crypto::cipher_from_name(*pushed_.cipher);
  if (!c) c = cfg_.data_ciphers_fallback;
  const bool allowed =
      c && (c == cfg_.data_ciphers_fallback ||
            std::find(cfg_.data_ciphers.begin(), cfg_.data_ciphers.end(), *c) != cfg_.data_ciphers.end());
  if (!allowed) return reply_status::bad_cipher;
  cipher_ = *c;
  peer_id_ = pushed_.peer_id.value_or(wire::k_peer_id_none);
  ekm_ = pushed_.tls_ekm && cfg_.allow_ekm;
  framing_ = pushed_framing(acc_.options()).value_or(cfg_.comp);
  return reply_status::ok;
}

}  // namespace dpvpn::proto
