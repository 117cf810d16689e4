// SPDX-License-Identifier: MIT
// addressing: every client's VPN addresses and routes. It owns the address pool (pools.h: the
// IPv4/IPv6 pool, ifconfig-push and ifconfig-ipv6-push statics, ifconfig-pool-persist and its
// file), the client-config-dir lookup (DIR/<cn>, DEFAULT, ccd-exclusive), the push list's
// per-client part (ifconfig, ifconfig-ipv6, CCD push options), the common-name index
// (duplicate-cn), which client holds each iroute (the later one wins), and connect-freq.
// Routes are written through route_writer (dp_installer in the gateway, a fake in the tests).
// Called by auth_pipeline (assign, apply_options, client_push, index), gateway_control (routes
// at key install and teardown, release, connect-freq at first contact, persist from the loop).
// Control thread only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "client.h"
#include "dpvpn/config.h"
#include "dpvpn/pools.h"
#include "route_writer.h"

namespace dpvpn::cp {

class addressing {
 public:
  // server_vpn_ip, netmask, push: control_setup's (the server's own VPN address, the subnet mask,
  // the global push options).
  addressing(const server_config& cfg, uint32_t server_vpn_ip, uint32_t netmask, const std::vector<std::string>& push,
             route_writer& routes, control_log log);

  // connect-freq: counted when a client completes the cookie exchange and would get a session.
  bool admit_new_session(const net::outer_addr& from, uint64_t now_ms);
  uint64_t connect_freq_refused() const { return connect_freq_refused_; }
  void reload_connect_freq();  // reload: the limiter starts over from the new connect-freq

  // Common names (duplicate-cn): the other live clients holding c's name; index c under it.
  std::vector<client*> others_with_cn(const client& c) const;
  void index_cn(client& c);

  // After auth: the CCD file (c.opts), then an address from the pool, then the options' static
  // addresses. A reason when the client is to be refused (CCD disable, ccd-exclusive, a static
  // address in use), else nullopt; no free address is not refused here (c.vpn_ip stays 0).
  std::optional<std::string> assign(client& c);
  // The client-connect output merged over c.opts; its static addresses applied.
  std::optional<std::string> apply_options(client& c, client_connect_options&& cc);
  // The PUSH_REPLY options (openvpn push.c order) for c.
  std::vector<std::string> client_push(const client& c) const;

  // c's /128 and iroutes, once the dataplane has the peer (its /32 is the installer's); removed
  // at teardown (only what c still owns).
  void add_routes(client& c);
  void del_routes(client& c);
  // The lease goes back to the pool (the slot keeps the name), c leaves the name index.
  void release(client& c);
  // ifconfig-pool-persist: every interval (force: at exit).
  void persist(uint64_t now_ms, bool force);

  const address_pool& pool() const { return pool_; }
  // `server-bridge nogw` or a bare `server-bridge`: the clients ask DHCP through the bridge for
  // their IPv4 address, so a client is served without one (docs/tap.md, "Configuration").
  bool v4_by_dhcp() const noexcept {
    return cfg_.server_bridge == bridge_mode::nogw || cfg_.server_bridge == bridge_mode::dhcp;
  }

 private:
  const server_config& cfg_;
  uint32_t server_vpn_ip_, netmask_;
  const std::vector<std::string>& push_;
  route_writer& routes_;
  control_log log_;
  address_pool pool_;
  std::unordered_multimap<std::string, client*> by_cn_;  // authenticated clients by common name
  // iroute prefix -> the peer id that installed it last (the later client wins; its teardown
  // removes only what it still owns).
  std::map<std::pair<uint32_t, uint8_t>, uint32_t> iroute4_owner_;
  std::map<std::pair<ipv6_addr, uint8_t>, uint32_t> iroute6_owner_;
  bool persist_ = false;  // ifconfig-pool-persist writes the file
  uint64_t next_persist_ms_ = 0;
  std::optional<connect_freq_limit> connect_freq_;
  uint64_t connect_freq_refused_ = 0, connect_freq_logged_s_ = 0;
};

}  // namespace dpvpn::cp
