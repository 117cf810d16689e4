// SPDX-License-Identifier: MIT
// dpvpn-loadgen's kernel packet_io: one connected non-blocking UDP socket per session (the kernel
// demultiplexes by local port, so each session has its own outer source), one epoll set.
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "loadgen.h"

namespace dpvpn::loadgen {
namespace {

inline constexpr size_t k_batch = 32;  // sendmmsg / recvmmsg batch
inline constexpr size_t k_buf_size = 9216 + 256;

class udp_io final : public packet_io {
 public:
  explicit udp_io(const options& o) : o_(o) {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) die(std::string("epoll_create1: ") + std::strerror(errno));
    // One socket per session: lift the descriptor limit as far as the hard limit allows.
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &rl);
    }
  }
  ~udp_io() override {
    for (const ep& e : eps_)
      if (e.fd >= 0) ::close(e.fd);
    if (ep_ >= 0) ::close(ep_);
  }

  void open(uint32_t tag) override {
    if (tag >= eps_.size()) eps_.resize(tag + 1);
    ep& e = eps_[tag];
    e.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (e.fd < 0) die(std::string("socket: ") + std::strerror(errno));
    const int buf_bytes = 1 << 20;
    for (int opt : {SO_RCVBUF, SO_SNDBUF}) ::setsockopt(e.fd, SOL_SOCKET, opt, &buf_bytes, sizeof buf_bytes);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr = o_.bind;
    if (::bind(e.fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
        ::connect(e.fd, reinterpret_cast<const sockaddr*>(&o_.remote), sizeof o_.remote) != 0)
      die(std::string("bind/connect: ") + std::strerror(errno));
    socklen_t sl = sizeof local;
    if (::getsockname(e.fd, reinterpret_cast<sockaddr*>(&local), &sl) == 0) e.port = ntohs(local.sin_port);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, e.fd, &ev) != 0) die(std::string("epoll_ctl: ") + std::strerror(errno));
  }

  void close(uint32_t tag) override {
    if (tag >= eps_.size() || eps_[tag].fd < 0) return;
    ::close(eps_[tag].fd);  // also leaves the epoll set
    eps_[tag].fd = -1;
  }

  bool send(uint32_t tag, std::span<const uint8_t> p) override {
    if (tag >= eps_.size() || eps_[tag].fd < 0) return false;
    return ::send(eps_[tag].fd, p.data(), p.size(), MSG_DONTWAIT) == static_cast<ssize_t>(p.size());
  }

  size_t send_many(uint32_t tag, const std::span<const uint8_t>* p, size_t n) override {
    if (tag >= eps_.size() || eps_[tag].fd < 0) return 0;
    std::array<mmsghdr, k_batch> msgs{};
    std::array<iovec, k_batch> iov{};
    n = std::min(n, k_batch);
    for (size_t i = 0; i < n; ++i) {
      iov[i] = {const_cast<uint8_t*>(p[i].data()), p[i].size()};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int sent = ::sendmmsg(eps_[tag].fd, msgs.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
    return sent < 0 ? 0 : static_cast<size_t>(sent);
  }

  void poll(int timeout_ms, rx_sink& sink) override {
    std::array<epoll_event, 256> evs{};
    const int n = ::epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), timeout_ms);
    for (int i = 0; i < n; ++i) read_some(static_cast<uint32_t>(evs[static_cast<size_t>(i)].data.u64), sink);
  }

  uint16_t local_port(uint32_t tag) const override { return tag < eps_.size() ? eps_[tag].port : 0; }

 private:
  struct ep {
    int fd = -1;
    uint16_t port = 0;
  };

  void read_some(uint32_t tag, rx_sink& sink) {
    std::array<mmsghdr, k_batch> msgs{};
    std::array<iovec, k_batch> iov{};
    for (int round = 0; round < 8; ++round) {
      if (tag >= eps_.size() || eps_[tag].fd < 0) return;  // closed by an earlier packet
      for (size_t i = 0; i < k_batch; ++i) {
        iov[i] = {bufs_[i].data(), k_buf_size};
        msgs[i].msg_hdr = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int n = ::recvmmsg(eps_[tag].fd, msgs.data(), k_batch, MSG_DONTWAIT, nullptr);
      if (n <= 0) return;  // EAGAIN, or ECONNREFUSED from an ICMP error: nothing to read
      for (int i = 0; i < n; ++i) {
        if (eps_[tag].fd < 0) return;
        buf_view v{bufs_[static_cast<size_t>(i)].data(), msgs[static_cast<size_t>(i)].msg_len, 0, 0};
        sink.on_rx(tag, v);
      }
      if (static_cast<size_t>(n) < k_batch) return;
    }
  }

  const options& o_;
  int ep_ = -1;
  std::vector<ep> eps_;  // index = tag
  std::vector<std::array<uint8_t, k_buf_size>> bufs_ = std::vector<std::array<uint8_t, k_buf_size>>(k_batch);
};

}  // namespace

std::unique_ptr<packet_io> make_udp_io(const options& o) { return std::make_unique<udp_io>(o); }

}  // namespace dpvpn::loadgen
