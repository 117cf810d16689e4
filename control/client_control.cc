// SPDX-License-Identifier: MIT
// The client role's control thread (client_control.h): the loop, the connection's life and the
// session's events. The tunnel's kernel side and the scripts are in client_tunnel.cc.
#include "client_control.h"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <csignal>
#include <cstring>

#include "dpvpn/data_keys.h"
#include "dpvpn/log_sink.h"
#include "status_report.h"

namespace dpvpn::cp {

namespace {

uint64_t wall_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

constexpr uint64_t k_handshake_silence_ms = 8000;

}  // namespace

client_control::client_control(const server_config& cfg, control_setup setup, dp::dp_shared& sh, int signal_fd,
                               std::string ifname, tunnel_ops ops)
    : cfg_(cfg),
      setup_(std::move(setup)),
      dp_(sh, control_log{cfg.verb}),
      log_{cfg.verb},
      signal_fd_(signal_fd),
      ifname_(std::move(ifname)),
      ops_(std::move(ops)),
      nb_(sh.cfg.wan_mac, sh.cfg.wan_v4 ? sh.cfg.local_ip : 0, sh.cfg.local_ip6),
      scripts_(cfg.tmp_dir),
      remotes_(cfg),
      peer_(dp_, cfg_, setup_.data),
      mgmt_(cfg_, control_log{cfg.verb}, [this] { return bytes(); }) {}

client_control::~client_control() = default;

void client_control::run() {
  log(1, "control thread up: client role, " + std::to_string(dp_.cfg().n_workers) + " worker lcore(s), WAN " +
             format_outer(net::outer_v4(dp_.cfg().local_ip, dp_.cfg().local_port)) + ", " +
             std::to_string(remotes_.size()) + " remote(s)");
  for (;;) {
    const uint64_t now = wall_ms();
    const bool work = step(now);
    if (phase_ == phase::stopping && now >= stop_at_ms_) break;
    if (!work) {
      pollfd pf{signal_fd_, POLLIN, 0};
      ::poll(&pf, 1, 1);
    }
  }
  if (phase_ != phase::idle && conn_.s) disconnect("exiting", wall_ms(), 0, false);
  mgmt_.state("EXITING", stop_signal_ == "sigint" ? "SIGINT" : "SIGTERM");
  mgmt_.write_status(wall_ms());
  // The down script of the last connection finishes before the workers go (openvpn waits too).
  for (int i = 0; i < 300 && scripts_.running(); ++i) {
    std::vector<script_result> done;
    scripts_.poll(wall_ms(), done);
    ::usleep(10000);
  }
  dp_.stop_workers();
}

bool client_control::step(uint64_t now) {
  dp_.publish_clock(now);
  bool work = dp_.poll_punt([&](const dp::mbuf_meta& mm, std::span<const uint8_t> pkt) { on_frame(mm, pkt, now); });
  dp_.poll_done([&](uint32_t id) { peer_.done(id); });
  for (auto& fn : polls_) work |= fn(now);
  work |= mgmt_.poll(now);
  poll_signals(now);
  std::vector<script_result> done;
  scripts_.poll(now, done);
  for (const script_result& r : done)
    if (!r.ok) log(1, "script failed: " + r.status);
  switch (phase_) {
    case phase::idle:  // management-hold: not before `hold release`
      if (now >= retry_at_ms_ && !mgmt_.holding()) begin_attempt(now);
      break;
    case phase::resolving:
      if (nb_.mac()) start_session(now);
      else if (now - attempt_ms_ > uint64_t{cfg_.server_poll_timeout_s} * 1000)
        disconnect("no ARP/ND answer from " + nb_.target_name(), now, remotes_.retry_delay_ms(), true);
      break;
    case phase::handshake:
      if (conn_.last_ctl_rx_ms == 0 && now - attempt_ms_ > uint64_t{cfg_.server_poll_timeout_s} * 1000)
        disconnect("server-poll-timeout: no answer from " + conn_.real_address(), now, remotes_.retry_delay_ms(), true);
      // A server that answered and then went quiet mid-handshake (it was exiting, or restarted and
      // lost our session): start over after k_handshake_silence_ms instead of waiting out
      // hand-window as openvpn does (docs/client.md). A live server ACKs within a second or two.
      else if (conn_.last_ctl_rx_ms != 0 && now - conn_.last_ctl_rx_ms > k_handshake_silence_ms)
        disconnect("the server stopped answering during the handshake", now, remotes_.retry_delay_ms(), false);
      break;
    default: break;
  }
  if (phase_ == phase::resolving || phase_ == phase::handshake || phase_ == phase::connected) {
    const std::vector<uint8_t> arp = nb_.due_request(now);
    if (!arp.empty()) dp_.send_raw(0, arp);
  }
  if (phase_ == phase::connected) follow_float();
  if (conn_.s && now >= conn_.s->next_wakeup_ms()) {
    conn_.s->tick(now);
    drain(now);
  }
  if (now >= next_housekeeping_ms_) {
    next_housekeeping_ms_ = now + 500;
    housekeeping(now);
  }
  return work;
}

void client_control::poll_signals(uint64_t now) {
  signalfd_siginfo si;
  while (::read(signal_fd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    switch (si.ssi_signo) {
      case SIGTERM:
      case SIGINT:
        if (phase_ == phase::stopping) break;
        stop_signal_ = si.ssi_signo == SIGTERM ? "sigterm" : "sigint";
        log(1, std::string("SIG") + (si.ssi_signo == SIGTERM ? "TERM" : "INT") + "[hard,] received, client-instance exiting");
        stop_at_ms_ = now;
        // explicit-exit-notify: EXIT on the control channel when the server speaks cc-exit (a 2.6
        // server pushes protocol-flags cc-exit); the frames leave before the workers stop.
        if (cfg_.explicit_exit_notify && conn_.s && conn_.s->established() && conn_.s->pushed().cc_exit) {
          conn_.s->send_text("EXIT", now);
          drain(now);
          stop_at_ms_ = now + 300;
          log(3, "explicit-exit-notify: EXIT sent to " + conn_.real_address());
        }
        phase_ = phase::stopping;
        break;
      case SIGHUP:
      case SIGUSR1:
        if (phase_ == phase::stopping) break;
        log(1, std::string(si.ssi_signo == SIGHUP ? "SIGHUP" : "SIGUSR1") + "[hard,] received, client-instance restarting");
        disconnect("restart requested by signal", now, 0, false);
        break;
      case SIGUSR2: print_counters("SIGUSR"); break;  // gwlib.sh ivg_snap_counters reads it
      default: break;
    }
  }
}

void client_control::begin_attempt(uint64_t now) {
  if (remotes_.empty()) return;
  if (!remotes_.take_attempt()) {
    log(1, "All connections have been connect-retry-max (" + std::to_string(cfg_.connect_retry_max_tries) +
               ") times unsuccessful, exiting");
    stop_signal_ = "sigterm";
    phase_ = phase::stopping;
    stop_at_ms_ = now;
    return;
  }
  const auto& r = remotes_.current();
  std::string err;
  const auto ip = resolve_remote(r.host, r.family, dp_.cfg().wan_v4, dp_.cfg().wan_v6, err);
  if (!ip) {
    log(1, "RESOLVE: " + err);
    remotes_.failed();
    remotes_.next();
    retry_at_ms_ = now + remotes_.retry_delay_ms();
    return;
  }
  const uint16_t port = r.port;  // the parser filled in rport / port / 1194
  conn_ = client{};
  conn_.addr = net::outer_v6(*ip, port);  // v4-mapped for an IPv4 server
  conn_.name = format_outer(conn_.addr);
  if (!peer_.begin(conn_)) {  // every index still in flight on the lcores: try again shortly
    retry_at_ms_ = now + 100;
    return;
  }
  attempt_ms_ = now;
  const bool v4 = net::is_v4_mapped(*ip);
  const bool via = v4 ? cfg_.dp_wan_gateway.has_value() : cfg_.dp_wan_gateway6.has_value();
  nb_.target(!via ? *ip : v4 ? net::v4_mapped(*cfg_.dp_wan_gateway) : *cfg_.dp_wan_gateway6, now);
  phase_ = phase::resolving;
  mgmt_.state("CONNECTING");
  log(1, "attempting to connect to " + conn_.name + (v4 ? " (UDP" : " (UDPv6") +
             (via ? ", via " + nb_.target_name() : std::string()) + ")");
}

void client_control::start_session(uint64_t now) {
  conn_.mac = *nb_.mac();
  // The server's address in the outer-address table from the start: its control frames take the
  // established ring and its data is found by address (dp_config::client_role).
  if (const int rc = peer_.publish(conn_); rc < 0) {
    disconnect("cannot add " + conn_.name + " to the address table: " + std::strerror(-rc), now, remotes_.retry_delay_ms(), false);
    return;
  }
  conn_.s = std::make_unique<proto::session>(setup_.session, now);
  conn_.s->start(now);
  phase_ = phase::handshake;
  mgmt_.state("WAIT");
  log(3, "UDP link remote: " + conn_.name + " (next hop " + nb_.target_name() + " resolved)");
  drain(now);
}

void client_control::on_frame(const dp::mbuf_meta& mm, std::span<const uint8_t> pkt, uint64_t now) {
  if (mm.dir == dp::pkt_dir::wan_l2) {
    if (nb_.on_frame(pkt, now)) log(4, "WAN next hop " + nb_.target_name() + " resolved");
    return;
  }
  if (!conn_.s || !net::same_outer(mm.src, conn_.addr)) return;  // not our server: ignored
  peer_.saw_frame(conn_, mm.from_worker);
  if (conn_.last_ctl_rx_ms == 0) mgmt_.state("AUTH");  // the server answered: the TLS handshake
  conn_.last_ctl_rx_ms = now;
  conn_.s->on_packet(pkt, now);
  drain(now);
}

void client_control::drain(uint64_t now) {
  if (!conn_.s) return;
  std::vector<uint8_t> out;
  while (conn_.s && conn_.s->pop_packet(out)) dp_.send_frame(conn_.owner, conn_.addr, conn_.mac, out);
  proto::session_event ev;
  while (conn_.s && conn_.s->pop_event(ev)) on_event(ev, now);
}

void client_control::on_event(const proto::session_event& ev, uint64_t now) {
  using proto::session_event_type;
  switch (ev.type) {
    case session_event_type::key_ready:
      // The keys are there before the PUSH_REPLY: the PUSH_REQUEST goes out (openvpn's GET_CONFIG).
      if (!conn_.dp.installed && !peer_.holds_keys()) mgmt_.state("GET_CONFIG");
      log(4, "data key ready, key_id " + std::to_string(ev.key_id));
      [[fallthrough]];
    case session_event_type::key_confirmed:
    case session_event_type::key_retired:
      if (const std::string why = peer_.on_key_event(conn_, ev); !why.empty())
        disconnect(why, now, ev.type == session_event_type::key_retired ? 0 : remotes_.retry_delay_ms(), false);
      break;
    case session_event_type::established: on_established(now); break;
    case session_event_type::restart_received:
      // RESTART,[N]: the server asks for the next remote (openvpn's "server-pushed-connection-reset").
      log(1, "SIGUSR1[soft,server-pushed-connection-reset] received, client-instance restarting");
      disconnect("server-pushed-connection-reset", now, 1000 * uint64_t{cfg_.connect_retry_s},
                 ev.text.find("[N]") != std::string::npos);
      break;
    case session_event_type::exit_received:
      log(1, "SIGUSR1[soft,server-pushed-exit] received, client-instance restarting");
      disconnect("server sent EXIT", now, 1000 * uint64_t{cfg_.connect_retry_s}, true);
      break;
    case session_event_type::auth_failed:
      log(1, "AUTH: Received control message: " + ev.text);
      if (cfg_.auth_retry_nointeract) {  // auth-retry nointeract: try again with the same credentials
        log(1, "SIGUSR1[soft,auth-failure] received, client-instance restarting");
        disconnect("auth-failure", now, remotes_.retry_delay_ms(), false);
        break;
      }
      // auth-retry none (openvpn's default): the client gives up.
      log(1, "SIGTERM[soft,auth-failure] received, process exiting");
      disconnect("auth-failure", now, 0, false);
      stop_signal_ = "sigterm";
      phase_ = phase::stopping;
      stop_at_ms_ = now;
      break;
    case session_event_type::failed:
      disconnect(ev.text, now, remotes_.retry_delay_ms(), !conn_.s || !conn_.s->established());
      break;
    case session_event_type::control_message: log(3, "control message from the server: '" + ev.text + "'"); break;
    default: break;
  }
}

void client_control::on_established(uint64_t now) {
  if (conn_.dp.installed) return;  // a PUSH_REPLY again (a renegotiation): the first one's settings stay
  std::string reject;
  tun_ = settings_from_push(conn_.s->pushed(), cfg_, reject);
  if (!reject.empty()) {
    log(1, "Pushed option rejected by filter: '" + reject + "'. Restarting.");
    disconnect("pull-filter reject", now, remotes_.retry_delay_ms(), false);
    return;
  }
  for (const std::string& i : tun_.ignored) log(3, "pushed option not applied: " + i);
  // The config's own `route` / `route-ipv6` lines go into the tunnel too (after the pushed ones).
  for (const route4& r : cfg_.routes)
    tun_.routes.push_back({r.network & r.netmask, static_cast<uint8_t>(std::popcount(r.netmask)), r.netmask, std::nullopt});
  for (const ipv6_net& r : cfg_.routes_v6) tun_.routes6.push_back(r);
  if (std::string why; !peer_.install(conn_, why)) {
    disconnect(why, now, remotes_.retry_delay_ms(), false);
    return;
  }
  const std::string vpn_ip = tun_.local ? format_ipv4(tun_.local) : std::string();
  mgmt_.state("ASSIGN_IP", "," + vpn_ip);
  mgmt_.state("ADD_ROUTES");
  apply_tunnel(now);
  if (!conn_.s) return;  // the tunnel could not be configured (disconnected)
  phase_ = phase::connected;
  remotes_.connected();
  ++connects_;
  const auto& p = conn_.s->pushed();
  ping_restart_s_ = p.ping_restart ? static_cast<unsigned>(p.ping_restart) : cfg_.ping_restart;
  log(1, "connected to " + conn_.name + ", VPN address " + (tun_.local ? format_ipv4(tun_.local) : std::string("none")) +
             ", cipher " + crypto::name(conn_.s->cipher()) + (conn_.s->ekm() ? ", tls-ekm" : ", PRF") +
             (p.peer_id ? ", peer-id " + std::to_string(*p.peer_id) : std::string(", DATA_V1")));
  log(1, "Initialization Sequence Completed");
  // CONNECTED,SUCCESS,vpn ip,remote ip,remote port,local addr,local port,vpn ipv6 (openvpn's order).
  const dp::dp_config& dc = dp_.cfg();
  const bool v4 = net::is_v4_mapped(conn_.addr.ip);
  const std::string rip = v4 ? format_ipv4(net::v4_of(conn_.addr.ip)) : format_ipv6(conn_.addr.ip);
  const std::string lip = v4 ? format_ipv4(dc.local_ip) : format_ipv6(dc.local_ip6);
  mgmt_.state("CONNECTED", "SUCCESS," + vpn_ip + "," + rip + "," + std::to_string(conn_.addr.port) + "," + lip + "," +
                               std::to_string(dc.local_port) + "," + (tun_.local6 ? format_ipv6(tun_.local6->addr) : ""));
}

// `float`: the server moved (client_peer::follow_float); its log line.
void client_control::follow_float() {
  if (const auto old = peer_.follow_float(conn_)) log(1, "the server floated: " + format_outer(*old) + " -> " + conn_.name);
}

void client_control::disconnect(const std::string& why, uint64_t now, uint64_t delay_ms, bool next_remote) {
  if (phase_ == phase::idle && !conn_.s) return;
  if (phase_ != phase::connected) remotes_.failed();
  ++disconnects_;
  log(1, "connection to " + conn_.name + " closed: " + why);
  if (tun_applied_) remove_tunnel(now);
  peer_.teardown(conn_, phase_ == phase::handshake);
  conn_.s.reset();
  if (next_remote) remotes_.next();
  if (phase_ != phase::stopping) {
    phase_ = phase::idle;
    std::string reason = why;  // one field of the >STATE line
    std::replace(reason.begin(), reason.end(), ',', ';');
    mgmt_.state("RECONNECTING", reason);
  }
  retry_at_ms_ = now + delay_ms;
}

// ping-restart: nothing from the server for that long (pushed, else the config's).
void client_control::housekeeping(uint64_t now) {
  dp_.retry_pending();
  if (phase_ != phase::connected || !conn_.dp.peer || ping_restart_s_ == 0) return;
  const uint64_t last = conn_.dp.peer->last_rx_s.load(std::memory_order_relaxed);
  if (now / 1000 > last + ping_restart_s_) {
    log(1, "[" + conn_.name + "] Inactivity timeout (--ping-restart), restarting");
    log(1, "SIGUSR1[soft,ping-restart] received, client-instance restarting");
    disconnect("ping-restart", now, 1000 * uint64_t{cfg_.connect_retry_s}, true);
  }
}

// openvpn's client counts: tunnel bytes from the server's peer (this connection's); link bytes from
// the WAN counters less the Ethernet, IP and UDP headers (the WAN carries only this tunnel).
client_bytes client_control::bytes() const {
  client_bytes b;
  if (const dp::dp_peer* p = conn_.dp.peer) {
    b.tun_read = p->tx_bytes.load(std::memory_order_relaxed);
    b.tun_write = p->rx_bytes.load(std::memory_order_relaxed);
  }
  const dp::dp_shared& sh = dp_.shared();
  const uint64_t hdr = 14 + (sh.cfg.wan_v4 ? 20 : 40) + 8;
  for (uint16_t i = 0; i < sh.cfg.n_workers; ++i) {
    const dp::lcore_counters& k = sh.lcores[i]->ctr;
    const uint64_t rp = k.wan_rx_pkts.load(), rb = k.wan_rx_bytes.load(), tp = k.wan_tx_pkts.load(), tb = k.wan_tx_bytes.load();
    b.link_read += rb > rp * hdr ? rb - rp * hdr : 0;
    b.link_write += tb > tp * hdr ? tb - tp * hdr : 0;
  }
  return b;
}

// The same counters print as the server's (the workers' counters and drops), with the client's
// own line among the services.
void client_control::print_counters(const char* why) const {
  control_counters cc;
  cc.clients = conn_.dp.installed ? 1 : 0;
  cc.ctl_tx_dropped = dp_.ctl_tx_dropped();
  cc.services.push_back("client: connects " + std::to_string(connects_) + ", disconnects " + std::to_string(disconnects_) +
                        ", WAN ARP requests " + std::to_string(nb_.requests()) + ", server " +
                        (conn_.s ? conn_.name : std::string("none")));
  log_text(log_prio::notice, format_counters(why, dp_.shared(), cc));
}

}  // namespace dpvpn::cp
