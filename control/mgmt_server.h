// SPDX-License-Identifier: MIT
// mgmt_server: the management interface's sockets (docs/operations.md, "The management
// interface"). It listens on a TCP address or a unix socket (`management`), accepts several
// clients at once (openvpn takes one), and moves bytes between the non-blocking sockets and each
// connection's mgmt_session. It keeps the log and state histories (management-log-cache) and
// hands notifications to every connection that wants them. A client that stops reading is cut
// off when its output passes mgmt::k_max_output; past k_max_conns connections a new one is
// refused. Everything is counted. poll() never blocks: it runs in the control thread's loop.
// Control thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dpvpn/config.h"
#include "mgmt_session.h"

namespace dpvpn::cp::mgmt {

constexpr size_t k_max_conns = 16;

struct server_counters {
  uint64_t accepted = 0, refused = 0, overflowed = 0, bad_password = 0, commands = 0;
};

class server {
 public:
  server(const server_config& cfg, target& t);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  // Opens the listening socket; false with err (the gateway does not start without it).
  bool open(std::string& err);
  // Accepts, reads, runs commands, writes; the bytecount timers. True when it did something.
  bool poll(uint64_t now_ms);
  // A >... notification to every connection. With `client`, the >CLIENT:...,ENV block form.
  void notify(const std::string& line);
  void notify_env(const std::string& head, const std::vector<std::pair<std::string, std::string>>& env);
  // Log lines and state changes: kept in the histories, sent to those who turned them on.
  void log_line(uint64_t now_s, char flag, const std::string& msg);
  void state_change(uint64_t now_s, const std::string& state_fields);
  // Connections with a bytecount interval that is due now: fn(session) writes their lines.
  template <typename Fn>
  void each_bytecount_due(uint64_t now_ms, Fn fn) {
    for (auto& c : conns_) {
      if (!c->s.bytecount_s || !c->s.authed()) continue;
      if (c->s.next_bytecount_ms == 0) c->s.next_bytecount_ms = now_ms + uint64_t{c->s.bytecount_s} * 1000;
      if (now_ms < c->s.next_bytecount_ms) continue;
      c->s.next_bytecount_ms = now_ms + uint64_t{c->s.bytecount_s} * 1000;
      fn(c->s);
    }
  }
  void set_special(std::string line) { special_ = std::move(line); }  // "" = none
  size_t connections() const { return conns_.size(); }
  const server_counters& counters() const { return ctr_; }
  std::string counters_line() const;

 private:
  struct conn {
    int fd;
    session s;
    std::string peer;  // for the log
    uint64_t progress_ms = 0;  // the last time its output moved (or was empty)
    conn(int f, target& t, const histories& h, std::string pw, std::string p)
        : fd(f), s(t, h, std::move(pw)), peer(std::move(p)) {}
  };
  bool accept_one(uint64_t now_ms);
  bool service(conn& c, uint64_t now_ms);  // read and write; false when it is to be closed
  bool peer_allowed(int fd) const;  // management-client-user / -group
  void close_conn(size_t i, const char* why);

  const server_config& cfg_;
  target& t_;
  std::string password_;
  int listen_fd_ = -1;
  std::vector<std::unique_ptr<conn>> conns_;
  histories hist_;
  server_counters ctr_;
  std::string special_;
};

}  // namespace dpvpn::cp::mgmt
