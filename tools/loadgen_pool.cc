// SPDX-License-Identifier: MIT
// dpvpn-loadgen's session pool: many client-role sessions, one connected non-blocking UDP socket
// each (the kernel demultiplexes by local port), one epoll loop, one thread. Phases: connect the
// steady population, then --duration of data (and of the reconnect storm), a grace period for
// packets in flight, then EXIT to the server for every live session.
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "dpvpn/static_key.h"
#include "dpvpn/tls_engine.h"
#include "loadgen.h"

namespace dpvpn::loadgen {
namespace {

using proto::session_event_type;

// The session API wants Unix-time milliseconds (tls-crypt packet-id time, §3); the rates and
// handshake latencies use the monotonic clock.
uint64_t wall_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}
double mono_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline constexpr size_t k_batch = 32;       // sendmmsg / recvmmsg batch
inline constexpr size_t k_buf_size = 9216 + 256;
inline constexpr uint32_t k_headroom = 160;  // covers the DATA_V2 header (buf.h k_min_headroom)
inline constexpr uint64_t k_scan_ms = 5;     // control timers, keepalives and timeouts

enum class phase : uint8_t { handshaking, established, closed };

struct lg_session {
  int fd = -1;
  bool storm = false;
  phase st = phase::handshaking;
  double start_s = 0;
  uint64_t deadline_ms = 0;
  uint64_t last_tx_ms = 0;
  uint32_t ping_ms = 10000;
  uint16_t sport = 0;
  std::unique_ptr<proto::session> s;
  std::unique_ptr<proto::data_keys> dk;
  std::vector<std::vector<uint8_t>> tpl;  // one inner packet per distinct size
};

[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "dpvpn-loadgen: %s\n", m.c_str());
  std::exit(2);
}

std::string read_or_die(const std::string& path) {
  std::string out, err;
  if (!proto::read_file(path, out, err)) die(err);
  return out;
}

uint32_t parse_ip(const std::string& s) {
  in_addr a{};
  if (s.empty() || inet_pton(AF_INET, s.c_str(), &a) != 1) return 0;
  return ntohl(a.s_addr);
}

class pool {
 public:
  pool(const options& o, report& r) : o_(o), r_(r) {}
  ~pool() {
    for (auto& ls : sessions_)
      if (ls.fd >= 0) ::close(ls.fd);
    if (ep_ >= 0) ::close(ep_);
  }
  void init();
  void run(volatile std::sig_atomic_t* stop);

 private:
  proto::session_config make_config() const;
  void open_session(bool storm, uint64_t now);
  void close_session(lg_session& ls, bool say_exit, uint64_t now);
  void on_readable(lg_session& ls, uint64_t now);
  void on_event(lg_session& ls, const proto::session_event& ev, uint64_t now);
  void on_established(lg_session& ls, uint64_t now);
  void drain(lg_session& ls, uint64_t now);
  void seal_send(lg_session& ls, std::span<const uint8_t> payload, uint64_t now);
  void scan(uint64_t now);
  size_t send_burst(size_t budget, uint64_t now);
  void poll_once(int timeout_ms);
  bool steady_pending() const;
  bool storm_pending() const;

  const options& o_;
  report& r_;
  std::unique_ptr<proto::tls_context> tls_;
  std::unique_ptr<crypto::engine> eng_ = crypto::engine::create();
  proto::session_config cfg_;
  int ep_ = -1;
  std::vector<lg_session> sessions_;  // index = epoll tag; closed ones stay, emptied
  std::vector<uint32_t> live_;        // indexes of sessions not yet closed
  std::vector<uint32_t> senders_;     // established steady sessions (round robin)
  size_t rr_ = 0;
  std::vector<uint32_t> sizes_;       // distinct inner sizes
  std::vector<uint8_t> pattern_;      // index into sizes_, cycled
  size_t pat_pos_ = 0;
  std::vector<std::array<uint8_t, k_buf_size>> bufs_ = std::vector<std::array<uint8_t, k_buf_size>>(k_batch);
};

// Out of line: GCC 12 inlines the default data_ciphers list into init() and warns falsely there.
[[gnu::noinline]] proto::session_config pool::make_config() const {
  proto::session_config c;
  c.server = false;
  c.tls = tls_.get();
  std::string err;
  c.data_ciphers = proto::parse_cipher_list(o_.ciphers, &err);
  if (c.data_ciphers.empty()) die("bad --ciphers: " + err);
  // As a stock client config would: the key files of tools/gen-test-pki.sh, client direction.
  if (o_.wrap == "tls-crypt") {
    c.wrap = proto::wrap_mode::tls_crypt;
    if (!proto::parse_static_key(read_or_die(o_.pki + "/tls-crypt.key"), c.wrap_key, err)) die(err);
  } else if (o_.wrap == "tls-auth") {
    c.wrap = proto::wrap_mode::tls_auth;
    c.key_direction = 1;
    if (!proto::parse_static_key(read_or_die(o_.pki + "/ta.key"), c.wrap_key, err)) die(err);
  } else if (o_.wrap == "tls-crypt-v2") {
    c.tcv2 = true;
    if (!proto::parse_tcv2_client_key(read_or_die(o_.pki + "/tc2-client.key"), c.tcv2_client, err)) die(err);
  } else if (o_.wrap != "none") {
    die("bad --wrap '" + o_.wrap + "' (tls-crypt, tls-auth, tls-crypt-v2 or none)");
  }
  return c;
}

void pool::init() {
  proto::tls_config tc;
  tc.server = false;
  tc.ca_file = o_.pki + "/ca.crt";
  tc.cert_file = o_.pki + "/" + o_.cert + ".crt";
  tc.key_file = o_.pki + "/" + o_.cert + ".key";
  tc.remote_cert = proto::remote_cert_tls::server;
  std::string err;
  tls_ = proto::tls_context::create(tc, err);
  if (!tls_) die("TLS setup: " + err);
  cfg_ = make_config();

  std::vector<uint32_t> pat = size_pattern(o_.size, &err);
  if (pat.empty()) die(err);
  for (uint32_t s : pat) {
    auto it = std::find(sizes_.begin(), sizes_.end(), s);
    if (it == sizes_.end()) it = sizes_.insert(sizes_.end(), s);
    pattern_.push_back(static_cast<uint8_t>(it - sizes_.begin()));
  }
  ep_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep_ < 0) die(std::string("epoll_create1: ") + std::strerror(errno));
  // One socket per session: lift the descriptor limit as far as the hard limit allows.
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

void pool::open_session(bool storm, uint64_t now) {
  const uint32_t idx = static_cast<uint32_t>(sessions_.size());
  lg_session& ls = sessions_.emplace_back();
  ls.storm = storm;
  ls.start_s = mono_s();
  ls.deadline_ms = now + (storm ? k_handshake_timeout_ms : k_steady_timeout_ms);
  ls.sport = static_cast<uint16_t>(40000 + idx % 20000);
  ++r_.attempted;
  if (storm) ++r_.storm_attempted;

  ls.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (ls.fd < 0) die(std::string("socket: ") + std::strerror(errno));
  const int buf_bytes = 1 << 20;
  for (int opt : {SO_RCVBUF, SO_SNDBUF}) ::setsockopt(ls.fd, SOL_SOCKET, opt, &buf_bytes, sizeof buf_bytes);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr = o_.bind;
  if (::bind(ls.fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(ls.fd, reinterpret_cast<const sockaddr*>(&o_.remote), sizeof o_.remote) != 0)
    die(std::string("bind/connect: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = idx;
  if (::epoll_ctl(ep_, EPOLL_CTL_ADD, ls.fd, &ev) != 0) die(std::string("epoll_ctl: ") + std::strerror(errno));

  ls.s = std::make_unique<proto::session>(cfg_, now);
  ls.dk = std::make_unique<proto::data_keys>(false, proto::data_key_params{});
  ls.s->start(now);
  live_.push_back(idx);
  drain(ls, now);
}

// EXIT as the stock client's explicit-exit-notify does it (§9.3): a cc-exit control message
// when the server announced cc-exit, else the OCC exit message on the data channel.
void pool::close_session(lg_session& ls, bool say_exit, uint64_t now) {
  if (ls.st == phase::closed) return;
  if (ls.st == phase::handshaking) {
    ++r_.failed;
    if (ls.storm) ++r_.storm_failed;
  } else if (!say_exit && !ls.storm) {
    r_.lost = true;  // an established steady session that the server (or a timer) ended
  }
  if (say_exit && ls.st == phase::established) {
    if (ls.s->pushed().cc_exit) {
      ls.s->send_text("EXIT", now);
      drain(ls, now);
    } else {
      std::array<uint8_t, 17> occ{};
      std::copy(wire::k_occ_magic.begin(), wire::k_occ_magic.end(), occ.begin());
      occ[16] = wire::k_occ_exit;
      seal_send(ls, occ, now);
    }
  }
  r_.renegotiations += ls.s->renegotiations();
  ls.st = phase::closed;
  ::close(ls.fd);
  ls.fd = -1;
  ls.s.reset();
  ls.dk.reset();
  ls.tpl.clear();
}

void pool::drain(lg_session& ls, uint64_t now) {
  std::vector<uint8_t> out;
  while (ls.s && ls.s->pop_packet(out)) {
    ::send(ls.fd, out.data(), out.size(), MSG_DONTWAIT);
    ls.last_tx_ms = now;
  }
  proto::session_event ev;
  while (ls.s && ls.st != phase::closed && ls.s->pop_event(ev)) on_event(ls, ev, now);
}

void pool::seal_send(lg_session& ls, std::span<const uint8_t> payload, uint64_t now) {
  if (!ls.dk->has_key()) return;
  buf_view v{bufs_[0].data() + k_headroom, static_cast<uint32_t>(payload.size()), k_headroom,
             static_cast<uint32_t>(k_buf_size - k_headroom - payload.size())};
  std::memcpy(v.data, payload.data(), payload.size());
  if (ls.dk->seal(*eng_, v, ls.s->peer_id(), now / 1000) != proto::dc_err::ok) return;
  ls.s->note_data(v.len, 1);
  ::send(ls.fd, v.data, v.len, MSG_DONTWAIT);
  ls.last_tx_ms = now;
}

void pool::on_event(lg_session& ls, const proto::session_event& ev, uint64_t now) {
  switch (ev.type) {
    case session_event_type::key_ready: {
      std::string err;
      if (!ls.dk->install(ev.key_id, ev.key, ev.cipher, ev.digest, now / 1000, &err)) {
        std::fprintf(stderr, "dpvpn-loadgen: key install: %s\n", err.c_str());
        close_session(ls, false, now);
      }
      break;
    }
    case session_event_type::key_retired: ls.dk->retire(ev.key_id); break;
    case session_event_type::established: on_established(ls, now); break;
    case session_event_type::exit_received:
    case session_event_type::restart_received:
    case session_event_type::auth_failed:
    case session_event_type::failed:
      std::fprintf(stderr, "dpvpn-loadgen: session ended: %s %s\n", to_string(ev.type), ev.text.c_str());
      close_session(ls, false, now);
      break;
    default: break;
  }
}

void pool::on_established(lg_session& ls, uint64_t now) {
  if (ls.st != phase::handshaking) return;  // a renegotiation does not re-announce; be safe
  ls.st = phase::established;
  ++r_.established;
  r_.handshake_ms.push_back((mono_s() - ls.start_s) * 1000.0);
  if (ls.storm) {
    ++r_.storm_established;
    close_session(ls, true, now);
    return;
  }
  const proto::pushed_options& po = ls.s->pushed();
  if (po.ping > 0) ls.ping_ms = static_cast<uint32_t>(po.ping) * 1000;
  if (po.comp == "lzo-no") ls.dk->framing = proto::comp_framing::lzo_no;
  else if (po.comp == "stub") ls.dk->framing = proto::comp_framing::stub;
  else if (po.comp == "stub-v2") ls.dk->framing = proto::comp_framing::stub_v2;
  const uint32_t local = parse_ip(po.ifconfig_local);
  r_.vpn_addresses.push_back(po.ifconfig_local);
  if (local == 0) return;  // nothing pushed: this session cannot source inner packets
  uint32_t dst = o_.target;
  for (const std::string& line : po.unknown)
    if (dst == 0 && line.rfind("route-gateway ", 0) == 0) dst = parse_ip(line.substr(14));
  if (dst == 0) {
    const uint32_t mask = parse_ip(po.ifconfig_remote_or_mask);
    dst = (mask >> 24) == 255 ? ((local & mask) | 1) : mask;  // subnet: x.y.z.1; p2p: the peer
  }
  for (uint32_t sz : sizes_) ls.tpl.push_back(build_udp4(local, dst, ls.sport, o_.target_port, sz));
  senders_.push_back(static_cast<uint32_t>(&ls - sessions_.data()));
}

void pool::on_readable(lg_session& ls, uint64_t now) {
  std::array<mmsghdr, k_batch> msgs{};
  std::array<iovec, k_batch> iov{};
  for (int round = 0; round < 8 && ls.st != phase::closed; ++round) {
    for (size_t i = 0; i < k_batch; ++i) {
      iov[i] = {bufs_[i].data(), k_buf_size};
      msgs[i].msg_hdr = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = ::recvmmsg(ls.fd, msgs.data(), k_batch, MSG_DONTWAIT, nullptr);
    if (n <= 0) break;  // EAGAIN, or ECONNREFUSED from an ICMP error: nothing to read
    for (int i = 0; i < n && ls.st != phase::closed; ++i) {
      const uint32_t len = msgs[i].msg_len;
      std::span<const uint8_t> pkt(bufs_[i].data(), len);
      if (len > 0 && wire::is_data_op(wire::op_of(pkt[0]))) {
        buf_view v{bufs_[i].data(), len, 0, 0};
        auto res = ls.dk->open(*eng_, v, now / 1000);
        if (res.no_key || res.err != proto::dc_err::ok) {
          ++r_.rx_decrypt_failures;
          continue;
        }
        ls.s->note_data(len, 1);
        if (res.kind == proto::dc_kind::ip) {
          ++r_.rx_packets;
          r_.rx_bytes += v.len;
        } else if (res.kind == proto::dc_kind::ping) {
          ++r_.rx_pings;
        } else if (res.kind == proto::dc_kind::occ_exit) {
          close_session(ls, false, now);
        }
      } else if (ls.s->on_packet(pkt, now) != proto::session_drop::none) {
        ++r_.rx_control_drops;
      }
    }
    if (ls.st != phase::closed) drain(ls, now);
    if (static_cast<size_t>(n) < k_batch) break;
  }
}

// Control timers, keepalives (§9.2: the ping magic after `ping` seconds without sending) and
// handshake timeouts; also forgets closed sessions.
void pool::scan(uint64_t now) {
  size_t w = 0;
  for (uint32_t idx : live_) {
    lg_session& ls = sessions_[idx];
    if (ls.st != phase::closed && ls.s->next_wakeup_ms() <= now) {
      ls.s->tick(now);
      drain(ls, now);
    }
    if (ls.st == phase::handshaking && (now >= ls.deadline_ms || ls.s->failed())) close_session(ls, false, now);
    if (ls.st == phase::established) {
      if (ls.s->failed()) {
        close_session(ls, false, now);
      } else if (ls.dk->has_key() && now - ls.last_tx_ms >= ls.ping_ms) {
        seal_send(ls, wire::k_ping_magic, now);
      }
    }
    if (ls.st != phase::closed) live_[w++] = idx;
  }
  live_.resize(w);
  std::erase_if(senders_, [&](uint32_t i) { return sessions_[i].st != phase::established; });
}

// Seals up to `budget` inner packets for the next sender in turn and hands them to the kernel
// in one sendmmsg; returns how many the kernel took.
size_t pool::send_burst(size_t budget, uint64_t now) {
  if (senders_.empty() || budget == 0) return 0;
  lg_session& ls = sessions_[senders_[rr_++ % senders_.size()]];
  if (!ls.dk->has_key()) return 0;
  const size_t n = std::min(budget, k_batch);
  std::array<mmsghdr, k_batch> msgs{};
  std::array<iovec, k_batch> iov{};
  std::array<uint32_t, k_batch> inner{};
  size_t k = 0;
  for (; k < n; ++k) {
    const std::vector<uint8_t>& t = ls.tpl[pattern_[pat_pos_++ % pattern_.size()]];
    buf_view v{bufs_[k].data() + k_headroom, static_cast<uint32_t>(t.size()), k_headroom,
               static_cast<uint32_t>(k_buf_size - k_headroom - t.size())};
    std::memcpy(v.data, t.data(), t.size());
    if (ls.dk->seal(*eng_, v, ls.s->peer_id(), now / 1000) != proto::dc_err::ok) break;
    inner[k] = static_cast<uint32_t>(t.size());
    iov[k] = {v.data, v.len};
    msgs[k].msg_hdr.msg_iov = &iov[k];
    msgs[k].msg_hdr.msg_iovlen = 1;
  }
  if (k == 0) return 0;
  int sent = ::sendmmsg(ls.fd, msgs.data(), static_cast<unsigned>(k), MSG_DONTWAIT);
  if (sent < 0) sent = 0;
  r_.tx_dropped += k - static_cast<size_t>(sent);  // socket buffer full: sealed, not sent
  uint64_t outer = 0;
  for (int i = 0; i < sent; ++i) {
    r_.tx_bytes += inner[static_cast<size_t>(i)];
    outer += msgs[static_cast<size_t>(i)].msg_len;
  }
  r_.tx_packets += static_cast<uint64_t>(sent);
  ls.s->note_data(outer, static_cast<uint64_t>(sent));
  if (sent > 0) ls.last_tx_ms = now;
  return static_cast<size_t>(sent);
}

void pool::poll_once(int timeout_ms) {
  std::array<epoll_event, 256> evs{};
  const int n = ::epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), timeout_ms);
  const uint64_t now = wall_ms();
  for (int i = 0; i < n; ++i) {
    lg_session& ls = sessions_[evs[static_cast<size_t>(i)].data.u64];
    if (ls.st != phase::closed) on_readable(ls, now);
  }
}

bool pool::steady_pending() const {
  return std::any_of(live_.begin(), live_.end(), [&](uint32_t i) {
    return !sessions_[i].storm && sessions_[i].st == phase::handshaking;
  });
}
bool pool::storm_pending() const {
  return std::any_of(live_.begin(), live_.end(), [&](uint32_t i) {
    return sessions_[i].storm && sessions_[i].st == phase::handshaking;
  });
}

void pool::run(volatile std::sig_atomic_t* stop) {
  const uint32_t steady = o_.clients_given || o_.handshakes_per_sec <= 0 ? o_.clients : 0;
  uint64_t now = wall_ms(), next_scan = now;
  const uint64_t t0 = now;
  uint32_t started = 0;

  // Phase 1: the steady population, --stagger-ms apart, until each is up or has timed out.
  while (!*stop && (started < steady || steady_pending())) {
    if (started < steady && now >= t0 + uint64_t{started} * o_.stagger_ms) {
      open_session(false, now);
      ++started;
      continue;
    }
    poll_once(1);
    now = wall_ms();
    if (now >= next_scan) {
      scan(now);
      next_scan = now + k_scan_ms;
    }
  }
  std::string addrs;
  for (const std::string& a : r_.vpn_addresses) addrs += (addrs.empty() ? "" : ",") + a;
  std::fprintf(stderr, "dpvpn-loadgen: established %llu/%u sessions in %llu ms; vpn addresses: %s\n",
               static_cast<unsigned long long>(r_.established), steady,
               static_cast<unsigned long long>(wall_ms() - t0), addrs.c_str());

  // Phase 2: data (or, --reverse, only keepalives) and the storm, for --duration.
  const bool send = !o_.reverse;
  const double rate = o_.rate_pps;  // 0 = max
  const double burst_cap = std::max(64.0, rate / 100);
  double tokens = 0, last_refill = mono_s();
  const double d0 = mono_s();
  const double d_end = d0 + o_.duration_s;
  double next_storm = d0;
  for (double t = d0; !*stop && t < d_end; t = mono_s()) {
    now = wall_ms();
    int timeout = 1;
    if (o_.handshakes_per_sec > 0) {
      for (int k = 0; k < 16 && t >= next_storm; ++k) {
        open_session(true, now);
        next_storm += 1.0 / o_.handshakes_per_sec;
      }
      if (next_storm - mono_s() < 0.001) timeout = 0;
    }
    if (send && !senders_.empty()) {
      size_t budget = 256;  // per turn, so control packets keep being read at max rate
      if (rate > 0) {
        tokens = std::min(burst_cap, tokens + (t - last_refill) * rate);
        last_refill = t;
        budget = std::min(budget, static_cast<size_t>(tokens));
      }
      size_t sent = 0;
      while (sent < budget) {
        const size_t k = send_burst(budget - sent, now);
        if (k == 0) break;
        sent += k;
      }
      if (rate > 0) tokens -= static_cast<double>(sent);
      if (rate == 0 || tokens >= 1) timeout = 0;
    }
    poll_once(timeout);
    now = wall_ms();
    if (now >= next_scan) {
      scan(now);
      next_scan = now + k_scan_ms;
    }
  }
  r_.duration_s = mono_s() - d0;

  // Phase 3: packets in flight, and storm handshakes still under way (their 5 s limit).
  const uint64_t grace_end = wall_ms() + k_grace_ms;
  for (now = wall_ms(); !*stop && (now < grace_end || storm_pending()); now = wall_ms()) {
    poll_once(1);
    now = wall_ms();
    if (now >= next_scan) {
      scan(now);
      next_scan = now + k_scan_ms;
    }
  }

  // Phase 4: tell the server, so that it frees the sessions now rather than at ping-restart.
  now = wall_ms();
  for (uint32_t idx : live_) close_session(sessions_[idx], true, now);
  live_.clear();
  const uint64_t steady_est = r_.established - r_.storm_established;
  r_.ok = steady_est == steady && !r_.lost &&
          (r_.storm_attempted == 0 ||
           static_cast<double>(r_.storm_established) >= 0.95 * static_cast<double>(r_.storm_attempted));
}

}  // namespace

report run(const options& o, volatile std::sig_atomic_t* stop) {
  report r;
  pool p(o, r);
  p.init();
  p.run(stop);
  return r;
}

}  // namespace dpvpn::loadgen
