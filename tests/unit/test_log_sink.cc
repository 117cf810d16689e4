// SPDX-License-Identifier: MIT
// The process's log (control/log_sink.cc): stdout lines with and without timestamps, syslog
// records on a unix datagram socket of the test's own (as /dev/log would get them), one record
// per line, a logger that goes away and comes back.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "dpvpn/log_sink.h"

using namespace dpvpn::cp;

namespace {

// A datagram socket bound at path, with a 2 s receive timeout.
struct listener {
  int fd = -1;
  explicit listener(const std::string& path) {
    ::unlink(path.c_str());
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path.copy(a.sun_path, sizeof a.sun_path - 1);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << path;
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~listener() { ::close(fd); }
  std::string next() {
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n < 0 ? std::string("(nothing)") : std::string(buf, static_cast<size_t>(n));
  }
};

std::string temp_dir() {
  char t[] = "/tmp/dpvpn-log-test.XXXXXX";
  const char* d = ::mkdtemp(t);
  EXPECT_NE(d, nullptr);
  return d ? d : "/tmp";
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// stdout and stderr into files while it lives.
struct capture {
  std::string out_path, err_path;
  int saved_out, saved_err;
  explicit capture(const std::string& dir) : out_path(dir + "/out"), err_path(dir + "/err") {
    std::fflush(stdout);
    std::fflush(stderr);
    saved_out = ::dup(1);
    saved_err = ::dup(2);
    EXPECT_TRUE(std::freopen(out_path.c_str(), "w", stdout));
    EXPECT_TRUE(std::freopen(err_path.c_str(), "w", stderr));
  }
  void restore() {
    if (saved_out < 0) return;
    std::fflush(stdout);
    std::fflush(stderr);
    ::dup2(saved_out, 1);
    ::dup2(saved_err, 2);
    ::close(saved_out);
    ::close(saved_err);
    saved_out = saved_err = -1;
  }
  ~capture() { restore(); }
};

}  // namespace

TEST(log_sink, record_format) {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  // 2024-03-05 07:08:09 UTC: a one-digit day is padded with a space, as syslog(3) writes it.
  EXPECT_EQ(syslog_record(log_prio::notice, "dpvpn", 42, 1709622489, "control thread up"),
            "<29>Mar  5 07:08:09 dpvpn[42]: control thread up");
  EXPECT_EQ(syslog_record(log_prio::err, "vpn1", 7, 1702000000, "x"), "<27>Dec  8 01:46:40 vpn1[7]: x");
  EXPECT_EQ(syslog_record(log_prio::warning, "a", 1, 0, "w").substr(0, 4), "<28>");
  EXPECT_EQ(syslog_record(log_prio::debug, "a", 1, 0, "d").substr(0, 4), "<31>");
}

TEST(log_sink, syslog_records) {
  const std::string dir = temp_dir(), path = dir + "/log";
  const std::string tag = "tag[" + std::to_string(::getpid()) + "]: ";
  const std::regex head(R"(<\d+>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d )");
  {
    listener l(path);
    log_settings s;
    s.syslog = true;
    s.ident = "tag";
    s.socket_path = path;
    log_configure(s);
    log_event("control thread up");
    const std::string r = l.next();
    EXPECT_TRUE(std::regex_search(r, head)) << r;
    EXPECT_EQ(r.substr(0, 4), "<29>");
    EXPECT_EQ(r.substr(r.find(' ', r.find(':')) + 1), tag + "control thread up") << r;
    log_program(log_prio::err, "cannot open x");
    const std::string e = l.next();
    EXPECT_EQ(e.substr(0, 4), "<27>") << e;
    EXPECT_TRUE(e.ends_with(" " + tag + "cannot open x")) << e;
    // A block: one record per line, empty lines dropped.
    log_text(log_prio::notice, "counters (exit):\n  lcore 0: wan rx 1\n\n  drops: none");
    EXPECT_NE(l.next().find(tag + "counters (exit):"), std::string::npos);
    EXPECT_NE(l.next().find(tag + "  lcore 0: wan rx 1"), std::string::npos);
    EXPECT_NE(l.next().find(tag + "  drops: none"), std::string::npos);
  }
  // The logger is gone: lines are dropped, nothing blocks or fails.
  ::unlink(path.c_str());
  log_event("nobody listens");
  {
    // It comes back (journald restarted): the next line reconnects.
    listener l(path);
    log_event("back");
    EXPECT_NE(l.next().find(tag + "back"), std::string::npos);
  }
  log_configure(log_settings{});
  std::filesystem::remove_all(dir);
}

TEST(log_sink, stdout_lines) {
  const std::string dir = temp_dir();
  {
    capture c(dir);
    log_configure(log_settings{});
    log_event("with time");
    log_program(log_prio::notice, "WAN port 0");
    log_program(log_prio::warning, "warning: w");
    log_program(log_prio::err, "fatal");
    log_text(log_prio::notice, "counters (SIGUSR):\n  lcore 0");
    log_settings s;
    s.timestamps = false;
    log_configure(s);
    log_event("no time");
    c.restore();
  }
  log_configure(log_settings{});
  const std::string out = read_all(dir + "/out"), err = read_all(dir + "/err");
  EXPECT_TRUE(std::regex_match(out, std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d with time
dpvpn: WAN port 0
counters \(SIGUSR\):
  lcore 0
no time
)"))) << out;
  EXPECT_EQ(err, "dpvpn: warning: w\ndpvpn: fatal\n");
  std::filesystem::remove_all(dir);
}
