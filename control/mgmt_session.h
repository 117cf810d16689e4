// SPDX-License-Identifier: MIT
// mgmt_session: one management-interface connection without its socket (docs/operations.md, "The
// management interface"): bytes in, openvpn's replies out. It checks the password, splits lines,
// parses them as openvpn does (blanks, "quotes", backslash escapes), collects client-auth's config
// lines up to END, and runs each command against a mgmt_target. What it writes goes to an output
// buffer with a cap: a reader that stops reading is cut off (overflowed()), never waited for.
// State: this connection's settings (realtime log/state/echo, bytecount interval, env-filter).
// Control thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace dpvpn::cp::mgmt {

constexpr unsigned k_version = 5;             // openvpn 2.6's management interface version
constexpr size_t k_max_param = 256;           // openvpn's limit for one parameter
constexpr size_t k_max_line = 64 * 1024;      // a longer line is answered with an error and skipped
constexpr size_t k_max_extra_lines = 1000;    // client-auth's config lines
// Output: commands run only while less than k_soft_output waits to be sent (the rest of the input
// waits, and the socket is not read); notifications always queue, and past k_max_output (a status
// of 100k clients fits) the connection is cut off, as it is when it takes nothing for
// k_stall_ms while output waits (mgmt_server).
constexpr size_t k_soft_output = 64 * 1024;
constexpr size_t k_max_output = 32 * 1024 * 1024;
constexpr size_t k_max_input = 64 * 1024;     // unprocessed input held at most
constexpr uint64_t k_stall_ms = 5000;
constexpr unsigned k_password_tries = 3;

// openvpn's parse_line on one command: the words, or the error openvpn's option parser prints.
struct parsed_line {
  std::vector<std::string> words;
  std::string error;  // "" when parsed
};
parsed_line parse_command(std::string_view line);

// The daemon the commands act on (gateway_control implements it). Control thread only.
struct target {
  virtual ~target() = default;
  virtual std::string status_text(unsigned version) = 0;  // 0: status-version's; lines, last "END"
  virtual unsigned n_clients() = 0;
  virtual void load_bytes(uint64_t& in, uint64_t& out) = 0;  // all clients' bytes (load-stats)
  virtual int kill_cn(const std::string& cn) = 0;              // how many went
  virtual int kill_addr(const std::string& ip, uint16_t port) = 0;  // -1: not an address
  virtual bool kill_cid(uint64_t cid, const std::string& msg) = 0;  // msg "" = RESTART
  // client-auth (ok, with config lines) / client-deny (reason, client_reason).
  virtual bool client_auth(uint64_t cid, unsigned kid, bool ok, const std::string& reason,
                           const std::string& client_reason, const std::vector<std::string>& config) = 0;
  virtual bool client_pending_auth(uint64_t cid, unsigned kid, const std::string& extra, unsigned timeout_s) = 0;
  virtual bool signal(const std::string& name) = 0;  // SIGHUP, SIGTERM, SIGUSR1, SIGUSR2
  virtual void hold_release() = 0;
  virtual bool hold() const = 0;
  virtual void set_hold(bool on) = 0;
  virtual unsigned verb() const = 0;
  virtual bool set_verb(unsigned v) = 0;
  virtual std::string version_line() const = 0;  // "OpenVPN Version: ..."
  virtual long pid() const = 0;
  // False in the client role: kill and the client-* commands are answered as unsupported in this
  // mode, as openvpn answers them.
  virtual bool server_mode() const { return true; }
};

// A log or state history the server keeps (management-log-cache): oldest first.
struct history {
  std::deque<std::string> lines;  // "TIME,FLAGS,MESSAGE" / "TIME,STATE,..."
  size_t cap = 1000;
  void add(std::string l) {
    lines.push_back(std::move(l));
    while (lines.size() > cap) lines.pop_front();
  }
};
struct histories {
  history log, state, echo;
};

class session {
 public:
  // password: "" = none asked.
  session(target& t, const histories& h, std::string password);
  void greet();                          // the first lines (password prompt or >INFO)
  void feed(std::string_view bytes);     // queues input and runs what it can (pump)
  void pump();                           // runs complete lines while the output is below k_soft_output
  bool wants_input() const { return raw_in_.size() < k_max_input && out_.size() < k_soft_output && !closing_; }
  std::string& out() { return out_; }    // what to send; the server erases what it sent
  void notify(const std::string& line);  // a >... line (dropped before the password is given)
  bool closing() const { return closing_; }      // exit/quit, or too many bad passwords
  bool overflowed() const { return out_.size() > k_max_output; }
  bool authed() const { return password_.empty() || password_ok_; }
  // Realtime subscriptions (log on, state on, echo on) and the bytecount interval (0 = off).
  bool log_on = false, state_on = false, echo_on = false;
  unsigned bytecount_s = 0;
  uint64_t next_bytecount_ms = 0;
  int env_filter = 0;
  std::string special;  // a line every new connection gets after >INFO (>HOLD:... while holding)

 private:
  void line(std::string_view l);
  void command(const std::vector<std::string>& p);
  void reply(const std::string& l) { out_ += l + "\r\n"; }
  bool need(const std::vector<std::string>& p, size_t n, bool at_least);
  void history_cmd(const std::string& parm, const char* type, const history& h, bool& realtime);
  void kill(const std::string& who);
  void client_auth(const std::vector<std::string>& p, bool with_config);
  void finish_extra();  // END of client-auth's lines

  target& t_;
  const histories& h_;
  std::string password_;
  bool password_ok_ = false;
  unsigned password_tries_ = 0;
  bool closing_ = false;
  std::string raw_in_;  // input not yet split into lines
  bool skipping_ = false;  // inside a line longer than k_max_line
  std::string out_;
  // client-auth CID KID: the config lines until END.
  bool in_extra_ = false;
  uint64_t extra_cid_ = 0;
  unsigned extra_kid_ = 0;
  std::vector<std::string> extra_;
};

}  // namespace dpvpn::cp::mgmt
