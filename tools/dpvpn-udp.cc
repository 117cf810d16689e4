// SPDX-License-Identifier: MIT
// dpvpn-udp: the kernel-side partner of dpvpn-loadgen. `sink` counts UDP datagrams arriving on
// the gateway's tun side; `source` sends UDP datagrams to a set of VPN addresses (or a broadcast
// address) so that the gateway encrypts them toward the clients. recvmmsg/sendmmsg batches, one thread.
//
//   dpvpn-udp sink --bind IP:PORT [--duration S] [--json]
//   dpvpn-udp source (--dst-net A.B.C.D/N | --dst IP[,IP...]) --port P [--size BYTES|imix]
//                    [--rate PPS|max] [--duration S] [--bind IP] [--json]
//
// --size is the IP packet size (20 + 8 + payload), as dpvpn-loadgen's --size is its inner packet
// size; imix = 7:4:1 of 64/576/1420. Rates (pps, Gbit/s) count IP bytes. The sink runs for
// --duration seconds, or until SIGTERM/SIGINT when none is given; its rate is over the window
// from the first to the last datagram. Exit 0, or 2 on bad usage or a socket error.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

inline constexpr size_t k_batch = 64;
inline constexpr uint32_t k_ip_udp = 28;  // IPv4 + UDP headers
inline constexpr size_t k_max_payload = 65507;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

double mono_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "dpvpn-udp: %s\n"
               "usage: dpvpn-udp sink --bind IP:PORT [--duration S] [--json]\n"
               "       dpvpn-udp source (--dst-net A.B.C.D/N | --dst IP[,IP...]) --port P [--size BYTES|imix]\n"
               "                        [--rate PPS|max] [--duration S] [--bind IP] [--json]\n",
               why.c_str());
  std::exit(2);
}

[[noreturn]] void die_errno(const std::string& what) {
  std::fprintf(stderr, "dpvpn-udp: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(2);
}

double to_num(const std::string& opt, const std::string& v, double lo, double hi) {
  size_t pos = 0;
  double d = 0;
  try {
    d = std::stod(v, &pos);
  } catch (...) {
    pos = 0;
  }
  if (pos != v.size() || !(d >= lo && d <= hi)) usage("bad value '" + v + "' for " + opt);
  return d;
}

in_addr to_ip(const std::string& opt, const std::string& v) {
  in_addr a{};
  if (inet_pton(AF_INET, v.c_str(), &a) != 1) usage(opt + " wants an IPv4 address, got '" + v + "'");
  return a;
}

struct options {
  std::string mode;
  sockaddr_in bind{};
  bool have_bind = false;
  std::vector<in_addr> dsts;
  uint16_t port = 0;
  std::vector<uint32_t> sizes = {512};  // IP bytes, cycled
  double rate = 1000;                   // 0 = max
  double duration = 0;
  bool json = false;
};

// A.B.C.D/N: its hosts (without network and broadcast address below /31).
void add_net(options& o, const std::string& v) {
  const auto slash = v.find('/');
  if (slash == std::string::npos) usage("--dst-net wants A.B.C.D/N, got '" + v + "'");
  const uint32_t base = ntohl(to_ip("--dst-net", v.substr(0, slash)).s_addr);
  const int n = static_cast<int>(to_num("--dst-net", v.substr(slash + 1), 16, 32));
  const uint32_t mask = n == 0 ? 0 : ~uint32_t{0} << (32 - n);
  const uint32_t net = base & mask, count = ~mask + 1;
  const uint32_t first = n >= 31 ? 0 : 1, last = n >= 31 ? count : count - 1;
  for (uint32_t h = first; h < last; ++h) o.dsts.push_back(in_addr{htonl(net + h)});
}

options parse(int argc, char** argv) {
  options o;
  if (argc < 2) usage("sink or source?");
  o.mode = argv[1];
  if (o.mode != "sink" && o.mode != "source") usage("the first argument is sink or source");
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value for " + a);
      return argv[++i];
    };
    if (a == "--bind") {
      const std::string v = val();
      const auto colon = v.rfind(':');
      o.bind.sin_family = AF_INET;
      if (colon != std::string::npos) {
        o.bind.sin_addr = to_ip(a, v.substr(0, colon));
        o.bind.sin_port = htons(static_cast<uint16_t>(to_num(a, v.substr(colon + 1), 0, 65535)));
      } else {
        o.bind.sin_addr = to_ip(a, v);
      }
      o.have_bind = true;
    } else if (a == "--dst-net") {
      add_net(o, val());
    } else if (a == "--dst") {
      const std::string v = val();
      size_t start = 0;
      while (start <= v.size()) {
        const size_t comma = std::min(v.find(',', start), v.size());
        if (comma > start) o.dsts.push_back(to_ip(a, v.substr(start, comma - start)));
        start = comma + 1;
      }
    } else if (a == "--port") {
      o.port = static_cast<uint16_t>(to_num(a, val(), 1, 65535));
    } else if (a == "--size") {
      const std::string v = val();
      if (v == "imix") o.sizes = {64, 576, 64, 64, 576, 64, 1420, 64, 576, 64, 576, 64};
      else o.sizes = {static_cast<uint32_t>(to_num(a, v, k_ip_udp, k_ip_udp + k_max_payload))};
    } else if (a == "--rate") {
      const std::string v = val();
      o.rate = v == "max" ? 0 : to_num(a, v, 1, 1e9);
    } else if (a == "--duration") {
      o.duration = to_num(a, val(), 0, 1e6);
    } else if (a == "--json") {
      o.json = true;
    } else {
      usage("unknown option " + a);
    }
  }
  if (o.mode == "sink" && (!o.have_bind || o.bind.sin_port == 0)) usage("sink needs --bind IP:PORT");
  if (o.mode == "source") {
    if (o.dsts.empty()) usage("source needs --dst-net or --dst");
    if (o.port == 0) usage("source needs --port");
    if (o.duration <= 0) usage("source needs --duration");
  }
  return o;
}

void set_buf(int fd, int opt_force, int opt, int bytes) {
  // Root may exceed rmem_max / wmem_max (the *FORCE options); others get what the limit allows.
  if (::setsockopt(fd, SOL_SOCKET, opt_force, &bytes, sizeof bytes) != 0)
    ::setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

void report(const options& o, uint64_t packets, uint64_t bytes, uint64_t errors, double window, double elapsed) {
  const uint64_t ip_bytes = bytes + packets * k_ip_udp;
  const double pps = window > 0 ? static_cast<double>(packets) / window : 0;
  const double gbps = window > 0 ? static_cast<double>(ip_bytes) * 8 / window / 1e9 : 0;
  const auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  if (o.json) {
    std::printf("{\"mode\":\"%s\",\"packets\":%llu,\"bytes\":%llu,\"ip_bytes\":%llu,\"send_errors\":%llu,"
                "\"duration_s\":%.3f,\"elapsed_s\":%.3f,\"pps\":%.1f,\"gbps\":%.4f}\n",
                o.mode.c_str(), u(packets), u(bytes), u(ip_bytes), u(errors), window, elapsed, pps, gbps);
  } else {
    std::printf("%s: %llu datagrams, %llu payload bytes (%llu IP bytes), %llu send errors, %.3f s: "
                "%.0f pps, %.3f Gbit/s\n",
                o.mode.c_str(), u(packets), u(bytes), u(ip_bytes), u(errors), window, pps, gbps);
  }
  std::fflush(stdout);
}

int run_sink(const options& o) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die_errno("socket");
  set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, 32 << 20);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&o.bind), sizeof o.bind) != 0) die_errno("bind");
  std::fprintf(stderr, "dpvpn-udp: sink listening\n");

  std::vector<std::array<uint8_t, 2048>> bufs(k_batch);
  std::array<mmsghdr, k_batch> msgs{};
  std::array<iovec, k_batch> iov{};
  for (size_t i = 0; i < k_batch; ++i) {
    iov[i] = {bufs[i].data(), bufs[i].size()};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t packets = 0, bytes = 0;
  const double t0 = mono_s();
  double first = 0, last = 0;
  while (!g_stop && (o.duration <= 0 || mono_s() - t0 < o.duration)) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    for (;;) {
      const int n = ::recvmmsg(fd, msgs.data(), k_batch, MSG_DONTWAIT, nullptr);
      if (n <= 0) break;
      const double now = mono_s();
      if (packets == 0) first = now;
      last = now;
      packets += static_cast<uint64_t>(n);
      for (int i = 0; i < n; ++i) bytes += msgs[static_cast<size_t>(i)].msg_len;
      if (static_cast<size_t>(n) < k_batch) break;
    }
  }
  report(o, packets, bytes, 0, last - first, mono_s() - t0);
  ::close(fd);
  return 0;
}

int run_source(const options& o) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die_errno("socket");
  set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, 8 << 20);
  // A --dst may be a subnet's broadcast address (tools/bench/compare-tap.sh floods a TAP segment).
  const int on = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on) != 0) die_errno("SO_BROADCAST");
  if (o.have_bind && ::bind(fd, reinterpret_cast<const sockaddr*>(&o.bind), sizeof o.bind) != 0) die_errno("bind");

  std::vector<sockaddr_in> to(o.dsts.size());
  for (size_t i = 0; i < to.size(); ++i) {
    to[i].sin_family = AF_INET;
    to[i].sin_addr = o.dsts[i];
    to[i].sin_port = htons(o.port);
  }
  std::vector<uint8_t> payload(k_max_payload);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i);
  std::array<mmsghdr, k_batch> msgs{};
  std::array<iovec, k_batch> iov{};

  uint64_t packets = 0, bytes = 0, errors = 0, attempted = 0;
  size_t next_dst = 0, next_size = 0;
  const double t0 = mono_s();
  for (double t = t0; !g_stop && t - t0 < o.duration; t = mono_s()) {
    size_t n = k_batch;
    if (o.rate > 0) {
      // Paced: as many as are due by now; sleep until the next one otherwise.
      const double due = (t - t0) * o.rate - static_cast<double>(attempted);
      if (due < 1) {
        std::this_thread::sleep_for(std::chrono::duration<double>((1 - due) / o.rate));
        continue;
      }
      n = std::min(n, static_cast<size_t>(due));
    }
    for (size_t i = 0; i < n; ++i) {
      iov[i] = {payload.data(), o.sizes[next_size++ % o.sizes.size()] - k_ip_udp};
      msgs[i].msg_hdr = {};
      msgs[i].msg_hdr.msg_name = &to[next_dst++ % to.size()];
      msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    attempted += n;
    const int sent = ::sendmmsg(fd, msgs.data(), static_cast<unsigned>(n), 0);
    // A refused or dropped batch (ENOBUFS from a full tun queue, EINTR) is counted, not retried.
    const size_t ok = sent < 0 ? 0 : static_cast<size_t>(sent);
    errors += n - ok;
    packets += ok;
    for (size_t i = 0; i < ok; ++i) bytes += iov[i].iov_len;
  }
  report(o, packets, bytes, errors, mono_s() - t0, mono_s() - t0);
  ::close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: a blocked poll/sendmmsg returns and the loop ends
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  return o.mode == "sink" ? run_sink(o) : run_source(o);
}
