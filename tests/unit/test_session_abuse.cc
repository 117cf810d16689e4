// SPDX-License-Identifier: MIT
// Hostile input from an authenticated or authenticating peer (issue 11): names with control
// bytes, PUSH_REQUEST floods, sessions that never ask for their push, failed and changed
// renegotiations. Server and client sessions on a perfect wire with a simulated clock.
#include <gtest/gtest.h>

#include <openssl/ssl.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "dpvpn/packet.h"
#include "dpvpn/server_front.h"
#include "dpvpn/session.h"
#include "dpvpn/tls_engine.h"
#include "dpvpn/tls_wrap.h"
#include "session_fixture.h"

using namespace dpvpn;
using namespace dpvpn::proto;
using namespace dpvpn::proto::test;

namespace {

// F5: openvpn's string_mod_remap_name runs on the username before anything sees it, so
// "alice\n<alice's password>" is the user "alice_<password>", never a second line for a
// via-file script to read as alice's password.
TEST(session_abuse, crlf_in_username_is_mapped_before_anyone_sees_it) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  f.ccfg.username = "alice\nsecret\r";
  f.ccfg.password = "x\ny";
  session server(f.scfg, f.now), client(f.ccfg, f.now);
  client.start(f.now);
  std::vector<session_event> sev;
  pump(client, server, f.now, nullptr, &sev, false);
  ASSERT_TRUE(has(sev, session_event_type::auth_request));
  EXPECT_EQ(server.username(), "alice_secret_");
  EXPECT_EQ(server.password(), "x_y");
  for (const session_event& e : sev) {
    if (e.type == session_event_type::auth_request) {
      EXPECT_EQ(e.text, "alice_secret_");
    }
  }
}

}  // namespace

namespace {

// An attacker on the client side that never ACKs: with wrap none the packets are plain, so the
// relay drops the client's P_ACK_V1 packets and strips the ACKs piggybacked on the rest. The
// server's packets all reach the client.
std::optional<std::vector<uint8_t>> without_acks(const std::vector<uint8_t>& pkt) {
  control_packet cp;
  if (decode_control(pkt, cp) != pkt_err::ok) return pkt;
  if (cp.op == wire::P_ACK_V1) return std::nullopt;
  cp.acks.n = 0;
  std::vector<uint8_t> out;
  encode_control(cp, out);
  return out;
}

// Client -> server with ACKs stripped, server -> client as is; events are drained (the gateway
// does so after every call).
void relay_no_acks(session& client, session& server, uint64_t now) {
  for (int round = 0; round < 50; ++round) {
    bool moved = false;
    std::vector<uint8_t> p;
    while (client.pop_packet(p)) {
      if (auto q = without_acks(p)) server.on_packet(*q, now);
      moved = true;
    }
    while (server.pop_packet(p)) {
      client.on_packet(p, now);
      moved = true;
    }
    session_event ev;
    while (server.pop_event(ev)) moved = true;
    while (client.pop_event(ev)) moved = true;
    if (!moved) return;
  }
}

void connect(fixture& f, session& server, session& client, std::vector<std::string> push) {
  client.start(f.now);
  std::vector<session_event> sev;
  pump(client, server, f.now, nullptr, &sev, false);
  ASSERT_TRUE(has(sev, session_event_type::auth_request));
  server.authorize(true, std::move(push), "", f.now);
  pump(client, server, f.now);
  ASSERT_TRUE(server.established());
  ASSERT_TRUE(client.established());
}

// F2: 2000 PUSH_REQUESTs in 20 s, none of the server's packets ACKed. openvpn answers one
// PUSH_REPLY per 30 s; before the fix each request queued the whole reply again (~400 KB here).
TEST(session_abuse, push_request_flood_without_acks_stays_bounded) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f(wrap_mode::none);
  session server(f.scfg, f.now), client(f.ccfg, f.now);
  connect(f, server, client, {"ping 10", "route 192.168.50.0 255.255.255.0", "dhcp-option DNS 10.8.0.1"});
  const size_t base = server.queued_bytes();
  size_t peak = base;
  for (int i = 0; i < 2000; ++i) {
    f.now += 10;
    client.send_text("PUSH_REQUEST", f.now);
    server.tick(f.now);
    relay_no_acks(client, server, f.now);
    peak = std::max(peak, server.queued_bytes());
  }
  EXPECT_FALSE(server.failed());
  EXPECT_LT(peak, base + 4096) << "server holds " << peak << " bytes for one client";
}

// F2: a PUSH_REQUEST more than 30 s after the last reply is answered again, but what the peer
// never ACKs piles up only to the TLS output limit: then the session fails (a teardown).
TEST(session_abuse, unacked_replies_hit_the_queue_limit_and_end_the_session) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f(wrap_mode::none);
  session server(f.scfg, f.now), client(f.ccfg, f.now);
  std::vector<std::string> push;
  for (int i = 0; i < 60; ++i) push.push_back("setenv-safe VAR" + std::to_string(i) + " " + std::string(80, 'x'));
  connect(f, server, client, push);
  size_t peak = 0;
  int replies = 0;
  while (!server.failed() && replies < 200) {
    f.now += session::k_push_reply_interval_ms;
    client.send_text("PUSH_REQUEST", f.now);
    server.tick(f.now);
    relay_no_acks(client, server, f.now);
    peak = std::max(peak, server.queued_bytes());
    ++replies;
  }
  EXPECT_TRUE(server.failed());
  EXPECT_LT(replies, 60);
  EXPECT_LT(peak, session::k_max_tls_out + 16 * 1024);
}

// F2: one TLS record holding thousands of text messages queues no more than k_max_events.
TEST(session_abuse, a_record_of_many_messages_is_bounded_too) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  session server(f.scfg, f.now), client(f.ccfg, f.now);
  connect(f, server, client, {"ping 10"});
  std::string many;
  for (int i = 0; i < 3000; ++i) many.append("X\0", 2);
  client.send_text(many, f.now);
  std::vector<uint8_t> p;
  size_t events = 0;
  while (client.pop_packet(p)) server.on_packet(p, f.now);
  session_event ev;
  while (server.pop_event(ev)) ++events;
  EXPECT_LE(events, session::k_max_events + 1);
  EXPECT_TRUE(server.failed());
}

}  // namespace

namespace {

// F8: an authorized client that never asks for its push (a 2.4-style client, which does not
// announce IV_PROTO_REQUEST_PUSH, that then stays silent) is failed hand-window after
// authorization; before the fix it held its slot for good.
TEST(session_abuse, no_push_request_ends_the_session_after_hand_window) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  f.ccfg.announce_request_push = false;
  session server(f.scfg, f.now), client(f.ccfg, f.now);
  client.start(f.now);
  std::vector<session_event> sev;
  pump(client, server, f.now, nullptr, &sev, false);  // the client is never ticked: no PUSH_REQUEST
  ASSERT_TRUE(has(sev, session_event_type::auth_request));
  const uint64_t t_auth = f.now + 2000;
  server.authorize(true, {"ping 10"}, "", t_auth);
  pump(client, server, t_auth);
  EXPECT_FALSE(server.established());
  uint64_t t = t_auth;
  while (!server.failed() && t < t_auth + 600'000) {
    t = std::max(t + 1, server.next_wakeup_ms());
    server.tick(t);
    std::vector<uint8_t> p;
    while (server.pop_packet(p)) {
    }
  }
  EXPECT_TRUE(server.failed());
  EXPECT_GE(t, t_auth + f.scfg.hand_window_s * 1000ull);
  EXPECT_LE(t, t_auth + f.scfg.hand_window_s * 1000ull + 1000);

  // A client that asks in time is kept.
  fixture g;
  g.ccfg.announce_request_push = false;
  session s2(g.scfg, g.now), c2(g.ccfg, g.now);
  c2.start(g.now);
  pump(c2, s2, g.now);  // auto-authorized
  EXPECT_FALSE(s2.established());
  c2.tick(g.now + 1000);  // its first PUSH_REQUEST
  pump(c2, s2, g.now + 1000);
  EXPECT_TRUE(s2.established());
  s2.tick(g.now + 120'000);
  EXPECT_FALSE(s2.failed());
}

}  // namespace

namespace {

bool has_key(const std::vector<session_event>& v, session_event_type t, uint8_t kid) {
  for (const session_event& e : v)
    if (e.type == t && e.key_id == kid) return true;
  return false;
}

// Ticks the server alone (nothing reaches the client) until it fails or `until`.
uint64_t run_server_alone(session& server, uint64_t from, uint64_t until, std::vector<session_event>& sev) {
  uint64_t t = from;
  while (!server.failed() && t < until) {
    t = std::max(t + 1, std::min(server.next_wakeup_ms(), until));
    server.tick(t);
    std::vector<uint8_t> p;
    while (server.pop_packet(p)) {
    }
    session_event ev;
    while (server.pop_event(ev)) sev.push_back(ev);
  }
  return t;
}

// F3: a renegotiation whose packets never arrive fails at hand-window; the old key is put back
// but dies at tran-window (counted from the renegotiation's start), and the session with it.
// Before the fix the old key was put back with no expiry and the session lived for good.
TEST(session_abuse, failed_renegotiation_old_key_dies_at_tran_window) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  f.scfg.tran_window_s = 300;
  session server(f.scfg, f.now), client(f.ccfg, f.now);
  connect(f, server, client, {"ping 10"});
  const uint64_t t0 = f.now + 1000;
  server.renegotiate(t0);
  std::vector<session_event> sev;
  uint64_t t = run_server_alone(server, t0, t0 + 200'000, sev);
  EXPECT_FALSE(server.failed());
  EXPECT_EQ(server.primary_key_id(), 0);  // the old key is back after hand-window
  EXPECT_FALSE(has_key(sev, session_event_type::key_retired, 0));
  t = run_server_alone(server, t, t0 + 3'600'000, sev);
  EXPECT_TRUE(server.failed());
  EXPECT_TRUE(has_key(sev, session_event_type::key_retired, 0));
  EXPECT_GE(t, t0 + 300'000);
  EXPECT_LE(t, t0 + 301'000);
}

// F3: a renegotiation retried from the put-back key does not extend its deadline, and one that
// succeeds in time keeps the session.
TEST(session_abuse, a_later_renegotiation_can_still_save_the_session) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  f.scfg.tran_window_s = 300;
  session server(f.scfg, f.now), client(f.ccfg, f.now);
  connect(f, server, client, {"ping 10"});
  const uint64_t t0 = f.now + 1000;
  server.renegotiate(t0);
  std::vector<session_event> sev, cev;
  uint64_t t = run_server_alone(server, t0, t0 + 100'000, sev);
  ASSERT_EQ(server.primary_key_id(), 0);
  // The client's own state for key_id 1 is stale; a fresh soft reset from the server with key_id 1
  // is what both sides agree on again.
  server.renegotiate(t);
  pump(client, server, t, &cev, &sev);
  EXPECT_TRUE(has_key(sev, session_event_type::key_ready, 1));
  t = run_server_alone(server, t, t0 + 600'000, sev);
  EXPECT_FALSE(server.failed());
}

// F3: key_id 0 locks the certificate; a renegotiation presenting another one (here client2's)
// gets AUTH_FAILED and the session ends, with no data key for the new key_id.
TEST(session_abuse, renegotiation_with_another_certificate_is_refused) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  session server(f.scfg, f.now), client(f.ccfg, f.now);
  connect(f, server, client, {"ping 10"});
  ASSERT_EQ(server.common_name(), "client1");
  ASSERT_EQ(SSL_CTX_use_certificate_file(f.ctls->ctx(), (pki() + "/client2.crt").c_str(), SSL_FILETYPE_PEM), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey_file(f.ctls->ctx(), (pki() + "/client2.key").c_str(), SSL_FILETYPE_PEM), 1);
  std::vector<session_event> sev, cev;
  server.renegotiate(f.now + 1000);
  pump(client, server, f.now + 1000, &cev, &sev);
  EXPECT_FALSE(has_key(sev, session_event_type::key_ready, 1));
  EXPECT_TRUE(has(cev, session_event_type::auth_failed));
  run_server_alone(server, f.now + 1000, f.now + 20'000, sev);
  EXPECT_TRUE(server.failed());
  EXPECT_EQ(server.common_name(), "client1");
}

// F3: each renegotiation is authenticated again (auth_request with its key_id); its data key
// waits for authorize(). A refusal sends AUTH_FAILED and ends the session.
TEST(session_abuse, renegotiation_is_authenticated_again) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  f.ccfg.username = "alice";
  f.ccfg.password = "pw2";
  session server(f.scfg, f.now), client(f.ccfg, f.now);
  connect(f, server, client, {"ping 10"});
  std::vector<session_event> sev, cev;
  server.renegotiate(f.now + 1000);
  pump(client, server, f.now + 1000, &cev, &sev, false);
  ASSERT_TRUE(has_key(sev, session_event_type::auth_request, 1));
  EXPECT_TRUE(server.reauth_pending());
  EXPECT_EQ(server.reauth_key_id(), 1);
  EXPECT_EQ(server.password(), "pw2");
  EXPECT_FALSE(has_key(sev, session_event_type::key_ready, 1));  // not before authorize()
  server.authorize(true, {}, "", f.now + 1500);
  EXPECT_TRUE(server.password().empty());
  pump(client, server, f.now + 1500, &cev, &sev, false);
  EXPECT_TRUE(has_key(sev, session_event_type::key_ready, 1));

  sev.clear();
  cev.clear();
  server.renegotiate(f.now + 2000);
  pump(client, server, f.now + 2000, &cev, &sev, false);
  ASSERT_TRUE(has_key(sev, session_event_type::auth_request, 2));
  server.authorize(false, {}, "", f.now + 2500);
  pump(client, server, f.now + 2500, &cev, &sev, false);
  EXPECT_FALSE(has_key(sev, session_event_type::key_ready, 2));
  EXPECT_TRUE(has(cev, session_event_type::auth_failed));
  run_server_alone(server, f.now + 2500, f.now + 20'000, sev);
  EXPECT_TRUE(server.failed());
}

// F3: a certificate revoked while connected: the renegotiation's TLS handshake checks the
// reloaded CRL and fails, so the old key dies at tran-window.
TEST(session_abuse, revoked_during_the_session_ends_at_tran_window) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  const std::string crl = (std::filesystem::temp_directory_path() / ("dpvpn-abuse-crl-" + std::to_string(::getpid()) + ".pem")).string();
  std::filesystem::copy_file(pki() + "/crl-empty.pem", crl, std::filesystem::copy_options::overwrite_existing);
  std::string err;
  tls_config sc;
  sc.ca_file = pki() + "/ca.crt";
  sc.cert_file = pki() + "/server.crt";
  sc.key_file = pki() + "/server.key";
  sc.crl_file = crl;
  f.stls = tls_context::create(sc, err);
  ASSERT_TRUE(f.stls) << err;
  f.scfg.tls = f.stls.get();
  f.scfg.tran_window_s = 200;
  tls_config cc = sc;
  cc.server = false;
  cc.crl_file.clear();
  cc.cert_file = pki() + "/client2.crt";
  cc.key_file = pki() + "/client2.key";
  f.ctls = tls_context::create(cc, err);
  ASSERT_TRUE(f.ctls) << err;
  f.ccfg.tls = f.ctls.get();
  session server(f.scfg, f.now), client(f.ccfg, f.now);
  connect(f, server, client, {"ping 10"});
  std::filesystem::copy_file(pki() + "/crl-client2.pem", crl, std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(f.stls->reload_crl(err)) << err;
  const uint64_t t0 = f.now + 1000;
  std::vector<session_event> sev, cev;
  server.renegotiate(t0);
  pump(client, server, t0, &cev, &sev);
  EXPECT_FALSE(has_key(sev, session_event_type::key_ready, 1));
  EXPECT_FALSE(server.failed());
  const uint64_t t = run_server_alone(server, t0, t0 + 3'600'000, sev);
  EXPECT_TRUE(server.failed());
  EXPECT_LE(t, t0 + 201'000);
  std::filesystem::remove(crl);
}

}  // namespace

namespace {

// A tls-crypt-v2 server key and a client key whose WKc carries `meta`.
void tcv2_setup(fixture& f, std::vector<uint8_t> meta) {
  tcv2_server_key sk;
  for (size_t i = 0; i < sk.bytes.size(); ++i) sk.bytes[i] = static_cast<uint8_t>(i * 7 + 1);
  tcv2_client_key ck;
  for (size_t i = 0; i < ck.kc.size(); ++i) ck.kc[i] = static_cast<uint8_t>(i * 13 + 5);
  ck.wkc = tcv2_wrap_wkc(sk, ck.kc, meta);
  f.scfg.tcv2 = f.ccfg.tcv2 = true;
  f.scfg.tcv2_server = sk;
  f.ccfg.tcv2_client = ck;
}

// F4: `tls-crypt-v2 FILE force-cookie` (openvpn's CO_FORCE_TLSCRYPTV2_COOKIE): a V3 reset
// without early negotiation, which would make the server keep state at once, is dropped; a 2.6
// client (early negotiation) is still answered statelessly. Before the fix the flag was never read.
TEST(session_abuse, tcv2_force_cookie_drops_resets_that_would_create_state) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f(wrap_mode::none);
  tcv2_setup(f, {wire::k_tcv2_meta_user, 'x'});
  // A V3 reset as a client without early negotiation sends it: replay id 1, no 0x0f marker.
  control_packet cp;
  cp.op = wire::P_CONTROL_HARD_RESET_CLIENT_V3;
  cp.sid = {1, 2, 3, 4, 5, 6, 7, 8};
  cp.has_msg_id = true;
  std::vector<uint8_t> body, old_reset;
  encode_control_body(cp, body);
  wrap(wrap_keys::tls_crypt(f.ccfg.tcv2_client.kc, false), wire::op_byte(wire::P_CONTROL_HARD_RESET_CLIENT_V3, 0),
       cp.sid, body, replay_id{1, 1000}, old_reset);
  old_reset.insert(old_reset.end(), f.ccfg.tcv2_client.wkc.begin(), f.ccfg.tcv2_client.wkc.end());
  const uint8_t addr[6] = {10, 0, 0, 9, 0x30, 0x39};

  server_front allow(f.scfg);
  EXPECT_EQ(allow.on_packet(old_reset, addr, f.now).v, server_front::verdict::new_session);
  f.scfg.tcv2_force_cookie = true;
  server_front force(f.scfg);
  EXPECT_EQ(force.on_packet(old_reset, addr, f.now).v, server_front::verdict::drop);

  session client(f.ccfg, f.now);
  client.start(f.now);
  std::vector<uint8_t> reset;
  ASSERT_TRUE(client.pop_packet(reset));
  EXPECT_EQ(force.on_packet(reset, addr, f.now).v, server_front::verdict::reply);
}

// F4: on the cookie path the session still gets the WKc's metadata (from the packet that echoes
// the cookie), which tls-crypt-v2-verify and tls-crypt-v2-max-age read. It was empty before.
TEST(session_abuse, tcv2_metadata_reaches_the_session_on_the_cookie_path) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f(wrap_mode::none);
  const std::vector<uint8_t> meta = {wire::k_tcv2_meta_timestamp, 0, 0, 0, 0, 0x6b, 0x49, 0xd2, 0x00};
  tcv2_setup(f, meta);
  server_front front(f.scfg);
  session client(f.ccfg, f.now);
  client.start(f.now);
  std::vector<uint8_t> reset, third;
  ASSERT_TRUE(client.pop_packet(reset));
  const uint8_t addr[6] = {10, 0, 0, 9, 0x30, 0x39};
  auto r1 = front.on_packet(reset, addr, f.now);
  ASSERT_EQ(r1.v, server_front::verdict::reply);
  client.on_packet(r1.reply, f.now);
  ASSERT_TRUE(client.pop_packet(third));
  auto r2 = front.on_packet(third, addr, f.now);
  ASSERT_EQ(r2.v, server_front::verdict::accept);
  ASSERT_TRUE(r2.has_kc);
  session server(f.scfg, f.now);
  server.accept_cookie(r2.ours, r2.theirs, &r2.kc, f.now);
  EXPECT_EQ(server.on_packet(third, f.now), session_drop::none);
  EXPECT_EQ(server.tcv2_metadata(), meta);
  pump(client, server, f.now);
  EXPECT_TRUE(server.established());
}

}  // namespace
