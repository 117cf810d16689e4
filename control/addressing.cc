// SPDX-License-Identifier: MIT
// addressing: the pools (pools.h), client-config-dir files, ifconfig-push and ifconfig-ipv6-push,
// the client's /128 and iroutes in the dataplane's route tables, the common-name index,
// connect-freq and the ifconfig-pool-persist file.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "addressing.h"

#include "dpvpn/auth_scripts.h"  // env_safe

namespace dpvpn::cp {

namespace {

constexpr size_t k_max_small_file = 1 << 20;  // a CCD or persist file larger than this is cut

// Blocking reads and writes on the control thread: CCD files and the persist file are small local
// files (a CCD file is read once per connecting client), so a few microseconds each. Returns 0 or
// an errno (ENOENT: no such file).
int read_small_file(const std::string& path, std::string& out) {
  out.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buf[4096];
  int err = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() >= k_max_small_file) break;
  }
  ::close(fd);
  return err;
}

// Writes a temp file beside `path` and renames it over: a crash leaves the old file or the new
// one, never half of one.
int write_file_replace(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".dpvpn-new";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  std::string_view s = text;
  int err = 0;
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    s.remove_prefix(static_cast<size_t>(n));
  }
  if (::close(fd) != 0 && !err) err = errno;
  if (!err && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err) ::unlink(tmp.c_str());
  return err;
}

}  // namespace

addressing::addressing(const server_config& cfg, uint32_t server_vpn_ip, uint32_t netmask,
                       const std::vector<std::string>& push, route_writer& routes, control_log log)
    : cfg_(cfg), server_vpn_ip_(server_vpn_ip), netmask_(netmask), push_(push), routes_(routes), log_(log) {
  const bool tun = cfg_.dev_type == dev_kind::tun;
  pool_params p;
  p.server_ip = server_vpn_ip_;
  if (!tun) {
    // dev tap (docs/tap.md, "Configuration"): config_tap.cc derived the pool as helper.c expands
    // `server` or `server-bridge GW MASK START END`, single addresses; none with `server-bridge
    // nogw` or a bare `server-bridge` (DHCP through the bridge) or `server ... nopool`.
    p.v4 = cfg_.tap_pool;
    p.netmask = cfg_.tap_netmask;
    p.network = cfg_.tap_gateway.value_or(0) & cfg_.tap_netmask;
  } else {
    // openvpn (multi.c): one /30 per client only for net30; p2p and subnet pools hand out single
    // addresses. `server` sets the ranges of helper.c.
    const server_subnet& sn = *cfg_.server;
    const uint32_t bcast = sn.network | ~sn.netmask;
    p.net30 = cfg_.topology == topology_kind::net30;
    p.network = sn.network;
    p.netmask = sn.netmask;
    if (cfg_.ifconfig_pool) {
      p.v4 = cfg_.ifconfig_pool;
    } else if (!sn.nopool) {
      const bool single = cfg_.topology == topology_kind::subnet;
      const uint32_t first = sn.network + (single ? 2 : 4);
      const uint32_t last = single ? bcast - 1 : bcast - (sn.prefix_len() == 29 ? 0 : 4);
      if (first <= last) p.v4 = std::make_pair(first, last);
    }
  }
  if (cfg_.server_ipv6) {
    const ipv6_net& n6 = *cfg_.server_ipv6;
    p.server_ip6 = ipv6_add(n6.addr, 1);
    p.v6 = cfg_.ifconfig_ipv6_pool ? *cfg_.ifconfig_ipv6_pool : ipv6_net{ipv6_add(n6.addr, n6.len < 112 ? 0x1000 : 2), n6.len};
  }
  p.duplicate_cn = cfg_.duplicate_cn;
  pool_ = address_pool(p);
  log_(3, "address pool: " + std::to_string(pool_.size()) + " client(s)" +
             (p.v4 ? ", IPv4 " + format_ipv4(p.v4->first) + "-" + format_ipv4(p.v4->second) : std::string(", no IPv4 pool")) +
             (p.v6 ? ", IPv6 from " + format_ipv6_net(*p.v6) : std::string()));
  if (cfg_.connect_freq) connect_freq_.emplace(cfg_.connect_freq->first, cfg_.connect_freq->second);

  const std::string& path = cfg_.ifconfig_pool_persist_path;
  if (path.empty()) return;
  if (cfg_.duplicate_cn) {
    log_(1, "WARNING: ifconfig-pool-persist does not work with duplicate-cn (as in openvpn): " + path + " is not used");
    return;
  }
  std::string text;
  if (const int e = read_small_file(path, text); e == 0) {
    std::vector<std::string> warnings;
    const size_t n = pool_.load_persist(text, cfg_.ifconfig_pool_persist_interval == 0, warnings);
    for (const std::string& w : warnings) log_(1, "ifconfig-pool-persist " + path + ": " + w);
    log_(1, "ifconfig-pool-persist: " + std::to_string(n) + " address(es) read from " + path);
  } else if (e != ENOENT) {
    log_(1, "ifconfig-pool-persist: cannot read " + path + ": " + std::strerror(e));
  }
  persist_ = cfg_.ifconfig_pool_persist_interval > 0;  // 0: the file is read-only (openvpn)
}

// Writes the persist file every interval and at exit (openvpn: its first write comes one interval
// after start-up).
void addressing::persist(uint64_t now_ms, bool force) {
  if (!persist_) return;
  const uint64_t every_ms = uint64_t{cfg_.ifconfig_pool_persist_interval} * 1000;
  if (!force && next_persist_ms_ == 0) next_persist_ms_ = now_ms + every_ms;
  if (!force && now_ms < next_persist_ms_) return;
  next_persist_ms_ = now_ms + every_ms;
  const std::string& path = cfg_.ifconfig_pool_persist_path;
  if (const int e = write_file_replace(path, pool_.persist_text()); e != 0)
    log_(1, "ifconfig-pool-persist: cannot write " + path + ": " + std::strerror(e));
  else
    log_(4, "ifconfig-pool-persist: " + path + " written");
}


std::optional<std::string> addressing::assign(client& c) {
  c.opts = client_connect_options{};
  if (!cfg_.client_config_dir.empty()) {
    // openvpn: DIR/<common name>, else DIR/DEFAULT; ccd-exclusive requires the client's own file
    // (DEFAULT does not count, nor a client named DEFAULT).
    const std::string& dir = cfg_.client_config_dir;
    const auto name = ccd_file_name(c.cn);
    std::string path = name ? dir + "/" + *name : std::string("UNDEF"), text;
    int e = name ? read_small_file(path, text) : ENOENT;
    if (e != 0 && e != ENOENT) log_(1, c.name + ": client-config-dir: cannot read " + path + ": " + std::strerror(e));
    if (cfg_.ccd_exclusive && (e != 0 || c.cn == k_ccd_default)) {
      return "client-config-dir authentication failed for common name '" + env_safe(c.cn) + "' file='" + path +
                    "' (ccd-exclusive)";
    }
    if (e != 0) {
      path = dir + "/" + std::string(k_ccd_default);
      e = read_small_file(path, text);
      if (e != 0 && e != ENOENT) log_(1, c.name + ": client-config-dir: cannot read " + path + ": " + std::strerror(e));
    }
    if (e == 0) {
      c.opts = parse_client_connect(text);
      log_(3, c.name + ": client-config-dir file " + path);
      if (!c.opts.error.empty()) {
        return "client-config-dir file " + path + ": " + c.opts.error;
      }
      for (const std::string& w : c.opts.ignored) log_(3, c.name + ": " + path + ": '" + env_safe(w) + "' ignored");
      if (c.opts.disable) {
        return "client has been rejected due to 'disable' directive in " + path;
      }
    }
  }
  if (!c.opts.ifconfig_push) pool_.acquire(c.cn, c.lease);  // none free: accept() refuses the client
  client_connect_options none;
  return apply_options(c, std::move(none));
}

// The addresses the options ask for (CCD at first, then merged with the client-connect output):
// an ifconfig-push / ifconfig-ipv6-push that differs from what the client holds replaces it.
std::optional<std::string> addressing::apply_options(client& c, client_connect_options&& cc) {
  merge_client_options(c.opts, std::move(cc));
  const client_connect_options& o = c.opts;
  if (o.ifconfig_push && o.ifconfig_push->first != c.lease.v4) {
    if (!pool_.set_static_v4(c.lease, o.ifconfig_push->first)) {
      c.vpn_ip = 0;
      return "ifconfig-push " + format_ipv4(o.ifconfig_push->first) + ": address in use or reserved";
    }
    if (pool_.has_v6() && !o.ifconfig_ipv6_push)
      log_(3, c.name + ": ifconfig-push without ifconfig-ipv6-push: no IPv6 address (as openvpn)");
  }
  if (o.ifconfig_ipv6_push) {
    if (!o.ifconfig_ipv6_remote && !cfg_.server_ipv6) {
      return "ifconfig-ipv6-push: expected a REMOTE address (there is no server-ipv6)";
    }
    if ((!c.lease.v6 || *c.lease.v6 != o.ifconfig_ipv6_push->addr) &&
        !pool_.set_static_v6(c.lease, o.ifconfig_ipv6_push->addr)) {
      return "ifconfig-ipv6-push " + format_ipv6(o.ifconfig_ipv6_push->addr) + ": address in use or reserved";
    }
  }
  c.vpn_ip = c.lease.v4;
  return std::nullopt;
}

// The PUSH_REPLY options (openvpn push.c order): the push list as the options edit it, then
// ifconfig-ipv6, then ifconfig.
std::vector<std::string> addressing::client_push(const client& c) const {
  std::vector<std::string> push = push_;
  apply_push_ops(push, push_.size() - cfg_.push.size(), c.opts.push_ops);
  if (c.lease.v6 && !c.opts.remove_ifconfig_ipv6) {
    const ipv6_net* pushed = c.opts.ifconfig_ipv6_push ? &*c.opts.ifconfig_ipv6_push : nullptr;
    const unsigned bits = pushed ? pushed->len : cfg_.server_ipv6->len;
    const ipv6_addr remote = c.opts.ifconfig_ipv6_remote ? *c.opts.ifconfig_ipv6_remote : ipv6_add(cfg_.server_ipv6->addr, 1);
    push.push_back("ifconfig-ipv6 " + format_ipv6(*c.lease.v6) + "/" + std::to_string(bits) + " " + format_ipv6(remote));
  }
  if (!c.opts.remove_ifconfig && c.vpn_ip) {  // none: server-bridge nogw / bare, DHCP gives it
    uint32_t mask = netmask_;
    uint32_t remote = cfg_.topology == topology_kind::p2p ? server_vpn_ip_
                      : c.lease.v4_local                  ? c.lease.v4_local
                                                          : c.vpn_ip - 1;
    // openvpn (multi.c): a netmask with topology subnet and with dev tap, else the peer address.
    const bool with_mask = cfg_.topology == topology_kind::subnet || cfg_.dev_type == dev_kind::tap;
    if (c.opts.ifconfig_push) (with_mask ? mask : remote) = c.opts.ifconfig_push->second;
    push.push_back("ifconfig " + format_ipv4(c.vpn_ip) + " " + format_ipv4(with_mask ? mask : remote));
  }
  return push;
}

// Called with the client's /32 (install_key), before its first data packet can arrive: the
// dataplane accepts a packet only when its source routes back to the client that sent it.
void addressing::add_routes(client& c) {
  if (c.lease.v6 && !c.learn.v6_unlearned) {  // learn-address may refuse it
    const int rc = routes_.route_add_v6(c.lease.v6->data(), 128, c.peer_id);
    if (rc == 0) c.routes.v6_on = true;
    else log_(1, c.name + ": cannot add route " + format_ipv6(*c.lease.v6) + "/128: " + std::strerror(-rc));
  }
  size_t budget = cfg_.max_routes_per_client;
  auto over = [&](const std::string& what) {
    if (budget > 0) {
      --budget;
      return false;
    }
    log_(1, c.name + ": iroute " + what + " ignored: max-routes-per-client " + std::to_string(cfg_.max_routes_per_client));
    return true;
  };
  // An iroute another client installed moves to this one (openvpn's learned routes do the same:
  // the later client wins); nothing is restored when either leaves.
  for (const iroute4& r : c.opts.iroutes) {
    const std::string what = format_ipv4(r.network) + "/" + std::to_string(r.len);
    if (over(what)) break;
    const int rc = routes_.route_add_v4(r.network, r.len, c.peer_id);
    if (rc != 0) {
      log_(1, c.name + ": cannot add iroute " + what + ": " + std::strerror(-rc));
      continue;
    }
    auto [it, fresh] = iroute4_owner_.try_emplace({r.network, r.len}, c.peer_id);
    if (!fresh && it->second != c.peer_id) log_(3, c.name + ": iroute " + what + " taken over from peer-id " + std::to_string(it->second));
    it->second = c.peer_id;
    c.routes.iroutes_on.push_back(r);
    log_(4, c.name + ": iroute " + what);
  }
  for (const ipv6_net& r : c.opts.iroutes_v6) {
    const std::string what = format_ipv6_net(r);
    if (over(what)) break;
    const int rc = routes_.route_add_v6(r.addr.data(), static_cast<uint8_t>(r.len), c.peer_id);
    if (rc != 0) {
      log_(1, c.name + ": cannot add iroute-ipv6 " + what + ": " + std::strerror(-rc));
      continue;
    }
    auto [it, fresh] = iroute6_owner_.try_emplace({r.addr, static_cast<uint8_t>(r.len)}, c.peer_id);
    if (!fresh && it->second != c.peer_id) log_(3, c.name + ": iroute-ipv6 " + what + " taken over from peer-id " + std::to_string(it->second));
    it->second = c.peer_id;
    c.routes.iroutes6_on.push_back(r);
    log_(4, c.name + ": iroute-ipv6 " + what);
  }
}

void addressing::del_routes(client& c) {
  if (c.routes.v6_on && c.lease.v6) routes_.route_del_v6(c.lease.v6->data(), 128);
  c.routes.v6_on = false;
  for (const iroute4& r : c.routes.iroutes_on) {
    auto it = iroute4_owner_.find({r.network, r.len});
    if (it == iroute4_owner_.end() || it->second != c.peer_id) continue;  // a later client owns it
    routes_.route_del_v4(r.network, r.len);
    iroute4_owner_.erase(it);
  }
  for (const ipv6_net& r : c.routes.iroutes6_on) {
    auto it = iroute6_owner_.find({r.addr, static_cast<uint8_t>(r.len)});
    if (it == iroute6_owner_.end() || it->second != c.peer_id) continue;
    routes_.route_del_v6(r.addr.data(), static_cast<uint8_t>(r.len));
    iroute6_owner_.erase(it);
  }
  c.routes.iroutes_on.clear();
  c.routes.iroutes6_on.clear();
}

// teardown and reject: the pool slot keeps the name for the client's next connection.
void addressing::release(client& c) {
  pool_.release(c.lease);
  c.vpn_ip = 0;
  if (!c.cn_indexed) return;
  auto [b, e] = by_cn_.equal_range(c.cn);
  for (auto it = b; it != e; ++it)
    if (it->second == &c) {
      by_cn_.erase(it);
      break;
    }
  c.cn_indexed = false;
}

std::vector<client*> addressing::others_with_cn(const client& c) const {
  std::vector<client*> out;
  auto [b, e] = by_cn_.equal_range(c.cn);
  for (auto it = b; it != e; ++it)
    if (it->second != &c && !it->second->dead) out.push_back(it->second);
  return out;
}

void addressing::index_cn(client& c) {
  if (c.cn_indexed) return;
  by_cn_.emplace(c.cn, &c);
  c.cn_indexed = true;
}

// connect-freq (openvpn mudp.c): counted when a client completes the cookie exchange and would
// get a session; the rest are dropped there, before any per-client state exists.
void addressing::reload_connect_freq() {
  connect_freq_.reset();
  if (cfg_.connect_freq) connect_freq_.emplace(cfg_.connect_freq->first, cfg_.connect_freq->second);
}

bool addressing::admit_new_session(const net::outer_addr& from, uint64_t now_ms) {
  if (!connect_freq_ || connect_freq_->allow(now_ms / 1000)) return true;
  ++connect_freq_refused_;
  // One line per second at most: a storm must not turn into a storm of log lines.
  if (now_ms / 1000 != connect_freq_logged_s_) {
    connect_freq_logged_s_ = now_ms / 1000;
    log_(1, "connection from " + format_outer(from) +
               " would exceed the new connection frequency limit (connect-freq); refused so far: " +
               std::to_string(connect_freq_refused_));
  }
  return false;
}

}  // namespace dpvpn::cp
