// SPDX-License-Identifier: MIT
// auth_pipeline (control/auth_pipeline.h) with a real client_table, addressing, script_queue and
// real proto::sessions: no scripts (address from the pool, PUSH_REPLY with ifconfig),
// management-client-auth (client-auth with config lines, client-deny with a client reason, a
// renegotiation's REAUTH), auth-user-pass-verify scripts (accept, reject), client-disconnect only
// for accepted clients. client_ops is a recording fake; no DPDK.
//
// Each client is a server session (the gateway's side, owned by its `client`) and a client
// session (the peer) handshaking over session_fixture.h's perfect wire until the server session
// asks for authorization (auth_request, key-method 2 with username and password, §6).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "addressing.h"
#include "auth_pipeline.h"
#include "client_table.h"
#include "script_queue.h"
#include "session_fixture.h"
#include "setup.h"

using namespace dpvpn;
using namespace dpvpn::cp;
using proto::session;
using proto::session_event;
using proto::session_event_type;
using proto::test::has;
using proto::test::pki;
using proto::test::pump;

namespace {

struct no_routes : route_writer {
  int route_add_v4(uint32_t, uint8_t, uint32_t) override { return 0; }
  int route_del_v4(uint32_t, uint8_t) override { return 0; }
  int route_add_v6(const uint8_t*, uint8_t, uint32_t) override { return 0; }
  int route_del_v6(const uint8_t*, uint8_t) override { return 0; }
};

// What gateway_control does for the parts, recorded. The test moves the packets itself (pump).
struct fake_ops : client_ops {
  std::vector<client*> drained;
  std::vector<std::pair<client*, std::string>> torn_down;
  std::vector<std::pair<client*, bool>> mgmt_asked;  // (client, reauth)
  void drain(client& c, uint64_t) override { drained.push_back(&c); }
  void teardown(client& c, const std::string& why) override {
    c.dead = true;
    torn_down.emplace_back(&c, why);
  }
  void mgmt_auth_request(client& c, bool reauth, uint64_t) override {
    c.mgmt.waiting = true;  // as gateway_mgmt.cc marks it
    mgmt_asked.emplace_back(&c, reauth);
  }
};

// The parts as gateway_control wires them (control/gateway.cc's constructor).
struct rig {
  server_config cfg;
  control_setup setup;
  no_routes routes;
  client_table table;
  addressing addr;
  script_queue scripts;
  fake_ops ops;
  auth_pipeline auth;
  explicit rig(server_config c)
      : cfg(std::move(c)),
        setup(make_control_setup(cfg, nullptr)),
        table(cfg.max_clients, cfg.max_clients + 8,
              [](const client& cl) { return cl.s ? cl.s->next_wakeup_ms() : ~uint64_t{0}; }, control_log{0}),
        addr(cfg, setup.server_vpn_ip, setup.netmask, setup.push, routes, control_log{0}),
        scripts(cfg, control_log{0}, [this](client& cl, uint64_t now) { auth.on_learned(cl, now); }),
        auth(cfg, setup, table, addr, scripts, ops, control_log{0}) {}
};

// One client: its gateway-side record (in the table, owning the server session) and its peer.
struct party {
  client* c = nullptr;
  std::unique_ptr<session> peer;
  std::vector<session_event> sev, cev;  // server and peer events seen so far
  void exchange(uint64_t now) { pump(*peer, *c->s, now, &cev, &sev, false); }
  bool peer_saw(session_event_type t) const { return has(cev, t); }
  std::string auth_failed_text() const {
    for (const session_event& e : cev)
      if (e.type == session_event_type::auth_failed) return e.text;
    return "";
  }
};

class AuthPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    if (pki().empty()) GTEST_SKIP() << "no PKI";
    std::string tmpl = (std::filesystem::temp_directory_path() / "dpvpn-auth-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir = tmpl;
  }
  void TearDown() override {
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }

  std::unique_ptr<rig> make_rig(const std::string& extra, bool mgmt_client_auth = false) {
    server_config cfg = parse_server_config_text(
        "dev tun\nserver 10.8.0.0 255.255.255.0\nca ca.crt\ncert server.crt\nkey server.key\ntopology subnet\n"
        "tmp-dir " + dir + "\n" + extra, "server.conf");
    cfg.management_client_auth = mgmt_client_auth;  // its management socket is gateway_mgmt.cc's
    return std::make_unique<rig>(std::move(cfg));
  }
  std::string script(const std::string& name, const std::string& body) {
    const std::string p = dir + "/" + name;
    std::ofstream(p) << "#!/bin/sh\n" << body;
    ::chmod(p.c_str(), 0755);
    return p;
  }
  std::string slurp_or_empty(const std::string& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

  // A client from 192.0.2.1:port with `user`/`pass`, handshaken until its server session asks
  // for authorization.
  void connect(rig& r, party& p, uint16_t port, const std::string& user, const std::string& pass) {
    p.c = r.table.create(net::outer_v4(0xc0000201, port), {}, 0, f.now);
    ASSERT_NE(p.c, nullptr);
    proto::session_config scfg = f.scfg;
    scfg.peer_id = p.c->peer_id;
    p.c->s = std::make_unique<session>(scfg, f.now);
    proto::session_config ccfg = f.ccfg;
    ccfg.username = user;
    ccfg.password = pass;
    p.peer = std::make_unique<session>(ccfg, f.now);
    p.peer->start(f.now);
    p.exchange(f.now);
    ASSERT_TRUE(has(p.sev, session_event_type::auth_request));
    EXPECT_EQ(p.c->s->username(), user);
  }

  // Polls the script queue as the loop does (results to on_script_result) until done(), at most 10 s.
  template <class F>
  bool run_scripts_until(rig& r, F done) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until) {
      r.scripts.poll(f.now, [&](const net::outer_addr& who, const script_result& res) {
        r.auth.on_script_result(who, res, f.now);
      });
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  proto::test::fixture f;
  std::string dir;
};

TEST_F(AuthPipeline, NoScriptsAddressFromThePoolThenPushReply) {
  auto r = make_rig("push \"route 10.9.0.0 255.255.0.0\"\n");
  party p;
  ASSERT_NO_FATAL_FAILURE(connect(*r, p, 1000, "alice", "pw"));
  r->auth.start_auth(*p.c, f.now);
  EXPECT_EQ(p.c->auth.stage, client::auth_stage::accepted);
  EXPECT_EQ(p.c->vpn_ip, 0x0a080002u);  // the pool's first (10.8.0.1 is the server's)
  EXPECT_EQ(p.c->auth.accepted_ms, f.now);
  EXPECT_FALSE(p.c->cn.empty());        // the certificate's CN
  EXPECT_TRUE(r->ops.mgmt_asked.empty());
  p.exchange(f.now);
  EXPECT_TRUE(has(p.sev, session_event_type::key_ready));
  EXPECT_TRUE(p.c->s->established());
  ASSERT_TRUE(p.peer->established());
  const proto::pushed_options& po = p.peer->pushed();
  EXPECT_EQ(po.ifconfig_local, "10.8.0.2");
  EXPECT_EQ(po.ifconfig_remote_or_mask, "255.255.255.0");
  EXPECT_EQ(po.topology, "subnet");
  EXPECT_TRUE(r->ops.torn_down.empty());
  // A second client with the same certificate (same common name, no duplicate-cn): the first
  // gets HALT and is torn down; the new one gets the next address (the fake teardown keeps the
  // old lease).
  party q;
  ASSERT_NO_FATAL_FAILURE(connect(*r, q, 1001, "bob", "pw"));
  r->auth.start_auth(*q.c, f.now);
  EXPECT_EQ(q.c->auth.stage, client::auth_stage::accepted);
  EXPECT_EQ(q.c->vpn_ip, 0x0a080003u);
  ASSERT_EQ(r->ops.torn_down.size(), 1u);
  EXPECT_EQ(r->ops.torn_down[0].first, p.c);
  p.exchange(f.now);
  EXPECT_TRUE(p.peer_saw(session_event_type::restart_received));  // HALT
}

TEST_F(AuthPipeline, ManagementClientAuthGrantsWithConfigLines) {
  auto r = make_rig("", true);
  party p;
  ASSERT_NO_FATAL_FAILURE(connect(*r, p, 1000, "alice", "pw"));
  r->auth.start_auth(*p.c, f.now);
  ASSERT_EQ(r->ops.mgmt_asked.size(), 1u);
  EXPECT_EQ(r->ops.mgmt_asked[0], std::make_pair(p.c, false));
  EXPECT_EQ(p.c->auth.stage, client::auth_stage::mgmt);
  EXPECT_EQ(p.c->vpn_ip, 0u);  // no address before management decides
  p.exchange(f.now);
  EXPECT_FALSE(p.peer->established());  // the client waits

  r->auth.mgmt_decision(*p.c, true, "", "", {"push \"setenv-safe X 1\""}, f.now);
  EXPECT_EQ(p.c->auth.stage, client::auth_stage::accepted);
  EXPECT_FALSE(p.c->mgmt.waiting);
  EXPECT_TRUE(p.c->mgmt.granted);
  EXPECT_TRUE(p.c->mgmt.config.empty());  // applied
  ASSERT_FALSE(r->ops.drained.empty());
  EXPECT_EQ(r->ops.drained.back(), p.c);
  p.exchange(f.now);
  ASSERT_TRUE(p.peer->established());
  EXPECT_EQ(p.peer->pushed().ifconfig_local, "10.8.0.2");
  const auto& unknown = p.peer->pushed().unknown;
  EXPECT_NE(std::find(unknown.begin(), unknown.end(), "setenv-safe X 1"), unknown.end());
  EXPECT_EQ(r->ops.mgmt_asked.size(), 1u);  // asked once
}

TEST_F(AuthPipeline, ManagementClientDenySendsTheClientReason) {
  auto r = make_rig("", true);
  party p;
  ASSERT_NO_FATAL_FAILURE(connect(*r, p, 1000, "alice", "pw"));
  r->auth.start_auth(*p.c, f.now);
  ASSERT_EQ(p.c->auth.stage, client::auth_stage::mgmt);
  r->auth.mgmt_decision(*p.c, false, "not today", "go away", {}, f.now);
  EXPECT_EQ(p.c->auth.stage, client::auth_stage::rejected);
  EXPECT_EQ(p.c->vpn_ip, 0u);
  ASSERT_FALSE(r->ops.drained.empty());
  EXPECT_EQ(r->ops.drained.back(), p.c);
  p.exchange(f.now);
  EXPECT_EQ(p.auth_failed_text(), "AUTH_FAILED,go away");
  EXPECT_FALSE(p.peer->established());
  EXPECT_FALSE(has(p.sev, session_event_type::key_ready));  // no data keys for it
  // A late second answer changes nothing.
  r->auth.mgmt_decision(*p.c, true, "", "", {}, f.now);
  EXPECT_EQ(p.c->auth.stage, client::auth_stage::rejected);
}

TEST_F(AuthPipeline, RenegotiationAsksManagementAgain) {
  auto r = make_rig("", true);
  party p;
  ASSERT_NO_FATAL_FAILURE(connect(*r, p, 1000, "alice", "pw"));
  r->auth.start_auth(*p.c, f.now);
  r->auth.mgmt_decision(*p.c, true, "", "", {}, f.now);
  p.exchange(f.now);
  ASSERT_TRUE(p.peer->established());
  ASSERT_EQ(p.c->s->primary_key_id(), 0);

  // The client renegotiates: key_id 1's key-method 2 asks for authorization again.
  p.sev.clear();
  p.peer->renegotiate(f.now);
  p.exchange(f.now);
  ASSERT_TRUE(has(p.sev, session_event_type::auth_request));
  ASSERT_TRUE(p.c->s->reauth_pending());
  EXPECT_EQ(p.c->s->reauth_key_id(), 1);
  r->auth.start_auth(*p.c, f.now);
  ASSERT_EQ(r->ops.mgmt_asked.size(), 2u);
  EXPECT_EQ(r->ops.mgmt_asked[1], std::make_pair(p.c, true));
  EXPECT_TRUE(p.c->mgmt.reauth);
  p.exchange(f.now);
  EXPECT_FALSE(has(p.sev, session_event_type::key_ready));  // key_id 1 waits for the answer
  EXPECT_TRUE(p.c->s->reauth_pending());

  r->auth.mgmt_decision(*p.c, true, "", "", {}, f.now);
  EXPECT_FALSE(p.c->mgmt.reauth);
  EXPECT_FALSE(p.c->s->reauth_pending());
  EXPECT_EQ(p.c->auth.stage, client::auth_stage::accepted);
  p.exchange(f.now);
  bool key1 = false;
  for (const session_event& e : p.sev) key1 |= e.type == session_event_type::key_ready && e.key_id == 1;
  EXPECT_TRUE(key1);
  EXPECT_EQ(p.peer->primary_key_id(), 1);
  EXPECT_FALSE(p.c->s->failed());

  // The next renegotiation is refused by client-deny: AUTH_FAILED with the client reason (as
  // openvpn's TLSMP_KILL sends tls_multi's client_reason), and the session ends.
  p.sev.clear();
  p.peer->renegotiate(f.now);
  p.exchange(f.now);
  ASSERT_TRUE(p.c->s->reauth_pending());
  r->auth.start_auth(*p.c, f.now);
  ASSERT_EQ(r->ops.mgmt_asked.size(), 3u);
  r->auth.mgmt_decision(*p.c, false, "revoked", "go away", {}, f.now);
  EXPECT_FALSE(p.c->s->reauth_pending());
  p.exchange(f.now);
  EXPECT_EQ(p.auth_failed_text(), "AUTH_FAILED,go away");
  for (const session_event& e : p.sev) EXPECT_FALSE(e.type == session_event_type::key_ready && e.key_id == 2);
  p.c->s->tick(f.now + 6000);
  EXPECT_TRUE(p.c->s->failed());
}

TEST_F(AuthPipeline, AuthUserPassVerifyScriptAcceptsAndRejects) {
  // via-file: the script's last argument is a file "username\npassword\n".
  const std::string verify = script("verify.sh", "[ \"$(sed -n 2p \"$1\")\" = secret ]\n");
  auto r = make_rig("script-security 2\nauth-user-pass-verify " + verify + " via-file\n");
  party good, bad;
  ASSERT_NO_FATAL_FAILURE(connect(*r, good, 1000, "alice", "secret"));
  ASSERT_NO_FATAL_FAILURE(connect(*r, bad, 1001, "bob", "wrong"));
  r->auth.start_auth(*good.c, f.now);
  r->auth.start_auth(*bad.c, f.now);
  EXPECT_EQ(good.c->auth.stage, client::auth_stage::verify);
  EXPECT_EQ(bad.c->auth.stage, client::auth_stage::verify);
  EXPECT_NE(good.c->auth.script_id, 0u);
  EXPECT_EQ(good.c->vpn_ip, 0u);  // addresses come after the script
  ASSERT_TRUE(run_scripts_until(*r, [&] {
    return good.c->auth.stage != client::auth_stage::verify && bad.c->auth.stage != client::auth_stage::verify;
  }));
  EXPECT_EQ(good.c->auth.stage, client::auth_stage::accepted);
  EXPECT_EQ(good.c->auth.script_id, 0u);
  EXPECT_EQ(bad.c->auth.stage, client::auth_stage::rejected);
  EXPECT_EQ(bad.c->vpn_ip, 0u);
  good.exchange(f.now);
  bad.exchange(f.now);
  ASSERT_TRUE(good.peer->established());
  EXPECT_EQ(good.peer->pushed().ifconfig_local, "10.8.0.2");
  EXPECT_EQ(bad.auth_failed_text(), "AUTH_FAILED");  // the reason stays in the server's log
  EXPECT_FALSE(bad.peer->established());
  // A result for a client that no longer waits for it is ignored.
  script_result stale;
  stale.id = 12345;
  stale.ok = true;
  r->auth.on_script_result(bad.c->addr, stale, f.now);
  EXPECT_EQ(bad.c->auth.stage, client::auth_stage::rejected);
}

TEST_F(AuthPipeline, ClientDisconnectOnlyForAcceptedClients) {
  const std::string log = dir + "/disconnect.log";
  const std::string verify = script("verify.sh", "[ \"$(sed -n 2p \"$1\")\" = secret ]\n");
  const std::string disc = script("disc.sh", "echo \"$script_type $common_name\" >> " + log + "\n");
  auto r = make_rig("script-security 2\nauth-user-pass-verify " + verify + " via-file\nclient-disconnect " + disc + "\n");
  party good, bad, waiting;
  ASSERT_NO_FATAL_FAILURE(connect(*r, good, 1000, "alice", "secret"));
  ASSERT_NO_FATAL_FAILURE(connect(*r, bad, 1001, "bob", "wrong"));
  ASSERT_NO_FATAL_FAILURE(connect(*r, waiting, 1002, "carol", "secret"));
  r->auth.start_auth(*good.c, f.now);
  r->auth.start_auth(*bad.c, f.now);
  ASSERT_TRUE(run_scripts_until(*r, [&] {
    return good.c->auth.stage == client::auth_stage::accepted && bad.c->auth.stage == client::auth_stage::rejected;
  }));
  ASSERT_EQ(r->scripts.running(), 0u);

  // Rejected, and still in auth-user-pass-verify: no client-disconnect; the running script goes.
  r->auth.end_auth(*bad.c, f.now);
  EXPECT_EQ(r->scripts.running(), 0u);
  r->auth.start_auth(*waiting.c, f.now);
  ASSERT_EQ(r->scripts.running(), 1u);
  r->auth.end_auth(*waiting.c, f.now);
  EXPECT_EQ(waiting.c->auth.script_id, 0u);
  ASSERT_TRUE(run_scripts_until(*r, [&] { return r->scripts.running() == 0; }));
  EXPECT_EQ(waiting.c->auth.stage, client::auth_stage::verify);  // its result never came back

  // Accepted: client-disconnect runs once, detached.
  r->auth.end_auth(*good.c, f.now);
  EXPECT_EQ(r->scripts.running(), 1u);
  ASSERT_TRUE(run_scripts_until(*r, [&] { return r->scripts.running() == 0; }));
  EXPECT_EQ(slurp_or_empty(log), "client-disconnect " + good.c->cn + "\n");
}

}  // namespace
