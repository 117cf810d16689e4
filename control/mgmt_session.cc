// SPDX-License-Identifier: MIT
// mgmt_session: a management connection's commands and replies, worded as openvpn 2.6's
// manage.c words them (tools match on them: "SUCCESS: ", "ERROR: ", "END").
#include "mgmt_session.h"

#include <charconv>

namespace dpvpn::cp::mgmt {

namespace {

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

template <typename T>
bool number(const std::string& s, T& v) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

// openvpn's atoi: a leading number, 0 when there is none.
int atoi_like(const std::string& s) {
  int v = 0;
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9' && v < 100000000; ++i) v = v * 10 + (s[i] - '0');
  return neg ? -v : v;
}

}  // namespace

// The same states as openvpn's option parser: unquoted, "double" (backslash escapes \\, \" and
// blanks) and 'single' (no escapes) parameters; a bad escape or an open quote is an error.
parsed_line parse_command(std::string_view line) {
  parsed_line r;
  enum { initial, unquoted, dquoted, squoted } st = initial;
  bool backslash = false, have = false;
  std::string parm;
  auto done = [&] {
    r.words.push_back(std::move(parm));
    parm.clear();
    st = initial;
    have = false;
  };
  for (size_t i = 0; i <= line.size(); ++i) {
    const char in = i < line.size() ? line[i] : '\0';
    char out = 0;
    if (!backslash && in == '\\' && st != squoted) {
      backslash = true;
      continue;
    }
    if (st == initial) {
      if (in != '\0' && !blank(in)) {
        if (in == ';' || in == '#') break;  // a comment
        if (!backslash && in == '"') st = dquoted;
        else if (!backslash && in == '\'') st = squoted;
        else {
          out = in;
          st = unquoted;
        }
        have = true;
      }
    } else if (st == unquoted) {
      if (!backslash && (blank(in) || in == '\0')) done();
      else out = in;
    } else if (st == dquoted) {
      if (!backslash && in == '"') done();
      else if (in != '\0') out = in;
    } else if (st == squoted) {
      if (in == '\'') done();
      else if (in != '\0') out = in;
    }
    if (backslash && out && !(out == '\\' || out == '"' || blank(out))) {
      r.words.clear();
      r.error = "ERROR: Options warning: Bad backslash ('\\') usage in TCP:0";
      return r;
    }
    backslash = false;
    if (out) {
      if (parm.size() >= k_max_param - 1) {
        r.words.clear();
        r.error = "ERROR: Options error: Parameter at TCP:0 is too long (" + std::to_string(k_max_param) +
                  " chars max): " + parm;
        return r;
      }
      parm += out;
    }
    if (r.words.size() >= 16) break;  // openvpn's MAX_PARMS
  }
  if (st == dquoted) {
    r.words.clear();
    r.error = "ERROR: Options error: No closing quotation (\") in TCP:0";
  } else if (have && st != initial) {
    done();  // an unterminated 'single' quote ends at the line's end
  }
  return r;
}

session::session(target& t, const histories& h, std::string password)
    : t_(t), h_(h), password_(std::move(password)) {}

void session::greet() {
  if (!password_.empty()) out_ += "ENTER PASSWORD:";
  else reply(">INFO:OpenVPN Management Interface Version " + std::to_string(k_version) + " -- type 'help' for more info");
  if (password_.empty() && !special.empty()) reply(special);
}

void session::notify(const std::string& l) {
  if (authed() && !closing_) reply(l);
}

void session::feed(std::string_view bytes) {
  raw_in_.append(bytes);
  pump();
}

void session::pump() {
  size_t at = 0;
  while (!closing_ && out_.size() < k_soft_output) {
    const size_t nl = raw_in_.find('\n', at);
    if (skipping_) {  // the rest of a line past k_max_line: dropped up to its end
      if (nl == std::string::npos) {
        at = raw_in_.size();
        break;
      }
      skipping_ = false;
      at = nl + 1;
      continue;
    }
    if (nl == std::string::npos && raw_in_.size() - at < k_max_line) break;  // wait for the rest
    std::string l = raw_in_.substr(at, nl == std::string::npos ? k_max_line : std::min(nl - at, k_max_line));
    if (nl == std::string::npos || nl - at > k_max_line) {
      skipping_ = nl == std::string::npos;
      at = nl == std::string::npos ? at + k_max_line : nl + 1;
    } else {
      at = nl + 1;
    }
    if (!l.empty() && l.back() == '\r') l.pop_back();
    line(l);
  }
  raw_in_.erase(0, at);
}

void session::line(std::string_view l) {
  if (!authed()) {
    // A comparison whose time does not depend on where the first difference is.
    unsigned diff = l.size() != password_.size();
    for (size_t i = 0; i < l.size(); ++i) diff |= static_cast<unsigned char>(l[i] ^ password_[i % password_.size()]);
    if (diff == 0) {
      password_ok_ = true;
      reply("SUCCESS: password is correct");
      reply(">INFO:OpenVPN Management Interface Version " + std::to_string(k_version) + " -- type 'help' for more info");
      if (!special.empty()) reply(special);
    } else {
      reply("ERROR: bad password");
      if (++password_tries_ >= k_password_tries) closing_ = true;
      else out_ += "ENTER PASSWORD:";
    }
    return;
  }
  if (in_extra_) {  // client-auth's config lines, one per line, up to END
    if (l == "END") return finish_extra();
    if (extra_.size() < k_max_extra_lines) extra_.emplace_back(l);
    return;
  }
  parsed_line p = parse_command(l);
  if (!p.error.empty()) return reply(p.error);
  if (!p.words.empty()) command(p.words);
}

bool session::need(const std::vector<std::string>& p, size_t n, bool at_least) {
  if (p.size() > n) return true;
  reply("ERROR: the '" + p[0] + "' command requires " + (at_least ? "at least " : "") + std::to_string(n) +
        " parameter" + (n > 1 ? "s" : ""));
  return false;
}

void session::history_cmd(const std::string& parm, const char* type, const history& h, bool& realtime) {
  int n = 0;
  if (parm == "on") {
    realtime = true;
    reply(std::string("SUCCESS: real-time ") + type + " notification set to ON");
  } else if (parm == "off") {
    realtime = false;
    reply(std::string("SUCCESS: real-time ") + type + " notification set to OFF");
  } else if (parm == "all" || (n = atoi_like(parm)) > 0) {
    const size_t size = h.lines.size();
    const size_t take = n ? std::min<size_t>(static_cast<size_t>(n), size) : size;
    for (size_t i = size - take; i < size; ++i) reply(h.lines[i]);
    reply("END");
  } else {
    reply(std::string("ERROR: ") + type + " parameter must be 'on' or 'off' or some number n or 'all'");
  }
}

// kill CN | kill IP:port
void session::kill(const std::string& who) {
  const size_t colon = who.find(':');
  const std::string p1 = who.substr(0, colon);
  const std::string p2 = colon == std::string::npos ? "" : who.substr(colon + 1, who.find(':', colon + 1) - colon - 1);
  if (!p1.empty() && !p2.empty()) {
    const int port = atoi_like(p2);
    if (port <= 0 || port >= 65536) return reply("ERROR: port number is out of range: " + p2);
    const int n = t_.kill_addr(p1, static_cast<uint16_t>(port));
    if (n < 0) return reply("ERROR: error parsing IP address: " + p1);
    if (n > 0) return reply("SUCCESS: " + std::to_string(n) + " client(s) at address " + p1 + ":" + std::to_string(port) + " killed");
    return reply("ERROR: client at address " + p1 + ":" + std::to_string(port) + " not found");
  }
  if (!p1.empty()) {
    const int n = t_.kill_cn(p1);
    if (n > 0) return reply("SUCCESS: common name '" + p1 + "' found, " + std::to_string(n) + " client(s) killed");
    return reply("ERROR: common name '" + p1 + "' not found");
  }
  reply("ERROR: kill parse");
}

void session::client_auth(const std::vector<std::string>& p, bool with_config) {
  uint64_t cid = 0;
  unsigned kid = 0;
  if (!number(p[1], cid)) return reply("ERROR: cannot parse CID");
  if (!number(p[2], kid)) return reply("ERROR: cannot parse KID");
  extra_cid_ = cid;
  extra_kid_ = kid;
  extra_.clear();
  if (with_config) in_extra_ = true;
  else finish_extra();
}

void session::finish_extra() {
  in_extra_ = false;
  const bool ok = t_.client_auth(extra_cid_, extra_kid_, true, "", "", extra_);
  extra_.clear();
  reply(ok ? "SUCCESS: client-auth command succeeded" : "ERROR: client-auth command failed");
}

void session::command(const std::vector<std::string>& p) {
  const std::string& c = p[0];
  auto opt = [&](size_t i) { return i < p.size() ? p[i] : std::string(); };
  if (c == "exit" || c == "quit") {
    closing_ = true;
  } else if (c == "help") {
    static const char* const lines[] = {
        "Management Interface for dpvpn (OpenVPN management interface version 5)",
        "Commands:",
        "bytecount n            : Show bytes in/out, update every n secs (0=off).",
        "echo [on|off] [N|all]  : Like log, but only show messages in echo buffer.",
        "exit|quit              : Close management session.",
        "help                   : Print this message.",
        "hold [on|off|release]  : Set/show hold flag to on/off state, or",
        "                         release current hold and start tunnel.",
        "kill cn                : Kill the client instance(s) having common name cn.",
        "kill IP:port           : Kill the client instance connecting from IP:port.",
        "load-stats             : Show global server load stats.",
        "log [on|off] [N|all]   : Turn on/off realtime log display",
        "                         + show last N lines or 'all' for entire history.",
        "mute [n]               : Set log mute level to n, or show level if n is absent.",
        "net                    : (Windows only) Show network info and routing table.",
        "pid                    : Show process ID of the current OpenVPN process.",
        "client-auth CID KID    : Authenticate client-id/key-id CID/KID (MULTILINE)",
        "client-auth-nt CID KID : Authenticate client-id/key-id CID/KID",
        "client-deny CID KID R [CR] : Deny auth client-id/key-id CID/KID with log reason",
        "                             text R and optional client reason text CR",
        "client-pending-auth CID KID MSG timeout : Instruct OpenVPN to send AUTH_PENDING and INFO_PRE msg",
        "                                      to the client and wait for a final client-auth/client-deny",
        "client-kill CID [M]    : Kill client instance CID with message M (def=RESTART)",
        "env-filter [level]     : Set env-var filter level",
        "signal s               : Send signal s to daemon,",
        "                         s = SIGHUP|SIGTERM|SIGUSR1|SIGUSR2.",
        "state [on|off] [N|all] : Like log, but show state history.",
        "status [n]             : Show current daemon status info using format #n.",
        "verb [n]               : Set log verbosity level to n, or show if n is absent.",
        "version [n]            : Set client's version to n or show current version of daemon.",
        "END"};
    for (const char* l : lines) reply(l);
  } else if (c == "version" && p.size() > 1) {
    reply("SUCCESS: version set to " + p[1]);  // a GUI's own version: recorded by openvpn, unused here
  } else if (c == "version") {
    reply(t_.version_line());
    reply("Management Version: " + std::to_string(k_version));
    reply("END");
  } else if (c == "pid") {
    reply("SUCCESS: pid=" + std::to_string(t_.pid()));
  } else if (c == "nclients") {
    reply("SUCCESS: nclients=" + std::to_string(t_.n_clients()));
  } else if (c == "env-filter") {
    env_filter = p.size() > 1 ? atoi_like(p[1]) : 0;
    reply("SUCCESS: env_filter_level=" + std::to_string(env_filter));
  } else if (c == "signal") {
    if (!need(p, 1, false)) return;
    const std::string& s = p[1];
    if (s != "SIGHUP" && s != "SIGTERM" && s != "SIGUSR1" && s != "SIGUSR2" && s != "SIGINT")
      return reply("ERROR: signal '" + s + "' is not a known signal type");
    if (t_.signal(s)) reply("SUCCESS: signal " + s + " thrown");
    else reply("ERROR: signal '" + s + "' is currently ignored");
  } else if (c == "load-stats") {
    uint64_t in = 0, out = 0;
    t_.load_bytes(in, out);
    reply("SUCCESS: nclients=" + std::to_string(t_.n_clients()) + ",bytesin=" + std::to_string(in) +
          ",bytesout=" + std::to_string(out));
  } else if (c == "status") {
    const int v = p.size() > 1 ? atoi_like(p[1]) : 0;
    const std::string text = t_.status_text(v < 0 || v > 3 ? 1 : static_cast<unsigned>(v));  // its last line is END
    size_t at = 0;
    for (size_t nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) reply(text.substr(at, nl - at));
  } else if (!t_.server_mode() && (c == "kill" || c == "client-kill" || c == "client-deny" || c == "client-auth" ||
                                    c == "client-auth-nt" || c == "client-pending-auth")) {
    // The client role (openvpn: no such callback in this mode): the parameters are checked first.
    if (need(p, c == "kill" || c == "client-kill" ? 1 : c == "client-deny" ? 3 : c == "client-pending-auth" ? 4 : 2,
             c == "client-kill" || c == "client-deny"))
      reply("ERROR: The '" + c + "' command is not supported by the current daemon mode");
  } else if (c == "kill") {
    if (need(p, 1, false)) kill(p[1]);
  } else if (c == "verb") {
    if (p.size() > 1) {
      const int v = atoi_like(p[1]);
      if (v >= 0 && v <= 11 && t_.set_verb(static_cast<unsigned>(v))) reply("SUCCESS: verb level changed");
      else reply("ERROR: verb level is out of range");
    } else {
      reply("SUCCESS: verb=" + std::to_string(t_.verb()));
    }
  } else if (c == "mute") {
    if (p.size() > 1) {
      if (atoi_like(p[1]) >= 0) reply("SUCCESS: mute level changed");  // accepted; dpvpn mutes nothing by count
      else reply("ERROR: mute level is out of range");
    } else {
      reply("SUCCESS: mute=0");
    }
  } else if (c == "state") {
    if (p.size() == 1) history_cmd("1", "state", h_.state, state_on);
    for (size_t i = 1; i < p.size() && i < 3; ++i) history_cmd(p[i], "state", h_.state, state_on);
  } else if (c == "log" || c == "echo") {
    if (!need(p, 1, true)) return;
    const history& h = c == "log" ? h_.log : h_.echo;
    bool& rt = c == "log" ? log_on : echo_on;
    for (size_t i = 1; i < p.size() && i < 3; ++i) history_cmd(p[i], c.c_str(), h, rt);
  } else if (c == "hold") {
    const std::string a = opt(1);
    if (a == "on") {
      t_.set_hold(true);
      reply("SUCCESS: hold flag set to ON");
    } else if (a == "off") {
      t_.set_hold(false);
      reply("SUCCESS: hold flag set to OFF");
    } else if (a == "release") {
      t_.hold_release();
      reply("SUCCESS: hold release succeeded");
    } else if (!a.empty()) {
      reply("ERROR: bad hold command parameter");
    } else {
      reply(std::string("SUCCESS: hold=") + (t_.hold() ? "1" : "0"));
    }
  } else if (c == "bytecount") {
    if (!need(p, 1, false)) return;
    const int n = atoi_like(p[1]);
    bytecount_s = n > 0 ? static_cast<unsigned>(n) : 0;
    next_bytecount_ms = 0;  // the server schedules it from now
    reply("SUCCESS: bytecount interval changed");
  } else if (c == "client-kill") {
    if (!need(p, 1, true)) return;
    uint64_t cid = 0;
    if (!number(p[1], cid)) return reply("ERROR: cannot parse CID");
    reply(t_.kill_cid(cid, opt(2)) ? "SUCCESS: client-kill command succeeded" : "ERROR: client-kill command failed");
  } else if (c == "client-deny") {
    if (!need(p, 3, true)) return;
    uint64_t cid = 0;
    unsigned kid = 0;
    if (!number(p[1], cid)) return reply("ERROR: cannot parse CID");
    if (!number(p[2], kid)) return reply("ERROR: cannot parse KID");
    const bool ok = t_.client_auth(cid, kid, false, p[3], opt(4), {});
    reply(ok ? "SUCCESS: client-deny command succeeded" : "ERROR: client-deny command failed");
  } else if (c == "client-auth-nt" || c == "client-auth") {
    if (need(p, 2, false)) client_auth(p, c == "client-auth");
  } else if (c == "client-pending-auth") {
    if (!need(p, 4, false)) return;
    uint64_t cid = 0;
    unsigned kid = 0, timeout = 0;
    if (!number(p[1], cid)) return reply("ERROR: cannot parse CID");
    if (!number(p[2], kid)) return reply("ERROR: cannot parse KID");
    if (!number(p[4], timeout)) return reply("ERROR: cannot parse TIMEOUT");
    if (t_.client_pending_auth(cid, kid, p[3], timeout)) reply("SUCCESS: client-pending-auth command succeeded");
    else reply("ERROR: client-pending-auth command failed. Extra parameter might be too long");
  } else if (c == "net") {
    reply("ERROR: The 'net' command is not supported by the current daemon mode");
  } else if (c == "username" || c == "password" || c == "needok" || c == "needstr" || c == "forget-passwords" ||
             c == "remote" || c == "proxy" || c == "auth-retry" || c == "cr-response" || c == "rsa-sig" ||
             c == "pk-sig" || c == "certificate" || c == "remote-entry-count" || c == "remote-entry-get") {
    // Client-side commands: openvpn's server answers them as unsupported in its mode too.
    reply("ERROR: The '" + c + "' command is not supported by the current daemon mode");
  } else {
    reply("ERROR: unknown command, enter 'help' for more options");
  }
}

}  // namespace dpvpn::cp::mgmt
