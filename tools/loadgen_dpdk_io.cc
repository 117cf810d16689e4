// SPDX-License-Identifier: MIT
// dpvpn-loadgen --dpdk: port bring-up, ARP (answering for our addresses, resolving the gateway's),
// and the WAN packet_io the session pool's handshakes and keepalives run over.
#include <rte_cycles.h>
#include <rte_ethdev.h>

#include <cstdio>
#include <cstring>

#include "dpvpn/wire.h"
#include "loadgen_dpdk.h"

namespace dpvpn::loadgen::dpdk {

using wire::get_u16;
using wire::get_u32;
using wire::put_u16;
using wire::put_u32;

namespace {

std::string ip_str(uint32_t ip) {
  char b[16];
  std::snprintf(b, sizeof b, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
  return b;
}

std::string mac_str(const net::mac& m) {
  char b[18];
  std::snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return b;
}

}  // namespace

void l2_port::ask_peer(rte_mempool* pool) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (!m) return;
  auto* f = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 60));  // minimum frame, padded
  std::memset(f, 0, 60);
  std::memset(f, 0xff, 6);
  std::memcpy(f + 6, mac.data(), 6);
  put_u16(f + 12, net::k_ethertype_arp);
  uint8_t* a = f + net::k_eth_hdr;
  put_u16(a, 1);
  put_u16(a + 2, net::k_ethertype_ipv4);
  a[4] = 6;
  a[5] = 4;
  put_u16(a + 6, 1);  // request
  std::memcpy(a + 8, mac.data(), 6);
  put_u32(a + 14, ip);
  put_u32(a + 24, peer_ip);
  out.push_back(m);
}

bool l2_port::arp_input(rte_mbuf* m) {
  auto* f = rte_pktmbuf_mtod(m, uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  if (len < net::k_eth_hdr + 28 || get_u16(f + 12) != net::k_ethertype_arp) return false;
  if (net::arp_make_reply(f, len, ip, mac)) {
    ++arp_answered;
    out.push_back(m);
    return true;
  }
  const uint8_t* a = f + net::k_eth_hdr;
  // A reply (or a gratuitous announcement) from the gateway's address: its MAC.
  if (get_u16(a + 2) == net::k_ethertype_ipv4 && get_u32(a + 14) == peer_ip && (get_u16(a + 6) == 2 || get_u16(a + 6) == 1)) {
    std::memcpy(peer_mac.data(), a + 8, 6);
    peer_known = true;
  }
  rte_pktmbuf_free(m);
  return true;
}

void l2_port::flush() {
  if (out.empty()) return;
  const uint16_t n = static_cast<uint16_t>(std::min<size_t>(out.size(), 512));
  const uint16_t sent = rte_eth_tx_burst(id, 0, out.data(), n);
  out.erase(out.begin(), out.begin() + sent);
  if (out.size() > 4096) {  // the port is stuck: do not grow without bound
    rte_pktmbuf_free_bulk(out.data() + 4096, static_cast<unsigned>(out.size() - 4096));
    out.resize(4096);
  }
}

void setup_port(l2_port& p, rte_mempool* pool) {
  rte_eth_conf conf{};
  int rc = rte_eth_dev_configure(p.id, 1, 1, &conf);
  uint16_t nrx = 1024, ntx = 1024;
  if (rc == 0) rc = rte_eth_dev_adjust_nb_rx_tx_desc(p.id, &nrx, &ntx);
  const int socket = rte_eth_dev_socket_id(p.id);
  if (rc == 0) rc = rte_eth_rx_queue_setup(p.id, 0, nrx, static_cast<unsigned>(socket < 0 ? 0 : socket), nullptr, pool);
  if (rc == 0) rc = rte_eth_tx_queue_setup(p.id, 0, ntx, static_cast<unsigned>(socket < 0 ? 0 : socket), nullptr);
  if (rc == 0) rc = rte_eth_dev_start(p.id);
  if (rc != 0) die(std::string(p.what) + " port " + std::to_string(p.id) + ": setup failed: " + std::strerror(-rc));
  rte_ether_addr a{};
  rte_eth_macaddr_get(p.id, &a);
  std::memcpy(p.mac.data(), a.addr_bytes, 6);
  rte_eth_promiscuous_enable(p.id);  // not every PMD has it; memif does not need it
}

void wait_link(const l2_port& p) {
  for (int i = 0; i < 3000; ++i) {
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(p.id, &link) == 0 && link.link_status == RTE_ETH_LINK_UP) return;
    rte_delay_us_sleep(10000);
  }
  die(std::string(p.what) + " port " + std::to_string(p.id) + ": link still down after 30 s (is the gateway's memif up?)");
}

void resolve_peers(std::vector<l2_port*> ports, rte_mempool* pool, volatile std::sig_atomic_t* stop) {
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t t0 = rte_rdtsc();
  uint64_t next_ask = t0;
  rte_mbuf* rx[k_rx_burst];
  for (;;) {
    bool all = true;
    for (l2_port* p : ports) all = all && p->peer_known;
    if (all || *stop) break;
    const uint64_t now = rte_rdtsc();
    if (now - t0 > 10 * hz) {
      for (l2_port* p : ports)
        if (!p->peer_known) die(std::string(p->what) + ": no ARP reply from the gateway's " + ip_str(p->peer_ip) + " within 10 s");
    }
    if (now >= next_ask) {
      for (l2_port* p : ports)
        if (!p->peer_known) p->ask_peer(pool);
      next_ask = now + hz / 10;
    }
    for (l2_port* p : ports) {
      const uint16_t n = rte_eth_rx_burst(p->id, 0, rx, k_rx_burst);
      for (uint16_t i = 0; i < n; ++i)
        if (!p->arp_input(rx[i])) {
          ++p->rx_other;
          rte_pktmbuf_free(rx[i]);
        }
      p->flush();
    }
  }
  for (l2_port* p : ports)
    std::fprintf(stderr, "dpvpn-loadgen: %s port %u: %s %s; gateway %s is at %s\n", p->what, p->id, ip_str(p->ip).c_str(),
                 mac_str(p->mac).c_str(), ip_str(p->peer_ip).c_str(), mac_str(p->peer_mac).c_str());
}

// ---- the WAN packet_io -----------------------------------------------------------------------

wan_io::wan_io(const options& o, l2_port& wan, l2_port* lan, rte_mempool* pool)
    : wan_(wan), lan_(lan), pool_(pool), server_ip_(ntohl(o.remote.sin_addr.s_addr)),
      server_port_(ntohs(o.remote.sin_port)), sport_base_(o.sport_base) {}

void wan_io::open(uint32_t tag) {
  if (sport_base_ + tag > 65535) die("--dpdk: out of source ports (--sport-base + sessions > 65535)");
  if (tag >= open_.size()) open_.resize(tag + 1, 0);
  open_[tag] = 1;
}

void wan_io::close(uint32_t tag) {
  if (tag < open_.size()) open_[tag] = 0;
}

void wan_io::write_outer(uint8_t* hdr, uint32_t tag, size_t payload_len, bool udp_csum) const {
  net::udp_endpoints e;
  e.src_mac = wan_.mac;
  e.dst_mac = wan_.peer_mac;
  e.src_ip = wan_.ip;
  e.dst_ip = server_ip_;
  e.src_port = static_cast<uint16_t>(sport_base_ + tag);
  e.dst_port = server_port_;
  net::write_outer_v4(hdr, e, payload_len, 0, udp_csum);
}

bool wan_io::send(uint32_t tag, std::span<const uint8_t> payload) {
  if (tag >= open_.size() || !open_[tag]) return false;
  if (payload.size() + net::k_outer_v4 > 2048) return false;
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) return false;
  auto* f = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(payload.size() + net::k_outer_v4)));
  std::memcpy(f + net::k_outer_v4, payload.data(), payload.size());
  write_outer(f, tag, payload.size(), true);
  wan_.out.push_back(m);
  return true;
}

size_t wan_io::send_many(uint32_t tag, const std::span<const uint8_t>* payloads, size_t n) {
  size_t k = 0;
  while (k < n && send(tag, payloads[k])) ++k;
  return k;
}

bool wan_io::classify(rte_mbuf* m, uint32_t& tag, buf_view& payload) const {
  auto* f = rte_pktmbuf_mtod(m, uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  const net::frame_info fi = net::parse_frame(f, len);
  if (fi.kind != net::frame_kind::ipv4_udp || fi.dst_ip != wan_.ip || fi.src_ip != server_ip_ ||
      fi.src_port != server_port_ || fi.dst_port < sport_base_)
    return false;
  tag = fi.dst_port - sport_base_;
  if (tag >= open_.size() || !open_[tag]) return false;
  payload = buf_view{f + fi.payload_off, static_cast<uint32_t>(fi.payload_len), static_cast<uint32_t>(fi.payload_off),
                     static_cast<uint32_t>(len - fi.payload_off - fi.payload_len)};
  return true;
}

void wan_io::poll(int timeout_ms, rx_sink& sink) {
  const uint64_t end = rte_rdtsc() + rte_get_tsc_hz() / 1000 * static_cast<uint64_t>(timeout_ms > 0 ? timeout_ms : 0);
  rte_mbuf* rx[k_rx_burst];
  do {
    uint16_t got = 0;
    const uint16_t n = rte_eth_rx_burst(wan_.id, 0, rx, k_rx_burst);
    got += n;
    for (uint16_t i = 0; i < n; ++i) {
      if (wan_.arp_input(rx[i])) continue;
      uint32_t tag = 0;
      buf_view v;
      if (classify(rx[i], tag, v)) sink.on_rx(tag, v);
      else ++wan_.rx_other;
      rte_pktmbuf_free(rx[i]);
    }
    if (lan_) {
      const uint16_t k = rte_eth_rx_burst(lan_->id, 0, rx, k_rx_burst);
      got += k;
      for (uint16_t i = 0; i < k; ++i)
        if (!lan_->arp_input(rx[i])) {
          ++lan_->rx_other;
          rte_pktmbuf_free(rx[i]);
        }
      lan_->flush();
    }
    wan_.flush();
    if (got) break;
    // Nothing yet: the handshakes' other half (the gateway's control thread) may need this CPU.
    if (rte_rdtsc() < end) rte_delay_us_sleep(20);
  } while (rte_rdtsc() < end);
}

double histogram::percentile(double p) const {
  if (n_ == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(p / 100.0 * static_cast<double>(n_) + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > n_) rank = n_;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen < rank) continue;
    if (i < (1u << k_sub)) return static_cast<double>(i);
    const unsigned e = static_cast<unsigned>(i >> k_sub) + k_sub - 1;
    const double width = static_cast<double>(uint64_t{1} << (e - k_sub));
    const double low = static_cast<double>(((uint64_t{1} << k_sub) + (i & ((1u << k_sub) - 1))) << (e - k_sub));
    return low + width / 2;
  }
  return 0;
}

}  // namespace dpvpn::loadgen::dpdk
