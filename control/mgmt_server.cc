// SPDX-License-Identifier: MIT
// mgmt_server: listening socket, non-blocking connections, histories and notifications.
#include "mgmt_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "client.h"  // control_log

namespace dpvpn::cp::mgmt {

namespace {

bool set_nonblock(int fd) {
  const int fl = ::fcntl(fd, F_GETFL, 0);
  return fl >= 0 && ::fcntl(fd, F_SETFL, fl | O_NONBLOCK | O_CLOEXEC) == 0 && ::fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

std::string sockaddr_text(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    return std::string("[AF_INET]") + buf + ":" + std::to_string(ntohs(a->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    return std::string("[AF_INET6]") + buf + ":" + std::to_string(ntohs(a->sin6_port));
  }
  return "unix socket";
}

}  // namespace

server::server(const server_config& cfg, target& t) : cfg_(cfg), t_(t) {
  hist_.log.cap = cfg.management_log_cache;
  hist_.state.cap = cfg.management_log_cache;
  hist_.echo.cap = cfg.management_log_cache;
}

server::~server() {
  for (auto& c : conns_) ::close(c->fd);
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    if (cfg_.management && cfg_.management->unix_socket) ::unlink(cfg_.management->addr.c_str());
  }
}

bool server::open(std::string& err) {
  const auto& m = *cfg_.management;
  if (!m.pw_file.empty()) {
    std::ifstream f(m.pw_file);
    if (!f || !std::getline(f, password_) || password_.empty()) {
      err = "cannot read a password from the management password file " + m.pw_file;
      return false;
    }
    if (!password_.empty() && password_.back() == '\r') password_.pop_back();
  }
  if (m.unix_socket) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (m.addr.size() >= sizeof sa.sun_path) {
      err = "management socket path too long: " + m.addr;
      return false;
    }
    std::memcpy(sa.sun_path, m.addr.c_str(), m.addr.size() + 1);
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ::unlink(m.addr.c_str());  // a stale socket of an earlier run (openvpn does the same)
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      err = "cannot bind the management socket " + m.addr + ": " + std::strerror(errno);
      return false;
    }
    ::chmod(m.addr.c_str(), 0660);
  } else {
    sockaddr_storage ss{};
    socklen_t len = 0;
    in_addr a4{};
    in6_addr a6{};
    if (::inet_pton(AF_INET, m.addr.c_str(), &a4) == 1) {
      auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
      sa->sin_family = AF_INET;
      sa->sin_addr = a4;
      sa->sin_port = htons(m.port);
      len = sizeof *sa;
    } else if (::inet_pton(AF_INET6, m.addr.c_str(), &a6) == 1) {
      auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
      sa->sin6_family = AF_INET6;
      sa->sin6_addr = a6;
      sa->sin6_port = htons(m.port);
      len = sizeof *sa;
    } else {
      err = "management address is not an IP address: " + m.addr;
      return false;
    }
    listen_fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    const int one = 1;
    if (listen_fd_ >= 0) ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      err = "cannot bind the management socket " + m.addr + ":" + std::to_string(m.port) + ": " + std::strerror(errno);
      return false;
    }
  }
  if (::listen(listen_fd_, 8) != 0) {
    err = std::string("management listen: ") + std::strerror(errno);
    return false;
  }
  control_log{cfg_.verb}(1, "MANAGEMENT: " + std::string(m.unix_socket ? "unix domain socket" : "TCP Socket") +
                                " listening on " + (m.unix_socket ? m.addr : m.addr + ":" + std::to_string(m.port)));
  if (!m.unix_socket && password_.empty())
    control_log{cfg_.verb}(1, "WARNING: Using --management on a TCP port WITHOUT passwords is STRONGLY discouraged "
                              "and considered insecure");
  return true;
}

bool server::peer_allowed(int fd) const {
  if (cfg_.management_client_user.empty() && cfg_.management_client_group.empty()) return true;
  ucred cr{};
  socklen_t len = sizeof cr;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) return false;
  if (!cfg_.management_client_user.empty()) {
    const passwd* pw = ::getpwnam(cfg_.management_client_user.c_str());
    if (pw && pw->pw_uid == cr.uid) return true;
  }
  if (!cfg_.management_client_group.empty()) {
    const group* gr = ::getgrnam(cfg_.management_client_group.c_str());
    if (gr && gr->gr_gid == cr.gid) return true;
  }
  return false;
}

bool server::accept_one(uint64_t now_ms) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return false;
  const std::string who = sockaddr_text(ss);
  if (conns_.size() >= k_max_conns || !peer_allowed(fd)) {
    ++ctr_.refused;
    ::close(fd);
    if (ctr_.refused % 100 == 1)
      control_log{cfg_.verb}(1, "MANAGEMENT: connection from " + who + " refused (" +
                                    (conns_.size() >= k_max_conns ? std::to_string(k_max_conns) + " connections open"
                                                                   : std::string("not management-client-user/-group")) +
                                    "; refused so far: " + std::to_string(ctr_.refused) + ")");
    return true;
  }
  set_nonblock(fd);
  ++ctr_.accepted;
  conns_.push_back(std::make_unique<conn>(fd, t_, hist_, password_, who));
  conns_.back()->progress_ms = now_ms;
  conns_.back()->s.special = special_;
  conns_.back()->s.greet();
  control_log{cfg_.verb}(1, "MANAGEMENT: Client connected from " + who);
  return true;
}

bool server::service(conn& c, uint64_t now_ms) {
  char buf[16384];
  bool eof = false;
  c.s.pump();  // input held back while its output was too large
  for (int i = 0; i < 4 && c.s.wants_input(); ++i) {  // bounded per loop
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n == 0) {  // the peer closed: what we owe it still goes out below, if it can
      eof = true;
      break;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      return false;
    }
    const size_t before = c.s.out().size();
    c.s.feed(std::string_view(buf, static_cast<size_t>(n)));
    if (c.s.out().size() != before) ++ctr_.commands;
  }
  std::string& out = c.s.out();
  while (!out.empty()) {
    const ssize_t n = ::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out.erase(0, static_cast<size_t>(n));
      c.progress_ms = now_ms;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
  if (out.empty()) c.progress_ms = now_ms;
  if (c.s.overflowed() || now_ms - c.progress_ms > k_stall_ms) {  // it stopped reading
    ++ctr_.overflowed;
    control_log{cfg_.verb}(1, "MANAGEMENT: client " + c.peer + " cut off: it took none of its " +
                                  std::to_string(out.size()) + " bytes of output for " +
                                  std::to_string(k_stall_ms / 1000) + " s (or they passed " +
                                  std::to_string(k_max_output >> 20) + " MiB)");
    c.s.out().clear();
    return false;
  }
  return !eof && !(c.s.closing() && out.empty());
}

void server::close_conn(size_t i, const char* why) {
  control_log{cfg_.verb}(1, "MANAGEMENT: Client disconnected" + std::string(why && *why ? std::string(" (") + why + ")" : ""));
  ::close(conns_[i]->fd);
  conns_.erase(conns_.begin() + static_cast<ptrdiff_t>(i));
}

bool server::poll(uint64_t now_ms) {
  bool work = false;
  for (int i = 0; i < 4 && listen_fd_ >= 0 && accept_one(now_ms); ++i) work = true;
  for (size_t i = 0; i < conns_.size();) {
    conn& c = *conns_[i];
    const size_t out_before = c.s.out().size();
    const bool keep = service(c, now_ms);
    if (!keep) {
      if (!c.s.authed() && c.s.closing()) ++ctr_.bad_password;
      close_conn(i, c.s.closing() && !c.s.authed() ? "bad password" : "");
      work = true;
      continue;
    }
    work |= c.s.out().size() != out_before;
    ++i;
  }
  return work;
}

void server::notify(const std::string& line) {
  for (auto& c : conns_) c->s.notify(line);
}

void server::notify_env(const std::string& head, const std::vector<std::pair<std::string, std::string>>& env) {
  for (auto& c : conns_) {
    c->s.notify(head);
    for (const auto& [k, v] : env) c->s.notify(">CLIENT:ENV," + k + "=" + v);
    c->s.notify(">CLIENT:ENV,END");
  }
}

void server::log_line(uint64_t now_s, char flag, const std::string& msg) {
  std::string l = std::to_string(now_s) + "," + flag + "," + msg;
  for (auto& c : conns_)
    if (c->s.log_on) c->s.notify(">LOG:" + l);
  hist_.log.add(std::move(l));
}

void server::state_change(uint64_t now_s, const std::string& fields) {
  std::string l = std::to_string(now_s) + "," + fields;
  for (auto& c : conns_)
    if (c->s.state_on) c->s.notify(">STATE:" + l);
  hist_.state.add(std::move(l));
}

std::string server::counters_line() const {
  return "management: " + std::to_string(conns_.size()) + " connection(s), accepted " + std::to_string(ctr_.accepted) +
         " refused " + std::to_string(ctr_.refused) + " cut off (not reading) " + std::to_string(ctr_.overflowed) +
         " bad password " + std::to_string(ctr_.bad_password);
}

}  // namespace dpvpn::cp::mgmt
