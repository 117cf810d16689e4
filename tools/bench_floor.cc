// SPDX-License-Identifier: MIT
// dpvpn-bench --floor: see bench_floor.h.
#include "bench_floor.h"

#include <rte_prefetch.h>

#include <cstring>
#include <span>
#include <stdexcept>

#include "dpvpn/data_channel.h"

namespace dpvpn::bench {

namespace {

using dp::prefetch_lines;
using proto::dc_inline::make_nonce;

// The OpenVPN AEAD packet, P_DATA_V2 (docs/protocol.md, §8.1): op+peer-id (4) | packet-id (4) | tag (16)
// | ciphertext. AAD: the first 8 bytes. Nonce: the packet-id as on the wire, then the implicit IV.
constexpr uint32_t k_hdr = wire::k_data_v2_hdr + 4;  // the AAD
constexpr uint32_t k_over = wire::k_aead_v2_overhead;  // 24
constexpr uint32_t k_key_ahead = 3, k_data_ahead = 2;  // as dataplane/worker_rx.cc's open_each

}  // namespace

floor_path::floor_path(crypto::backend b, crypto::cipher_alg c,
                       const std::vector<std::array<uint8_t, wire::k_key2_size>>& key2,
                       std::vector<net::udp_endpoints> ep, uint32_t vpn_base, bool udp_csum)
    : s_(key2.size()), vpn_base_(vpn_base), udp_csum_(udp_csum) {
  // key2's direction d: cipher key at 128 d, its implicit IV the first 8 bytes of the HMAC slot
  // at 128 d + 64 (docs/protocol.md, §7 and §7.3).
  auto part = [&](size_t i, int d) { return std::span<const uint8_t>(key2[i]).subspan(size_t(d) * 2 * wire::k_key_slot); };
  for (size_t i = 0; i < s_.size(); ++i) {
    session& s = s_[i];
    s.rx = crypto::aead_key::create(b, c, part(i, 0).first(crypto::key_len(c)));
    s.tx = crypto::aead_key::create(b, c, part(i, 1).first(crypto::key_len(c)));
    if (!s.rx || !s.tx) throw std::runtime_error("floor: the backend refused a key");
    std::memcpy(s.rx_iv, part(i, 0).data() + wire::k_key_slot, wire::k_implicit_iv);
    std::memcpy(s.tx_iv, part(i, 1).data() + wire::k_key_slot, wire::k_implicit_iv);
    s.ep = ep[i];
  }
  if (!s_.empty()) net::make_outer_v4_tmpl(tmpl_, s_[0].ep.src_mac, s_[0].ep.src_ip, s_[0].ep.src_port);
}

void floor_path::open_burst(dp::worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept {
  session* ses[dp::k_max_burst];
  uint8_t* pay[dp::k_max_burst];
  uint32_t len[dp::k_max_burst];
  // The peer-id and the datagram's length from each frame (the outer headers as built: no checks).
  for (uint16_t i = 0; i < n; ++i) {
    uint8_t* f = rte_pktmbuf_mtod(pkts[i], uint8_t*);
    pay[i] = f + net::k_outer_v4;
    len[i] = wire::get_u16(f + net::k_eth_hdr + net::k_ipv4_hdr + 4) - net::k_udp_hdr;
    const uint32_t pid = wire::get_u24(pay[i] + 1);
    ses[i] = pid < s_.size() ? &s_[pid] : nullptr;
  }
  for (uint16_t i = 0; i < n && i < k_key_ahead; ++i)
    if (ses[i]) ses[i]->rx->prefetch(len[i]);
  for (uint16_t i = 0; i < n && i < k_data_ahead; ++i) prefetch_lines(pay[i], (len[i] + 63) / 64);
  uint16_t done = 0;
  alignas(16) uint8_t nonce[proto::k_nonce_store];
  for (uint16_t i = 0; i < n; ++i) {
    if (i + k_key_ahead < n && ses[i + k_key_ahead] && ses[i + k_key_ahead] != ses[i + k_key_ahead - 1])
      ses[i + k_key_ahead]->rx->prefetch(len[i + k_key_ahead]);
    if (i + k_data_ahead < n) prefetch_lines(pay[i + k_data_ahead], (len[i + k_data_ahead] + 63) / 64);
    rte_mbuf* m = pkts[i];
    session* s = ses[i];
    uint8_t* p = pay[i];
    if (!s || len[i] < k_over) {
      rte_pktmbuf_free(m);
      continue;
    }
    make_nonce(nonce, p + wire::k_data_v2_hdr, s->rx_iv);
    if (!s->rx->open(*c.me.eng, nonce, p, k_hdr, p + k_over, len[i] - k_over, p + k_hdr)) {
      rte_pktmbuf_free(m);
      continue;
    }
    m->data_off = static_cast<uint16_t>(m->data_off + net::k_outer_v4 + k_over);
    m->data_len = m->pkt_len = static_cast<uint16_t>(len[i] - k_over);
    c.tx.tun[c.tx.n_tun++] = m;
    ++done;
  }
  dp::lcore_counters::bump(c.me.ctr.decrypted, done);
}

void floor_path::seal_burst(dp::worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept {
  session* ses[dp::k_max_burst];
  uint8_t* pay[dp::k_max_burst];
  uint32_t len[dp::k_max_burst];
  alignas(16) uint8_t nonce[dp::k_max_burst][proto::k_nonce_store];
  // 1. The session from each inner destination; the OpenVPN header, packet-id and nonce written
  //    for the whole burst before any AEAD reads them (as dataplane/worker_tx.cc: an AEAD that
  //    loads what was stored just before waits for the store).
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    const uint8_t* ip = rte_pktmbuf_mtod(m, const uint8_t*);
    const uint32_t k = wire::get_u32(ip + 16) - vpn_base_;
    session* s = ses[i] = k < s_.size() ? &s_[k] : nullptr;
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], uint8_t*) - 32);
    len[i] = m->data_len;
    pay[i] = s && rte_pktmbuf_headroom(m) >= net::k_outer_v4 + k_over
                 ? reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, k_over))
                 : nullptr;
    if (!pay[i]) {
      ses[i] = nullptr;
      continue;
    }
    uint8_t* p = pay[i];
    p[0] = wire::op_byte(wire::P_DATA_V2, 0);
    wire::put_u24(p + 1, k);
    wire::put_u32(p + wire::k_data_v2_hdr, s->next_pid++);
    make_nonce(nonce[i], p + wire::k_data_v2_hdr, s->tx_iv);
  }
  // 2. The AEADs, key and plaintext fetched ahead; each sealed packet summed one step behind
  //    (in L1, its stores drained), as dpvpn does.
  uint32_t sum[dp::k_max_burst];
  for (uint16_t i = 0; i < n && i < k_key_ahead; ++i)
    if (ses[i]) ses[i]->tx->prefetch(len[i]);
  for (uint16_t i = 0; i < n && i < k_data_ahead; ++i)
    if (ses[i]) prefetch_lines(pay[i] + k_over, (len[i] + 63) / 64);
  for (uint16_t i = 0; i < n; ++i) {
    const uint16_t k = static_cast<uint16_t>(i + k_key_ahead), d = static_cast<uint16_t>(i + k_data_ahead);
    if (k < n && ses[k] && ses[k] != ses[k - 1]) ses[k]->tx->prefetch(len[k]);
    if (d < n && ses[d]) prefetch_lines(pay[d] + k_over, (len[d] + 63) / 64);
    if (ses[i]) ses[i]->tx->seal(*c.me.eng, nonce[i], pay[i], k_hdr, pay[i] + k_over, len[i], pay[i] + k_hdr);
    if (udp_csum_ && i > 0 && ses[i - 1]) sum[i - 1] = net::csum_partial(pay[i - 1], len[i - 1] + k_over);
  }
  if (udp_csum_ && n > 0 && ses[n - 1]) sum[n - 1] = net::csum_partial(pay[n - 1], len[n - 1] + k_over);
  // 3. The outer headers from the template and values; the TX batch.
  uint16_t done = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    if (!ses[i]) {
      rte_pktmbuf_free(m);
      continue;
    }
    uint8_t* f = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, net::k_outer_v4));
    const net::udp_endpoints& e = ses[i]->ep;
    net::write_outer_v4_tmpl(f, tmpl_, e.dst_mac, e.dst_ip, e.dst_port, len[i] + k_over, ip_id_++,
                             udp_csum_ ? &sum[i] : nullptr);
    c.tx.wan[c.tx.n_wan++] = m;
    ++done;
  }
  dp::lcore_counters::bump(c.me.ctr.encrypted, done);
}

}  // namespace dpvpn::bench
