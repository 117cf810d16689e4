// SPDX-License-Identifier: MIT
// dpvpn-bench's command line: see bench_args.h.
#include "bench_args.h"

#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string_view>

namespace dpvpn::bench {

namespace {

// IMIX 7:4:1 of 64/576/1500-byte inner packets, interleaved so that each burst sees a mix.
constexpr uint16_t k_imix[12] = {64, 576, 64, 64, 576, 64, 1500, 64, 576, 64, 576, 64};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "dpvpn-bench: %s\n"
               "usage: dpvpn-bench [--time S] [--json] [--cipher AES-256-GCM] [--backend ipsec-mb|openssl]\n"
               "                   [--sessions 1,100,10000] [--sizes 64,512,1420,imix] [--pkts 2048]\n"
               "                   [--dir both|decrypt|encrypt] [--no-udp-csum] [--tx-csum-offload] [--no-raw]\n"
               "                   [--raw-offset 0..63] [--hugepages] [--cold-sessions] [--tx-sink null|ring] [--floor]\n"
               "                   [--keep-keys]\n"
               "                   [-- extra EAL args]\n"
               "       dpvpn-bench --tunnel-lcores 1,2 [--role client|server] [--rx-model copy|dma|pull] [--independent] [--ceiling] [--time S] [--json] [--cipher NAME] [--sizes 64,1420]\n"
               "                   [--pkts N] [--dir both|decrypt|encrypt] [--no-udp-csum] [-- extra EAL args]\n"
               "       dpvpn-bench --scenario fanout [--clients 10,100,1000] [--lcores 1,2] [--from exception|client|both]\n"
               "                   [--frames 64] [--sizes 64,1420] [--time S] [--json] [--cipher NAME] [--no-raw] [-- extra EAL args]\n",
               why);
  std::exit(2);
}

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = std::min(s.find(',', start), s.size());
    out.emplace_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

uint32_t to_u32(const std::string& s, uint32_t lo, uint32_t hi) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < lo || v > hi) usage(("bad number '" + s + "'").c_str());
  return static_cast<uint32_t>(v);
}

}  // namespace

options parse_args(int argc, char** argv) {
  options o;
  std::vector<std::string> sizes{"64", "512", "1420", "imix"};
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + std::string(a)).c_str());
      return argv[++i];
    };
    if (a == "--") {
      for (++i; i < argc; ++i) o.eal_extra.emplace_back(argv[i]);
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--raw-offset") {
      o.raw_offset = to_u32(next(), 0, 63);
    } else if (a == "--no-raw") {
      o.raw = false;
    } else if (a == "--hugepages") {
      o.hugepages = true;
    } else if (a == "--floor") {
      o.floor = true;
    } else if (a == "--keep-keys") {
      o.keep_keys = true;
    } else if (a == "--cold-sessions") {
      o.cold = true;
    } else if (a == "--tx-sink") {
      const std::string v = next();
      if (v != "null" && v != "ring") usage("--tx-sink: null or ring");
      o.ring_sink = v == "ring";
    } else if (a == "--no-udp-csum") {
      o.udp_csum = false;
    } else if (a == "--tx-csum-offload") {
      o.tx_offload = true;
    } else if (a == "--time") {
      char* end = nullptr;
      const std::string v = next();
      o.seconds = std::strtod(v.c_str(), &end);
      if (*end != '\0' || !(o.seconds > 0)) usage("bad --time");
    } else if (a == "--cipher") {
      const auto c = crypto::cipher_from_name(next());
      if (!c || !crypto::is_aead(*c)) usage("--cipher: AES-128-GCM, AES-256-GCM or CHACHA20-POLY1305");
      o.cipher = *c;
    } else if (a == "--backend") {
      const std::string v = next();
      if (v == "ipsec-mb" || v == "ipsec_mb") o.backend = crypto::backend::ipsec_mb;
      else if (v == "openssl") o.backend = crypto::backend::openssl;
      else usage("--backend: ipsec-mb or openssl");
    } else if (a == "--sessions") {
      o.sessions.clear();
      for (const auto& s : split(next())) o.sessions.push_back(to_u32(s, 1, 1u << 20));
    } else if (a == "--role") {
      const std::string v = next();
      if (v != "client" && v != "server") usage("--role: client or server");
      o.client_role = v == "client";
    } else if (a == "--independent") {
      o.independent = true;
    } else if (a == "--ceiling") {
      o.ceiling = true;
    } else if (a == "--rx-model") {
      const std::string v = next();
      if (v != "copy" && v != "dma" && v != "pull") usage("--rx-model: copy, dma or pull");
      o.rx_dma = v == "dma";
      o.rx_pull = v == "pull";
    } else if (a == "--tunnel-lcores") {
      for (const auto& s : split(next())) o.tunnel_lcores.push_back(to_u32(s, 1, 8));
    } else if (a == "--sizes") {
      sizes = split(next());
      o.sizes_given = true;
    } else if (a == "--scenario") {
      const std::string v = next();
      if (v != "fanout" && v != "dataplane") usage("--scenario: dataplane or fanout (or --tunnel-lcores)");
      o.fanout = v == "fanout";
    } else if (a == "--clients") {
      o.fan.clients.clear();
      for (const auto& s : split(next())) o.fan.clients.push_back(to_u32(s, 2, 60000));
    } else if (a == "--lcores") {
      o.fan.lcores.clear();
      for (const auto& s : split(next())) o.fan.lcores.push_back(to_u32(s, 1, 8));
    } else if (a == "--frames") {
      o.fan.frames = to_u32(next(), 1, 1u << 16);
    } else if (a == "--from") {
      const std::string v = next();
      o.fan.from_exception = v == "both" || v == "exception";
      o.fan.from_client = v == "both" || v == "client";
      if (!o.fan.from_exception && !o.fan.from_client) usage("--from: exception, client or both");
    } else if (a == "--pkts") {
      o.pkts = to_u32(next(), 64, 1u << 20);
    } else if (a == "--dir") {
      const std::string v = next();
      o.decrypt = v == "both" || v == "decrypt";
      o.encrypt = v == "both" || v == "encrypt";
      if (!o.decrypt && !o.encrypt) usage("--dir: both, decrypt or encrypt");
    } else {
      usage(("unknown argument " + std::string(a)).c_str());
    }
  }
  if (o.fanout && !o.sizes_given) sizes = {"64", "1420"};
  for (const auto& s : sizes) {
    if (s == "imix") o.sizes.push_back({"imix", {std::begin(k_imix), std::end(k_imix)}});
    else o.sizes.push_back({s, {static_cast<uint16_t>(to_u32(s, 28, 1500))}});
  }
  return o;
}

}  // namespace dpvpn::bench
