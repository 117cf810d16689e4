// SPDX-License-Identifier: MIT
// dpvpn-loadgen: emulates many OpenVPN 2.6 clients (the protocol core's client role, one thread)
// to load a gateway with handshakes and data-channel traffic, over kernel UDP sockets or (--dpdk)
// over a DPDK WAN port with a second DPDK port as the LAN host behind the gateway.
//
//   dpvpn-loadgen --remote IP:PORT --pki DIR [--cert NAME] [--wrap tls-crypt|tls-auth|tls-crypt-v2|none]
//       [--ciphers LIST] [--clients N] [--stagger-ms M] [--handshakes-per-sec R]
//       [--size BYTES|imix] [--duration S] [--rate PPS|max] [--reverse] [--target IP]
//       [--target-port P] [--json] [--bind IP]
//
// The steady population (--clients, default 1) connects first; then for --duration seconds each
// established session sends UDP-in-IPv4 packets of --size inner bytes (imix: 7:4:1 of
// 64/576/1420) to --target:--target-port at --rate packets/s in total, or (--reverse) only
// keepalives while it counts what the server sends. --handshakes-per-sec runs a reconnect storm
// alongside: sessions that handshake, send EXIT and close. When the population is up, one line
// on stderr lists the pushed VPN addresses (for `dpvpn-udp source --dst`).
// Exit: 0 if every steady session established and stayed up, and >= 95% of the storm did;
// 1 otherwise; 2 on bad usage or setup.
//
//   dpvpn-loadgen --dpdk [EAL args] -- --remote IP:PORT --pki DIR --wan-ip IP
//       [--lan-ip IP --lan-gw IP] [--wan-port NAME] [--lan-port NAME|none] [--sport-base P]
//       [--dir c2s|s2c|both[,...]] [--size 64,512,1420,imix] [--rate PPS|max] [--duration S]
//       [--probe F] [--warmup S] [--repeat K] [--gw-pid PID] [--clients N] [--json] (and the
//       session options)
//
// --dpdk: no kernel on the path. The sessions run over the WAN ethdev (--wan-port, default the
// first port), each from --wan-ip port sport-base + i; the loadgen answers ARP for --wan-ip and
// resolves the gateway's MAC by ARP. The LAN ethdev (--lan-port, default the second) is the host
// --lan-ip behind the gateway's LAN address --lan-gw. One step per direction and size (the
// comma lists of --dir and --size): c2s seals inner packets to --lan-ip on the WAN and counts
// what comes out on the LAN; s2c sends plain packets on the LAN to the sessions' VPN addresses and
// opens what comes back on the WAN; both does both at once. Each step: --warmup, then --duration
// at --rate (per direction; max = as fast as the port takes them; --repeat K: K such windows, the
// median reported), then with --probe F a second window at F x the delivered rate. Every inner packet carries the TSC at its sending and a
// step/window mark, so loss and latency count only that window's packets. Report: one line per
// window (--json: one JSON object per line; see docs/bench/fastpath.md). --gw-pid PID adds the
// CPU share that thread (the gateway's worker: its main thread) got in each window, and the
// delivered rate per CPU-second of it.
#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <string>

#include "loadgen.h"

using namespace dpvpn::loadgen;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "dpvpn-loadgen: %s\n"
               "usage: dpvpn-loadgen --remote IP:PORT --pki DIR [--cert NAME]\n"
               "         [--wrap tls-crypt|tls-auth|tls-crypt-v2|none] [--ciphers LIST] [--clients N]\n"
               "         [--stagger-ms M] [--handshakes-per-sec R] [--size BYTES|imix] [--duration S]\n"
               "         [--rate PPS|max] [--reverse] [--target IP] [--target-port P] [--json] [--bind IP]\n"
               "       dpvpn-loadgen --dpdk [EAL args] -- --remote IP:PORT --pki DIR --wan-ip IP\n"
               "         [--lan-ip IP --lan-gw IP] [--wan-port NAME] [--lan-port NAME|none] [--sport-base P]\n"
               "         [--dir c2s|s2c|both[,...]] [--size 64,512,1420,imix] [--rate PPS|max] [--duration S]\n"
               "         [--probe F] [--warmup S] [--repeat K] [--gw-pid PID] [--clients N] [--json]\n",
               why.c_str());
  std::exit(2);
}

double to_num(const std::string& opt, const std::string& v, double lo, double hi) {
  size_t pos = 0;
  double d = 0;
  try {
    d = std::stod(v, &pos);
  } catch (...) {
    pos = 0;
  }
  if (pos != v.size() || !(d >= lo && d <= hi)) usage("bad value '" + v + "' for " + opt);
  return d;
}

uint32_t ip_arg(const std::string& opt, const std::string& v) {
  in_addr t{};
  if (inet_pton(AF_INET, v.c_str(), &t) != 1) usage(opt + " wants an IPv4 address, got '" + v + "'");
  return ntohl(t.s_addr);
}

options parse(int argc, char** argv) {
  options o;
  bool have_remote = false;
  int first = 1;
  if (argc > 1 && std::string(argv[1]) == "--dpdk") {
    o.dpdk = true;
    o.eal_args.emplace_back(argv[0]);
    for (first = 2; first < argc && std::string(argv[first]) != "--"; ++first) o.eal_args.emplace_back(argv[first]);
    if (first == argc) usage("--dpdk wants its EAL arguments ended by --");
    ++first;
  }
  for (int i = first; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value for " + a);
      return argv[++i];
    };
    if (a == "--remote") {
      const std::string v = val();
      const auto colon = v.rfind(':');
      if (colon == std::string::npos || inet_pton(AF_INET, v.substr(0, colon).c_str(), &o.remote.sin_addr) != 1)
        usage("--remote wants IPv4:PORT, got '" + v + "'");
      o.remote.sin_family = AF_INET;
      o.remote.sin_port = htons(static_cast<uint16_t>(to_num(a, v.substr(colon + 1), 1, 65535)));
      have_remote = true;
    } else if (a == "--pki") {
      o.pki = val();
    } else if (a == "--cert") {
      o.cert = val();
    } else if (a == "--wrap") {
      o.wrap = val();
    } else if (a == "--ciphers") {
      o.ciphers = val();
    } else if (a == "--clients") {
      o.clients = static_cast<uint32_t>(to_num(a, val(), 0, 1e6));
      o.clients_given = true;
    } else if (a == "--stagger-ms") {
      o.stagger_ms = static_cast<uint32_t>(to_num(a, val(), 0, 1e6));
    } else if (a == "--handshakes-per-sec") {
      o.handshakes_per_sec = to_num(a, val(), 0, 1e6);
    } else if (a == "--size") {
      o.size = val();
    } else if (a == "--duration") {
      o.duration_s = to_num(a, val(), 0, 1e6);
    } else if (a == "--rate") {
      const std::string v = val();
      o.rate_pps = v == "max" ? 0 : to_num(a, v, 1, 1e9);
    } else if (a == "--reverse") {
      o.reverse = true;
    } else if (a == "--target") {
      in_addr t{};
      const std::string v = val();
      if (inet_pton(AF_INET, v.c_str(), &t) != 1) usage("--target wants an IPv4 address, got '" + v + "'");
      o.target = ntohl(t.s_addr);
    } else if (a == "--target-port") {
      o.target_port = static_cast<uint16_t>(to_num(a, val(), 1, 65535));
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--bind") {
      const std::string v = val();
      if (inet_pton(AF_INET, v.c_str(), &o.bind) != 1) usage("--bind wants an IPv4 address, got '" + v + "'");
    } else if (o.dpdk && a == "--wan-ip") {
      o.wan_ip = ip_arg(a, val());
    } else if (o.dpdk && a == "--lan-ip") {
      o.lan_ip = ip_arg(a, val());
    } else if (o.dpdk && a == "--lan-gw") {
      o.lan_gw = ip_arg(a, val());
    } else if (o.dpdk && a == "--wan-port") {
      o.wan_port = val();
    } else if (o.dpdk && a == "--lan-port") {
      o.lan_port = val();
    } else if (o.dpdk && a == "--sport-base") {
      o.sport_base = static_cast<uint16_t>(to_num(a, val(), 1024, 65535));
    } else if (o.dpdk && a == "--dir") {
      o.dirs = val();
    } else if (o.dpdk && a == "--probe") {
      o.probe = to_num(a, val(), 0, 1);
    } else if (o.dpdk && a == "--warmup") {
      o.warmup_s = to_num(a, val(), 0, 60);
    } else if (o.dpdk && a == "--repeat") {
      o.repeat = static_cast<uint32_t>(to_num(a, val(), 1, 100));
    } else if (o.dpdk && a == "--gw-pid") {
      o.gw_pid = static_cast<int>(to_num(a, val(), 1, 1 << 30));
    } else if (a == "-h" || a == "--help") {
      usage("help");
    } else {
      usage("unknown option " + a);
    }
  }
  if (!have_remote) usage("--remote is required");
  if (o.pki.empty()) usage("--pki is required");
  std::string err;
  if (!o.dpdk) {
    if (size_pattern(o.size, &err).empty()) usage(err);
    return o;
  }
  size_t start = 0;
  while (start <= o.size.size()) {
    const size_t comma = std::min(o.size.find(',', start), o.size.size());
    const std::string one = o.size.substr(start, comma - start);
    const auto pat = size_pattern(one, &err);
    if (pat.empty()) usage(err);
    for (uint32_t sz : pat)
      if (sz < 64 || sz > 1500) usage("--dpdk: --size wants 64..1500 or imix, got '" + one + "'");
    start = comma + 1;
  }
  if (o.wan_ip == 0) usage("--dpdk: --wan-ip is required");
  if (o.lan_port != "none" && (o.lan_ip == 0 || o.lan_gw == 0))
    usage("--dpdk: --lan-ip and --lan-gw are required (or --lan-port none)");
  if (o.reverse) usage("--dpdk: use --dir s2c instead of --reverse");
  if (o.handshakes_per_sec > 0) usage("--dpdk: --handshakes-per-sec is not supported yet");
  return o;
}

// Nearest-rank percentile of sorted values (0 when empty).
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

void print_report(const options& o, report& r) {
  std::sort(r.handshake_ms.begin(), r.handshake_ms.end());
  const double d = r.duration_s > 0 ? r.duration_s : 1e-9;
  const double p50 = percentile(r.handshake_ms, 50), p99 = percentile(r.handshake_ms, 99);
  const double hmax = r.handshake_ms.empty() ? 0 : r.handshake_ms.back();
  const double tx_pps = static_cast<double>(r.tx_packets) / d, rx_pps = static_cast<double>(r.rx_packets) / d;
  const double tx_gbps = static_cast<double>(r.tx_bytes) * 8 / d / 1e9;
  const double rx_gbps = static_cast<double>(r.rx_bytes) * 8 / d / 1e9;
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  if (o.json) {
    std::printf(
        "{\"mode\":\"%s\",\"sessions_attempted\":%llu,\"sessions_established\":%llu,\"sessions_failed\":%llu,"
        "\"sessions_lost\":%s,\"storm_attempted\":%llu,\"storm_established\":%llu,\"storm_failed\":%llu,"
        "\"handshake_p50_ms\":%.3f,\"handshake_p99_ms\":%.3f,\"handshake_max_ms\":%.3f,"
        "\"tx_packets\":%llu,\"tx_bytes\":%llu,\"tx_dropped\":%llu,\"tx_pps\":%.1f,\"tx_gbps\":%.4f,"
        "\"rx_packets\":%llu,\"rx_bytes\":%llu,\"rx_pings\":%llu,\"rx_decrypt_failures\":%llu,"
        "\"rx_control_drops\":%llu,\"rx_pps\":%.1f,\"rx_gbps\":%.4f,\"duration_s\":%.3f,"
        "\"renegotiations\":%llu,\"ok\":%s}\n",
        o.reverse ? "reverse" : "forward", u(r.attempted), u(r.established), u(r.failed), r.lost ? "true" : "false",
        u(r.storm_attempted), u(r.storm_established), u(r.storm_failed), p50, p99, hmax, u(r.tx_packets),
        u(r.tx_bytes), u(r.tx_dropped), tx_pps, tx_gbps, u(r.rx_packets), u(r.rx_bytes), u(r.rx_pings),
        u(r.rx_decrypt_failures), u(r.rx_control_drops), rx_pps, rx_gbps, r.duration_s, u(r.renegotiations),
        r.ok ? "true" : "false");
    return;
  }
  std::printf("sessions: %llu attempted, %llu established, %llu failed%s (storm: %llu/%llu/%llu)\n",
              u(r.attempted), u(r.established), u(r.failed), r.lost ? ", some lost after establishing" : "",
              u(r.storm_attempted), u(r.storm_established), u(r.storm_failed));
  std::printf("handshake: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", p50, p99, hmax);
  std::printf("sent:      %llu packets, %llu inner bytes, %llu dropped at the socket; %.0f pps, %.3f Gbit/s\n",
              u(r.tx_packets), u(r.tx_bytes), u(r.tx_dropped), tx_pps, tx_gbps);
  std::printf("received:  %llu packets, %llu inner bytes, %llu pings, %llu decrypt failures, "
              "%llu control drops; %.0f pps, %.3f Gbit/s\n",
              u(r.rx_packets), u(r.rx_bytes), u(r.rx_pings), u(r.rx_decrypt_failures), u(r.rx_control_drops),
              rx_pps, rx_gbps);
  std::printf("duration:  %.3f s, renegotiations %llu, %s\n", r.duration_s, u(r.renegotiations),
              r.ok ? "OK" : "FAILED");
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  if (o.dpdk) {
#ifdef DPVPN_LOADGEN_DPDK
    return run_dpdk(o, &g_stop);
#else
    usage("--dpdk: this dpvpn-loadgen was built without DPDK");
#endif
  }
  report r = run(o, &g_stop);
  print_report(o, r);
  return r.ok ? 0 : 1;
}
