// SPDX-License-Identifier: MIT
// Session and server_front behaviour on a perfect wire: cookies (spoofed resets create no state),
// hostile packets into a live session, drop reasons, AUTH_FAILED, NCP failure, hand-window,
// compression framing (§9.1) agreed through config and push.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "dpvpn/data_keys.h"
#include "dpvpn/packet.h"
#include "dpvpn/server_front.h"
#include "dpvpn/session.h"
#include "session_fixture.h"

using namespace dpvpn;
using namespace dpvpn::proto;

namespace {

using namespace dpvpn::proto::test;

TEST(server_front, spoofed_reset_gets_a_stateless_reply_and_a_wrong_cookie_is_dropped) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  server_front front(f.scfg);
  session client(f.ccfg, f.now);
  client.start(f.now);
  std::vector<uint8_t> reset;
  ASSERT_TRUE(client.pop_packet(reset));
  const uint8_t addr[6] = {10, 1, 2, 3, 0x12, 0x34};
  auto r1 = front.on_packet(reset, addr, f.now);
  ASSERT_EQ(r1.v, server_front::verdict::reply);  // answered, nothing kept
  auto r2 = front.on_packet(reset, addr, f.now);
  ASSERT_EQ(r2.v, server_front::verdict::reply);
  EXPECT_EQ(r1.reply.size(), r2.reply.size());

  client.on_packet(r1.reply, f.now);
  std::vector<uint8_t> third;
  ASSERT_TRUE(client.pop_packet(third));  // ClientHello, ACKing the cookie sid
  auto ok = front.on_packet(third, addr, f.now);
  EXPECT_EQ(ok.v, server_front::verdict::accept);
  EXPECT_EQ(ok.theirs, client.own_sid());
  EXPECT_EQ(ok.ours, client.peer_sid());

  // The same packet from another address (or much later) does not carry a valid cookie.
  const uint8_t other[6] = {10, 1, 2, 4, 0x12, 0x34};
  EXPECT_EQ(front.on_packet(third, other, f.now).v, server_front::verdict::drop);
  EXPECT_EQ(front.on_packet(third, addr, f.now + 200'000).v, server_front::verdict::drop);
  // Still valid one slot later (slots of 30 s, -2..+1 accepted).
  EXPECT_EQ(front.on_packet(third, addr, f.now + 31'000).v, server_front::verdict::accept);
}

TEST(server_front, garbage_and_bad_tags_are_dropped) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  server_front front(f.scfg);
  std::mt19937 rng(7);
  const uint8_t addr[6] = {1, 2, 3, 4, 5, 6};
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> p(rng() % 300);
    for (auto& b : p) b = static_cast<uint8_t>(rng());
    if (!p.empty() && (i & 1)) p[0] = static_cast<uint8_t>(wire::P_CONTROL_HARD_RESET_CLIENT_V2 << 3);
    EXPECT_EQ(front.on_packet(p, addr, f.now).v, server_front::verdict::drop);
  }
}

TEST(session, handshake_then_hostile_packets_do_not_disturb_it) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  session server(f.scfg, f.now), client(f.ccfg, f.now);
  client.start(f.now);
  std::vector<session_event> sev, cev;
  pump(client, server, f.now, &cev, &sev);
  ASSERT_TRUE(server.established());
  ASSERT_TRUE(client.established());
  EXPECT_TRUE(has(sev, session_event_type::key_ready));
  EXPECT_TRUE(has(cev, session_event_type::key_ready));

  std::mt19937 rng(3);
  int dropped = 0;
  for (int i = 0; i < 5000; ++i) {
    std::vector<uint8_t> p(1 + rng() % 400);
    for (auto& b : p) b = static_cast<uint8_t>(rng());
    const uint8_t ops[] = {3, 4, 5, 7, 8, 10, 11};
    p[0] = static_cast<uint8_t>((ops[rng() % 7] << 3) | (rng() % 8));
    if (server.on_packet(p, f.now) != session_drop::none) ++dropped;
  }
  EXPECT_EQ(dropped, 5000);
  EXPECT_FALSE(server.failed());
  // A data packet is not the session's business.
  const uint8_t data[] = {0x48, 0, 0, 0, 1, 2, 3, 4};
  EXPECT_EQ(server.on_packet(data, f.now), session_drop::not_control);
  // Still works: a renegotiation completes.
  server.renegotiate(f.now);
  sev.clear();
  cev.clear();
  pump(client, server, f.now, &cev, &sev);
  EXPECT_TRUE(has(sev, session_event_type::key_ready));
  EXPECT_EQ(server.primary_key_id(), 1) << "renegotiations " << server.renegotiations();
  EXPECT_EQ(client.primary_key_id(), 1) << "renegotiations " << client.renegotiations();
}

TEST(session, replayed_and_cross_session_packets_are_dropped) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  session server(f.scfg, f.now), client(f.ccfg, f.now), other(f.ccfg, f.now);
  client.start(f.now);
  std::vector<uint8_t> reset;
  ASSERT_TRUE(client.pop_packet(reset));
  EXPECT_EQ(server.on_packet(reset, f.now), session_drop::none);
  EXPECT_EQ(server.on_packet(reset, f.now), session_drop::replay);  // same wrapper packet-id
  other.start(f.now);
  std::vector<uint8_t> other_reset;
  ASSERT_TRUE(other.pop_packet(other_reset));
  // Another client's reset: rejected by the wrapper replay state or the session-id check.
  EXPECT_NE(server.on_packet(other_reset, f.now), session_drop::none);
  EXPECT_EQ(server.peer_sid(), client.own_sid());
}

TEST(session, auth_rejected_reaches_the_client_as_auth_failed) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  session server(f.scfg, f.now), client(f.ccfg, f.now);
  client.start(f.now);
  std::vector<session_event> sev, cev;
  pump(client, server, f.now, &cev, &sev, false);
  ASSERT_TRUE(has(sev, session_event_type::auth_request));
  server.authorize(false, {}, "wrong password", f.now);
  pump(client, server, f.now, &cev, &sev, false);
  ASSERT_TRUE(has(cev, session_event_type::auth_failed));
  for (auto& e : cev) {
    if (e.type == session_event_type::auth_failed) {
      EXPECT_EQ(e.text, "AUTH_FAILED,wrong password");
    }
  }
  EXPECT_FALSE(has(sev, session_event_type::key_ready));  // no data keys for a rejected client
  server.tick(f.now + 6000);
  EXPECT_TRUE(server.failed());
}

// A renegotiation refused with a reason (client-deny's client reason, an expired auth-token): the
// reason goes with AUTH_FAILED, as openvpn's TLSMP_KILL sends tls_multi's client_reason.
TEST(session, refused_renegotiation_sends_its_reason) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  f.ccfg.username = "alice";
  f.ccfg.password = "pw";
  session server(f.scfg, f.now), client(f.ccfg, f.now);
  client.start(f.now);
  std::vector<session_event> sev, cev;
  pump(client, server, f.now, &cev, &sev);
  ASSERT_TRUE(client.established());
  sev.clear();
  client.renegotiate(f.now);
  pump(client, server, f.now, &cev, &sev, false);
  ASSERT_TRUE(server.reauth_pending());
  server.authorize(false, {}, "SESSION: token expired", f.now);
  pump(client, server, f.now, &cev, &sev, false);
  std::string text;
  for (auto& e : cev)
    if (e.type == session_event_type::auth_failed) text = e.text;
  EXPECT_EQ(text, "AUTH_FAILED,SESSION: token expired");
  server.tick(f.now + 6000);
  EXPECT_TRUE(server.failed());
}

TEST(session, no_shared_cipher_fails_the_client_cleanly) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  f.scfg.data_ciphers = {crypto::cipher_alg::chacha20_poly1305};
  f.ccfg.data_ciphers = {crypto::cipher_alg::aes_256_gcm};
  session server(f.scfg, f.now), client(f.ccfg, f.now);
  client.start(f.now);
  std::vector<session_event> sev, cev;
  pump(client, server, f.now, &cev, &sev);
  EXPECT_TRUE(has(cev, session_event_type::auth_failed));
  EXPECT_FALSE(has(sev, session_event_type::key_ready));
}

TEST(session, hand_window_expires_without_a_server) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  session client(f.ccfg, f.now);
  client.start(f.now);
  uint64_t t = f.now;
  int sent = 0;
  std::vector<uint8_t> p;
  while (!client.failed() && t < f.now + 120'000) {
    t = std::max(t + 1, client.next_wakeup_ms());
    client.tick(t);
    while (client.pop_packet(p)) ++sent;
  }
  EXPECT_TRUE(client.failed());
  EXPECT_GE(t, f.now + 60'000u);
  EXPECT_LE(t, f.now + 61'000u);
  EXPECT_GE(sent, 5);  // resets retransmitted at 2, 4, 8, 16, 32 s backoff
  EXPECT_LE(sent, 8);
}

// ---- compression framing (§9.1) -------------------------------------------------------------

TEST(comp_framing, pushed_option_lists_map_to_framing) {
  struct row {
    int n;
    std::vector<std::string> opts;
    std::optional<comp_framing> want;
  };
  const row rows[] = {
      {1, {}, std::nullopt},
      {2, {"ping 10", "topology subnet"}, std::nullopt},
      {3, {"comp-lzo no"}, comp_framing::lzo_no},
      {4, {"comp-lzo"}, comp_framing::lzo_no},
      {5, {"comp-lzo yes"}, comp_framing::lzo_no},
      {6, {"comp-lzo adaptive"}, comp_framing::lzo_no},
      {7, {"compress"}, comp_framing::stub},
      {8, {"compress stub"}, comp_framing::stub},
      {9, {"compress lz4"}, comp_framing::stub},
      {10, {"compress stub-v2"}, comp_framing::stub_v2},
      {11, {"compress lz4-v2"}, comp_framing::stub_v2},
      {12, {"compress lzo"}, comp_framing::lzo_no},
      {13, {"comp-lzo no", "compress stub-v2"}, comp_framing::stub_v2},  // the last one wins
      {14, {"compress bogus"}, std::nullopt},
      {15, {"comp-lzone"}, std::nullopt},
  };
  for (const row& r : rows) EXPECT_EQ(pushed_framing(r.opts), r.want) << "row " << r.n;
}

struct comp_run {
  std::vector<session_event> sev, cev;
  std::unique_ptr<data_keys> sk = std::make_unique<data_keys>(true, data_key_params{});
  std::unique_ptr<data_keys> ck = std::make_unique<data_keys>(false, data_key_params{});
};

// Connects a client to a server that pushes `push`, installs both sides' keys with the framing
// each key_ready event carries.
void connect_with(fixture& f, const std::vector<std::string>& push, comp_run& run) {
  session server(f.scfg, f.now), client(f.ccfg, f.now);
  client.start(f.now);
  pump(client, server, f.now, &run.cev, &run.sev, false);
  ASSERT_TRUE(has(run.sev, session_event_type::auth_request));
  server.authorize(true, push, "", f.now);
  pump(client, server, f.now, &run.cev, &run.sev, false);
  ASSERT_TRUE(client.established());
  std::string err;
  for (auto& [evs, dk] : {std::pair{&run.sev, run.sk.get()}, std::pair{&run.cev, run.ck.get()}}) {
    for (const session_event& e : *evs) {
      if (e.type != session_event_type::key_ready) continue;
      ASSERT_TRUE(dk->install(e.key_id, e.key, e.cipher, e.digest, f.now / 1000, &err)) << err;
      dk->framing = e.framing;
    }
  }
  EXPECT_EQ(server.framing(), run.sk->framing);
  EXPECT_EQ(client.framing(), run.ck->framing);
}

// One IP-looking packet client -> server and one back; returns the server's open error.
dc_err exchange(comp_run& run) {
  static auto eng = crypto::engine::create();
  const uint8_t ip[] = {0x45, 0, 0, 20, 1, 2, 3, 4, 64, 17, 0, 0, 10, 8, 0, 2, 10, 8, 0, 1};
  owned_buf up(ip);
  if (run.ck->seal(*eng, up.view(), 0, 0) != dc_err::ok) return dc_err::crypto_failure;
  auto r = run.sk->open(*eng, up.view(), 0);
  if (r.err != dc_err::ok) return r.err;
  if (up.bytes() != std::vector<uint8_t>(std::begin(ip), std::end(ip))) return dc_err::bad_framing;
  owned_buf down(ip);
  if (run.sk->seal(*eng, down.view(), 0, 0) != dc_err::ok) return dc_err::crypto_failure;
  r = run.ck->open(*eng, down.view(), 0);
  if (r.err != dc_err::ok) return r.err;
  return down.bytes() == std::vector<uint8_t>(std::begin(ip), std::end(ip)) ? dc_err::ok : dc_err::bad_framing;
}

// A 2.4-era deployment: `comp-lzo no` in both configs, nothing pushed; both frame with 0xFA.
TEST(comp_framing, server_and_client_config_agree_without_a_push) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  f.scfg.comp = f.ccfg.comp = comp_framing::lzo_no;
  comp_run run;
  connect_with(f, {"ping 10"}, run);
  EXPECT_EQ(run.sk->framing, comp_framing::lzo_no);
  EXPECT_EQ(run.ck->framing, comp_framing::lzo_no);
  EXPECT_EQ(exchange(run), dc_err::ok);
}

// A pushed `compress stub-v2` (e.g. from client-connect) decides both sides' framing.
TEST(comp_framing, a_pushed_option_sets_both_sides) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  for (auto [opt, want] : {std::pair{"compress stub-v2", comp_framing::stub_v2},
                           std::pair{"compress", comp_framing::stub}, std::pair{"comp-lzo no", comp_framing::lzo_no}}) {
    fixture f;
    comp_run run;
    connect_with(f, {"ping 10", opt}, run);
    EXPECT_EQ(run.sk->framing, want) << opt;
    EXPECT_EQ(run.ck->framing, want) << opt;
    EXPECT_EQ(exchange(run), dc_err::ok) << opt;
  }
}

// The server frames every client with its own setting (openvpn does not push it): a client
// without `comp-lzo` is then out of step, and its packets are refused as bad framing.
TEST(comp_framing, a_mismatch_is_a_counted_framing_error) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  f.scfg.comp = comp_framing::lzo_no;
  comp_run run;
  connect_with(f, {"ping 10"}, run);
  EXPECT_EQ(run.sk->framing, comp_framing::lzo_no);
  EXPECT_EQ(run.ck->framing, comp_framing::none);
  EXPECT_EQ(exchange(run), dc_err::bad_framing);
}

}  // namespace

namespace dpvpn::proto::test {
namespace {

// The renegotiation key race: a client derives its new key on reading our key-method-2 and may send
// on it at once, before its ACK of that message reaches us. The server therefore derives the key
// when it writes its key-method-2 (key_ready, confirmed false: receive on it, do not send on it by
// timer yet), and confirms it once that message is ACKed (key_confirmed).
TEST(session, renegotiated_key_is_ready_before_the_ack_and_confirmed_after) {
  fixture f;
  session server(f.scfg, f.now), client(f.ccfg, f.now);
  client.start(f.now);
  std::vector<session_event> sev, cev;
  pump(client, server, f.now, &cev, &sev);
  ASSERT_TRUE(client.established());
  sev.clear();
  cev.clear();
  client.renegotiate(f.now);
  // One direction at a time, events after each step.
  bool server_ready = false, server_confirmed = false, client_ready = false;
  bool ready_before_client = false;
  for (int round = 0; round < 50; ++round) {
    std::vector<uint8_t> p;
    bool moved = false;
    while (client.pop_packet(p)) server.on_packet(p, f.now), moved = true;
    session_event ev;
    while (server.pop_event(ev)) {
      if (ev.type == session_event_type::auth_request) server.authorize(true, {"ping 10"}, "", f.now);
      if (ev.type == session_event_type::key_ready && ev.key_id == 1) {
        EXPECT_FALSE(ev.confirmed);
        server_ready = true;
        ready_before_client = !client_ready;
      }
      if (ev.type == session_event_type::key_confirmed && ev.key_id == 1) {
        EXPECT_TRUE(server_ready);
        server_confirmed = true;
      }
      moved = true;
    }
    while (server.pop_packet(p)) client.on_packet(p, f.now), moved = true;
    while (client.pop_event(ev)) {
      if (ev.type == session_event_type::key_ready && ev.key_id == 1) {
        EXPECT_TRUE(ev.confirmed);  // the client derives on reading ours: the server has it
        client_ready = true;
      }
      moved = true;
    }
    if (!moved) break;
  }
  EXPECT_TRUE(server_ready);
  EXPECT_TRUE(ready_before_client) << "the server had the key before the client could send on it";
  EXPECT_TRUE(client_ready);
  EXPECT_TRUE(server_confirmed);
}

// data_keys: an unconfirmed key never becomes the sending key by time alone; arm() starts its
// timer, and the peer's first packet on it switches at once.
TEST(data_keys, unarmed_key_switches_by_use_or_after_arm) {
  auto eng = crypto::engine::create();
  data_key_params prm;
  prm.cipher = crypto::cipher_alg::aes_256_gcm;
  key2 k0{}, k1{};
  for (size_t i = 0; i < k0.size(); ++i) k0[i] = static_cast<uint8_t>(i + 1), k1[i] = static_cast<uint8_t>(i * 3 + 7);
  std::string err;
  data_keys sk(true, prm), ck(false, prm);
  ASSERT_TRUE(sk.install(0, k0, prm.cipher, prm.digest, 100, &err));
  ASSERT_TRUE(ck.install(0, k0, prm.cipher, prm.digest, 100, &err));
  ASSERT_TRUE(sk.install(1, k1, prm.cipher, prm.digest, 100, &err, false));
  const uint8_t ip[] = {0x45, 0, 0, 20, 1, 2, 3, 4, 64, 17, 0, 0, 10, 8, 0, 2, 10, 8, 0, 1};
  owned_buf a(ip);
  ASSERT_EQ(sk.seal(*eng, a.view(), 0, 200), dc_err::ok);  // long after switch_after_s: still key 0
  EXPECT_EQ(sk.tx_key_id(), 0);
  sk.arm(1, 300);
  owned_buf b(ip);
  ASSERT_EQ(sk.seal(*eng, b.view(), 0, 304), dc_err::ok);
  EXPECT_EQ(sk.tx_key_id(), 0);
  owned_buf c(ip);
  ASSERT_EQ(sk.seal(*eng, c.view(), 0, 305), dc_err::ok);
  EXPECT_EQ(sk.tx_key_id(), 1);
  // By use: another unarmed key, and the client sends on it.
  key2 k2 = k1;
  k2[0] ^= 0xff;
  ASSERT_TRUE(sk.install(2, k2, prm.cipher, prm.digest, 400, &err, false));
  ASSERT_TRUE(ck.install(2, k2, prm.cipher, prm.digest, 400, &err));
  ck.switch_after_s = 0;
  owned_buf d(ip);
  ASSERT_EQ(ck.seal(*eng, d.view(), 0, 400), dc_err::ok);
  ASSERT_EQ(ck.tx_key_id(), 2);
  EXPECT_EQ(sk.open(*eng, d.view(), 400).err, dc_err::ok);
  EXPECT_EQ(sk.tx_key_id(), 2);
}

}  // namespace
}  // namespace dpvpn::proto::test
