// SPDX-License-Identifier: MIT
// gateway_control: client lifecycle — create, session events, key install by message to the
// owner lcore, liveness, teardown, address pool.
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "gateway.h"
#include "client.h"

namespace dpvpn::cp {

client* gateway_control::create_client(const net::outer_addr& addr, const net::mac& mac,
                                                         uint16_t owner, uint64_t now_ms) {
  client* raw = table_.create(addr, mac, owner, now_ms);  // refused at max-clients
  if (!raw) return nullptr;
  proto::session_config sc = setup_.session;
  sc.peer_id = raw->peer_id;
  raw->s = std::make_unique<proto::session>(sc, now_ms);
  log(4, raw->name + ": new session, peer-id " + std::to_string(raw->peer_id) + ", owner lcore " +
             std::to_string(dp_.lcore_id(owner)));
  return raw;
}

void gateway_control::drain(client& c, uint64_t now_ms) {
  // Events first: a key_ready puts the new key on the owner lcore's cmd ring before the packet
  // that lets the peer use it (our key-method-2 reply) goes on its ctl_tx ring, and the lcore
  // applies commands before it sends control frames. The other order lost the peer's first
  // packets under the new key at every renegotiation (no_key drops).
  proto::session_event ev;
  while (c.s->pop_event(ev)) on_event(c, ev, now_ms);
  std::vector<uint8_t> out;
  while (c.s->pop_packet(out)) dp_.send_frame(c.owner, c.addr, c.mac, out);
  table_.schedule(c);
}

void gateway_control::run_due_timers(uint64_t now_ms) {
  for (client* c : table_.take_due(now_ms)) {
    c->s->tick(now_ms);
    drain(*c, now_ms);
  }
  table_.compact_timers();
}

void gateway_control::on_event(client& c, const proto::session_event& ev, uint64_t now_ms) {
  using proto::session_event_type;
  switch (ev.type) {
    case session_event_type::auth_request:
      auth_.start_auth(c, now_ms);  // scripts run asynchronously; authorize() follows (auth_pipeline.h)
      break;
    case session_event_type::key_ready:
      log(4, c.name + ": new data key, key_id " + std::to_string(ev.key_id) + " (" + crypto::name(ev.cipher) + ")");
      install_key(c, ev);
      if (ev.key_id != 0) auth_.renew_auth_token(c, now_ms);  // auth-gen-token: a fresh token per renegotiation
      break;
    case session_event_type::key_confirmed: {
      auto cmd = std::make_unique<dp::peer_cmd>();
      cmd->type = dp::cmd_type::arm_key;
      cmd->key_id = ev.key_id;
      if (c.dp.installed) dp_.send_cmd(c, std::move(cmd));
      break;
    }
    case session_event_type::key_retired: {
      log(4, c.name + ": data key retired, key_id " + std::to_string(ev.key_id));
      auto cmd = std::make_unique<dp::peer_cmd>();
      cmd->type = dp::cmd_type::del_key;
      cmd->key_id = ev.key_id;
      // A key the lcore keeps past its retirement could be confused with a later key of the same
      // key_id: without the command, the client goes.
      if (c.dp.installed && !dp_.send_cmd(c, std::move(cmd))) teardown(c, "data key not retired on its lcore");
      break;
    }
    case session_event_type::established:
      ++handshakes_completed_;
      mgmt_.client_established();
      table_.end_half_open(c);
      log(1, c.name + ": connected, VPN address " + (c.vpn_ip ? format_ipv4(c.vpn_ip) : std::string("none")) +
                 ", cipher " + crypto::name(c.s->cipher()) +
                 (c.s->ekm() ? ", tls-ekm" : ", PRF") + ", peer-id " + std::to_string(c.peer_id) +
                 (c.s->framing() != proto::comp_framing::none ? std::string(", framing ") + to_string(c.s->framing())
                                                               : std::string()));
      mgmt_established(c, now_ms);
      break;
    case session_event_type::exit_received:
      // The client is leaving (explicit-exit-notify, cc-exit): free its address and peer-id now.
      // openvpn keeps the instance ~5 s to absorb retransmits; here a late retransmit reaches
      // server_front, which answers nothing that is not a reset or a valid cookie echo (§4.2).
      teardown(c, "client sent EXIT");
      break;
    case session_event_type::failed: teardown(c, ev.text); break;
    case session_event_type::control_message:
      if (cfg_.verb >= 3 && ctl_msg_log_.allow(now_ms / 1000)) log(3, c.name + ": control message '" + ev.text + "'");
      break;
    default: break;
  }
}

void gateway_control::install_key(client& c, const proto::session_event& ev) {
  std::string err;
  auto cmd = make_key_cmd(setup_.data, ev, ev.confirmed, true, err);
  if (!cmd) {
    teardown(c, "data key setup failed: " + err);
    return;
  }
  if (!c.dp.installed) {
    auto* peer = new dp::dp_peer();
    peer->peer_id = c.peer_id;
    peer->vpn_ip = c.vpn_ip;
    peer->data_v2 = (c.s->peer().iv_proto & wire::k_iv_proto_data_v2) != 0;
    peer->ping_interval_s = cfg_.ping;
    peer->client = c.addr;
    peer->client_mac = c.mac;
    peer->keys = proto::data_keys(true, setup_.data);
    peer->keys.framing = ev.framing;  // per peer, fixed for the session (§9.1)
    peer->last_rx_s.store(dp_.now_s());
    auto np = std::make_unique<dp::peer_cmd>();
    np->type = dp::cmd_type::new_peer;
    np->peer = peer;
    if (!dp_.send_cmd(c, std::move(np))) {
      delete peer;  // no lcore saw it; teardown hands the peer-id back at once
      teardown(c, "peer not installed on its lcore");
      return;
    }
    c.dp.peer = peer;
    c.dp.installed = true;  // the lcore owns the peer: teardown sends del_peer from here on
    if (!dp_.send_cmd(c, std::move(cmd))) {
      teardown(c, "data key not installed on its lcore");
      return;
    }
    // Publish once the commands are queued: a packet that beats them is dropped as peer_not_ready.
    if (const int rc = dp_.publish(c); rc < 0) {
      teardown(c, "cannot add " + format_outer(c.addr) + " to the address table: " + std::strerror(-rc));
      return;
    }
    if (c.vpn_ip && !c.learn.v4_unlearned) {  // learn-address may refuse it; none with DHCP (server-bridge nogw)
      if (const int rc = dp_.route_add_v4(c.vpn_ip, 32, c.peer_id); rc != 0) {
        teardown(c, "cannot add route " + format_ipv4(c.vpn_ip) + "/32: " + std::strerror(-rc));
        return;
      }
    }
    addr_.add_routes(c);  // its /128 and iroutes
    return;
  }
  if (!dp_.send_cmd(c, std::move(cmd))) teardown(c, "data key not installed on its lcore");
}

void gateway_control::teardown(client& c, const std::string& why) {
  if (c.dead) return;
  c.dead = true;
  if (!c.s->established()) ++handshakes_failed_;
  else mgmt_.client_gone();
  table_.end_half_open(c);
  log(1, c.name + ": session closed: " + why);
  mgmt_disconnected(c, dp_.now_s() * 1000);
  auth_.end_auth(c, dp_.now_s() * 1000);
  scripts_.unlearn(c, dp_.now_s() * 1000);  // learn-address delete calls
  if (c.dp.installed) {
    dp_.unpublish(c);
    if (c.vpn_ip && !c.learn.v4_unlearned) dp_.route_del_v4(c.vpn_ip, 32);
    addr_.del_routes(c);
    auto cmd = std::make_unique<dp::peer_cmd>();
    cmd->type = dp::cmd_type::del_peer;
    dp_.send_cmd(c, std::move(cmd));  // the peer id is reused when the lcore hands the peer back
    c.dp.peer = nullptr;
  } else {
    table_.free_peer_id(c.peer_id);
  }
  addr_.release(c);
}

void gateway_control::notify_exit(client& c, uint64_t now_ms) {
  if (!c.s->established() || !cfg_.explicit_exit_notify) return;
  if (!(c.s->peer().iv_proto & wire::k_iv_proto_cc_exit_notify)) return;  // OCC_EXIT: not yet
  c.s->send_text(cfg_.explicit_exit_notify >= 2 ? "RESTART,[N]" : "RESTART", now_ms);
  drain(c, now_ms);
}

void gateway_control::check_crl() {
  if (!cfg_.crl_verify.present() || cfg_.crl_verify.is_inline || !setup_.session.tls) return;
  struct stat st {};
  if (::stat(cfg_.crl_verify.path.c_str(), &st) != 0) return;
  const int64_t m = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (crl_mtime_ns_ == 0) {
    crl_mtime_ns_ = m;
    return;
  }
  if (m == crl_mtime_ns_) return;
  crl_mtime_ns_ = m;
  std::string err;
  if (setup_.session.tls->reload_crl(err)) log(1, "CRL " + cfg_.crl_verify.path + " changed: reloaded");
  else log(1, "CRL " + cfg_.crl_verify.path + " changed but could not be loaded: " + err);
}

// A peer the owner lcore moved to a new outer address (authenticated float): follow it here, so
// control frames, the addrs hash and this map use the new address.
void gateway_control::follow_floats() {
  std::vector<std::pair<net::outer_addr, net::outer_addr>> moves;  // old key -> new key
  for (auto& [k, cp] : table_.all()) {
    client& c = *cp;
    net::outer_addr a;
    net::mac mac{};
    if (c.dead || !c.dp.peer || !dp::read_float(*c.dp.peer, a, mac) || a == k) continue;
    const net::outer_addr old = k;
    dp_.move_addr(old, a, c.peer_id);
    log(1, c.name + ": floated to " + format_outer(a));
    c.addr = a;
    c.mac = mac;
    c.name = (c.s->common_name().empty() ? std::string() : c.s->common_name() + "/") + format_outer(a);
    moves.emplace_back(old, a);
  }
  for (auto [old, a] : moves) {
    table_.rekey(old, a, [&](client& o) { teardown(o, "replaced by an authenticated float from the same address"); });
  }
}

// The summary lines of the rate-limited logs, once their window has ended.
void gateway_control::report_suppressed(uint64_t now_ms) {
  table_.report_suppressed(now_ms);
  if (const uint64_t n = ctl_msg_log_.take_suppressed(now_ms / 1000); n && cfg_.verb >= 3)
    log(3, std::to_string(n) + " more control message(s) not logged (at most 20 per " +
               std::to_string(ctl_msg_log_.window_s()) + " s)");
}

void gateway_control::housekeeping(uint64_t now_ms) {
  report_suppressed(now_ms);
  dp_.retry_pending();
  check_crl();
  follow_floats();
  auth_.renew_auth_tokens(now_ms);
  addr_.persist(now_ms, false);
  for (auto it = table_.all().begin(); it != table_.all().end();) {
    client& c = *it->second;
    // reneg-bytes / reneg-pkts count data in both directions, which only the owner lcore sees:
    // hand the session what moved since the last look (every 500 ms; the limit is soft anyway).
    if (!c.dead && c.dp.peer && (cfg_.reneg_bytes || cfg_.reneg_pkts)) {
      const uint64_t b = c.dp.peer->rx_bytes.load(std::memory_order_relaxed) + c.dp.peer->tx_bytes.load(std::memory_order_relaxed);
      const uint64_t p = c.dp.peer->rx_pkts.load(std::memory_order_relaxed) + c.dp.peer->tx_pkts.load(std::memory_order_relaxed);
      if (b != c.dp.noted_bytes || p != c.dp.noted_pkts) {
        c.s->note_data(b - c.dp.noted_bytes, p - c.dp.noted_pkts);
        c.dp.noted_bytes = b;
        c.dp.noted_pkts = p;
        c.s->tick(now_ms);  // the session checks its limits on its timer
        drain(c, now_ms);
      }
    }
    // §8.3: the sending key's packet-id passed 0xFF000000 on the owner lcore; a new key before
    // it runs out (openvpn renegotiates at the same trigger). reneg-sec 0 does not stop this.
    if (!c.dead && c.dp.peer) {
      const uint32_t w = c.dp.peer->wrap_seq.load(std::memory_order_relaxed);
      if (w != c.dp.wrap_seq_seen) {
        c.dp.wrap_seq_seen = w;
        log(1, c.name + ": packet-id near wrap, renegotiating");
        c.s->renegotiate(now_ms);
        drain(c, now_ms);
      }
    }
    if (!c.dead) {
      if (c.linger_until_ms && now_ms >= c.linger_until_ms) {
        teardown(c, "exit");
      } else if (const unsigned st = c.opts.session_timeout.value_or(cfg_.session_timeout);
                 st && now_ms >= c.created_ms + uint64_t{st} * 1000) {
        // openvpn 2.6 (forward.c): the client instance gets SIGTERM, counted from its creation,
        // and is closed without a word to the client, which notices by its ping-restart. A CCD /
        // client-connect `session-timeout` replaces server.conf's for this client.
        teardown(c, "session-timeout (" + std::to_string(st) + " s)");
      } else if (cfg_.inactive_s && inactive_expired(c, now_ms)) {  // gateway_scripts.cc
        teardown(c, "inactivity timeout (--inactive " + std::to_string(cfg_.inactive_s) + " s)");
      } else if (c.dp.peer && c.dp.peer->occ_exit.load(std::memory_order_relaxed)) {
        teardown(c, "OCC exit");
      } else if (c.dp.peer && cfg_.ping_restart) {
        const uint64_t last = std::max(c.dp.peer->last_rx_s.load(std::memory_order_relaxed) * 1000, c.last_ctl_rx_ms);
        if (now_ms > last + uint64_t{cfg_.ping_restart} * 1000) teardown(c, "ping-restart (no traffic)");
      }
    }
    if (c.dead) {
      it = table_.erase(it);
      continue;
    }
    table_.schedule(c);  // safety net: a session call that no drain() followed
    ++it;
  }
}

}  // namespace dpvpn::cp
