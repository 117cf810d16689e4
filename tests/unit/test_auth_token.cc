// SPDX-License-Identifier: MIT
// auth-gen-token tokens: known answers for a key written by openvpn 2.6.14, the expiry windows,
// renewal, and tokens that are not ours.
#include <gtest/gtest.h>

#include <string>

#include "dpvpn/auth_token.h"

using namespace dpvpn::proto;

namespace {

// `openvpn --genkey auth-token FILE` (2.6.14).
constexpr std::string_view k_pem =
    "-----BEGIN OpenVPN auth-token server key-----\n"
    "zB/yT1T1iCqrQh7Ok+cdwktbhNGk1uI1yc0PSAmOetoszFtFv6SuzsrlftPTyZ4j\n"
    "oW+LtEduhfbC3xvVyh2YWT1zE/hLBnxj/6BDMLX66NOi2p1z/itwXplcYfe2jXBH\n"
    "GBMRAfQO8LTqRMedvl/7EWMffyaleJFeLtT6pwZ5QWU=\n"
    "-----END OpenVPN auth-token server key-----\n";
// Computed with Python's hmac/base64 from the layout in auth_token.h (an independent
// implementation): session id 01..0c, initial timestamp 1700000000, timestamp 1700000600,
// HMAC key = bytes 64..95 of the PEM data, for username "alice" and for "".
constexpr std::string_view k_alice =
    "SESS_ID_AT_AQIDBAUGBwgJCgsMAAAAAGVT8QAAAAAAZVPzWNwzrCK4NewDXVCOrpWQj/C7fCukPZk1ZnPGnH/s7fv1";
constexpr std::string_view k_empty =
    "SESS_ID_AT_AQIDBAUGBwgJCgsMAAAAAGVT8QAAAAAAZVPzWBFZliK73SJpnWM+EUfBQ9V8+K8bYv5DxvbaqNrItvru";
constexpr uint64_t k_init = 1700000000, k_ts = 1700000600;

auth_token_key key() {
  std::string err;
  auto k = parse_auth_token_key(k_pem, err);
  EXPECT_TRUE(k) << err;
  return k.value_or(auth_token_key{});
}

}  // namespace

TEST(auth_token, known_answer_verifies) {
  const auth_token_key k = key();
  EXPECT_EQ(k_alice.size(), k_auth_token_len);
  auth_token_check r = verify_auth_token(k, k_alice, "alice", k_ts + 10, 3600, 0);
  EXPECT_TRUE(r.hmac_ok);
  EXPECT_FALSE(r.empty_user);
  EXPECT_FALSE(r.expired);
  EXPECT_TRUE(r.valid());
  // Another user: the HMAC binds the username.
  r = verify_auth_token(k, k_alice, "bob", k_ts + 10, 3600, 0);
  EXPECT_FALSE(r.hmac_ok);
  EXPECT_FALSE(r.valid());
  // A token made for "" is good for any username, flagged empty_user (not valid on its own).
  r = verify_auth_token(k, k_empty, "alice", k_ts + 10, 3600, 0);
  EXPECT_TRUE(r.hmac_ok);
  EXPECT_TRUE(r.empty_user);
  EXPECT_FALSE(r.valid());
  EXPECT_EQ(auth_token_session_id(k_alice), "AQIDBAUGBwgJCgsM");
}

TEST(auth_token, renewal_reproduces_known_answer) {
  // Renewing at the vector's timestamp keeps its session id and initial timestamp, so the result
  // is the vector itself, byte for byte.
  const auth_token_key k = key();
  EXPECT_EQ(generate_auth_token(k, "alice", k_alice, false, k_ts), k_alice);
  EXPECT_EQ(generate_auth_token(k, "alice", k_empty, true, k_ts), k_empty);
}

TEST(auth_token, expiry_windows) {
  const auth_token_key k = key();
  struct { uint64_t now, renewal, lifetime; bool expired; } cases[] = {
      {k_ts, 3600, 0, false},                 // 1: issued now
      {k_ts + 7199, 3600, 0, false},          // 2: last second of 2 * renewal
      {k_ts + 7200, 3600, 0, true},           // 3: first second after
      {k_ts - 1, 3600, 0, true},              // 4: issued in the future
      {k_ts + 10, 0, 0, true},                // 5: no renewal window at all
      {k_init + 1000, 3600, 1000, false},     // 6: lifetime's last second
      {k_init + 1001, 3600, 1000, true},      // 7: lifetime over
  };
  int n = 0;
  for (const auto& c : cases) {
    ++n;
    const auth_token_check r = verify_auth_token(k, k_alice, "alice", c.now, c.renewal, c.lifetime);
    EXPECT_TRUE(r.hmac_ok) << "case " << n;
    EXPECT_EQ(r.expired, c.expired) << "case " << n;
  }
}

TEST(auth_token, fresh_and_renewed) {
  const auth_token_key k = random_auth_token_key();
  const std::string a = generate_auth_token(k, "carol", "", false, 5000);
  const std::string b = generate_auth_token(k, "carol", "", false, 5000);
  EXPECT_EQ(a.size(), k_auth_token_len);
  EXPECT_TRUE(is_auth_token(a));
  EXPECT_NE(auth_token_session_id(a), auth_token_session_id(b));  // a new session id each time
  EXPECT_TRUE(verify_auth_token(k, a, "carol", 5001, 60, 0).valid());
  const std::string r = generate_auth_token(k, "carol", a, false, 5100);
  EXPECT_NE(r, a);
  EXPECT_EQ(auth_token_session_id(r), auth_token_session_id(a));
  EXPECT_TRUE(verify_auth_token(k, r, "carol", 5200, 60, 0).valid());
  EXPECT_TRUE(verify_auth_token(k, a, "carol", 5200, 60, 0).expired);  // the old one ran out
  // Lifetime counts from the initial token, not from the renewal.
  EXPECT_TRUE(verify_auth_token(k, r, "carol", 5200, 600, 150).expired);
  // Another key (a restarted server without auth-gen-token-secret) does not know it.
  EXPECT_FALSE(verify_auth_token(random_auth_token_key(), a, "carol", 5001, 60, 0).hmac_ok);
}

TEST(auth_token, not_ours) {
  const auth_token_key k = key();
  std::string t(k_alice);
  const std::string bad[] = {
      "",
      "password",
      "SESS_ID_AT_",
      t.substr(0, t.size() - 4),                       // short
      t + "AAAA",                                      // long
      "SESS_ID_XX" + t.substr(10),                     // other prefix
      t.substr(0, t.size() - 2) + "==",                // padding
      t.substr(0, 20) + "!" + t.substr(21),            // not base64
  };
  int n = 0;
  for (const std::string& b : bad) EXPECT_FALSE(verify_auth_token(k, b, "alice", k_ts, 3600, 0).hmac_ok) << ++n;
  for (size_t i = k_auth_token_prefix.size(); i < t.size(); ++i) {  // every character flipped
    std::string f = t;
    f[i] = f[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(verify_auth_token(k, f, "alice", k_ts, 3600, 0).hmac_ok) << "position " << i;
  }
}

TEST(auth_token, key_files) {
  std::string err;
  EXPECT_FALSE(parse_auth_token_key("", err));
  EXPECT_FALSE(err.empty());
  err.clear();
  std::string other(k_pem);
  for (size_t at; (at = other.find("auth-token")) != std::string::npos;) other.replace(at, 10, "tls-crypt-v2");
  EXPECT_FALSE(parse_auth_token_key(other, err));
  EXPECT_NE(err.find("tls-crypt-v2"), std::string::npos) << err;
  err.clear();
  const std::string short_key =
      "-----BEGIN OpenVPN auth-token server key-----\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
      "-----END OpenVPN auth-token server key-----\n";
  EXPECT_FALSE(parse_auth_token_key(short_key, err));
  EXPECT_NE(err.find("128"), std::string::npos) << err;
}
