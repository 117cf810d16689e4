// SPDX-License-Identifier: MIT
// dpvpn-loadgen's session pool: many client-role sessions over one packet_io (kernel UDP sockets
// or a DPDK port), one thread. Phases: connect the steady population, then --duration of data
// (and of the reconnect storm), a grace period for packets in flight, then EXIT to the server
// for every live session. run() below is the kernel-socket data loop; --dpdk has its own
// (loadgen_dpdk.cc) around the same pool.
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "dpvpn/static_key.h"
#include "dpvpn/tls_engine.h"
#include "loadgen.h"

namespace dpvpn::loadgen {

uint64_t wall_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}
double mono_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void die(const std::string& m) {
  std::fprintf(stderr, "dpvpn-loadgen: %s\n", m.c_str());
  std::exit(2);
}

namespace {

using proto::session_event_type;

inline constexpr size_t k_batch = 32;  // send_many batch
inline constexpr size_t k_buf_size = 9216 + 256;
inline constexpr uint32_t k_headroom = 160;  // covers the DATA_V2 header (buf.h k_min_headroom)

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

}  // namespace

enum class phase : uint8_t { handshaking, established, closed };

struct session_pool::lg_session {
  uint32_t tag = 0;
  bool storm = false;
  phase st = phase::handshaking;
  double start_s = 0;
  uint64_t deadline_ms = 0;
  uint64_t last_tx_ms = 0;
  uint32_t ping_ms = 10000;
  uint16_t sport = 0;
  uint32_t vpn_ip = 0;
  std::unique_ptr<proto::session> s;
  std::unique_ptr<proto::data_keys> dk;
  std::vector<std::vector<uint8_t>> tpl;  // one inner packet per distinct size
};

session_pool::session_pool(const options& o, report& r, packet_io& io)
    : o_(o), r_(r), io_(io), eng_(crypto::engine::create()), scratch_(k_buf_size) {
  if (!eng_) die("cannot initialise the crypto engine");
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

  std::vector<uint32_t> pat;
  size_t start = 0;  // --dpdk takes a comma list of sizes: the pool builds every one
  while (start <= o_.size.size()) {
    const size_t comma = std::min(o_.size.find(',', start), o_.size.size());
    for (uint32_t s : size_pattern(o_.size.substr(start, comma - start), &err)) pat.push_back(s);
    start = comma + 1;
  }
  if (pat.empty()) die(err);
  for (uint32_t s : pat) {
    auto it = std::find(sizes_.begin(), sizes_.end(), s);
    if (it == sizes_.end()) it = sizes_.insert(sizes_.end(), s);
    pattern_.push_back(static_cast<uint8_t>(it - sizes_.begin()));
  }
  burst_bufs_.assign(k_batch, std::vector<uint8_t>(k_buf_size));
}

session_pool::~session_pool() {
  for (auto& ls : sessions_)
    if (ls->st != phase::closed) io_.close(ls->tag);
}

// Out of line: GCC 12 inlines the default data_ciphers list into its caller and warns falsely there.
[[gnu::noinline]] proto::session_config session_pool::make_config() const {
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

void session_pool::open_session(bool storm, uint64_t now) {
  const uint32_t tag = static_cast<uint32_t>(sessions_.size());
  lg_session& ls = *sessions_.emplace_back(std::make_unique<lg_session>());
  ls.tag = tag;
  ls.storm = storm;
  ls.start_s = mono_s();
  ls.deadline_ms = now + (storm ? k_handshake_timeout_ms : k_steady_timeout_ms);
  ++r_.attempted;
  if (storm) ++r_.storm_attempted;
  io_.open(tag);
  ls.sport = io_.local_port(tag);
  ls.s = std::make_unique<proto::session>(cfg_, now);
  ls.dk = std::make_unique<proto::data_keys>(false, proto::data_key_params{});
  ls.s->start(now);
  live_.push_back(tag);
  drain(ls, now);
}

void session_pool::open_storm(uint64_t now_ms) { open_session(true, now_ms); }

// EXIT as the stock client's explicit-exit-notify does it (§9.3): a cc-exit control message
// when the server announced cc-exit, else the OCC exit message on the data channel.
void session_pool::close_session(lg_session& ls, bool say_exit, uint64_t now) {
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
  if (ls.st == phase::established && !ls.storm) ++live_gen_;
  ls.st = phase::closed;
  io_.close(ls.tag);
  ls.s.reset();
  // A steady session's keys stay until the pool goes: a data loop of its own (--dpdk) may hold
  // them until it sees live_generation() change. Storm sessions come and go by the thousand.
  if (ls.storm) ls.dk.reset();
  ls.tpl.clear();
}

void session_pool::drain(lg_session& ls, uint64_t now) {
  std::vector<uint8_t> out;
  while (ls.s && ls.s->pop_packet(out)) {
    io_.send(ls.tag, out);
    ls.last_tx_ms = now;
  }
  proto::session_event ev;
  while (ls.s && ls.st != phase::closed && ls.s->pop_event(ev)) on_event(ls, ev, now);
}

void session_pool::seal_send(lg_session& ls, std::span<const uint8_t> payload, uint64_t now) {
  if (!ls.dk->has_key()) return;
  buf_view v{scratch_.data() + k_headroom, static_cast<uint32_t>(payload.size()), k_headroom,
             static_cast<uint32_t>(k_buf_size - k_headroom - payload.size())};
  std::memcpy(v.data, payload.data(), payload.size());
  if (ls.dk->seal(*eng_, v, ls.s->peer_id(), now / 1000) != proto::dc_err::ok) return;
  ls.s->note_data(v.len, 1);
  io_.send(ls.tag, {v.data, v.len});
  ls.last_tx_ms = now;
}

void session_pool::on_event(lg_session& ls, const proto::session_event& ev, uint64_t now) {
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

void session_pool::on_established(lg_session& ls, uint64_t now) {
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
  ls.vpn_ip = local;
  if (local == 0) return;  // nothing pushed: this session cannot source inner packets
  uint32_t dst = o_.target;
  for (const std::string& line : po.unknown)
    if (dst == 0 && line.rfind("route-gateway ", 0) == 0) dst = parse_ip(line.substr(14));
  if (dst == 0) {
    const uint32_t mask = parse_ip(po.ifconfig_remote_or_mask);
    dst = (mask >> 24) == 255 ? ((local & mask) | 1) : mask;  // subnet: x.y.z.1; p2p: the peer
  }
  for (uint32_t sz : sizes_) ls.tpl.push_back(build_udp4(local, dst, ls.sport, o_.target_port, sz));
  senders_.push_back(ls.tag);
  ++live_gen_;
}

bool session_pool::open_data(uint32_t tag, buf_view& v, uint64_t now, proto::dc_kind& kind) {
  if (tag >= sessions_.size()) return false;
  lg_session& ls = *sessions_[tag];
  if (ls.st == phase::closed) return false;
  const uint32_t len = v.len;
  auto res = ls.dk->open(*eng_, v, now / 1000);
  if (res.no_key || res.err != proto::dc_err::ok) {
    ++r_.rx_decrypt_failures;
    return false;
  }
  ls.s->note_data(len, 1);
  kind = res.kind;
  if (res.kind == proto::dc_kind::ping) ++r_.rx_pings;
  else if (res.kind == proto::dc_kind::occ_exit) close_session(ls, false, now);
  return true;
}

void session_pool::on_rx(uint32_t tag, buf_view& v) {
  if (tag >= sessions_.size() || v.len == 0) return;
  lg_session& ls = *sessions_[tag];
  if (ls.st == phase::closed) return;
  const uint64_t now = now_ms_;
  if (wire::is_data_op(wire::op_of(v.data[0]))) {
    proto::dc_kind kind{};
    if (open_data(tag, v, now, kind) && kind == proto::dc_kind::ip) {
      ++r_.rx_packets;
      r_.rx_bytes += v.len;
    }
    return;
  }
  if (ls.s->on_packet({v.data, v.len}, now) != proto::session_drop::none) ++r_.rx_control_drops;
  if (ls.st != phase::closed) drain(ls, now);
}

// Control timers, keepalives (§9.2: the ping magic after `ping` seconds without sending) and
// handshake timeouts; also forgets closed sessions.
void session_pool::scan(uint64_t now) {
  now_ms_ = now;
  size_t w = 0;
  for (uint32_t tag : live_) {
    lg_session& ls = *sessions_[tag];
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
    if (ls.st != phase::closed) live_[w++] = tag;
  }
  live_.resize(w);
  std::erase_if(senders_, [&](uint32_t t) { return sessions_[t]->st != phase::established; });
}

std::vector<live_session> session_pool::live() const {
  std::vector<live_session> out;
  for (uint32_t t : senders_) {
    const lg_session& ls = *sessions_[t];
    if (ls.st == phase::established) out.push_back({t, ls.dk.get(), ls.s->peer_id(), ls.vpn_ip, ls.sport});
  }
  return out;
}

void session_pool::note_tx(uint32_t tag, uint64_t bytes, uint64_t pkts, uint64_t now_ms) {
  lg_session& ls = *sessions_[tag];
  if (ls.st == phase::closed) return;
  ls.s->note_data(bytes, pkts);
  ls.last_tx_ms = now_ms;
}

// Seals up to `budget` inner packets for the next sender in turn and hands them to the io in
// one batch; returns how many it took.
size_t session_pool::send_burst(size_t budget, uint64_t now) {
  if (senders_.empty() || budget == 0) return 0;
  lg_session& ls = *sessions_[senders_[rr_++ % senders_.size()]];
  if (ls.st != phase::established || !ls.dk->has_key()) return 0;  // closed since the last scan
  const size_t n = std::min(budget, k_batch);
  std::array<std::span<const uint8_t>, k_batch> out{};
  std::array<uint32_t, k_batch> inner{};
  size_t k = 0;
  for (; k < n; ++k) {
    const std::vector<uint8_t>& t = ls.tpl[pattern_[pat_pos_++ % pattern_.size()]];
    buf_view v{burst_bufs_[k].data() + k_headroom, static_cast<uint32_t>(t.size()), k_headroom,
               static_cast<uint32_t>(k_buf_size - k_headroom - t.size())};
    std::memcpy(v.data, t.data(), t.size());
    if (ls.dk->seal(*eng_, v, ls.s->peer_id(), now / 1000) != proto::dc_err::ok) break;
    inner[k] = static_cast<uint32_t>(t.size());
    out[k] = {v.data, v.len};
  }
  if (k == 0) return 0;
  const size_t sent = io_.send_many(ls.tag, out.data(), k);
  r_.tx_dropped += k - sent;  // socket buffer full: sealed, not sent
  uint64_t outer = 0;
  for (size_t i = 0; i < sent; ++i) {
    r_.tx_bytes += inner[i];
    outer += out[i].size();
  }
  r_.tx_packets += sent;
  ls.s->note_data(outer, sent);
  if (sent > 0) ls.last_tx_ms = now;
  return sent;
}

void session_pool::turn(int timeout_ms) {
  now_ms_ = wall_ms();
  io_.poll(timeout_ms, *this);
  now_ms_ = wall_ms();
  if (now_ms_ >= next_scan_) {
    scan(now_ms_);
    next_scan_ = now_ms_ + k_scan_ms;
  }
}

bool session_pool::steady_pending() const {
  return std::any_of(live_.begin(), live_.end(), [&](uint32_t t) {
    return !sessions_[t]->storm && sessions_[t]->st == phase::handshaking;
  });
}
bool session_pool::storm_pending() const {
  return std::any_of(live_.begin(), live_.end(), [&](uint32_t t) {
    return sessions_[t]->storm && sessions_[t]->st == phase::handshaking;
  });
}

void session_pool::connect(volatile std::sig_atomic_t* stop) {
  steady_ = o_.clients_given || o_.handshakes_per_sec <= 0 ? o_.clients : 0;
  uint64_t now = wall_ms();
  const uint64_t t0 = now;
  next_scan_ = now;
  uint32_t started = 0;
  while (!*stop && (started < steady_ || steady_pending())) {
    if (started < steady_ && now >= t0 + uint64_t{started} * o_.stagger_ms) {
      now_ms_ = now;
      open_session(false, now);
      ++started;
      continue;
    }
    turn(1);
    now = now_ms_;
  }
  std::string addrs;
  for (const std::string& a : r_.vpn_addresses) addrs += (addrs.empty() ? "" : ",") + a;
  std::fprintf(stderr, "dpvpn-loadgen: established %llu/%u sessions in %llu ms; vpn addresses: %s\n",
               static_cast<unsigned long long>(r_.established), steady_,
               static_cast<unsigned long long>(wall_ms() - t0), addrs.c_str());
}

void session_pool::finish() {
  const uint64_t now = wall_ms();
  now_ms_ = now;
  for (uint32_t tag : live_) close_session(*sessions_[tag], true, now);
  live_.clear();
  const uint64_t steady_est = r_.established - r_.storm_established;
  r_.ok = steady_est == steady_ && !r_.lost &&
          (r_.storm_attempted == 0 ||
           static_cast<double>(r_.storm_established) >= 0.95 * static_cast<double>(r_.storm_attempted));
}

report run(const options& o, volatile std::sig_atomic_t* stop) {
  report r;
  std::unique_ptr<packet_io> io = make_udp_io(o);
  session_pool p(o, r, *io);
  p.connect(stop);

  // Phase 2: data (or, --reverse, only keepalives) and the storm, for --duration.
  const bool send = !o.reverse;
  const double rate = o.rate_pps;  // 0 = max
  const double burst_cap = std::max(64.0, rate / 100);
  double tokens = 0, last_refill = mono_s();
  const double d0 = mono_s();
  const double d_end = d0 + o.duration_s;
  double next_storm = d0;
  for (double t = d0; !*stop && t < d_end; t = mono_s()) {
    const uint64_t now = wall_ms();
    int timeout = 1;
    if (o.handshakes_per_sec > 0) {
      for (int k = 0; k < 16 && t >= next_storm; ++k) {
        p.open_storm(now);
        next_storm += 1.0 / o.handshakes_per_sec;
      }
      if (next_storm - mono_s() < 0.001) timeout = 0;
    }
    if (send && p.has_senders()) {
      size_t budget = 256;  // per turn, so control packets keep being read at max rate
      if (rate > 0) {
        tokens = std::min(burst_cap, tokens + (t - last_refill) * rate);
        last_refill = t;
        budget = std::min(budget, static_cast<size_t>(tokens));
      }
      size_t sent = 0;
      while (sent < budget) {
        const size_t k = p.send_burst(budget - sent, now);
        if (k == 0) break;
        sent += k;
      }
      if (rate > 0) tokens -= static_cast<double>(sent);
      if (rate == 0 || tokens >= 1) timeout = 0;
    }
    p.turn(timeout);
  }
  r.duration_s = mono_s() - d0;

  // Phase 3: packets in flight, and storm handshakes still under way (their 5 s limit).
  const uint64_t grace_end = wall_ms() + k_grace_ms;
  for (uint64_t now = wall_ms(); !*stop && (now < grace_end || p.storm_pending()); now = wall_ms()) p.turn(1);

  // Phase 4: tell the server, so that it frees the sessions now rather than at ping-restart.
  p.finish();
  return r;
}

}  // namespace dpvpn::loadgen
