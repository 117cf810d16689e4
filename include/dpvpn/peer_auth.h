// SPDX-License-Identifier: MIT
// peer_auth: who the peer is and whether it may have data keys. Owns what key_id 0 learnt of the
// peer (peer-info, username, certificate chain, common name), the locks every renegotiation must
// match (the chain's SHA-256 hashes, the username), the password until the caller answers
// (wiped then, and at destruction), and the answer: authorized, rejected, or a renegotiation
// waiting for re-authentication. Called by proto::session (session_ks.cc reads key-method-2
// messages and certificates into it; authorize() answers); control thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dpvpn/key_method2.h"
#include "dpvpn/tls_engine.h"

namespace dpvpn::proto {

class peer_auth {
 public:
  peer_auth() = default;
  ~peer_auth();
  peer_auth(const peer_auth&) = delete;
  peer_auth& operator=(const peer_auth&) = delete;

  // Server, key_id 0's handshake done: the common name and the chain's hashes are locked.
  void lock_certificate(const tls_session& tls);
  // Server, a renegotiation's handshake done: the same common name and chain as key_id 0's.
  bool same_certificate(const tls_session& tls) const;
  // Client: the server's common name, from key_id 0's handshake.
  void set_common_name(std::string cn) { common_name_ = std::move(cn); }

  // Server, key_id 0's key-method-2 read: peer-info, the username and password (control bytes
  // remapped, as openvpn's verify_user_pass does) and the certificate chain, for the auth stages.
  void on_first_km2(const km2_client& ckm, const tls_session& tls);
  // Server, a renegotiation's key-method-2: its username (remapped) matches key_id 0's.
  bool same_username(const std::string& username) const;
  // Server, reauth: key_id kid waits for authorize() with this password.
  void await_reauth(uint8_t kid, const std::string& password);
  // The waiting renegotiation is answered or abandoned.
  void end_reauth() noexcept { reauth_pending_ = false; }
  void wipe_password() noexcept;

  void set_authorized(uint64_t now_ms) noexcept {
    authorized_ = true;
    authorized_ms_ = now_ms;
  }
  void set_rejected() noexcept { rejected_ = true; }

  const peer_info& info() const noexcept { return info_; }
  const std::string& common_name() const noexcept { return common_name_; }
  const std::vector<peer_cert>& certs() const noexcept { return certs_; }
  const std::string& username() const noexcept { return username_; }
  const std::string& password() const noexcept { return password_; }
  bool authorized() const noexcept { return authorized_; }
  uint64_t authorized_ms() const noexcept { return authorized_ms_; }
  bool rejected() const noexcept { return rejected_; }
  bool reauth_pending() const noexcept { return reauth_pending_; }
  uint8_t reauth_kid() const noexcept { return reauth_kid_; }

 private:
  peer_info info_;
  std::string common_name_;
  std::vector<peer_cert> certs_;                 // key_id 0's chain, depth 0 first
  std::vector<std::string> locked_cert_hashes_;  // key_id 0's chain (SHA-256), every renegotiation must match
  std::string username_;
  std::string password_;      // server: until authorize()
  bool authorized_ = false;   // server: authorize(true) was called
  uint64_t authorized_ms_ = 0;
  bool rejected_ = false;     // AUTH_FAILED sent (or about to be): the session ends soon
  bool reauth_pending_ = false;
  uint8_t reauth_kid_ = 0;
};

}  // namespace dpvpn::proto
