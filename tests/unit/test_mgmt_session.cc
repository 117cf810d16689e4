// SPDX-License-Identifier: MIT
// mgmt_session: openvpn's command parsing and reply wording, the password, client-auth's config
// lines, the limits (line length, output cap), against a recording target.
#include "mgmt_session.h"

#include <gtest/gtest.h>

namespace {

using namespace dpvpn::cp::mgmt;

struct fake_target : target {
  std::vector<std::string> calls;
  bool hold_on = false;
  unsigned verb_v = 3;
  std::vector<std::string> last_config;
  std::string status_text(unsigned v) override { return "TITLE,v" + std::to_string(v) + "\nEND\n"; }
  unsigned n_clients() override { return 2; }
  void load_bytes(uint64_t& in, uint64_t& out) override { in = 10, out = 20; }
  int kill_cn(const std::string& cn) override { calls.push_back("kill_cn " + cn); return cn == "alice" ? 1 : 0; }
  int kill_addr(const std::string& ip, uint16_t port) override {
    calls.push_back("kill_addr " + ip + " " + std::to_string(port));
    return ip == "10.0.0.1" ? 1 : ip == "bad" ? -1 : 0;
  }
  bool kill_cid(uint64_t cid, const std::string& msg) override {
    calls.push_back("kill_cid " + std::to_string(cid) + " " + msg);
    return cid == 7;
  }
  bool client_auth(uint64_t cid, unsigned kid, bool ok, const std::string& reason, const std::string& cr,
                   const std::vector<std::string>& config) override {
    calls.push_back("auth " + std::to_string(cid) + " " + std::to_string(kid) + " " + (ok ? "ok" : "deny") + " " +
                    reason + "|" + cr);
    last_config = config;
    return cid == 7;
  }
  bool client_pending_auth(uint64_t cid, unsigned kid, const std::string& extra, unsigned t) override {
    calls.push_back("pending " + std::to_string(cid) + " " + std::to_string(kid) + " " + extra + " " + std::to_string(t));
    return true;
  }
  bool signal(const std::string& s) override { calls.push_back("signal " + s); return true; }
  void hold_release() override { calls.push_back("release"); }
  bool hold() const override { return hold_on; }
  void set_hold(bool on) override { hold_on = on; }
  unsigned verb() const override { return verb_v; }
  bool set_verb(unsigned v) override { verb_v = v; return true; }
  std::string version_line() const override { return "OpenVPN Version: OpenVPN 2.6.0 test"; }
  long pid() const override { return 42; }
  bool server_mode() const override { return server; }
  bool server = true;
};

struct fixture {
  fake_target t;
  histories h;
  session s;
  explicit fixture(std::string pw = "") : s(t, h, std::move(pw)) { s.greet(); }
  std::string run(const std::string& in) {
    s.out().clear();
    s.feed(in);
    return s.out();
  }
};

TEST(MgmtParse, OpenvpnQuoting) {
  EXPECT_EQ(parse_command("client-kill 3 \"HALT,a b\"").words, (std::vector<std::string>{"client-kill", "3", "HALT,a b"}));
  EXPECT_EQ(parse_command("  signal   'SIGHUP'  ").words, (std::vector<std::string>{"signal", "SIGHUP"}));
  EXPECT_EQ(parse_command("echo a\\ b \"q\\\"q\"").words, (std::vector<std::string>{"echo", "a b", "q\"q"}));
  EXPECT_EQ(parse_command("# a comment").words.size(), 0u);
  EXPECT_EQ(parse_command("x \"open").error, "ERROR: Options error: No closing quotation (\") in TCP:0");
  EXPECT_NE(parse_command("x a\\qb").error.find("Bad backslash"), std::string::npos);
  const auto longp = parse_command(std::string(300, 'x'));
  EXPECT_EQ(longp.error.rfind("ERROR: Options error: Parameter at TCP:0 is too long (256 chars max): ", 0), 0u);
}

TEST(MgmtSession, GreetingAndSimpleCommands) {
  fixture f;
  EXPECT_EQ(f.s.out(), ">INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info\r\n");
  EXPECT_EQ(f.run("pid\n"), "SUCCESS: pid=42\r\n");
  EXPECT_EQ(f.run("version\n"), "OpenVPN Version: OpenVPN 2.6.0 test\r\nManagement Version: 5\r\nEND\r\n");
  EXPECT_EQ(f.run("load-stats\n"), "SUCCESS: nclients=2,bytesin=10,bytesout=20\r\n");
  EXPECT_EQ(f.run("status 3\n"), "TITLE,v3\r\nEND\r\n");
  EXPECT_EQ(f.run("status\n"), "TITLE,v0\r\nEND\r\n");
  EXPECT_EQ(f.run("bytecount 5\r\n"), "SUCCESS: bytecount interval changed\r\n");
  EXPECT_EQ(f.s.bytecount_s, 5u);
  EXPECT_EQ(f.run("verb\n"), "SUCCESS: verb=3\r\n");
  EXPECT_EQ(f.run("verb 5\n"), "SUCCESS: verb level changed\r\n");
  EXPECT_EQ(f.t.verb_v, 5u);
  EXPECT_EQ(f.run("hold\n"), "SUCCESS: hold=0\r\n");
  EXPECT_EQ(f.run("hold release\n"), "SUCCESS: hold release succeeded\r\n");
  EXPECT_EQ(f.run("signal SIGFOO\n"), "ERROR: signal 'SIGFOO' is not a known signal type\r\n");
  EXPECT_EQ(f.run("signal \"SIGHUP\"\n"), "SUCCESS: signal SIGHUP thrown\r\n");
  EXPECT_EQ(f.run("state on\n"), "SUCCESS: real-time state notification set to ON\r\n");
  EXPECT_EQ(f.run("state bogus\n"), "ERROR: state parameter must be 'on' or 'off' or some number n or 'all'\r\n");
  EXPECT_EQ(f.run("no-such\n"), "ERROR: unknown command, enter 'help' for more options\r\n");
  EXPECT_EQ(f.run("kill\n"), "ERROR: the 'kill' command requires 1 parameter\r\n");
  EXPECT_EQ(f.run("client-deny 1 2\n"), "ERROR: the 'client-deny' command requires at least 3 parameters\r\n");
  EXPECT_EQ(f.run("\n\n"), "");
}

TEST(MgmtSession, Kill) {
  fixture f;
  EXPECT_EQ(f.run("kill alice\n"), "SUCCESS: common name 'alice' found, 1 client(s) killed\r\n");
  EXPECT_EQ(f.run("kill bob\n"), "ERROR: common name 'bob' not found\r\n");
  EXPECT_EQ(f.run("kill 10.0.0.1:1194\n"), "SUCCESS: 1 client(s) at address 10.0.0.1:1194 killed\r\n");
  EXPECT_EQ(f.run("kill 10.0.0.2:1194\n"), "ERROR: client at address 10.0.0.2:1194 not found\r\n");
  EXPECT_EQ(f.run("kill bad:1\n"), "ERROR: error parsing IP address: bad\r\n");
  EXPECT_EQ(f.run("kill 10.0.0.1:70000\n"), "ERROR: port number is out of range: 70000\r\n");
  EXPECT_EQ(f.run("client-kill x\n"), "ERROR: cannot parse CID\r\n");
  EXPECT_EQ(f.run("client-kill 7 HALT,bye\n"), "SUCCESS: client-kill command succeeded\r\n");
  EXPECT_EQ(f.run("client-kill 8\n"), "ERROR: client-kill command failed\r\n");
  EXPECT_EQ(f.t.calls.back(), "kill_cid 8 ");
}

TEST(MgmtSession, ClientAuthCollectsLinesUntilEnd) {
  fixture f;
  EXPECT_EQ(f.run("client-auth 7 1\n"), "");
  EXPECT_EQ(f.run("push \"route 10.9.0.0 255.255.0.0\"\nifconfig-push 10.8.0.9 255.255.255.0\n"), "");
  EXPECT_EQ(f.run("END\n"), "SUCCESS: client-auth command succeeded\r\n");
  EXPECT_EQ(f.t.last_config,
            (std::vector<std::string>{"push \"route 10.9.0.0 255.255.0.0\"", "ifconfig-push 10.8.0.9 255.255.255.0"}));
  EXPECT_EQ(f.run("client-auth-nt 8 2\n"), "ERROR: client-auth command failed\r\n");
  EXPECT_EQ(f.run("client-deny 7 3 \"bad user\" \"go away\"\n"), "SUCCESS: client-deny command succeeded\r\n");
  EXPECT_EQ(f.t.calls.back(), "auth 7 3 deny bad user|go away");
  EXPECT_EQ(f.run("client-auth 7 x\n"), "ERROR: cannot parse KID\r\n");
  EXPECT_EQ(f.run("client-pending-auth 7 1 WEB_AUTH::https://x 60\n"), "SUCCESS: client-pending-auth command succeeded\r\n");
}

TEST(MgmtSession, Password) {
  fixture f("s3cret");
  EXPECT_EQ(f.s.out(), "ENTER PASSWORD:");
  f.s.notify(">CLIENT:ESTABLISHED,1");  // nothing reaches an unauthenticated connection
  EXPECT_EQ(f.run("pid\n"), "ERROR: bad password\r\nENTER PASSWORD:");
  EXPECT_FALSE(f.s.closing());
  EXPECT_EQ(f.run("s3cret\n"),
            "SUCCESS: password is correct\r\n>INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info\r\n");
  EXPECT_EQ(f.run("pid\n"), "SUCCESS: pid=42\r\n");
  fixture g("pw");
  g.run("a\nb\nc\npid\n");
  EXPECT_TRUE(g.s.closing());  // three wrong passwords
  EXPECT_TRUE(g.t.calls.empty());
}

TEST(MgmtSession, LimitsAndHistory) {
  fixture f;
  // A huge line: one error, and the next command works.
  std::string r = f.run(std::string(200000, 'x') + "\npid\n");
  EXPECT_EQ(r.rfind("ERROR: Options error: Parameter at TCP:0 is too long", 0), 0u);
  EXPECT_NE(r.find("SUCCESS: pid=42\r\n"), std::string::npos);
  // Binary garbage is parsed as words and refused as a command.
  EXPECT_EQ(f.run(std::string("\x01\x02\xff\n", 4)), "ERROR: unknown command, enter 'help' for more options\r\n");
  f.h.log.cap = 3;
  for (int i = 0; i < 5; ++i) f.h.log.add("1," + std::to_string(i));
  EXPECT_EQ(f.run("log 2\n"), "1,3\r\n1,4\r\nEND\r\n");
  EXPECT_EQ(f.run("log all\n"), "1,2\r\n1,3\r\n1,4\r\nEND\r\n");
  // A reader that sends commands and never reads: the commands wait once k_soft_output is queued
  // (the server stops reading its socket), and go on when the output drains.
  f.s.out().clear();
  std::string many;
  for (int i = 0; i < 8000; ++i) many += "pid\n";
  f.s.feed(many);
  EXPECT_LT(f.s.out().size(), k_soft_output + 100);
  EXPECT_FALSE(f.s.wants_input());
  size_t answered = 0;
  for (int round = 0; round < 10; ++round) {
    answered += f.s.out().size() / std::string("SUCCESS: pid=42\r\n").size();
    f.s.out().clear();
    f.s.pump();
  }
  EXPECT_EQ(answered, 8000u);
  // Notifications queue regardless: past k_max_output the server cuts the connection off.
  const std::string note(1024, 'n');
  for (size_t i = 0; i < k_max_output / 1024 + 2 && !f.s.overflowed(); ++i) f.s.notify(note);
  EXPECT_TRUE(f.s.overflowed());
  fixture q;
  q.run("quit\n");
  EXPECT_TRUE(q.s.closing());
}

// The client role: openvpn's answer for the server-only commands, after their parameters are
// checked; nothing reaches the target.
TEST(MgmtSession, ClientModeRefusesServerCommands) {
  fixture f;
  f.t.server = false;
  const std::string no = " command is not supported by the current daemon mode\r\n";
  EXPECT_EQ(f.run("kill alice\n"), "ERROR: The 'kill'" + no);
  EXPECT_EQ(f.run("client-kill 7\n"), "ERROR: The 'client-kill'" + no);
  EXPECT_EQ(f.run("client-deny 7 1 why\n"), "ERROR: The 'client-deny'" + no);
  EXPECT_EQ(f.run("client-auth-nt 7 1\n"), "ERROR: The 'client-auth-nt'" + no);
  EXPECT_EQ(f.run("client-pending-auth 7 1 x 30\n"), "ERROR: The 'client-pending-auth'" + no);
  EXPECT_EQ(f.run("kill\n"), "ERROR: the 'kill' command requires 1 parameter\r\n");
  EXPECT_TRUE(f.t.calls.empty());
  EXPECT_EQ(f.run("signal SIGUSR1\n"), "SUCCESS: signal SIGUSR1 thrown\r\n");
}

}  // namespace
