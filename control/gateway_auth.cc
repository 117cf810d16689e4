// SPDX-License-Identifier: MIT
// gateway_control: client authentication — auth-user-pass-verify and client-connect scripts run
// asynchronously (OpenVPN semantics), then authorize() or AUTH_FAILED (§10.4); client-disconnect;
// the VPN address bookkeeping for pool and pushed static addresses.
#include <ctime>

#include "dpvpn/gateway.h"
#include "gateway_internal.h"

namespace dpvpn::cp {

namespace {
uint64_t addr_key(uint32_t ip, uint16_t port) { return (uint64_t{ip} << 16) | port; }
}  // namespace

// OpenVPN's environment for user scripts, the part dpvpn can fill: who the client is, where it
// comes from, its VPN address, and the IV_/UV_ peer-info it sent (§6.3).
script_env gateway_control::client_env(const client& c, const char* script_type, uint64_t now_ms) const {
  script_env e;
  auto add = [&](std::string k, std::string v) { e.emplace_back(std::move(k), env_safe(v)); };
  add("script_type", script_type);
  add("script_context", "init");
  add("daemon", "0");
  add("verb", std::to_string(cfg_.verb));
  add("dev", cfg_.dev);
  add("proto_1", "udp");
  add("local_port_1", std::to_string(cfg_.port));
  if (!c.cn.empty()) add("common_name", c.cn);
  if (!c.s->common_name().empty()) add("X509_0_CN", c.s->common_name());
  if (!c.s->username().empty()) add("username", c.s->username());
  // Before authentication OpenVPN calls the address untrusted_*, afterwards trusted_*.
  const bool verified = c.auth != client::auth_stage::verify && c.auth != client::auth_stage::none;
  add(verified ? "trusted_ip" : "untrusted_ip", format_ipv4(c.ip));
  add(verified ? "trusted_port" : "untrusted_port", std::to_string(c.port));
  if (c.vpn_ip) {
    add("ifconfig_pool_remote_ip", format_ipv4(c.vpn_ip));
    if (cfg_.topology == topology_kind::subnet) add("ifconfig_pool_netmask", format_ipv4(setup_.netmask));
  }
  add("ifconfig_local", format_ipv4(setup_.server_vpn_ip));
  add("ifconfig_netmask", format_ipv4(setup_.netmask));
  for (const auto& [k, v] : c.s->peer().all)
    if ((k.starts_with("IV_") || k.starts_with("UV_")) && k.size() < 64 &&
        k.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos)
      add(k, v);
  add("time_unix", std::to_string(now_ms / 1000));
  if (c.accepted_ms) add("time_duration", std::to_string(now_ms > c.accepted_ms ? (now_ms - c.accepted_ms) / 1000 : 0));
  return e;
}

bool gateway_control::run_script(client& c, const std::vector<std::string>& argv, script_request req,
                                 uint64_t now_ms) {
  req.argv = argv;
  req.deadline_ms = now_ms + uint64_t{cfg_.hand_window} * 1000;  // a script may use the whole hand-window
  std::string err;
  const uint64_t id = scripts_.start(std::move(req), err);
  if (id == 0) {
    log(1, c.name + ": " + err);
    return false;
  }
  c.script_id = id;
  script_clients_[id] = addr_key(c.ip, c.port);
  return true;
}

void gateway_control::start_auth(client& c, uint64_t now_ms) {
  const std::string& user = c.s->username();
  c.cn = cfg_.username_as_common_name && !user.empty() ? user : c.s->common_name();
  if (!c.cn.empty()) c.name = c.cn + "/" + format_ipv4(c.ip) + ":" + std::to_string(c.port);
  if (cfg_.auth_user_pass_verify.empty()) return start_connect(c, now_ms);

  c.auth = client::auth_stage::verify;
  script_request req;
  req.env = client_env(c, "user-pass-verify", now_ms);
  if (cfg_.auth_user_pass_via_env) {
    req.env.emplace_back("password", c.s->password());
  } else {
    req.pass_file = true;  // "username\npassword\n", the file's path as the last argument
    req.file_text = user + "\n" + c.s->password() + "\n";
  }
  log(4, c.name + ": running auth-user-pass-verify for user '" + env_safe(user) + "'");
  if (!run_script(c, cfg_.auth_user_pass_verify, std::move(req), now_ms))
    reject(c, "auth-user-pass-verify could not be started", now_ms);
}

void gateway_control::start_connect(client& c, uint64_t now_ms) {
  // The pool address is picked first, so that client-connect sees it (ifconfig_pool_remote_ip);
  // an ifconfig-push from the script replaces it.
  c.vpn_ip = alloc_vpn_ip();
  if (cfg_.client_connect.empty()) return accept(c, nullptr, now_ms);
  c.auth = client::auth_stage::connect;
  script_request req;
  req.env = client_env(c, "client-connect", now_ms);
  req.pass_file = true;
  req.read_back = true;
  if (!run_script(c, cfg_.client_connect, std::move(req), now_ms))
    reject(c, "client-connect could not be started", now_ms);
}

void gateway_control::accept(client& c, const client_connect_options* cc, uint64_t now_ms) {
  std::vector<std::string> push;
  uint32_t mask = setup_.netmask, remote = 0;
  if (cc) {
    if (!cc->error.empty()) return reject(c, "client-connect file: " + cc->error, now_ms);
    if (cc->disable) return reject(c, "disabled by client-connect", now_ms);
    for (const std::string& w : cc->ignored) log(3, c.name + ": client-connect: '" + env_safe(w) + "' ignored");
    if (cc->ifconfig_push && cc->ifconfig_push->first != c.vpn_ip) {
      release_vpn_ip(c);
      if (!reserve_vpn_ip(cc->ifconfig_push->first))
        return reject(c, "ifconfig-push " + format_ipv4(cc->ifconfig_push->first) + ": address in use or reserved",
                      now_ms);
      c.vpn_ip = cc->ifconfig_push->first;
    }
    if (cc->ifconfig_push) (cfg_.topology == topology_kind::subnet ? mask : remote) = cc->ifconfig_push->second;
  }
  if (!c.vpn_ip) return reject(c, "no free address in the pool", now_ms);
  // push-reset drops the configured `push` lines; topology, route-gateway and ping stay, because
  // the client cannot work without them.
  const size_t keep = cc && cc->push_reset ? setup_.push.size() - cfg_.push.size() : setup_.push.size();
  push.assign(setup_.push.begin(), setup_.push.begin() + static_cast<std::ptrdiff_t>(keep));
  if (cc) push.insert(push.end(), cc->push.begin(), cc->push.end());
  if (cfg_.topology == topology_kind::subnet)
    push.push_back("ifconfig " + format_ipv4(c.vpn_ip) + " " + format_ipv4(mask));
  else
    push.push_back("ifconfig " + format_ipv4(c.vpn_ip) + " " + format_ipv4(remote ? remote : c.vpn_ip - 1));
  c.auth = client::auth_stage::accepted;
  c.accepted_ms = now_ms;
  c.s->authorize(true, push, "", now_ms);
}

void gateway_control::reject(client& c, const std::string& why, uint64_t now_ms) {
  log(1, c.name + ": authentication failed: " + why);
  c.auth = client::auth_stage::rejected;
  release_vpn_ip(c);  // nothing else exists yet: no dataplane peer before authorize(true)
  c.s->authorize(false, {}, "", now_ms);  // plain AUTH_FAILED: the reason stays in our log
}

void gateway_control::poll_scripts(uint64_t now_ms) {
  if (scripts_.running() == 0) return;
  std::vector<script_result> done;
  scripts_.poll(now_ms, done);
  for (script_result& r : done) {
    auto it = script_clients_.find(r.id);
    if (it == script_clients_.end()) {  // client-disconnect: nobody waits for it
      if (!r.ok) log(3, "client-disconnect script: " + r.status);
      continue;
    }
    auto ci = clients_.find(it->second);
    script_clients_.erase(it);
    if (ci == clients_.end() || ci->second->dead || ci->second->script_id != r.id) continue;
    client& c = *ci->second;
    c.script_id = 0;
    if (c.auth == client::auth_stage::verify) {
      if (!r.ok) reject(c, "auth-user-pass-verify script: " + r.status, now_ms);
      else {
        log(3, c.name + ": auth-user-pass-verify accepted user '" + env_safe(c.s->username()) + "'");
        start_connect(c, now_ms);
      }
    } else if (c.auth == client::auth_stage::connect) {
      if (!r.ok) {
        reject(c, "client-connect script: " + r.status, now_ms);
      } else {
        const client_connect_options cc = parse_client_connect(r.file_text);
        accept(c, &cc, now_ms);
      }
    }
    drain(c, now_ms);
  }
}

void gateway_control::end_auth(client& c, uint64_t now_ms) {
  if (c.script_id) {
    scripts_.cancel(c.script_id);
    script_clients_.erase(c.script_id);
    c.script_id = 0;
  }
  if (c.auth != client::auth_stage::accepted || cfg_.client_disconnect.empty()) return;
  script_request req;
  req.env = client_env(c, "client-disconnect", now_ms);
  if (c.peer) {
    req.env.emplace_back("bytes_received", std::to_string(c.peer->rx_bytes.load(std::memory_order_relaxed)));
    req.env.emplace_back("bytes_sent", std::to_string(c.peer->tx_bytes.load(std::memory_order_relaxed)));
  }
  req.argv = cfg_.client_disconnect;
  req.deadline_ms = now_ms + uint64_t{cfg_.hand_window} * 1000;
  std::string err;
  if (scripts_.start(std::move(req), err) == 0) log(1, c.name + ": client-disconnect: " + err);
}

// Pool slots are per address (subnet) or per /30 (net30, the client is .2 of it, §10.3); a pushed
// address inside the pool takes its slot, one outside is kept in static_ips_.
bool gateway_control::reserve_vpn_ip(uint32_t ip) {
  const uint32_t net = setup_.server_vpn_ip - 1, bcast = net | ~setup_.netmask;
  if (ip == setup_.server_vpn_ip || ip == net || ip == bcast) return false;
  if (ip >= setup_.pool_first && ip - setup_.pool_first < vpn_ip_used_.size()) {
    uint32_t i = ip - setup_.pool_first;
    if (cfg_.topology != topology_kind::subnet) i &= ~3u;
    if (vpn_ip_used_[i]) return false;
    vpn_ip_used_[i] = true;
    return true;
  }
  return static_ips_.insert(ip).second;
}

void gateway_control::release_vpn_ip(client& c) {
  const uint32_t ip = c.vpn_ip;
  c.vpn_ip = 0;
  if (!ip) return;
  if (ip >= setup_.pool_first && ip - setup_.pool_first < vpn_ip_used_.size()) {
    uint32_t i = ip - setup_.pool_first;
    if (cfg_.topology != topology_kind::subnet) i &= ~3u;
    vpn_ip_used_[i] = false;
  } else {
    static_ips_.erase(ip);
  }
}

}  // namespace dpvpn::cp
