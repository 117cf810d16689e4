// SPDX-License-Identifier: MIT
// TAP mode's inner Ethernet frames: parse, classify, anti-spoofing and ARP decisions, the ARP reply
// in place (docs/tap.md).
#include "dpvpn/l2frame.h"

#include <cstring>

#include "dpvpn/wire.h"

namespace dpvpn::net {

static_assert(k_no_peer == wire::k_peer_id_none);
static_assert(k_segment == k_no_peer - 1);  // above every peer-id max-clients allows

using wire::get_u16;
using wire::get_u32;
using wire::put_u16;
using wire::put_u32;

namespace {

constexpr uint16_t k_arp_request = 1, k_arp_reply = 2;

bool is_zero(const mac& m) noexcept { return (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) == 0; }
bool is_group(const mac& m) noexcept { return (m[0] & 1) != 0; }  // I/G bit: broadcast or multicast

l2_verdict dropped(l2_drop why) noexcept {
  l2_verdict v;
  v.action = l2_action::drop;
  v.reason = why;
  return v;
}
l2_verdict forward(uint8_t dests, uint32_t peer = k_no_peer) noexcept {
  l2_verdict v;
  v.action = l2_action::forward;
  v.dests = dests;
  v.peer = peer;
  return v;
}
l2_verdict answer(const mac& m) noexcept {
  l2_verdict v;
  v.action = l2_action::answer;
  v.answer_mac = m;
  return v;
}

// The source address rule: 0.0.0.0 (DHCP, ARP probes) always passes; `checked`: it must route to
// the sender; else it must only not be another client's.
bool source_ok(bool addr_is_zero, uint32_t owner, uint32_t peer, bool checked) noexcept {
  if (addr_is_zero) return true;
  return checked ? owner == peer : owner == k_no_peer || owner == peer;
}

}  // namespace

const char* l2_drop_name(l2_drop d) noexcept {
  static const char* const names[] = {
#define DPVPN_X(name) #name,
      DPVPN_L2_DROPS(DPVPN_X)
#undef DPVPN_X
  };
  const size_t i = static_cast<size_t>(d);
  return i < k_l2_drop_count ? names[i] : "?";
}

bool l2_parse(const uint8_t* f, size_t len, l2_frame& out, l2_drop& why) noexcept {
  out = l2_frame{};
  if (len < k_eth_hdr) return why = l2_drop::runt, false;
  std::memcpy(out.dst.data(), f, 6);
  std::memcpy(out.src.data(), f + 6, 6);
  out.cast = !is_group(out.dst)                                    ? l2_cast::unicast
             : out.dst == mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} ? l2_cast::broadcast
                                                                    : l2_cast::multicast;
  out.ethertype = get_u16(f + 12);
  out.l3_off = k_eth_hdr;
  if (out.ethertype == k_ethertype_vlan) {
    if (len < k_eth_hdr + k_vlan_tag) return why = l2_drop::runt, false;
    const uint16_t tci = get_u16(f + 14);
    out.tagged = true;
    out.pcp = static_cast<uint8_t>(tci >> 13);
    out.vid = tci & 0x0fff;
    out.ethertype = get_u16(f + 16);
    out.l3_off += k_vlan_tag;
  }
  const uint8_t* l3 = f + out.l3_off;
  const size_t l3_len = len - out.l3_off;
  switch (out.ethertype) {
    case k_ethertype_arp: {
      // htype Ethernet, ptype IPv4, hlen 6, plen 4, op request or reply (RFC 826)
      if (l3_len < k_arp_body || get_u16(l3) != 1 || get_u16(l3 + 2) != k_ethertype_ipv4 || l3[4] != 6 ||
          l3[5] != 4 || (get_u16(l3 + 6) != k_arp_request && get_u16(l3 + 6) != k_arp_reply))
        return why = l2_drop::bad_arp, false;
      out.l3 = l3_kind::arp;
      out.arp.op = get_u16(l3 + 6);
      std::memcpy(out.arp.sha.data(), l3 + 8, 6);
      out.arp.spa = get_u32(l3 + 14);
      std::memcpy(out.arp.tha.data(), l3 + 18, 6);
      out.arp.tpa = get_u32(l3 + 24);
      return true;
    }
    case k_ethertype_ipv4: {
      if (l3_len < k_ipv4_hdr || (l3[0] >> 4) != 4 || (l3[0] & 0x0f) < 5 || l3_len < size_t(l3[0] & 0x0f) * 4)
        return why = l2_drop::bad_ipv4, false;
      out.l3 = l3_kind::ipv4;
      out.ip4_src = get_u32(l3 + 12);
      out.ip4_dst = get_u32(l3 + 16);
      return true;
    }
    case k_ethertype_ipv6: {
      if (l3_len < k_ipv6_hdr || (l3[0] >> 4) != 6) return why = l2_drop::bad_ipv6, false;
      out.l3 = l3_kind::ipv6;
      std::memcpy(out.ip6_src.data(), l3 + 8, 16);
      const bool unspecified = out.ip6_src == ip6{};
      const bool link_local = out.ip6_src[0] == 0xfe && (out.ip6_src[1] & 0xc0) == 0x80;  // fe80::/10
      out.ip6_src_local = unspecified || link_local;
      return true;
    }
    default:
      out.l3 = l3_kind::other;  // non-IP protocols cross as they are
      return true;
  }
}

l2_verdict l2_from_client(const l2_frame& f, size_t len, uint32_t peer, bool checked, const l2_facts& k,
                          const l2_policy& p) noexcept {
  if (p.max_frame != 0 && len > p.max_frame) return dropped(l2_drop::too_big);
  // openvpn's vlan_is_tagged: a priority tag (VID 0) does not count.
  if (p.vlan_tagging && f.tagged && f.vid != 0) return dropped(l2_drop::tagged);
  if (is_zero(f.src) || is_group(f.src)) return dropped(l2_drop::bad_src_mac);
  if (k.src_mac_owner != k_no_peer && k.src_mac_owner != peer) return dropped(l2_drop::mac_spoof);

  switch (f.l3) {
    case l3_kind::ipv4:
      if (!source_ok(f.ip4_src == 0, k.src_ip_owner, peer, checked)) return dropped(l2_drop::ip_spoof);
      break;
    case l3_kind::ipv6:
      if (!f.ip6_src_local && !source_ok(false, k.src_ip_owner, peer, checked)) return dropped(l2_drop::ip_spoof);
      break;
    case l3_kind::arp:
      if (f.arp.sha != f.src) return dropped(l2_drop::arp_sha_mismatch);
      if (!source_ok(f.arp.spa == 0, k.src_ip_owner, peer, checked)) return dropped(l2_drop::ip_spoof);
      break;
    case l3_kind::other: break;
  }
  const bool learn = k.src_mac_owner == k_no_peer;

  // ARP requests the gateway can answer without a fan-out. A gratuitous one (target = sender)
  // announces the sender and is flooded like any broadcast.
  if (f.l3 == l3_kind::arp && f.arp.op == k_arp_request && f.arp.spa != f.arp.tpa) {
    l2_verdict v;
    if (p.gateway_ip != 0 && f.arp.tpa == p.gateway_ip) v = answer(p.gateway_mac);
    else if (p.proxy_arp && p.client_to_client && k.arp_target_owner != k_no_peer && k.arp_target_owner != peer &&
             k.arp_target_mac_known)
      v = answer(k.arp_target_mac);
    if (v.action == l2_action::answer) {
      v.learn = learn;
      return v;
    }
  }

  l2_verdict v;
  const uint8_t flood = to_exception | (p.client_to_client ? to_all_peers : 0);
  if (f.cast != l2_cast::unicast) v = forward(flood);
  else if (k.dst_mac_owner == peer) return dropped(l2_drop::loop);
  else if (k.dst_mac_owner == k_segment || (p.gateway_ip != 0 && f.dst == p.gateway_mac)) v = forward(to_exception);
  else if (k.dst_mac_owner == k_no_peer) v = forward(flood);
  else if (p.client_to_client) v = forward(to_peer, k.dst_mac_owner);
  else v = forward(to_exception);
  v.learn = learn;
  return v;
}

l2_verdict l2_from_exception(const l2_frame& f, size_t len, const l2_facts& k, const l2_policy& p) noexcept {
  if (p.max_frame != 0 && len > p.max_frame) return dropped(l2_drop::too_big);
  if (is_zero(f.src) || is_group(f.src)) return dropped(l2_drop::bad_src_mac);
  if (k.src_mac_owner != k_no_peer && k.src_mac_owner != k_segment) return dropped(l2_drop::mac_spoof);
  l2_verdict v;
  if (f.l3 == l3_kind::arp && f.arp.op == k_arp_request && f.arp.spa != f.arp.tpa && p.proxy_arp &&
      k.arp_target_owner != k_no_peer && k.arp_target_mac_known)
    v = answer(k.arp_target_mac);
  else if (f.cast != l2_cast::unicast || k.dst_mac_owner == k_no_peer) v = forward(to_all_peers);
  else if (k.dst_mac_owner == k_segment) return dropped(l2_drop::loop);
  else v = forward(to_peer, k.dst_mac_owner);
  v.learn = k.src_mac_owner == k_no_peer;
  return v;
}

bool arp_answer(uint8_t* f, size_t len, const l2_frame& pf, const mac& answer) noexcept {
  if (pf.l3 != l3_kind::arp || pf.arp.op != k_arp_request || len < pf.l3_off + k_arp_body) return false;
  uint8_t* a = f + pf.l3_off;
  put_u16(a + 6, k_arp_reply);
  std::memcpy(a + 8, answer.data(), 6);  // sender: the answer
  put_u32(a + 14, pf.arp.tpa);
  std::memcpy(a + 18, pf.arp.sha.data(), 6);  // target: the requester
  put_u32(a + 24, pf.arp.spa);
  std::memcpy(f, pf.src.data(), 6);
  std::memcpy(f + 6, answer.data(), 6);
  return true;
}

}  // namespace dpvpn::net
