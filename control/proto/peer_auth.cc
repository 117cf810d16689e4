// SPDX-License-Identifier: MIT
// peer_auth: the peer's identity, its locks across renegotiations, the password until answered.
#include "dpvpn/peer_auth.h"

#include <openssl/crypto.h>

namespace dpvpn::proto {

peer_auth::~peer_auth() { OPENSSL_cleanse(password_.data(), password_.size()); }

// openvpn's locked CN and cert hash set (verify_final_auth_checks): key_id 0 fixes the
// certificate; a renegotiation presenting another one (CN or any hash of the chain) ends the
// session. The CRL is checked by the TLS handshake itself, every key_id.
void peer_auth::lock_certificate(const tls_session& tls) {
  common_name_ = tls.peer_common_name();
  for (const peer_cert& pc : tls.peer_chain()) locked_cert_hashes_.push_back(pc.sha256);
}

bool peer_auth::same_certificate(const tls_session& tls) const {
  if (tls.peer_common_name() != common_name_) return false;
  const std::vector<peer_cert> chain = tls.peer_chain();
  if (chain.size() != locked_cert_hashes_.size()) return false;
  for (size_t i = 0; i < chain.size(); ++i)
    if (chain[i].sha256 != locked_cert_hashes_[i]) return false;
  return true;
}

void peer_auth::on_first_km2(const km2_client& ckm, const tls_session& tls) {
  info_ = parse_peer_info(ckm.peer_info);
  // openvpn's verify_user_pass: CR, LF and the other control bytes become '_' before any
  // script, file, log or CCD lookup sees them ("alice\nsecret" is user "alice_secret").
  username_ = ckm.username;
  remap_name(username_);
  password_ = ckm.password;
  remap_name(password_);
  certs_ = tls.peer_chain();  // for tls-verify, which runs as the first auth stage
}

// openvpn's tls_lock_username: a renegotiation keeps key_id 0's username.
bool peer_auth::same_username(const std::string& username) const {
  std::string user = username;
  remap_name(user);
  return user == username_;
}

void peer_auth::await_reauth(uint8_t kid, const std::string& password) {
  OPENSSL_cleanse(password_.data(), password_.size());
  password_ = password;
  remap_name(password_);
  reauth_pending_ = true;
  reauth_kid_ = kid;
}

void peer_auth::wipe_password() noexcept {
  OPENSSL_cleanse(password_.data(), password_.size());
  password_.clear();
}

}  // namespace dpvpn::proto
