// SPDX-License-Identifier: MIT
// dpvpn-loadgen's pieces: options, the inner-packet builder, the packet I/O abstraction, and the
// session pool that drives many client-role protocol sessions from one thread over a packet_io:
// kernel UDP sockets (loadgen_udp.cc) or a DPDK WAN port (loadgen_dpdk*.cc).
#pragma once

#include <netinet/in.h>

#include <csignal>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dpvpn/buf.h"
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
inline constexpr uint64_t k_scan_ms = 5;  // control timers, keepalives and timeouts

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
  std::string size = "512";       // inner IP packet bytes, or "imix" (--dpdk: a comma list)
  double duration_s = 10;
  double rate_pps = 1000;         // total across sessions; 0 = max
  bool reverse = false;
  uint32_t target = 0;            // host order; 0 = route-gateway / x.y.z.1 (--dpdk: the LAN address)
  uint16_t target_port = k_default_target_port;
  bool json = false;
  in_addr bind{};                 // INADDR_ANY unless --bind

  // --dpdk only (loadgen_dpdk.cc; docs in dpvpn-loadgen.cc's usage).
  bool dpdk = false;
  std::vector<std::string> eal_args;  // what came between --dpdk and --
  std::string wan_port;               // ethdev name; empty = the first port
  uint32_t wan_ip = 0;                // our WAN address (host order)
  uint16_t sport_base = 40000;        // session i sends from sport_base + i
  std::string lan_port;               // ethdev name; empty = the second port, "none" = no LAN port
  uint32_t lan_ip = 0;                // the LAN host's address (ours)
  uint32_t lan_gw = 0;                // the gateway's LAN address (its MAC is resolved by ARP)
  std::string dirs = "c2s";           // c2s, s2c, both; or a comma list of these, one step each
  double probe = 0;                   // > 0: after each max-rate step, one at probe x delivered
  double warmup_s = 0.2;              // per window, not counted
  uint32_t repeat = 1;                // capacity windows per step; the median is reported
  int gw_pid = 0;                     // > 0: report the CPU share this thread (the gateway's
                                      // worker) got in each window (/proc/PID/task/PID/stat)
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

// Where received UDP payloads go: tag is the session index given to packet_io::open.
class rx_sink {
 public:
  virtual void on_rx(uint32_t tag, buf_view& payload) = 0;

 protected:
  ~rx_sink() = default;
};

// How the pool's sessions reach the server: one endpoint (a distinct outer source address/port)
// per session. Implementations: kernel UDP sockets, a DPDK port.
class packet_io {
 public:
  virtual ~packet_io() = default;
  // A new endpoint for session `tag`; dies (exit 2) when none can be made.
  virtual void open(uint32_t tag) = 0;
  virtual void close(uint32_t tag) = 0;
  // One UDP payload from tag's endpoint to the server; false when it could not be queued.
  virtual bool send(uint32_t tag, std::span<const uint8_t> payload) = 0;
  // n payloads at once; returns how many were taken (the rest count as dropped).
  virtual size_t send_many(uint32_t tag, const std::span<const uint8_t>* payloads, size_t n) = 0;
  // Waits up to timeout_ms for received payloads and hands each to sink.on_rx.
  virtual void poll(int timeout_ms, rx_sink& sink) = 0;
  // The endpoint's local UDP port (the inner packets' source port mirrors it).
  virtual uint16_t local_port(uint32_t tag) const = 0;
};

// What an established steady session offers to a data loop that seals and opens itself.
struct live_session {
  uint32_t tag = 0;
  proto::data_keys* dk = nullptr;
  uint32_t peer_id = 0;
  uint32_t vpn_ip = 0;  // host order; 0 when nothing was pushed
  uint16_t sport = 0;
};

// Many client-role sessions over one packet_io, on one thread (loadgen_pool.cc).
class session_pool final : public rx_sink {
 public:
  session_pool(const options& o, report& r, packet_io& io);
  ~session_pool();
  session_pool(const session_pool&) = delete;
  session_pool& operator=(const session_pool&) = delete;

  // Phase 1: the steady population, --stagger-ms apart, until each is up or has timed out.
  // Prints the "established N/M sessions ... vpn addresses" line on stderr.
  void connect(volatile std::sig_atomic_t* stop);
  // One turn of the control loop: io.poll(timeout_ms), then timers when due.
  void turn(int timeout_ms);
  // Control timers, keepalives, handshake timeouts (every k_scan_ms is enough).
  void scan(uint64_t now_ms);
  // A storm session: handshakes, sends EXIT, closes.
  void open_storm(uint64_t now_ms);
  // Seals up to budget inner packets for the next sender in turn (sent with io.send_many).
  size_t send_burst(size_t budget, uint64_t now_ms);
  // Phase 4: EXIT to the server for every live session; fills report.ok.
  void finish();
  bool steady_pending() const;
  bool storm_pending() const;
  bool has_senders() const { return !senders_.empty(); }

  // For a data loop of its own (--dpdk): the established steady sessions, and the bookkeeping
  // of what it sealed for one (keepalive timer, renegotiation byte/packet limits).
  std::vector<live_session> live() const;
  // Changes whenever a session joins or leaves live(): its dk pointers are then stale.
  uint64_t live_generation() const { return live_gen_; }
  void note_tx(uint32_t tag, uint64_t bytes, uint64_t pkts, uint64_t now_ms);
  // Opens a data packet of session tag in place (replay-checked). True with kind set when it
  // opened; false when it failed (counted) or tag is closed. An OCC exit closes the session.
  bool open_data(uint32_t tag, buf_view& v, uint64_t now_ms, proto::dc_kind& kind);
  const std::vector<uint32_t>& sizes() const { return sizes_; }
  const std::vector<uint8_t>& pattern() const { return pattern_; }

  void on_rx(uint32_t tag, buf_view& payload) override;

 private:
  struct lg_session;
  proto::session_config make_config() const;
  void open_session(bool storm, uint64_t now);
  void close_session(lg_session& ls, bool say_exit, uint64_t now);
  void on_event(lg_session& ls, const proto::session_event& ev, uint64_t now);
  void on_established(lg_session& ls, uint64_t now);
  void drain(lg_session& ls, uint64_t now);
  void seal_send(lg_session& ls, std::span<const uint8_t> payload, uint64_t now);

  const options& o_;
  report& r_;
  packet_io& io_;
  std::unique_ptr<proto::tls_context> tls_;
  std::unique_ptr<crypto::engine> eng_;
  proto::session_config cfg_;
  std::vector<std::unique_ptr<lg_session>> sessions_;  // index = tag; closed ones stay, emptied
  std::vector<uint32_t> live_;        // tags of sessions not yet closed
  std::vector<uint32_t> senders_;     // established steady sessions (round robin)
  size_t rr_ = 0;
  std::vector<uint32_t> sizes_;       // distinct inner sizes
  std::vector<uint8_t> pattern_;      // index into sizes_, cycled
  size_t pat_pos_ = 0;
  uint32_t steady_ = 0;
  uint64_t now_ms_ = 0;               // of the current turn
  uint64_t next_scan_ = 0;
  uint64_t live_gen_ = 0;
  std::vector<uint8_t> scratch_;
  std::vector<std::vector<uint8_t>> burst_bufs_;
};

// Wall-clock milliseconds (the session API's clock: tls-crypt packet-id time, §3) and a
// monotonic clock in seconds (rates and latencies).
uint64_t wall_ms();
double mono_s();
[[noreturn]] void die(const std::string& m);

std::unique_ptr<packet_io> make_udp_io(const options& o);

// Runs the whole load generation over kernel UDP sockets; returns the counters. stop: set by a
// signal handler.
report run(const options& o, volatile std::sig_atomic_t* stop);

// --dpdk: the same sessions over a DPDK WAN port, with a LAN port as the far host
// (loadgen_dpdk.cc). Prints its own report; returns the exit status.
int run_dpdk(const options& o, volatile std::sig_atomic_t* stop);

}  // namespace dpvpn::loadgen
