// SPDX-License-Identifier: MIT
// dpvpn-loadgen's pieces: options, the inner-packet builder, and the session pool that drives
// many client-role protocol sessions over kernel UDP sockets from one thread.
#pragma once

#include <netinet/in.h>

#include <csignal>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dpvpn/crypto.h"
#include "dpvpn/data_keys.h"
#include "dpvpn/session.h"

namespace dpvpn::loadgen {

// A session that has not reached `established` this long after its start counts as failed.
inline constexpr uint64_t k_handshake_timeout_ms = 5000;
// Steady (--clients) sessions get longer: a thousand of them queue behind each other's TLS.
inline constexpr uint64_t k_steady_timeout_ms = 15000;
// After --duration the loop keeps receiving this long, for packets still in flight.
inline constexpr uint64_t k_grace_ms = 500;
inline constexpr uint16_t k_default_target_port = 9000;

struct options {
  sockaddr_in remote{};
  std::string pki;
  std::string cert = "client1";
  std::string wrap = "tls-crypt";
  std::string ciphers = "AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305";
  uint32_t clients = 1;
  bool clients_given = false;
  uint32_t stagger_ms = 5;
  double handshakes_per_sec = 0;  // 0 = no reconnect storm
  std::string size = "512";       // inner IP packet bytes, or "imix"
  double duration_s = 10;
  double rate_pps = 1000;         // total across sessions; 0 = max
  bool reverse = false;
  uint32_t target = 0;            // host order; 0 = route-gateway / x.y.z.1
  uint16_t target_port = k_default_target_port;
  bool json = false;
  in_addr bind{};                 // INADDR_ANY unless --bind
};

// Inner packet sizes the sender cycles through: one entry, or imix 7:4:1 of 64/576/1420.
std::vector<uint32_t> size_pattern(const std::string& spec, std::string* err);

// IPv4 + UDP (checksum 0) of ip_len bytes total, DF set, id 0, so one template per size.
std::vector<uint8_t> build_udp4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t ip_len);
uint16_t ip_checksum(const uint8_t* p, size_t n);

struct report {
  uint64_t attempted = 0, established = 0, failed = 0;
  uint64_t storm_attempted = 0, storm_established = 0, storm_failed = 0;
  std::vector<double> handshake_ms;  // start -> established, every established session
  uint64_t tx_packets = 0, tx_bytes = 0, tx_dropped = 0;  // bytes: inner IP bytes
  uint64_t rx_packets = 0, rx_bytes = 0, rx_pings = 0, rx_decrypt_failures = 0, rx_control_drops = 0;
  uint64_t renegotiations = 0;
  bool lost = false;      // an established steady session ended before the run did
  double duration_s = 0;  // the measured window
  std::vector<std::string> vpn_addresses;
  bool ok = false;
};

// Runs the whole load generation; returns the counters. stop: set by a signal handler.
report run(const options& o, volatile std::sig_atomic_t* stop);

}  // namespace dpvpn::loadgen
