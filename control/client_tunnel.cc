// SPDX-License-Identifier: MIT
// The client role's tunnel (client_control.h): a connection's pushed settings onto the exception
// port through tunnel_ops, and the up / down scripts with openvpn's client arguments.
#include "client_control.h"

namespace dpvpn::cp {

void client_control::apply_tunnel(uint64_t now) {
  std::string err;
  if (ops_.apply && !ops_.apply(tun_, err)) {
    disconnect("cannot configure " + ifname_ + ": " + err, now, remotes_.retry_delay_ms(), false);
    return;
  }
  tun_applied_ = true;
  run_script("up", now);
}

void client_control::remove_tunnel(uint64_t now) {
  tun_applied_ = false;
  if (ops_.remove) ops_.remove(tun_);
  run_script("down", now);
}

// Asynchronous: the control loop goes on (the dataplane carries the tunnel meanwhile); a failure is
// logged. openvpn runs them synchronously, and a failed `up` ends its connection.
void client_control::run_script(const char* type, uint64_t now) {
  const std::vector<std::string>& cmd = std::string_view(type) == "up" ? cfg_.up : cfg_.down;
  if (cmd.empty()) return;
  const unsigned mtu = tun_.tun_mtu ? tun_.tun_mtu : cfg_.tun_mtu;
  script_request req;
  req.argv = client_updown_argv(cmd, ifname_, mtu, tun_);
  req.env = client_updown_env(cfg_, ifname_, mtu, tun_, conn_.addr, type, std::string_view(type) == "down" ? stop_signal_ : "");
  req.deadline_ms = now + 60000;
  std::string line;
  for (const std::string& a : req.argv) line += (line.empty() ? "" : " ") + a;
  log(1, std::string(type) + " script: " + line);
  std::string err;
  if (scripts_.start(std::move(req), err) == 0) log(1, std::string(type) + " script: " + err);
}

}  // namespace dpvpn::cp
