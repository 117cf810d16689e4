// SPDX-License-Identifier: MIT
// Two-party test: our client role against our server role (with the stateless cookie front)
// over a simulated wire that drops, duplicates, reorders and corrupts, on a simulated clock.
// Handshake, data both ways, >= 8 renegotiations (every key_id, wrap 7 -> 1), a clean EXIT,
// and a bound on the longest data stall.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>

#include "dpvpn/data_keys.h"
#include "dpvpn/server_front.h"
#include "dpvpn/session.h"

using namespace dpvpn;
using namespace dpvpn::proto;

namespace {

std::string pki_dir() {
  static std::string dir;
  if (!dir.empty()) return dir;
  const char* src = std::getenv("DPVPN_SRC");
  std::string root = src ? src : DPVPN_SOURCE_ROOT;
  dir = (std::filesystem::temp_directory_path() / ("dpvpn-two-party-pki-" + std::to_string(::getpid()))).string();
  std::string cmd = root + "/tools/gen-test-pki.sh " + dir + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) dir.clear();
  return dir;
}

std::string slurp(const std::string& p) {
  std::string s, err;
  EXPECT_TRUE(read_file(p, s, err)) << err;
  return s;
}

struct wire_sim {
  struct pkt {
    uint64_t at;
    std::vector<uint8_t> bytes;
  };
  std::mt19937_64 rng;
  std::multimap<uint64_t, std::vector<uint8_t>> q;
  double drop, dup, corrupt;
  uint64_t sent = 0, dropped = 0, duplicated = 0, corrupted = 0;

  wire_sim(uint64_t seed, double d, double u, double c) : rng(seed), drop(d), dup(u), corrupt(c) {}
  double u01() { return std::uniform_real_distribution<double>(0, 1)(rng); }
  void send(std::vector<uint8_t> b, uint64_t now) {
    ++sent;
    if (u01() < drop) {
      ++dropped;
      return;
    }
    int copies = u01() < dup ? 2 : 1;
    duplicated += copies - 1;
    for (int i = 0; i < copies; ++i) {
      std::vector<uint8_t> c = b;
      if (!c.empty() && u01() < corrupt) {
        ++corrupted;
        c[rng() % c.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
      }
      // 5..50 ms latency; 10 % of packets take up to 300 ms more (reordering).
      uint64_t lat = 5 + rng() % 46 + (u01() < 0.1 ? rng() % 300 : 0);
      q.emplace(now + lat, std::move(c));
    }
  }
  uint64_t next() const { return q.empty() ? UINT64_MAX : q.begin()->first; }
};

struct endpoint {
  std::unique_ptr<session> s;
  std::unique_ptr<data_keys> dk;
  std::set<uint8_t> key_ids;
  std::vector<uint8_t> key_order;
  uint64_t data_rx = 0, data_bad = 0, last_rx_ms = 0, max_gap_ms = 0;
  bool established = false, exit_seen = false;
  std::string failure;
};

struct two_party_case {
  const char* name;
  wrap_mode wrap;
  bool tcv2;
  crypto::cipher_alg cipher;
  bool ekm;
  double drop, dup, corrupt;
  int min_renegs;
};

class two_party : public ::testing::TestWithParam<two_party_case> {};

void handle_events(endpoint& ep, uint64_t now) {
  session_event ev;
  while (ep.s->pop_event(ev)) {
    switch (ev.type) {
      case session_event_type::auth_request:
        ep.s->authorize(true, {"topology subnet", "ifconfig 10.9.0.2 255.255.255.0", "ping 10"}, "", now);
        break;
      case session_event_type::key_ready: {
        std::string err;
        ASSERT_TRUE(ep.dk->install(ev.key_id, ev.key, ev.cipher, ev.digest, now / 1000, &err, ev.confirmed)) << err;
        ep.key_ids.insert(ev.key_id);
        ep.key_order.push_back(ev.key_id);
        break;
      }
      case session_event_type::key_confirmed: ep.dk->arm(ev.key_id, now / 1000); break;
      case session_event_type::key_retired: ep.dk->retire(ev.key_id); break;
      case session_event_type::established: ep.established = true; break;
      case session_event_type::exit_received: ep.exit_seen = true; break;
      case session_event_type::failed: ep.failure = ev.text; break;
      default: break;
    }
  }
}

TEST_P(two_party, noisy_wire_handshake_data_renegotiation_exit) {
  const two_party_case& tc = GetParam();
  const std::string dir = pki_dir();
  ASSERT_FALSE(dir.empty()) << "tools/gen-test-pki.sh failed";

  std::string err;
  tls_config sc;
  sc.server = true;
  sc.ca_file = dir + "/ca.crt";
  sc.cert_file = dir + "/server.crt";
  sc.key_file = dir + "/server.key";
  sc.remote_cert = remote_cert_tls::client;
  auto stls = tls_context::create(sc, err);
  ASSERT_TRUE(stls) << err;
  tls_config cc = sc;
  cc.server = false;
  cc.cert_file = dir + "/client1.crt";
  cc.key_file = dir + "/client1.key";
  cc.remote_cert = remote_cert_tls::server;
  auto ctls = tls_context::create(cc, err);
  ASSERT_TRUE(ctls) << err;

  session_config base;
  base.wrap = tc.wrap;
  base.tcv2 = tc.tcv2;
  base.allow_ekm = tc.ekm;
  base.data_ciphers = {tc.cipher};
  base.data_auth = crypto::digest_alg::sha256;
  base.reneg_sec = 0;
  if (tc.wrap != wrap_mode::none) {
    ASSERT_TRUE(parse_static_key(slurp(dir + (tc.wrap == wrap_mode::tls_auth ? "/ta.key" : "/tls-crypt.key")),
                                 base.wrap_key, err))
        << err;
  }
  if (tc.tcv2) {
    if (!std::filesystem::exists(dir + "/tc2-client.key")) GTEST_SKIP() << "openvpn not installed: no tls-crypt-v2 keys";
    ASSERT_TRUE(parse_tcv2_server_key(slurp(dir + "/tc2-server.key"), base.tcv2_server, err)) << err;
    ASSERT_TRUE(parse_tcv2_client_key(slurp(dir + "/tc2-client.key"), base.tcv2_client, err)) << err;
  }
  session_config scfg = base, ccfg = base;
  scfg.server = true;
  scfg.tls = stls.get();
  scfg.key_direction = 0;
  scfg.reneg_sec = 10;  // the server renegotiates every ~9-10 s
  ccfg.server = false;
  ccfg.tls = ctls.get();
  ccfg.key_direction = 1;

  uint64_t now = 1'800'000'000'000ull;
  const uint64_t t0 = now;
  wire_sim c2s(11, tc.drop, tc.dup, tc.corrupt), s2c(12, tc.drop, tc.dup, tc.corrupt);
  server_front front(scfg);
  const uint8_t client_addr[6] = {10, 0, 0, 2, 0x04, 0xaa};
  auto eng = crypto::engine::create();

  endpoint cl, sv;
  cl.s = std::make_unique<session>(ccfg, now);
  cl.dk = std::make_unique<data_keys>(false, data_key_params{});
  cl.s->start(now);

  auto pump = [&](endpoint& ep, wire_sim& w) {
    std::vector<uint8_t> out;
    while (ep.s->pop_packet(out)) w.send(out, now);
    handle_events(ep, now);
    while (ep.s->pop_packet(out)) w.send(out, now);
  };
  auto send_data = [&](endpoint& ep, wire_sim& w, uint32_t seq) {
    if (!ep.dk->has_key()) return;
    uint8_t payload[64] = {0x45};
    wire::put_u32(payload + 4, seq);
    owned_buf b(payload);
    ASSERT_EQ(ep.dk->seal(*eng, b.view(), ep.s->peer_id(), now / 1000), dc_err::ok);
    w.send(b.bytes(), now);
  };
  auto on_data = [&](endpoint& ep, const std::vector<uint8_t>& p) {
    owned_buf b(p);
    auto r = ep.dk->open(*eng, b.view(), now / 1000);
    if (r.no_key || r.err != dc_err::ok) {
      ++ep.data_bad;
      return;
    }
    if (ep.last_rx_ms) ep.max_gap_ms = std::max(ep.max_gap_ms, now - ep.last_rx_ms);
    ep.last_rx_ms = now;
    ++ep.data_rx;
  };

  pump(cl, c2s);
  uint32_t seq = 0;
  uint64_t next_data = now, exit_at = 0;
  const uint64_t deadline = t0 + 200'000;
  bool client_reneg_done = false;
  while (now < deadline) {
    uint64_t t = std::min({c2s.next(), s2c.next(), cl.s->next_wakeup_ms(), next_data, now + 100});
    if (sv.s) t = std::min(t, sv.s->next_wakeup_ms());
    now = std::max(now, t);
    while (c2s.next() <= now) {
      auto it = c2s.q.begin();
      std::vector<uint8_t> p = std::move(it->second);
      c2s.q.erase(it);
      if (!p.empty() && wire::is_data_op(wire::op_of(p[0]))) {
        if (sv.s) on_data(sv, p);
        continue;
      }
      if (!sv.s) {
        auto r = front.on_packet(p, client_addr, now);
        if (r.v == server_front::verdict::reply) {
          s2c.send(r.reply, now);
          continue;
        }
        if (r.v == server_front::verdict::drop) continue;
        sv.s = std::make_unique<session>(scfg, now);
        sv.dk = std::make_unique<data_keys>(true, data_key_params{});
        if (r.v == server_front::verdict::accept) sv.s->accept_cookie(r.ours, r.theirs, r.has_kc ? &r.kc : nullptr, now);
      }
      sv.s->on_packet(p, now);
      pump(sv, s2c);
    }
    while (s2c.next() <= now) {
      auto it = s2c.q.begin();
      std::vector<uint8_t> p = std::move(it->second);
      s2c.q.erase(it);
      if (!p.empty() && wire::is_data_op(wire::op_of(p[0]))) {
        on_data(cl, p);
        continue;
      }
      cl.s->on_packet(p, now);
      pump(cl, c2s);
    }
    if (cl.s->next_wakeup_ms() <= now) cl.s->tick(now);
    pump(cl, c2s);
    if (sv.s) {
      if (sv.s->next_wakeup_ms() <= now) sv.s->tick(now);
      pump(sv, s2c);
    }
    if (now >= next_data) {
      send_data(cl, c2s, ++seq);
      if (sv.s) send_data(sv, s2c, seq);
      next_data = now + 50;
    }
    // One client-initiated renegotiation in the middle.
    if (!client_reneg_done && now > t0 + 45'000 && cl.s->established()) {
      cl.s->renegotiate(now);
      pump(cl, c2s);
      client_reneg_done = true;
    }
    ASSERT_TRUE(cl.failure.empty()) << "client failed: " << cl.failure;
    ASSERT_TRUE(sv.failure.empty()) << "server failed: " << sv.failure;
    if (!exit_at && sv.s && sv.s->renegotiations() >= static_cast<uint32_t>(tc.min_renegs) &&
        sv.key_ids.size() >= std::min<size_t>(8, static_cast<size_t>(tc.min_renegs) + 1)) {
      cl.s->send_text("EXIT", now);
      pump(cl, c2s);
      exit_at = now;
    }
    if (exit_at && sv.exit_seen) break;
  }

  ASSERT_TRUE(sv.s) << "server session never created";
  EXPECT_TRUE(cl.established);
  EXPECT_TRUE(sv.established);
  EXPECT_TRUE(sv.exit_seen) << "EXIT did not arrive";
  EXPECT_GE(sv.s->renegotiations(), static_cast<uint32_t>(tc.min_renegs));
  // Both sides installed the same key_ids in the same order. The server derives a renegotiated key
  // when it sends its key-method-2, the client when it reads it: at EXIT the server may be one ahead.
  ASSERT_GE(sv.key_order.size(), cl.key_order.size());
  EXPECT_LE(sv.key_order.size(), cl.key_order.size() + 1);
  EXPECT_TRUE(std::equal(cl.key_order.begin(), cl.key_order.end(), sv.key_order.begin()))
      << "both sides installed the same key_ids in the same order";
  if (tc.min_renegs >= 8) {
    for (uint8_t k = 0; k < 8; ++k) EXPECT_TRUE(sv.key_ids.count(k)) << "key_id " << int(k) << " never used";
    // After 7 comes 1, never 0 (§1.2).
    auto it = std::find(sv.key_order.begin(), sv.key_order.end(), 7);
    ASSERT_NE(it, sv.key_order.end());
    ASSERT_NE(it + 1, sv.key_order.end());
    EXPECT_EQ(*(it + 1), 1);
  }
  EXPECT_EQ(cl.s->cipher(), tc.cipher);
  EXPECT_EQ(cl.s->ekm(), tc.ekm);
  // Data flowed both ways and never stalled for long, renegotiations included.
  EXPECT_GT(sv.data_rx, seq / 2);
  EXPECT_GT(cl.data_rx, seq / 2);
  EXPECT_LT(sv.max_gap_ms, 2000u) << "longest client->server data stall";
  EXPECT_LT(cl.max_gap_ms, 2000u) << "longest server->client data stall";
  if (tc.corrupt > 0) {
    EXPECT_GT(c2s.corrupted + s2c.corrupted, 0u);
  }
  std::printf("[%s] t=%.1fs renegs=%u+%u data c->s %llu s->c %llu bad %llu/%llu gaps %llu/%llu ms wire sent=%llu "
              "dropped=%llu dup=%llu corrupt=%llu\n",
              tc.name, (now - t0) / 1000.0, sv.s->renegotiations(), cl.s->renegotiations(),
              static_cast<unsigned long long>(sv.data_rx), static_cast<unsigned long long>(cl.data_rx),
              static_cast<unsigned long long>(sv.data_bad), static_cast<unsigned long long>(cl.data_bad),
              static_cast<unsigned long long>(sv.max_gap_ms), static_cast<unsigned long long>(cl.max_gap_ms),
              static_cast<unsigned long long>(c2s.sent + s2c.sent),
              static_cast<unsigned long long>(c2s.dropped + s2c.dropped),
              static_cast<unsigned long long>(c2s.duplicated + s2c.duplicated),
              static_cast<unsigned long long>(c2s.corrupted + s2c.corrupted));
}

INSTANTIATE_TEST_SUITE_P(
    wires, two_party,
    ::testing::Values(
        two_party_case{"tls_crypt_gcm_noisy", wrap_mode::tls_crypt, false, crypto::cipher_alg::aes_256_gcm, true, 0.10,
                       0.05, 0.03, 9},
        two_party_case{"tls_auth_chacha_prf", wrap_mode::tls_auth, false, crypto::cipher_alg::chacha20_poly1305, false,
                       0.05, 0.05, 0.02, 3},
        two_party_case{"tcv2_cbc", wrap_mode::none, true, crypto::cipher_alg::aes_256_cbc, true, 0.05, 0.02, 0.02, 3},
        two_party_case{"none_gcm128_clean", wrap_mode::none, false, crypto::cipher_alg::aes_128_gcm, true, 0.0, 0.0,
                       0.0, 2}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
