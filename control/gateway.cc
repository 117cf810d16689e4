// SPDX-License-Identifier: MIT
// gateway_control: the control thread's loop — punted frames, done ring, signals, counters.
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "gateway.h"
#include "client.h"

namespace dpvpn::cp {

namespace {
uint64_t wall_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}
}  // namespace

void gateway_control::log(int level, const std::string& msg) const { control_log{cfg_.verb}(level, msg); }

gateway_control::gateway_control(const server_config& cfg, control_setup setup, dp::dp_shared& sh, int signal_fd)
    : cfg_(cfg),
      setup_(std::move(setup)),
      dp_(sh, control_log{cfg.verb}),
      signal_fd_(signal_fd),
      front_(setup_.session, cfg_),
      table_(cfg.max_clients, sh.cfg.max_peers, [](const client& c) { return c.s->next_wakeup_ms(); }, control_log{cfg.verb}),
      status_(cfg_, control_log{cfg.verb}),
      addr_(cfg_, setup_.server_vpn_ip, setup_.netmask, setup_.push, dp_, control_log{cfg.verb}),
      scripts_(cfg_, control_log{cfg.verb}, [this](client& c, uint64_t now) { auth_.on_learned(c, now); }),
      auth_(cfg_, setup_, table_, addr_, scripts_, *this, control_log{cfg.verb}) {
}

gateway_control::~gateway_control() { log_tap().tap = nullptr; }

void gateway_control::poll_signals(uint64_t now_ms) {
  signalfd_siginfo si;
  while (::read(signal_fd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    switch (si.ssi_signo) {
      case SIGTERM:
      case SIGINT:
        if (!stopping_) {
          log(1, std::string("SIG") + (si.ssi_signo == SIGTERM ? "TERM" : "INT") +
                     " received, notifying " + std::to_string(table_.size()) + " client(s) and exiting");
          stopping_ = true;
          stop_signal_ = si.ssi_signo == SIGTERM ? "sigterm" : "sigint";  // openvpn's signal_description
          for (auto& [k, c] : table_.all()) notify_exit(*c, now_ms);
          stop_at_ms_ = now_ms + (table_.all().empty() ? 0 : 1500);
        }
        break;
      case SIGHUP:
        log(1, "SIGHUP received: reloading the config (connected clients stay)");
        reload(now_ms);  // gateway_reload.cc
        break;
      case SIGUSR1: print_counters("SIGUSR"); break;
      case SIGUSR2:  // openvpn writes its status to the log; dpvpn its counters, then the status
        print_counters("SIGUSR");
        log_text(log_prio::notice, format_status(1, wall_ms() / 1000, status_entries(table_.all())));
        break;
      default: break;
    }
  }
}

// A packet from an address with no (live) session, or a new client session id from a known address
// (§B.2: the client restarted). server_front answers resets statelessly; a session is created only
// when the client echoes our cookie. `old` (if any) is torn down and erased then, so the caller must
// not touch `old` after this call: it uses the returned client (the new one, or null).
client* gateway_control::first_contact(const dp::mbuf_meta& mm, std::span<const uint8_t> pkt,
                                                         uint64_t now_ms, client* old) {
  // The cookie's address bytes (§4.2): the 16 address bytes (IPv4 v4-mapped) and the port.
  uint8_t addr[18];
  std::memcpy(addr, mm.src.ip.data(), 16);
  wire::put_u16(addr + 16, mm.src.port);
  // server_front's answer, within connect-freq-initial (front_door counts what it drops).
  auto r = front_.on_packet(pkt, addr, now_ms);
  if (r.v == proto::server_front::verdict::reply) {
    dp_.send_frame(mm.from_worker, mm.src, mm.src_mac, r.reply);
    return nullptr;
  }
  if (r.v == proto::server_front::verdict::drop) return nullptr;
  if (mgmt_.holding()) return nullptr;  // management-hold: no client before `hold release`
  if (!addr_.admit_new_session(mm.src, now_ms)) return nullptr;  // connect-freq
  if (old) {
    teardown(*old, "client restarted (new session from the same address)");
    table_.erase(mm.src);
  }
  if (!table_.admit_half_open(mm.src)) return nullptr;
  client* c = create_client(mm.src, mm.src_mac, mm.from_worker, now_ms);
  if (c) table_.start_half_open(*c, mm.src.ip);
  if (c && r.v == proto::server_front::verdict::accept)
    c->s->accept_cookie(r.ours, r.theirs, r.has_kc ? &r.kc : nullptr, now_ms);
  return c;
}

void gateway_control::on_frame(const dp::mbuf_meta& mm, std::span<const uint8_t> pkt, uint64_t now_ms) {
  client* c = table_.find(mm.src);
  if (c && c->dead) {
    table_.erase(mm.src);
    c = nullptr;
  }
  proto::session_drop d = proto::session_drop::none;
  if (c) {
    d = c->s->on_packet(pkt, now_ms);
    if (d == proto::session_drop::wrong_session && !stopping_) {
      // A restarted client: first_contact may free c. The old session ignored this packet, so
      // there is nothing to drain for it; only the new client (if any) goes on.
      c = first_contact(mm, pkt, now_ms, c);
      if (c) d = c->s->on_packet(pkt, now_ms);
    }
  } else if (!stopping_) {
    c = first_contact(mm, pkt, now_ms, nullptr);
    if (c) d = c->s->on_packet(pkt, now_ms);
  }
  if (c) {
    if (d == proto::session_drop::none) c->last_ctl_rx_ms = now_ms;
    else log(5, c->name + ": control packet dropped: " + to_string(d));
    drain(*c, now_ms);
  }
}

void gateway_control::print_counters(const char* why) const {
  control_counters cc;
  cc.clients = table_.size();
  cc.front_dropped = front_.front_dropped();
  cc.refused = table_.refused();
  cc.connect_freq_refused = addr_.connect_freq_refused();
  cc.first_reply_dropped = front_.first_reply_dropped();
  cc.ctl_tx_dropped = dp_.ctl_tx_dropped();
  cc.log_held_back = table_.log_held_back() + ctl_msg_log_.suppressed_total();
  cc.half_open_refused = table_.half_open_refused();
  for (const service& sv : services_) cc.services.push_back(sv.counters());
  if (const mgmt::server* m = mgmt_.server()) cc.services.push_back(m->counters_line());
  log_text(log_prio::notice, format_counters(why, dp_.shared(), cc));
}

void gateway_control::run() {
  std::string on;
  if (dp_.cfg().wan_v4) on = format_outer(net::outer_v4(dp_.cfg().local_ip, dp_.cfg().local_port));
  if (dp_.cfg().wan_v6) on += (on.empty() ? "" : " and ") + format_outer(net::outer_v6(dp_.cfg().local_ip6, dp_.cfg().local_port));
  log(1, "control thread up: " + std::to_string(dp_.cfg().n_workers) + " worker lcore(s), listening on " + on);
  if (mgmt::server* m = mgmt_.server()) {  // openvpn's server state once initialised: CONNECTED,SUCCESS with its tunnel address
    m->state_change(wall_ms() / 1000, "CONNECTED,SUCCESS," +
                                          (setup_.server_vpn_ip ? format_ipv4(setup_.server_vpn_ip) : std::string()) + ",,,,,");
    if (mgmt_.holding()) m->notify(">HOLD:Waiting for hold release:0");
  }
  for (;;) {
    const uint64_t now = wall_ms();
    const pass p = step(now);
    if (p.stopped) break;
    if (!p.work) {
      pollfd pf{signal_fd_, POLLIN, 0};
      const uint64_t t = p.wake_ms > now ? std::min<uint64_t>(p.wake_ms - now, 1) : 0;
      ::poll(&pf, 1, static_cast<int>(t));
    }
  }
}

gateway_control::pass gateway_control::step(uint64_t now) {
  pass p;
  dp_.publish_clock(now);
  p.work = dp_.poll_punt([&](const dp::mbuf_meta& mm, std::span<const uint8_t> pkt) { on_frame(mm, pkt, now); });
  for (service& sv : services_) p.work |= sv.poll(now);
  p.work |= mgmt_poll(now);
  dp_.poll_done([&](uint32_t id) { table_.free_peer_id(id); });
  poll_signals(now);
  scripts_.poll(now, [&](const net::outer_addr& who, const script_result& r) { auth_.on_script_result(who, r, now); });
  run_due_timers(now);
  p.wake_ms = std::min(now + 50, table_.next_wakeup());
  if (now >= next_housekeeping_ms_) {
    housekeeping(now);
    next_housekeeping_ms_ = now + 500;
  }
  if (status_.counters_due(now)) print_counters("periodic");
  status_.poll(now, table_.all());
  if (stopping_ && now >= stop_at_ms_) {
    addr_.persist(now, true);  // ifconfig-pool-persist: written at exit too
    scripts_.flush(table_.all(), now);         // learn-address: openvpn's exit reaps every learned address
    status_.write(now, table_.all());
    dp_.stop_workers();
    p.stopped = true;
  }
  return p;
}

}  // namespace dpvpn::cp
