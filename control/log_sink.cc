// SPDX-License-Identifier: MIT
// The process's log (include/dpvpn/log_sink.h). Syslog records go to a unix datagram socket that
// this file opens itself rather than through syslog(3), so that the socket is a setting: tests
// listen on their own, and openlog()'s process-wide state stays DPDK's.
#include "dpvpn/log_sink.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>

namespace dpvpn::cp {

namespace {

constexpr int k_facility_daemon = 3 << 3;  // LOG_DAEMON: openvpn's LOG_OPENVPN

struct sink {
  std::mutex mu;  // settings and socket; held while a line is written, so lines never interleave
  log_settings s;
  int fd = -1;  // connected to s.socket_path; -1: not yet, or lost
};

sink& the_sink() {
  static sink k;
  return k;
}

// Under mu.
bool connect_socket(sink& k) {
  if (k.fd >= 0) return true;
  sockaddr_un a{};
  if (k.s.socket_path.size() >= sizeof a.sun_path) return false;
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, k.s.socket_path.data(), k.s.socket_path.size());
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return false;
  }
  k.fd = fd;
  return true;
}

// One record. A logger that restarted (journald, rsyslog) costs one reconnect, as with glibc's
// syslog(3); a record nobody takes (no /dev/log) is dropped, as syslog(3) drops it. Blocking, as
// syslog(3): a stalled logger stalls the caller. Under mu.
void send_record(sink& k, log_prio p, std::string_view msg) {
  if (msg.empty()) return;
  const std::string r = syslog_record(p, k.s.ident, static_cast<long>(::getpid()), static_cast<long>(std::time(nullptr)), msg);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!connect_socket(k)) return;
    ssize_t n;
    do n = ::send(k.fd, r.data(), r.size(), MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n >= 0) return;
    ::close(k.fd);
    k.fd = -1;
  }
}

// Each line of text (split at '\n') as its own record. Under mu.
void send_lines(sink& k, log_prio p, std::string_view text) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    send_record(k, p, text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

FILE* stream_for(log_prio p) { return p <= log_prio::warning ? stderr : stdout; }

void write_out(FILE* f, std::string_view a, std::string_view b) {
  std::string line;
  line.reserve(a.size() + b.size() + 1);
  line.append(a).append(b) += '\n';
  std::fwrite(line.data(), 1, line.size(), f);
  std::fflush(f);
}

}  // namespace

std::string syslog_record(log_prio prio, std::string_view ident, long pid, long now_s, std::string_view msg) {
  // The month by name in English whatever the locale, as RFC 3164 §4.1.2 wants.
  static constexpr const char* k_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t t = now_s;
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char head[64];
  std::snprintf(head, sizeof head, "<%d>%s %2d %02d:%02d:%02d ", k_facility_daemon | static_cast<int>(prio),
                k_months[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string r = head;
  r.append(ident);
  r += '[' + std::to_string(pid) + "]: ";
  r.append(msg);
  return r;
}

void log_configure(const log_settings& s) {
  sink& k = the_sink();
  std::lock_guard g(k.mu);
  if (k.fd >= 0) ::close(k.fd);
  k.fd = -1;
  k.s = s;
}

void log_event(std::string_view msg) {
  sink& k = the_sink();
  std::lock_guard g(k.mu);
  if (k.s.syslog) return send_lines(k, log_prio::notice, msg);
  if (!k.s.timestamps) return write_out(stdout, {}, msg);
  char ts[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  const size_t n = std::strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S ", &tm);
  write_out(stdout, std::string_view(ts, n), msg);
}

void log_program(log_prio prio, std::string_view msg) {
  sink& k = the_sink();
  std::lock_guard g(k.mu);
  if (k.s.syslog) return send_lines(k, prio, msg);
  write_out(stream_for(prio), "dpvpn: ", msg);
}

void log_text(log_prio prio, std::string_view text) {
  sink& k = the_sink();
  std::lock_guard g(k.mu);
  if (k.s.syslog) return send_lines(k, prio, text);
  write_out(stream_for(prio), {}, text);
}

}  // namespace dpvpn::cp
