// SPDX-License-Identifier: MIT
// script_queue (control/script_queue.h): learn-address order (one call at a time, add / update /
// delete), a failed add leaves the address unrouted, a client gone before its add ran, the deletes
// at exit; an auth script's result comes back under its client. Real /bin/sh scripts in a temp
// directory; no session, no DPDK.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "script_queue.h"

using namespace dpvpn;
using namespace dpvpn::cp;

namespace {

uint64_t now_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

class ScriptQueue : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dpvpn-sq-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    log = dir + "/learn.log";
    // Appends its arguments to the log; refuses 10.8.0.66.
    const std::string script = dir + "/learn.sh";
    std::ofstream(script) << "#!/bin/sh\necho \"$*\" >> " << log << "\n[ \"$2\" != 10.8.0.66 ]\n";
    ::chmod(script.c_str(), 0755);
    cfg.learn_address = {script};
    cfg.tmp_dir = dir;
    cfg.hand_window = 5;
  }
  void TearDown() override { std::system(("rm -rf " + dir).c_str()); }

  std::unique_ptr<client> make(const char* cn, uint32_t v4, uint16_t port) {
    auto c = std::make_unique<client>();
    c->cn = cn;
    c->name = cn;
    c->vpn_ip = v4;
    c->addr = net::outer_v4(0xc0000201, port);
    return c;
  }
  std::vector<std::string> lines() {
    std::ifstream f(log);
    std::vector<std::string> out;
    for (std::string l; std::getline(f, l);) out.push_back(l);
    return out;
  }
  // Polls until cond() or 10 s.
  template <class F>
  bool run_until(script_queue& q, F cond) {
    for (uint64_t until = now_ms() + 10000; now_ms() < until;) {
      q.poll(now_ms(), [&](const net::outer_addr& a, const script_result& r) { results.emplace_back(a, r.ok); });
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  std::string dir, log;
  server_config cfg;
  std::vector<client*> learned;
  std::vector<std::pair<net::outer_addr, bool>> results;
};

TEST_F(ScriptQueue, LearnOrderUpdateFailureAndDelete) {
  script_queue q(cfg, control_log{0}, [&](client& c, uint64_t) { learned.push_back(&c); });
  auto a = make("alice", 0x0a080002, 1000);
  a->lease.v6 = *parse_ipv6("fd00:8::1000");
  a->opts.iroutes.push_back(iroute4{0xc0a80100, 24});
  EXPECT_EQ(q.start_learn(*a, {{"script_type", "learn-address"}}, now_ms()), 3u);
  ASSERT_TRUE(run_until(q, [&] { return learned.size() == 1; }));
  EXPECT_EQ(learned[0], a.get());
  EXPECT_EQ(lines(), (std::vector<std::string>{"add 10.8.0.2 alice", "add fd00:8::1000 alice",
                                                "add 192.168.1.0/24 alice"}));
  EXPECT_EQ(q.learned(), 3u);

  // bob: the iroute alice holds is an update; his IPv4 address is refused (not routed).
  auto b = make("bob", 0x0a080042, 1001);
  b->opts.iroutes.push_back(iroute4{0xc0a80100, 24});
  EXPECT_EQ(q.start_learn(*b, {}, now_ms()), 2u);
  ASSERT_TRUE(run_until(q, [&] { return learned.size() == 2; }));
  EXPECT_TRUE(b->learn.v4_unlearned);
  EXPECT_FALSE(b->learn.v6_unlearned);
  EXPECT_EQ(b->opts.iroutes.size(), 1u);
  EXPECT_EQ(lines().at(3), "add 10.8.0.66 bob");
  EXPECT_EQ(lines().at(4), "update 192.168.1.0/24 bob");

  // alice leaves: deletes for what she still holds (the iroute is bob's now), no common name.
  q.unlearn(*a, now_ms());
  ASSERT_TRUE(run_until(q, [&] { return q.queued() == 0; }));
  const auto l = lines();
  ASSERT_EQ(l.size(), 7u);
  EXPECT_EQ(l[5], "delete 10.8.0.2");
  EXPECT_EQ(l[6], "delete fd00:8::1000");

  // Exit: bob's iroute goes.
  client_table::map live;
  live[b->addr] = std::move(b);
  q.flush(live, now_ms());
  EXPECT_EQ(lines().back(), "delete 192.168.1.0/24");
  EXPECT_EQ(q.learned(), 0u);
}

TEST_F(ScriptQueue, ClientGoneBeforeItsAddRuns) {
  script_queue q(cfg, control_log{0}, [&](client& c, uint64_t) { learned.push_back(&c); });
  auto a = make("alice", 0x0a080002, 1000);
  auto b = make("bob", 0x0a080003, 1001);
  q.start_learn(*a, {}, now_ms());
  q.start_learn(*b, {}, now_ms());  // queued behind alice's running add
  q.unlearn(*b, now_ms());          // bob goes first: his add never runs
  ASSERT_TRUE(run_until(q, [&] { return q.queued() == 0; }));
  EXPECT_EQ(lines(), std::vector<std::string>{"add 10.8.0.2 alice"});
  EXPECT_EQ(learned, std::vector<client*>{a.get()});
  // A client gone while its add ran: what was learned is deleted again.
  auto c = make("carol", 0x0a080004, 1002);
  q.start_learn(*c, {}, now_ms());
  q.unlearn(*c, now_ms());
  ASSERT_TRUE(run_until(q, [&] { return q.queued() == 0; }));
  const auto l = lines();
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[1], "add 10.8.0.4 carol");
  EXPECT_EQ(l[2], "delete 10.8.0.4");
  EXPECT_EQ(learned.size(), 1u);
}

TEST_F(ScriptQueue, AuthScriptResultUnderItsClient) {
  script_queue q(cfg, control_log{0}, [&](client& c, uint64_t) { learned.push_back(&c); });
  auto a = make("alice", 0x0a080002, 1000);
  auto b = make("bob", 0x0a080003, 1001);
  ASSERT_TRUE(q.start(*a, {"/bin/sh", "-c", "exit 0"}, {}, now_ms()));
  ASSERT_TRUE(q.start(*b, {"/bin/sh", "-c", "exit 1"}, {}, now_ms()));
  EXPECT_NE(a->auth.script_id, 0u);
  ASSERT_TRUE(run_until(q, [&] { return results.size() == 2; }));
  for (const auto& [who, ok] : results) EXPECT_EQ(ok, who == a->addr);
  // A cancelled script reports nothing.
  ASSERT_TRUE(q.start(*a, {"/bin/sh", "-c", "sleep 5"}, {}, now_ms()));
  q.cancel(*a);
  EXPECT_EQ(a->auth.script_id, 0u);
  results.clear();
  ASSERT_TRUE(run_until(q, [&] { return q.running() == 0; }));
  EXPECT_TRUE(results.empty());
  // A script that cannot run fails (at start, or as its result).
  if (q.start(*a, {dir + "/missing"}, {}, now_ms())) {
    ASSERT_TRUE(run_until(q, [&] { return !results.empty(); }));
    EXPECT_FALSE(results[0].second);
  }
}

}  // namespace
