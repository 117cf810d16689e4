// SPDX-License-Identifier: MIT
// dpvpn: build/dpvpn [EAL options] -- [--cd DIR] --config server.conf [--DIRECTIVE ARGS...]
// Brings up EAL, the exception port and the WAN port, the shared rings/tables, the control
// thread and one worker per EAL lcore; stops cleanly on SIGTERM/SIGINT.
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdarg>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <random>
#include <thread>
#include <vector>

#include "dpvpn/config.h"
#include "dpvpn/dp_setup.h"
#include "dpvpn/exception_port.h"
#include "dpvpn/log_sink.h"
#include "../control/client_control.h"
#include "../control/gateway.h"
#include "../control/metrics.h"
#include "../control/metrics_telemetry.h"
#include "dpvpn/neigh_resolver.h"
#include "dpvpn/ports.h"

using namespace dpvpn;

namespace {

std::string g_pid_file;  // writepid: removed at exit, as openvpn does

[[noreturn]] void fatal(const std::string& m) {
  cp::log_program(cp::log_prio::err, m);
  if (!g_pid_file.empty()) ::unlink(g_pid_file.c_str());
  rte_eal_cleanup();
  std::exit(1);
}

void usage() {
  std::fprintf(stderr,
               "usage: dpvpn [EAL options] -- [--cd DIR] --config server.conf [--DIRECTIVE ARGS...]\n"
               "  e.g. dpvpn --no-huge -m 1024 --no-shconf --no-pci -l 0-1 \\\n"
               "         --vdev=net_af_packet0,iface=veth0,qpairs=2 -- --config server.conf\n");
}

// printf into a string, for the log lines below.
[[gnu::format(printf, 1, 2)]] std::string strf(const char* fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  const int n = std::vsnprintf(nullptr, 0, fmt, ap);
  va_end(ap);
  std::string s(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(s.data(), s.size() + 1, fmt, ap2);
  va_end(ap2);
  return s;
}

// DPDK's own log (rte_log) into the process's log once the config is read. EAL's default stream
// writes every line to stderr and to syslog(3) both: twice in the journal under systemd, and not
// where `log FILE` or `syslog NAME` says. rte_vlog flushes after each message, so this sees whole
// lines; a line split over two flushes waits here for its end (the FILE's lock serialises us).
ssize_t dpdk_log_write(void*, const char* buf, size_t n) {
  static std::string partial;
  partial.append(buf, n);
  size_t nl;
  while ((nl = partial.find('\n')) != std::string::npos) {
    // RTE_LOG_EMERG (1) .. RTE_LOG_DEBUG (8) are syslog severities + 1; emerg, alert, crit -> err.
    const int sev = std::clamp(static_cast<int>(rte_log_cur_msg_loglevel()) - 1, 3, 7);
    cp::log_text(static_cast<cp::log_prio>(sev), std::string_view(partial).substr(0, nl));
    partial.erase(0, nl + 1);
  }
  return static_cast<ssize_t>(n);
}

// Under systemd with stdout on the journal ($JOURNAL_STREAM holds its "device:inode", as
// systemd.exec(5) describes), the journal stamps every line: no second timestamp from us.
bool stdout_is_journal() {
  const char* js = std::getenv("JOURNAL_STREAM");
  struct stat st {};
  if (!js || ::fstat(STDOUT_FILENO, &st) != 0) return false;
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) == js;
}

FILE* dpdk_log_stream() {
  static FILE* f = fopencookie(nullptr, "w", cookie_io_functions_t{nullptr, dpdk_log_write, nullptr, nullptr});
  return f;
}

struct launch_arg {
  dp::dp_shared* sh;
  dp::dp_lcore* me;
};
int launch_worker(void* a) {
  auto* la = static_cast<launch_arg*>(a);
  return dp::worker_main(*la->sh, *la->me);
}



// Next hops the LAN port resolves at most (dp_lan.h: entries are never freed).
constexpr uint32_t k_lan_neighbors = 4096;

// The server's kernel side of IPv6 in the tunnel (`server-ipv6 NET/BITS`: the server is NET+1,
// as openvpn's tun gets) and every `route` / `route-ipv6` of server.conf as a kernel route into
// the tunnel, as openvpn installs them on a server (the dataplane routes them on by iroute).
void configure_kernel_routes(const cp::server_config& cfg, const std::string& ifname) {
  std::string err;
  if (cfg.server_ipv6) {
    const cp::ipv6_addr self = cp::ipv6_add(cfg.server_ipv6->addr, 1);
    if (kni::configure_kernel_iface_v6(ifname, self.data(), static_cast<uint8_t>(cfg.server_ipv6->len), err) != 0)
      fatal(err);
  }
  for (const cp::route4& r : cfg.routes) {
    const uint8_t len = static_cast<uint8_t>(std::popcount(r.netmask));
    if (kni::add_kernel_route(ifname, r.network, len, err) != 0) fatal(cfg.source + ": route: " + err);
  }
  for (const cp::ipv6_net& r : cfg.routes_v6)
    if (kni::add_kernel_route_v6(ifname, r.addr.data(), static_cast<uint8_t>(r.len), err) != 0)
      fatal(cfg.source + ": route-ipv6: " + err);
}

// A port whose PMD opens its RX queues when it is probed, before we configure it: net_af_packet
// with qpairs=N has N sockets in one PACKET_FANOUT group from then on (its dev_info reports N as
// max_rx_queues and nb_rx_queues), and the kernel spreads flows over all of them whatever queue
// count we configure. A queue no worker polls then loses its share of the flows, ARP included,
// without a counter. Refuse to start rather than run like that. Before setup_port only.
void check_probed_rx_queues(uint16_t port, uint16_t workers, const char* role) {
  rte_eth_dev_info dev{};
  if (rte_eth_dev_info_get(port, &dev) != 0) return;  // setup_port reports the failure
  const std::string drv = dev.driver_name ? dev.driver_name : "?";
  uint16_t probed = dev.nb_rx_queues;
  if (drv == "net_af_packet") probed = std::max(probed, dev.max_rx_queues);
  if (probed <= workers) return;
  const std::string n = std::to_string(probed), w = std::to_string(workers);
  fatal(std::string(role) + " port " + std::to_string(port) + " (" + drv + ") has " + n + " RX queues but only " + w +
        " worker lcore(s) to poll them: the flows the kernel puts on the other " + std::to_string(probed - workers) +
        " queue(s) would be lost. Give " +
        (drv == "net_af_packet" ? "qpairs=" + w + " in --vdev (qpairs equal to the worker count)"
                                : "the port " + w + " queue(s)") +
        ", or run " + n + " worker lcores (EAL -l)");
}


// An ethdev by the name EAL gave it (`dp-lan`, `dp-wan`): a vdev's name (net_af_packet1,
// net_memif0) or a PCI address. Fatal, listing the ports there are, when there is none.
uint16_t port_by_name(const std::string& name, const char* directive) {
  uint16_t id = 0;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &id) == 0) return id;
  std::string have;
  uint16_t p;
  RTE_ETH_FOREACH_DEV(p) {
    char n[RTE_ETH_NAME_MAX_LEN];
    if (rte_eth_dev_get_name_by_port(p, n) == 0) have += std::string(have.empty() ? "" : ", ") + n;
  }
  fatal(std::string(directive) + ": no ethdev named " + name + " (EAL created: " + (have.empty() ? "none" : have) +
        "; give it with --vdev or -a)");
}

// The LAN port's settings for the workers (`dp-lan`) and its static routes (`dp-route`).
void lan_conf_of(const cp::server_config& cfg, dp::lan_conf& lan, const dp::port_info& info) {
  const auto& dl = *cfg.dp_lan;
  lan.on = true;
  std::memcpy(lan.mac.data(), info.mac, 6);
  lan.ip = dl.addr;
  lan.mask = dl.prefix ? ~uint32_t{0} << (32 - dl.prefix) : 0;
  if (dl.addr6) {
    lan.v6 = true;
    std::memcpy(lan.ip6.data(), dl.addr6->addr.data(), 16);
    lan.prefix6 = static_cast<uint8_t>(dl.addr6->len);
  }
  uint16_t mtu = 1500;
  if (rte_eth_dev_get_mtu(lan.port, &mtu) == 0 && mtu >= 1280) lan.mtu = mtu;
  lan.tun_mtu = static_cast<uint16_t>(std::min<unsigned>(cfg.tun_mtu, 65535));
}


// The client role's local UDP port: `lport`, else `port`; with `nobind` an ephemeral one (the
// dataplane owns the WAN address, so no socket reserves it: any port of the dynamic range will do).
uint16_t client_local_port(const cp::server_config& cfg) {
  if (cfg.lport) return *cfg.lport;
  if (!cfg.nobind) return cfg.port;
  std::random_device rd;
  return static_cast<uint16_t>(49152 + rd() % 16384);
}

// The client role's exception-port side: a connection's pushed address and routes (netlink).
cp::tunnel_ops client_tunnel_ops(const std::string& ifname, unsigned tun_mtu) {
  cp::tunnel_ops ops;
  ops.apply = [ifname, tun_mtu](const cp::tunnel_settings& t, std::string& err) {
    const unsigned mtu = t.tun_mtu ? t.tun_mtu : tun_mtu;
    if (kni::configure_kernel_iface(ifname, t.local, t.prefix, mtu, err) != 0) return false;
    if (t.remote && kni::add_kernel_route(ifname, t.remote, 32, err) != 0) return false;
    if (t.local6 && kni::configure_kernel_iface_v6(ifname, t.local6->addr.data(), static_cast<uint8_t>(t.local6->len), err) != 0)
      return false;
    for (const auto& r : t.routes)
      if (kni::add_kernel_route(ifname, r.net, r.len, err) != 0) return false;
    for (const auto& r : t.routes6)
      if (kni::add_kernel_route_v6(ifname, r.addr.data(), static_cast<uint8_t>(r.len), err) != 0) return false;
    return true;
  };
  // Down: the kernel drops every route through the link with it; the address goes too.
  ops.remove = [ifname](const cp::tunnel_settings& t) {
    std::string err;
    if (kni::unconfigure_kernel_iface(ifname, t.local, t.prefix, err) != 0)
      cp::log_program(cp::log_prio::warning, "warning: " + err);
  };
  return ops;
}

// The client role (docs/client.md) from the shared state on: client_control instead of the
// gateway's control thread (with its management interface and status file); no metrics or SIGHUP
// re-read yet.
int run_client(cp::server_config& cfg, std::unique_ptr<proto::tls_context> tls, dp::dp_shared& sh, int sfd,
               const std::string& ifname, rte_mempool* pool, uint32_t n_mbufs, int wan, uint16_t exc_port, int lan_port) {
  std::unique_ptr<cp::client_control> control;
  try {
    cp::control_setup setup = cp::make_control_setup(cfg, tls.get());
    control = std::make_unique<cp::client_control>(cfg, std::move(setup), sh, sfd, ifname,
                                                   client_tunnel_ops(ifname, cfg.tun_mtu));
  } catch (const cp::config_error& e) {
    fatal(e.what());
  }
  if (std::string err; !control->open_management(err)) fatal("management: " + err);
  // dp-lan (a site behind the client): the LAN's next hops, as in the server role.
  std::unique_ptr<dp::neigh_resolver> resolver;
  if (sh.cfg.lan.on) {
    resolver = std::make_unique<dp::neigh_resolver>(sh);
    control->add_poll([&r = *resolver](uint64_t now) { return r.poll(now); });
  }
  std::thread control_thread([&] { control->run(); });
  const uint16_t n_workers = sh.cfg.n_workers;
  std::vector<launch_arg> args(n_workers);
  for (uint16_t i = 0; i < n_workers; ++i) args[i] = {&sh, sh.lcores[i]};
  for (uint16_t i = 1; i < n_workers; ++i) rte_eal_remote_launch(launch_worker, &args[i], sh.lcores[i]->lcore_id);
  launch_worker(&args[0]);
  rte_eal_mp_wait_lcore();
  control_thread.join();
  control->print_counters("exit");
  std::string err;
  resolver.reset();  // the packets it holds too
  dp::shared_destroy(sh);
  dp::close_port(static_cast<uint16_t>(wan), err);
  if (lan_port >= 0) dp::close_port(static_cast<uint16_t>(lan_port), err);
  kni::destroy_exception_port(exc_port, err);
  if (!g_pid_file.empty()) ::unlink(g_pid_file.c_str());
  cp::log_program(cp::log_prio::notice, strf("mbufs in use at exit: %u of %u", rte_mempool_in_use_count(pool), n_mbufs));
  control.reset();
  rte_eal_cleanup();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Signals go to the control thread only (one mechanism, a signalfd): block them in this thread
  // before EAL creates its lcore threads, which inherit the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&sigs, s);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  const int consumed = rte_eal_init(argc, argv);
  if (consumed < 0) {
    usage();
    std::fprintf(stderr, "dpvpn: EAL init failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  argc -= consumed;
  argv += consumed;
  // openvpn's command line: --config FILE and/or directives as --name ARGS (config_cli.cc).
  std::vector<std::string> app_args(argv + 1, argv + argc);
  for (const std::string& a : app_args)
    if (a == "--help" || a == "-h") { usage(); return 0; }
  if (app_args.empty()) { usage(); fatal("--config FILE (or directives as --name ARGS) is required"); }

  cp::server_config cfg;
  try {
    cfg = cp::parse_command_line(app_args);
  } catch (const cp::config_error& e) {
    fatal(e.what());
  }
  const std::string config_path = cfg.source;
  char start_dir[4096] = "";
  if (!::getcwd(start_dir, sizeof start_dir)) start_dir[0] = '\0';
  // `cd DIR`: openvpn changes directory while it parses, so every relative path (key files, log,
  // status, ccd, scripts) resolves against DIR. Nothing has been opened yet.
  if (!cfg.cd.empty() && ::chdir(cfg.cd.c_str()) != 0)
    fatal(config_path + ": cd: cannot change to " + cfg.cd + ": " + std::strerror(errno));
  // `log FILE` / `log-append FILE`: from here on stdout and stderr go to the file, as openvpn's do.
  // Always O_APPEND (openvpn's `log` has only O_TRUNC): after logrotate's copytruncate empties the
  // file, the next line lands at offset 0, not at the old offset behind a hole of zeros.
  if (!cfg.log_path.empty()) {
    const int fd = ::open(cfg.log_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_APPEND | (cfg.log_append ? 0 : O_TRUNC), 0640);
    if (fd < 0) fatal(config_path + ": log: cannot open " + cfg.log_path + ": " + std::strerror(errno));
    std::fflush(stdout);
    std::fflush(stderr);
    if (::dup2(fd, STDOUT_FILENO) < 0 || ::dup2(fd, STDERR_FILENO) < 0) fatal("log: dup2 failed");
    ::close(fd);
  }
  // `syslog [NAME]` unless a log file was given (openvpn: the file wins); no timestamps with
  // `suppress-timestamps` or on the journal; DPDK's lines follow. DPVPN_SYSLOG_SOCKET replaces /dev/log for tests (tests/interop/gateway-logs.sh).
  cp::log_settings ls;
  ls.syslog = cfg.syslog && cfg.log_path.empty();
  ls.ident = cfg.syslog_ident;
  if (const char* s = std::getenv("DPVPN_SYSLOG_SOCKET"); s && *s) ls.socket_path = s;
  ls.timestamps = !cfg.suppress_timestamps && !stdout_is_journal();
  cp::log_configure(ls);
  if (FILE* f = dpdk_log_stream()) rte_openlog_stream(f);
  if (cfg.syslog && !ls.syslog)
    cp::log_program(cp::log_prio::warning, "warning: syslog is ignored: log lines go to the file " + cfg.log_path);
  for (const std::string& w : cfg.warnings) cp::log_program(cp::log_prio::warning, "warning: " + w);
  if (!cfg.writepid.empty()) {  // openvpn writes "PID\n" early and removes the file at exit
    FILE* f = std::fopen(cfg.writepid.c_str(), "w");
    if (!f || std::fprintf(f, "%u\n", static_cast<unsigned>(::getpid())) < 0 || std::fclose(f) != 0)
      fatal(config_path + ": writepid: cannot write " + cfg.writepid + ": " + std::strerror(errno));
    g_pid_file = cfg.writepid;
  }
  if (!cfg.local && !cfg.local6)
    fatal(config_path + ": local: required (the WAN address the dataplane owns: IPv4, IPv6 or one of each)");
  // dev tap (docs/tap.md): `server NET MASK` and the three forms of `server-bridge`; the workers'
  // 802.1Q handling is not done.
  if (cfg.dev_type == cp::dev_kind::tap && cfg.vlan_tagging)
    fatal(config_path + ": vlan-tagging: not supported by the dataplane yet");

  const uint16_t n_workers = static_cast<uint16_t>(rte_lcore_count());
  if (n_workers > dp::k_max_workers) fatal("too many lcores");
  // DPDK 22.11's net_tun / net_tap hand every queue's two file descriptors to secondary processes
  // in one message of at most 8 (RTE_MP_MAX_FD_NUM) when the port starts: with more than four
  // queues it overruns that array and aborts ("stack smashing detected"). So such a port gets at
  // most four queues; workers beyond the fourth pass their packets for the kernel to one that has
  // a queue (dp_config::exc_queues). Transit traffic with `dp-lan` never goes that way.
  constexpr uint16_t k_tuntap_max_queues = 4;
  const uint16_t exc_queues = cfg.dp_exception == cp::exception_port_kind::virtio_user
                                  ? n_workers
                                  : std::min(n_workers, k_tuntap_max_queues);

  // Exception port ("TUN"), then the WAN port (the first other ethdev).
  kni::exception_conf ec;
  ec.kind = cfg.dp_exception == cp::exception_port_kind::tap ? "tap"
            : cfg.dp_exception == cp::exception_port_kind::virtio_user ? "virtio-user"
                                                                       : "tun";
  ec.ifname = cp::exception_ifname(cfg.dev);
  ec.queues = exc_queues;
  ec.mtu = cfg.tun_mtu;
  std::string err;
  uint16_t exc_port = 0;
  if (kni::create_exception_port(ec, exc_port, err) != 0) fatal(err);
  const int lan_port = cfg.dp_lan ? port_by_name(cfg.dp_lan->port, "dp-lan") : -1;
  const int wan = !cfg.dp_wan.empty() ? port_by_name(cfg.dp_wan, "dp-wan") : dp::find_wan_port(exc_port, lan_port);
  if (wan < 0) fatal("no WAN port: give one with --vdev=net_af_packet0,iface=IF or a NIC");
  if (wan == exc_port || wan == lan_port) fatal("dp-wan: " + cfg.dp_wan + " is the exception or the LAN port");
  if (lan_port == exc_port) fatal("dp-lan: " + cfg.dp_lan->port + " is the exception port");

  const uint32_t n_mbufs = cfg.dp_mbufs ? cfg.dp_mbufs
                                        : dp::mbufs_needed(n_workers, static_cast<uint16_t>(n_workers * (lan_port >= 0 ? 2 : 1)),
                                                           exc_queues, 1024, 1024,
                                                           static_cast<uint16_t>(cfg.dp_ring_size),
                                                           static_cast<uint16_t>((lan_port >= 0 ? 3 : 1) +
                                                                                 (n_workers > exc_queues ? exc_queues : 0)),
                                                           lan_port >= 0 ? dp::neigh_resolver::k_max_held : 0);
  rte_mempool* pool = dp::create_mbuf_pool("dpvpn_mbufs", n_mbufs, static_cast<int>(rte_socket_id()), err);
  if (!pool) fatal(err);
  dp::port_info wan_info, exc_info;
  dp::port_conf pc;
  pc.port_id = static_cast<uint16_t>(wan);
  pc.queues = n_workers;
  pc.pool = pool;
  check_probed_rx_queues(pc.port_id, n_workers, "WAN");
  check_probed_rx_queues(exc_port, exc_queues, "exception");
  pc.want_tx_csum = cfg.dp_udp_checksum;  // the device's checksums when it has them (a NIC; not af_packet)
  if (dp::setup_port(pc, wan_info, err) != 0) fatal(err);
  pc.want_tx_csum = false;
  dp::port_info lan_info;
  if (lan_port >= 0) {
    pc.port_id = static_cast<uint16_t>(lan_port);
    pc.rss_types = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;
    check_probed_rx_queues(pc.port_id, n_workers, "LAN");
    if (dp::setup_port(pc, lan_info, err) != 0) fatal("dp-lan: " + err);
    pc.rss_types = 0;
  }
  pc.port_id = exc_port;
  pc.queues = exc_queues;
  pc.want_rss = false;
  if (dp::setup_port(pc, exc_info, err) != 0) fatal(err);
  const bool client_role = cfg.client;
  if (client_role) {
    // The client role: the device comes up without an address; each connection's pushed ifconfig
    // and routes are applied (and `up` run) by the control thread (control/client_control.h).
    if (kni::configure_kernel_iface(ec.ifname, 0, 0, cfg.tun_mtu, err) != 0) fatal(err);
  } else if (cfg.server_bridge != cp::bridge_mode::none) {
    // server-bridge (docs/tap.md, "The exception port"): as with openvpn's tap0 the device comes
    // up without an address; the operator's `up` adds it to a bridge, whose own address (GW) the
    // kernel answers for.
    if (kni::configure_kernel_iface(ec.ifname, 0, 0, cfg.tun_mtu, err) != 0) fatal(err);
    if (!cp::run_updown(cfg, ec.ifname, "up", "", 0, err)) fatal(err);
    configure_kernel_routes(cfg, ec.ifname);
  } else {
    const uint32_t server_ip = cfg.server->network + 1;
    if (kni::configure_kernel_iface(ec.ifname, server_ip, static_cast<uint8_t>(cfg.server->prefix_len()), cfg.tun_mtu,
                                    err) != 0)
      fatal(err);
    // openvpn's order: the device gets its address, then `up` runs (a failure is fatal), then routes.
    if (!cp::run_updown(cfg, ec.ifname, "up", "", 0, err)) fatal(err);
    configure_kernel_routes(cfg, ec.ifname);
  }

  // Shared state.
  dp::dp_shared sh;
  sh.cfg.wan_port = static_cast<uint16_t>(wan);
  sh.cfg.exc_port = exc_port;
  sh.cfg.n_workers = n_workers;
  sh.cfg.wan_v4 = cfg.local.has_value();
  sh.cfg.local_ip = cfg.local.value_or(0);
  sh.cfg.wan_v6 = cfg.local6.has_value();
  if (cfg.local6) sh.cfg.local_ip6 = *cfg.local6;
  sh.cfg.local_port = client_role ? client_local_port(cfg) : cfg.port;
  sh.cfg.client_role = client_role;
  std::memcpy(sh.cfg.wan_mac.data(), wan_info.mac, 6);
  sh.cfg.rx_burst = static_cast<uint16_t>(cfg.dp_rx_burst);
  sh.cfg.udp_checksum = cfg.dp_udp_checksum;
  sh.cfg.tx_csum_offload = wan_info.tx_csum;
  sh.cfg.adaptive_idle = cfg.dp_idle_sleep;
  sh.cfg.contact_pps = cfg.dp_contact_pps;
  sh.cfg.contact_burst = cfg.dp_contact_burst;
  sh.cfg.tunnel_spread = static_cast<uint16_t>(std::min<unsigned>(cfg.dp_tunnel_spread, n_workers));
  // Peer-ids beyond max-clients: a torn-down client's id comes back only once its owner lcore has
  // handed the peer back (poll_done), so a client that replaces another at max-clients (a restart
  // from the same address) needs a spare id while the old one is in flight.
  sh.cfg.max_peers = client_role ? 64u  // the server, and the indexes of earlier connections still in flight
                                  : static_cast<uint32_t>(std::min<uint64_t>(
                                        uint64_t{cfg.max_clients} + std::max(64u, cfg.max_clients / 16), wire::k_peer_id_none));
  sh.cfg.client_to_client = cfg.client_to_client;
  sh.cfg.mss_clamp = cp::mss_clamp_for(cfg, net::k_ipv4_hdr + net::k_tcp_hdr);
  sh.cfg.mss_clamp_v6 = cp::mss_clamp_for(cfg, net::k_ipv6_hdr + net::k_tcp_hdr);
  // dev tap (docs/tap.md): the workers' side of the segment, and the MAC table (below).
  sh.cfg.tap = cfg.dev_type == cp::dev_kind::tap;
  if (sh.cfg.tap) {
    net::mac exc_mac;
    std::memcpy(exc_mac.data(), exc_info.mac, 6);
    sh.cfg.l2 = cp::l2_policy_for(cfg, exc_mac);
  }
  sh.pool = pool;
  sh.cfg.exc_queues = exc_queues;
  if (lan_port >= 0) {
    sh.cfg.lan.port = static_cast<uint16_t>(lan_port);
    lan_conf_of(cfg, sh.cfg.lan, lan_info);
  }
  sh.now_s.store(static_cast<uint64_t>(time(nullptr)));
  dp::shared_params sp;
  unsigned lid;
  RTE_LCORE_FOREACH(lid) sp.lcore_ids.push_back(lid);
  sp.ring_size = cfg.dp_ring_size;
  sp.lan_routes = cp::lan_routes_of(cfg);
  sp.lan_neighbors = k_lan_neighbors;
  if (sh.cfg.tap) {
    sp.l2 = cp::l2_params_for(cfg);
    std::random_device rd;
    sp.l2.seed = (uint64_t{rd()} << 32) | rd();  // a client cannot aim its MACs at one probe chain
  }
  if (!dp::shared_create(sh, sp, err)) {
    dp::shared_destroy(sh);
    fatal(err);
  }

  // TLS and the control thread.
  std::string tls_missing;
  proto::tls_config tc = cp::tls_config_of(cfg, tls_missing);
  if (!tls_missing.empty()) fatal(tls_missing + " is required");
  if (!cfg.ecdh_curve.empty())
    cp::log_program(cp::log_prio::warning,
                    "warning: ecdh-curve " + cfg.ecdh_curve + " is not applied (as openvpn 2.6 with OpenSSL 3); use tls-groups");
  auto tls = proto::tls_context::create(tc, err);
  // An inline private key stays in the SSL_CTX only.
  for (std::string* k : {&tc.key_pem, &cfg.key.inline_text}) {
    OPENSSL_cleanse(k->data(), k->size());
    k->clear();
  }
  if (!tls) fatal("TLS: " + err);

  int sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) fatal("signalfd failed");
  if (client_role) return run_client(cfg, std::move(tls), sh, sfd, ec.ifname, pool, n_mbufs, wan, exc_port, lan_port);
  std::unique_ptr<cp::gateway_control> control;
  // Each worker checks first contacts' tls-auth / tls-crypt(-v2) itself (control/proto/front_filter.h);
  // the filters outlive the workers.
  std::vector<std::unique_ptr<proto::front_filter>> front_filters;
  try {
    cp::control_setup setup = cp::make_control_setup(cfg, tls.get());
    std::vector<crypto::engine*> engines;
    for (uint16_t i = 0; i < n_workers; ++i) engines.push_back(sh.lcores[i]->eng.get());
    front_filters = cp::make_front_filters(setup.session, engines);
    for (size_t i = 0; i < front_filters.size(); ++i) sh.lcores[i]->front = front_filters[i].get();
    if (!front_filters.empty())
      cp::log_program(cp::log_prio::notice, "first contacts' control frames are authenticated on the worker lcores");
    control = std::make_unique<cp::gateway_control>(cfg, std::move(setup), sh, sfd);
  } catch (const cp::config_error& e) {
    fatal(e.what());
  }
  // SIGHUP (control/reload.h): the same command line read again from where dpvpn started (its
  // --config and --cd may be relative), then back in the `cd` directory.
  control->set_reread([app_args, dir = std::string(start_dir), cd = cfg.cd] {
    if (!dir.empty() && ::chdir(dir.c_str()) != 0) throw std::runtime_error("cannot change to " + dir);
    cp::server_config c;
    std::string err;
    try {
      c = cp::parse_command_line(app_args);
    } catch (const std::exception& e) {
      err = e.what();
    }
    if (!cd.empty() && ::chdir(cd.c_str()) != 0) err += (err.empty() ? "" : "; ") + std::string("cannot change back to ") + cd;
    if (!err.empty()) throw std::runtime_error(err);
    return c;
  });
  // `management` (control/mgmt_server.h): its socket listens before any client is served.
  if (!control->open_management(err)) fatal("management: " + err);
  // Metrics (control/metrics.h): the control thread publishes its figures for dp-metrics' HTTP
  // thread and the /dpvpn telemetry commands; both read the workers' counters themselves.
  auto metrics = std::make_unique<cp::metrics_hub>(*control, sh, cfg.dp_metrics && cfg.dp_metrics->per_client);
  control->add_service({[&m = *metrics](uint64_t now) { return m.poll(now); }, [&m = *metrics] { return m.counters(); }});
  if (cfg.dp_metrics && !metrics->listen(cfg.dp_metrics->ip, cfg.dp_metrics->port, err)) fatal("dp-metrics: " + err);
  cp::telemetry_attach(metrics.get());
  // dev tap: the MAC table's one writer (learn requests, aging), a service of the control thread.
  std::unique_ptr<dp::l2_learner> learner;
  if (sh.cfg.tap) {
    learner = std::make_unique<dp::l2_learner>(sh, sp.l2.max_per_peer, sp.l2.max_age_s);
    control->add_service({[&l = *learner](uint64_t now) { return l.poll(now); }, [&l = *learner] { return l.counters(); }});
  }
  std::unique_ptr<dp::neigh_resolver> resolver;
  if (sh.cfg.lan.on) {
    resolver = std::make_unique<dp::neigh_resolver>(sh);
    control->add_service({[&r = *resolver](uint64_t now) { return r.poll(now); },
                          [&r = *resolver] { return r.counters(); }});
    char mac[32];
    std::snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", lan_info.mac[0], lan_info.mac[1], lan_info.mac[2],
                  lan_info.mac[3], lan_info.mac[4], lan_info.mac[5]);
    cp::log_program(cp::log_prio::notice,
                    strf("LAN port %d (%s, %s, MTU %u, RSS %s), %zu static route(s)", lan_port, lan_info.driver, mac,
                         unsigned{sh.cfg.lan.mtu}, lan_info.rss_on ? "on" : "off", cfg.dp_routes.size()));
  }
  cp::log_program(cp::log_prio::notice,
                  strf("WAN port %d (%s, %u queue(s), RSS %s, TX checksum offload %s), exception port %u (%s %s, %u queue(s)), %u worker lcore(s), "
                       "%u mbufs, client-to-client %s, TCP MSS clamp %u (IPv6 %u), route tables %zu KiB",
                       wan, wan_info.driver, n_workers, wan_info.rss_on ? "on" : "off", wan_info.tx_csum ? "on" : "off", exc_port, ec.kind.c_str(),
                       ec.ifname.c_str(), unsigned{exc_queues}, n_workers, n_mbufs,
                       sh.cfg.client_to_client ? "on" : "off", unsigned{sh.cfg.mss_clamp}, unsigned{sh.cfg.mss_clamp_v6},
                       (dp::routes_memory(sh.rt).v4_bytes + dp::routes_memory(sh.rt).v6_bytes) / 1024));
  std::thread control_thread([&] { control->run(); });

  std::vector<launch_arg> args(n_workers);
  for (uint16_t i = 0; i < n_workers; ++i) args[i] = {&sh, sh.lcores[i]};
  for (uint16_t i = 1; i < n_workers; ++i) rte_eal_remote_launch(launch_worker, &args[i], sh.lcores[i]->lcore_id);
  launch_worker(&args[0]);  // the main lcore is a worker too
  rte_eal_mp_wait_lcore();
  control_thread.join();
  control->print_counters("exit");
  // From here on no other thread reads the shared state: the telemetry commands answer an error and
  // the HTTP server's thread is joined.
  cp::telemetry_detach();
  metrics.reset();

  // Peers still owned by the lcores, and anything left in the rings, go back to the pool.
  resolver.reset();  // the packets it holds too
  learner.reset();
  dp::shared_destroy(sh);
  dp::close_port(static_cast<uint16_t>(wan), err);
  if (lan_port >= 0) dp::close_port(static_cast<uint16_t>(lan_port), err);
  kni::destroy_exception_port(exc_port, err);
  // `down` after the device is gone (openvpn without down-pre); a failure is reported, the exit
  // goes on.
  if (!cp::run_updown(cfg, ec.ifname, "down", control->stop_signal(), 0, err))
    cp::log_program(cp::log_prio::err, err);
  if (!g_pid_file.empty()) ::unlink(g_pid_file.c_str());
  cp::log_program(cp::log_prio::notice, strf("mbufs in use at exit: %u of %u", rte_mempool_in_use_count(pool), n_mbufs));
  control.reset();
  rte_eal_cleanup();
  return 0;
}
