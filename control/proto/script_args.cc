// SPDX-License-Identifier: MIT
// learn-address, up and down: their arguments and environment (openvpn 2.6's, see script_args.h).
#include "dpvpn/script_args.h"

#include <algorithm>
#include <optional>
#include <utility>

#include <openssl/crypto.h>

#include "dpvpn/key_method2.h"  // remap_name

namespace dpvpn::cp {

namespace {

// What reaches a script's argv or environment: printable ASCII, the rest '_' (auth_scripts.h's
// env_safe, which lives in the control thread's library).
std::string printable(std::string_view v) {
  std::string out(v);
  for (char& ch : out)
    if (ch < 0x20 || ch > 0x7E) ch = '_';
  return out;
}

}  // namespace

std::string learn_addr_v4(uint32_t addr, int len) {
  return len < 0 ? format_ipv4(addr) : format_ipv4(addr) + "/" + std::to_string(len);
}

std::string learn_addr_v6(const ipv6_addr& addr, int len) {
  return len < 0 ? format_ipv6(addr) : format_ipv6(addr) + "/" + std::to_string(len);
}

std::vector<std::string> learn_address_argv(const std::vector<std::string>& cmd, std::string_view op,
                                            std::string_view addr, std::string_view cn) {
  std::vector<std::string> argv = cmd;
  argv.emplace_back(op);
  argv.emplace_back(addr);
  // openvpn appends the client's common name to add and update (tls_common_name: "UNDEF" when
  // there is none); its delete comes from the route reaper, which knows no client.
  if (op != "delete") argv.emplace_back(cn.empty() ? std::string("UNDEF") : printable(cn));
  return argv;
}

namespace {

// openvpn's ifconfig is point-to-point only for tun with topology net30 / p2p; dev tap always has
// a netmask (helper.c gives tap `ifconfig NET+1 MASK`).
bool p2p_style(const server_config& cfg) {
  return cfg.dev_type == dev_kind::tun && cfg.topology != topology_kind::subnet;
}

// ifconfig_local and its partner: NET+1 and the netmask (subnet, tap) or NET+2 (net30, p2p). None
// with server-bridge: the server has no ifconfig, the device is bridged as it is.
std::optional<std::pair<std::string, std::string>> ifconfig_pair(const server_config& cfg) {
  if (!cfg.server) return std::nullopt;
  const server_subnet& sn = *cfg.server;
  return std::pair{format_ipv4(sn.network + 1), format_ipv4(p2p_style(cfg) ? sn.network + 2 : sn.netmask)};
}

}  // namespace

std::vector<std::string> updown_argv(const std::vector<std::string>& cmd, const server_config& cfg,
                                     const updown_info& dev) {
  std::vector<std::string> argv = cmd;
  // openvpn passes an empty word for each address it does not have.
  const auto ifc = ifconfig_pair(cfg).value_or(std::pair<std::string, std::string>{});
  for (std::string a : {dev.dev, std::to_string(dev.tun_mtu), std::string("0"), ifc.first, ifc.second, dev.context})
    argv.push_back(std::move(a));
  return argv;
}

script_env updown_env(const server_config& cfg, const updown_info& dev, std::string_view script_type,
                      uint64_t daemon_pid) {
  script_env e;
  auto add = [&](std::string k, std::string v) { e.emplace_back(std::move(k), printable(v)); };
  add("script_type", std::string(script_type));
  add("script_context", dev.context);
  add("dev", dev.dev);
  if (script_type == "up") add("dev_type", cfg.dev_type == dev_kind::tun ? "tun" : "tap");  // openvpn: up only
  add("tun_mtu", std::to_string(dev.tun_mtu));
  if (!dev.signal.empty()) add("signal", dev.signal);
  if (const auto ifc = ifconfig_pair(cfg)) {
    add("ifconfig_local", ifc->first);
    add(p2p_style(cfg) ? "ifconfig_remote" : "ifconfig_netmask", ifc->second);
  }
  if (cfg.server_ipv6) {  // server-ipv6: the server is NET+1, its nominal peer NET+2 (helper.c)
    add("ifconfig_ipv6_local", format_ipv6(ipv6_add(cfg.server_ipv6->addr, 1)));
    add("ifconfig_ipv6_netbits", std::to_string(cfg.server_ipv6->len));
    add("ifconfig_ipv6_remote", format_ipv6(ipv6_add(cfg.server_ipv6->addr, 2)));
  }
  add("config", cfg.source);
  add("verb", std::to_string(cfg.verb));
  add("daemon", "0");
  add("daemon_pid", std::to_string(daemon_pid));
  constexpr const char* protos[] = {"udp", "udp4", "udp6"};
  add("proto_1", protos[static_cast<int>(cfg.proto_family)]);
  if (cfg.local) add("local_1", format_ipv4(*cfg.local));
  else if (cfg.local6) add("local_1", format_ipv6(*cfg.local6));
  add("local_port_1", std::to_string(cfg.port));
  add_setenv(e, cfg);
  return e;
}

void add_setenv(script_env& env, const server_config& cfg) {
  const size_t own = env.size();
  for (const auto& kv_cfg : cfg.setenv) {
    const std::string& k = kv_cfg.first;  // not a structured binding: clang 14 cannot capture one
    const auto end = env.begin() + static_cast<std::ptrdiff_t>(own);
    if (std::none_of(env.begin(), end, [&](const auto& kv) { return kv.first == k; })) env.emplace_back(k, kv_cfg.second);
  }
}

std::string user_pass_file_text(std::string_view username, std::string_view password) {
  std::string u(username), p(password);
  proto::remap_name(u);
  proto::remap_name(p);
  std::string out = u + "\n" + p + "\n";
  OPENSSL_cleanse(p.data(), p.size());
  return out;
}

}  // namespace dpvpn::cp
