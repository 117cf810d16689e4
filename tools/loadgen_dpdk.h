// SPDX-License-Identifier: MIT
// dpvpn-loadgen --dpdk: the two ports (WAN: the emulated clients' side; LAN: the host behind the
// gateway), ARP on both, the WAN packet_io that the session pool runs over, and the latency
// histogram. The data loop itself is loadgen_dpdk.cc.
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "dpvpn/netpkt.h"
#include "loadgen.h"

namespace dpvpn::loadgen::dpdk {

inline constexpr uint16_t k_burst = 32;     // TX bursts
inline constexpr uint16_t k_rx_burst = 64;  // RX bursts
inline constexpr uint32_t k_mark_magic = 0x64706c67;  // "dplg"

// What every inner packet carries right after its IPv4 and UDP headers: the TSC when it was built,
// the window it belongs to (0: warm-up, not counted), and a sequence number.
struct mark {
  uint64_t tsc;
  uint32_t window;
  uint32_t magic;
};
inline constexpr uint32_t k_mark_off = net::k_ipv4_hdr + net::k_udp_hdr;  // within the inner packet
static_assert(k_mark_off + sizeof(mark) <= 64, "the smallest inner packet must hold the mark");

// One ethdev with an IPv4 address of ours, and the gateway on the same link.
struct l2_port {
  const char* what = "";  // "WAN" or "LAN", for messages
  uint16_t id = 0;
  net::mac mac{};
  uint32_t ip = 0;       // ours (host order)
  uint32_t peer_ip = 0;  // the gateway's address on this link
  net::mac peer_mac{};
  bool peer_known = false;
  uint64_t arp_answered = 0, rx_other = 0;
  std::vector<rte_mbuf*> out;  // frames of our own (ARP, control packets) waiting for flush()

  // An ARP request for the gateway's address into out.
  void ask_peer(rte_mempool* pool);
  // ARP: a request for ip is answered (m reused, queued in out: true); a reply from peer_ip is
  // learned (m freed: true). false: not ARP, m untouched.
  bool arp_input(rte_mbuf* m);
  // Sends what out holds; what the port did not take waits for the next call (at most 4096).
  void flush();
};

// Brings the port up with one RX and one TX queue.
void setup_port(l2_port& p, rte_mempool* pool);
// Waits (up to 30 s) for the port's link: a memif server waits here for the gateway to connect.
// Every port is set up before any is waited for: a memif server that is not started yet refuses
// a client ("ID not found"), and DPDK's memif client does not retry.
void wait_link(const l2_port& p);
// Sends ARP requests every 100 ms until the gateway answers (up to 10 s) on every port given,
// answering requests for our addresses meanwhile.
void resolve_peers(std::vector<l2_port*> ports, rte_mempool* pool, volatile std::sig_atomic_t* stop);

// The sessions' packet_io on the WAN port: session tag sends from ip:sport_base + tag to the
// gateway's address and port.
class wan_io final : public packet_io {
 public:
  wan_io(const options& o, l2_port& wan, l2_port* lan, rte_mempool* pool);
  void open(uint32_t tag) override;
  void close(uint32_t tag) override;
  bool send(uint32_t tag, std::span<const uint8_t> payload) override;
  size_t send_many(uint32_t tag, const std::span<const uint8_t>* payloads, size_t n) override;
  // Polls both ports for up to timeout_ms (at least once; 20 us sleeps between empty polls):
  // ARP answered, the sessions' packets to sink, the rest dropped; then flushes what the
  // sessions sent.
  void poll(int timeout_ms, rx_sink& sink) override;
  uint16_t local_port(uint32_t tag) const override { return static_cast<uint16_t>(sport_base_ + tag); }

  // The session a WAN frame is for, and its UDP payload; false for anything else (ARP included:
  // call wan().arp_input first).
  bool classify(rte_mbuf* m, uint32_t& tag, buf_view& payload) const;
  l2_port& wan() { return wan_; }
  // An Ethernet/IPv4/UDP frame from session tag to the gateway around payload (udp_csum: RFC 768
  // checksum, else 0).
  void write_outer(uint8_t* hdr, uint32_t tag, size_t payload_len, bool udp_csum) const;

 private:
  l2_port& wan_;
  l2_port* lan_;
  rte_mempool* pool_;
  uint32_t server_ip_;
  uint16_t server_port_;
  uint32_t sport_base_;
  std::vector<uint8_t> open_;  // by tag
};

// Latency histogram in TSC cycles: log-linear buckets (32 per power of two: within ~3 %).
class histogram {
 public:
  void add(uint64_t v) {
    ++counts_[index(v)];
    ++n_;
  }
  uint64_t count() const { return n_; }
  // The value at percentile p (0..100) as a bucket's midpoint; 0 when empty.
  double percentile(double p) const;
  void clear() {
    counts_.fill(0);
    n_ = 0;
  }

 private:
  static constexpr unsigned k_sub = 5;  // 2^5 buckets per power of two
  static size_t index(uint64_t v) {
    if (v < (1u << k_sub)) return static_cast<size_t>(v);
    const unsigned e = 63u - static_cast<unsigned>(__builtin_clzll(v));
    return (size_t{e - k_sub + 1} << k_sub) + ((v >> (e - k_sub)) & ((1u << k_sub) - 1));
  }
  std::array<uint64_t, (64 - k_sub + 1) << k_sub> counts_{};
  uint64_t n_ = 0;
};

}  // namespace dpvpn::loadgen::dpdk
