// SPDX-License-Identifier: MIT
// gateway_control and the management interface (docs/operations.md): the commands' effects on
// clients (status, kill, client-kill, client-auth / client-deny, client-pending-auth, signal,
// hold) and the notifications openvpn 2.6 sends a server's management clients (>CLIENT:CONNECT,
// REAUTH, ESTABLISHED, ADDRESS, DISCONNECT with their ENV blocks, >BYTECOUNT_CLI, >STATE, >HOLD).
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "client.h"
#include "dpvpn/script_args.h"
#include "gateway.h"

namespace dpvpn::cp {

namespace {

uint64_t now_s() { return static_cast<uint64_t>(std::time(nullptr)); }

}  // namespace

bool gateway_control::open_management(std::string& err) {
  return mgmt_.open(cfg_, static_cast<mgmt::target&>(*this), err);
}

// Every loop iteration: the sockets, then each connection's due >BYTECOUNT_CLI lines, then the
// client-pending-auth deadlines.
bool gateway_control::mgmt_poll(uint64_t now_ms) {
  mgmt::server* m = mgmt_.server();
  if (!m) return false;
  bool work = m->poll(now_ms);
  m->each_bytecount_due(now_ms, [&](mgmt::session& s) {
    for (auto& [k, cp] : table_.all()) {
      const client& c = *cp;
      if (c.dead || c.auth.stage != client::auth_stage::accepted || !c.dp.peer) continue;
      s.notify(">BYTECOUNT_CLI:" + std::to_string(c.cid) + "," +
               std::to_string(c.dp.peer->rx_bytes.load(std::memory_order_relaxed)) + "," +
               std::to_string(c.dp.peer->tx_bytes.load(std::memory_order_relaxed)));
    }
  });
  if (mgmt_.pending_check_due(now_ms)) {  // a walk at most every 500 ms, and only while some wait
    uint32_t left = 0;
    for (auto& [k, cp] : table_.all()) {
      client& c = *cp;
      if (c.dead || !c.mgmt.waiting || !c.mgmt.pending_until_ms) continue;
      if (now_ms >= c.mgmt.pending_until_ms) auth_.mgmt_decision(c, false, "management auth timed out", "", {}, now_ms);
      else ++left;
    }
    mgmt_.pending_left(left);
  }
  return work;
}

// openvpn's ENV block: the client's script environment (without script_type), n_clients first.
std::vector<std::pair<std::string, std::string>> gateway_control::mgmt_env(const client& c, const char* script_type,
                                                                           uint64_t now_ms) const {
  std::vector<std::pair<std::string, std::string>> env;
  env.emplace_back("n_clients", std::to_string(mgmt_.n_clients()));
  for (auto& kv : auth_.client_env(c, script_type, now_ms))
    if (kv.first != "script_type") env.push_back(std::move(kv));
  return env;
}

void gateway_control::mgmt_auth_request(client& c, bool reauth, uint64_t now_ms) {
  // openvpn's key-ids count its key states: 0 and 1 at the start (the first CONNECT names 1), 2
  // when the first session is promoted, then one per renegotiation (the first REAUTH names 3; the
  // gateway_mgmt_pritunl test compares with stock openvpn).
  c.mgmt.wait_kid = c.mgmt.next_kid++;
  if (!reauth && c.mgmt.wait_kid == 1) c.mgmt.next_kid = 3;
  c.mgmt.waiting = true;
  // openvpn (ssl_verify.c, auth_deferred_expire): a deferred auth nobody answers fails after
  // hand-window; client-pending-auth moves the deadline. The session's own hand-window has ended
  // with the TLS handshake, so without this an unanswered client held its slot for good.
  c.mgmt.pending_until_ms = now_ms + uint64_t{cfg_.hand_window} * 1000;
  mgmt_.pending_started();
  mgmt::server* m = mgmt_.server();
  if (!m) return;  // no management socket: the client waits for its hand-window
  auto env = mgmt_env(c, "user-pass-verify", now_ms);
  if (!c.s->password().empty()) env.emplace_back("password", env_safe(c.s->password()));
  c.mgmt.announced = true;
  m->notify_env(std::string(">CLIENT:") + (reauth ? "REAUTH," : "CONNECT,") + std::to_string(c.cid) + "," +
                    std::to_string(c.mgmt.wait_kid),
                env);
}

void gateway_control::mgmt_established(client& c, uint64_t now_ms) {
  mgmt::server* m = mgmt_.server();
  if (!m) return;
  m->notify_env(">CLIENT:ESTABLISHED," + std::to_string(c.cid), mgmt_env(c, "client-connect", now_ms));
  if (c.mgmt.announced && c.vpn_ip)
    m->notify(">CLIENT:ADDRESS," + std::to_string(c.cid) + "," + format_ipv4(c.vpn_ip) + ",1");
}

void gateway_control::mgmt_disconnected(client& c, uint64_t now_ms) {
  mgmt::server* m = mgmt_.server();
  if (!m || !c.mgmt.announced) return;  // openvpn: only after a >CLIENT:CONNECT
  auto env = mgmt_env(c, "client-disconnect", now_ms);
  env.erase(env.begin());  // no n_clients here (openvpn's order)
  if (c.dp.peer) {
    env.emplace_back("bytes_received", std::to_string(c.dp.peer->rx_bytes.load(std::memory_order_relaxed)));
    env.emplace_back("bytes_sent", std::to_string(c.dp.peer->tx_bytes.load(std::memory_order_relaxed)));
  }
  m->notify_env(">CLIENT:DISCONNECT," + std::to_string(c.cid), env);
}

std::string gateway_control::status_text(unsigned version) {
  return format_status(version ? version : cfg_.status_version, now_s(), status_entries(table_.all()));
}

unsigned gateway_control::n_clients() { return mgmt_.n_clients(); }  // kept, not counted: a storm of CONNECTs stays O(1) each

// load-stats: the bytes of the clients connected now (openvpn counts since start; documented).
void gateway_control::load_bytes(uint64_t& in, uint64_t& out) {
  in = out = 0;
  for (auto& [k, cp] : table_.all()) {
    if (!cp->dp.peer) continue;
    in += cp->dp.peer->rx_bytes.load(std::memory_order_relaxed);
    out += cp->dp.peer->tx_bytes.load(std::memory_order_relaxed);
  }
}

// kill: as openvpn's SIGTERM to the instance (RESTART first with explicit-exit-notify).
int gateway_control::kill_cn(const std::string& cn) {
  std::vector<client*> victims;
  for (auto& [k, cp] : table_.all())
    if (!cp->dead && cp->auth.stage == client::auth_stage::accepted && cp->cn == cn) victims.push_back(cp.get());
  const uint64_t now = dp_.now_s() * 1000;
  for (client* c : victims) {
    notify_exit(*c, now);
    teardown(*c, "killed by management (kill " + cn + ")");
  }
  return static_cast<int>(victims.size());
}

int gateway_control::kill_addr(const std::string& ip, uint16_t port) {
  net::outer_addr a;
  if (auto v4 = parse_ipv4(ip)) a = net::outer_v4(*v4, port);
  else if (auto v6 = parse_ipv6(ip)) a = net::outer_v6(*v6, port);
  else return -1;
  client* c = table_.find(a);
  if (!c || c->dead) return 0;
  notify_exit(*c, dp_.now_s() * 1000);
  teardown(*c, "killed by management (kill " + ip + ":" + std::to_string(port) + ")");
  return 1;
}

// client-kill CID [MSG]: MSG (default RESTART) on the control channel, then the session ends
// once the client had time to receive it (openvpn: send_restart and a scheduled exit).
bool gateway_control::kill_cid(uint64_t cid, const std::string& msg) {
  client* c = table_.find_cid(cid);
  if (!c || c->linger_until_ms) return false;
  const uint64_t now = dp_.now_s() * 1000;
  log(1, c->name + ": killed by management (client-kill " + std::to_string(cid) + ")");
  if (c->s->established()) {
    c->s->send_text(msg.empty() ? "RESTART" : msg, now);
    drain(*c, now);
    c->linger_until_ms = now + 2000;
  } else {
    teardown(*c, "killed by management (client-kill)");
  }
  return true;
}

bool gateway_control::client_auth(uint64_t cid, unsigned kid, bool ok, const std::string& reason,
                                  const std::string& client_reason, const std::vector<std::string>& config) {
  client* c = table_.find_cid(cid);
  if (!c || !c->mgmt.waiting || c->mgmt.wait_kid != kid) return false;
  if (!ok && !reason.empty()) log(1, "MULTI: connection rejected: " + reason + ", CLI:" + (client_reason.empty() ? "[NULL]" : client_reason));
  auth_.mgmt_decision(*c, ok, reason, client_reason, config, dp_.now_s() * 1000);
  return true;
}

// client-pending-auth: INFO_PRE and AUTH_PENDING to the client (openvpn's send_auth_pending_messages);
// the auth keeps waiting, up to the timeout.
bool gateway_control::client_pending_auth(uint64_t cid, unsigned kid, const std::string& extra, unsigned timeout_s) {
  client* c = table_.find_cid(cid);
  if (!c || !c->mgmt.waiting || c->mgmt.wait_kid != kid || extra.size() > 1024) return false;
  const uint64_t now = dp_.now_s() * 1000;
  c->s->send_text("INFO_PRE," + extra, now);
  c->s->send_text("AUTH_PENDING,timeout " + std::to_string(timeout_s), now);
  c->mgmt.pending_until_ms = now + uint64_t{std::max(timeout_s, 1u)} * 1000;
  mgmt_.pending_started();
  drain(*c, now);
  return true;
}

bool gateway_control::signal(const std::string& name) { return raise_signal(name); }

void gateway_control::hold_release() {
  if (mgmt_.release_hold()) log(1, "MANAGEMENT: hold released: accepting clients");
}

unsigned gateway_control::verb() const { return effective_verb(cfg_.verb); }

bool gateway_control::set_verb(unsigned v) {
  log_tap().verb_override = static_cast<int>(v);
  return true;
}

std::string gateway_control::version_line() const { return dpvpn_version_line(); }

long gateway_control::pid() const { return static_cast<long>(::getpid()); }

}  // namespace dpvpn::cp
