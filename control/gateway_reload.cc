// SPDX-License-Identifier: MIT
// gateway_control::reload: SIGHUP re-reads the config (control/reload.h says what changes live).
// Connected clients keep their sessions, keys and addresses: nothing here touches the dataplane,
// so they lose no packet. The CRL is re-read too, and a connected client whose certificate it
// now revokes is disconnected.
#include <algorithm>

#include "client.h"
#include "gateway.h"
#include "reload.h"

namespace dpvpn::cp {

void gateway_control::reload(uint64_t now_ms) {
  if (reread_) {
    server_config neu;
    bool ok = true;
    try {
      neu = reread_();
    } catch (const std::exception& e) {
      log(1, std::string("SIGHUP: the config was not reloaded: ") + e.what());
      ok = false;
    }
    if (ok) apply_reload(neu);
  }
  if (setup_.session.tls && cfg_.crl_verify.present()) {
    std::string err;
    if (!setup_.session.tls->reload_crl(err)) {
      log(1, "SIGHUP: CRL reload failed: " + err);
    } else {
      log(1, "SIGHUP: CRL reloaded");
      std::vector<client*> revoked;
      for (auto& [k, cp] : table_.all()) {
        client& c = *cp;
        if (c.dead || c.s->peer_certs().empty()) continue;
        if (setup_.session.tls->revoked(c.s->peer_certs().front().serial_hex)) revoked.push_back(&c);
      }
      for (client* c : revoked) {
        notify_exit(*c, now_ms);
        teardown(*c, "certificate revoked by the reloaded CRL");
      }
    }
  }
}

void gateway_control::apply_reload(const server_config& neu) {
  const reload_plan p = plan_reload(cfg_, neu);
  for (const std::string& name : p.refused)
    log(1, "SIGHUP: '" + name + "' changed: it needs a restart and is not applied");
  auto has = [&](const char* n) { return std::find(p.applied.begin(), p.applied.end(), n) != p.applied.end(); };
  // Per-client settings read at connect / auth: the next client sees them.
  cfg_.client_config_dir = neu.client_config_dir;
  cfg_.ccd_exclusive = neu.ccd_exclusive;
  cfg_.script_security = neu.script_security;
  cfg_.auth_user_pass_verify = neu.auth_user_pass_verify;
  cfg_.auth_user_pass_via_env = neu.auth_user_pass_via_env;
  cfg_.client_connect = neu.client_connect;
  cfg_.client_disconnect = neu.client_disconnect;
  cfg_.learn_address = neu.learn_address;
  cfg_.tls_verify = neu.tls_verify;
  cfg_.tls_crypt_v2_verify = neu.tls_crypt_v2_verify;
  cfg_.setenv = neu.setenv;
  cfg_.duplicate_cn = neu.duplicate_cn;
  cfg_.username_as_common_name = neu.username_as_common_name;
  cfg_.status_version = neu.status_version;
  // The global push list: the options dpvpn derives (topology, route-gateway, ping) stay; the
  // `push` lines after them are replaced.
  if (setup_.push.size() >= cfg_.push.size()) {
    setup_.push.resize(setup_.push.size() - cfg_.push.size());
    setup_.push.insert(setup_.push.end(), neu.push.begin(), neu.push.end());
    cfg_.push = neu.push;
  }
  if (has("max-clients")) {
    cfg_.max_clients = neu.max_clients;
    table_.set_max_clients(neu.max_clients);
  }
  if (has("connect-freq")) {
    cfg_.connect_freq = neu.connect_freq;
    addr_.reload_connect_freq();
  }
  if (has("connect-freq-initial")) {
    cfg_.connect_freq_initial = neu.connect_freq_initial;
    front_.reset_limit();
  }
  if (has("dp-route")) {  // the LAN port's static routes: a new table, swapped under the workers
    std::string err;
    if (dp_.replace_lan_routes(neu, err)) {
      cfg_.dp_routes = neu.dp_routes;
      log(1, "SIGHUP: dp-route: " + std::to_string(neu.dp_routes.size()) + " static route(s) now");
    } else {
      log(1, "SIGHUP: dp-route not applied: " + err);
    }
  }
  if (has("verb")) {
    cfg_.verb = neu.verb;
    log_tap().verb_override = static_cast<int>(neu.verb);  // the parts' logs follow it too
  }
  // What the next reload compares with: the new lines, but the old ones of a refused directive
  // (still running as before, and still reported until the file matches it again).
  std::vector<std::string> lines;
  auto name_of = [](const std::string& l) { return l.substr(0, l.find('\x1f')); };
  auto refused = [&](const std::string& n) { return std::find(p.refused.begin(), p.refused.end(), n) != p.refused.end(); };
  for (const std::string& l : neu.directives)
    if (!refused(name_of(l))) lines.push_back(l);
  for (const std::string& l : cfg_.directives)
    if (refused(name_of(l))) lines.push_back(l);
  cfg_.directives = std::move(lines);
  std::string names;
  for (const std::string& n : p.applied) names += (names.empty() ? "" : ", ") + n;
  log(1, "SIGHUP: config reloaded, " + std::to_string(p.applied.size()) + " directive(s) changed" +
             (names.empty() ? "" : " (" + names + ")") + ", " + std::to_string(p.refused.size()) +
             " refused; connected clients keep their sessions");
}

}  // namespace dpvpn::cp
