// SPDX-License-Identifier: MIT
// status_report: `status FILE [SECONDS]` / `status-version 1|2|3` (openvpn's client list file, for
// the monitoring that operators already point at it; written to FILE.tmp then renamed, so a
// reader never sees half a file) and the counters print.
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "status_report.h"

namespace dpvpn::cp {

// openvpn 2.6's time format in status files (local time).
std::string status_time_text(uint64_t t) {
  const time_t tt = static_cast<time_t>(t);
  struct tm tmv {};
  localtime_r(&tt, &tmv);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tmv);
  return buf;
}

std::string format_client_status(uint64_t now_s, const client_bytes& b) {
  std::string s = "OpenVPN STATISTICS\nUpdated," + status_time_text(now_s) + "\n";
  s += "TUN/TAP read bytes," + std::to_string(b.tun_read) + "\n";
  s += "TUN/TAP write bytes," + std::to_string(b.tun_write) + "\n";
  s += "TCP/UDP read bytes," + std::to_string(b.link_read) + "\n";
  s += "TCP/UDP write bytes," + std::to_string(b.link_write) + "\n";
  // Only authenticated packets reach the counts above the link's: openvpn's "Auth read bytes" is
  // the link bytes that authenticated; dpvpn counts the link's bytes as a whole (docs/client.md).
  s += "Auth read bytes," + std::to_string(b.link_read) + "\n";
  s += "END\n";
  return s;
}

bool replace_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  bool ok = f != nullptr && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (f != nullptr) ok = std::fclose(f) == 0 && ok;
  if (ok && std::rename(tmp.c_str(), path.c_str()) == 0) return true;
  std::remove(tmp.c_str());
  return false;
}

std::vector<status_entry> status_entries(const client_table::map& clients) {
  std::vector<status_entry> list;
  for (const auto& [k, cp] : clients) {
    const client& c = *cp;
    if (c.dead || c.auth.stage != client::auth_stage::accepted || !c.dp.peer) continue;
    status_entry e;
    e.cn = c.cn.empty() ? "UNDEF" : c.cn;
    e.real = c.real_address();
    e.username = c.s->username().empty() ? "UNDEF" : c.s->username();
    e.cipher = crypto::name(c.s->cipher());
    e.vpn_ip = c.vpn_ip;
    e.vpn_ip6 = c.lease.v6;
    e.peer_id = c.peer_id;
    e.cid = c.cid;
    // Inner bytes the dataplane counted (openvpn counts link bytes: a little more per packet).
    e.rx = c.dp.peer->rx_bytes.load(std::memory_order_relaxed);
    e.tx = c.dp.peer->tx_bytes.load(std::memory_order_relaxed);
    e.since_s = c.auth.accepted_ms / 1000;
    e.last_s = std::max(c.dp.peer->last_rx_s.load(std::memory_order_relaxed), c.last_ctl_rx_ms / 1000);
    list.push_back(std::move(e));
  }
  return list;
}

std::string format_status(unsigned ver, uint64_t now_s, const std::vector<status_entry>& list) {
  const char sep = ver == 3 ? '\t' : ',';
  std::string out;
  auto row = [&](std::initializer_list<std::string> cols) {
    bool first = true;
    for (const auto& col : cols) {
      if (!first) out += sep;
      out += col;
      first = false;
    }
    out += '\n';
  };
  auto v6_of = [](const status_entry& e) { return e.vpn_ip6 ? format_ipv6(*e.vpn_ip6) : std::string(); };

  if (ver == 1) {
    out += "OpenVPN CLIENT LIST\n";
    row({"Updated", status_time_text(now_s)});
    row({"Common Name", "Real Address", "Bytes Received", "Bytes Sent", "Connected Since"});
    for (const auto& e : list)
      row({e.cn, e.real, std::to_string(e.rx), std::to_string(e.tx), status_time_text(e.since_s)});
    out += "ROUTING TABLE\n";
    row({"Virtual Address", "Common Name", "Real Address", "Last Ref"});
    for (const auto& e : list) {
      if (e.vpn_ip) row({format_ipv4(e.vpn_ip), e.cn, e.real, status_time_text(e.last_s)});
      if (e.vpn_ip6) row({v6_of(e), e.cn, e.real, status_time_text(e.last_s)});
    }
    out += "GLOBAL STATS\n";
    row({"Max bcast/mcast queue length", "0"});
    out += "END\n";
  } else {
    row({"TITLE", "dpvpn (OpenVPN 2.6 protocol)"});
    row({"TIME", status_time_text(now_s), std::to_string(now_s)});
    row({"HEADER", "CLIENT_LIST", "Common Name", "Real Address", "Virtual Address", "Virtual IPv6 Address",
         "Bytes Received", "Bytes Sent", "Connected Since", "Connected Since (time_t)", "Username", "Client ID",
         "Peer ID", "Data Channel Cipher"});
    for (const auto& e : list)
      row({"CLIENT_LIST", e.cn, e.real, e.vpn_ip ? format_ipv4(e.vpn_ip) : std::string(), v6_of(e),
           std::to_string(e.rx), std::to_string(e.tx), status_time_text(e.since_s), std::to_string(e.since_s), e.username,
           std::to_string(e.cid), std::to_string(e.peer_id), e.cipher});
    row({"HEADER", "ROUTING_TABLE", "Virtual Address", "Common Name", "Real Address", "Last Ref", "Last Ref (time_t)"});
    for (const auto& e : list) {
      if (e.vpn_ip)
        row({"ROUTING_TABLE", format_ipv4(e.vpn_ip), e.cn, e.real, status_time_text(e.last_s), std::to_string(e.last_s)});
      if (e.vpn_ip6)
        row({"ROUTING_TABLE", v6_of(e), e.cn, e.real, status_time_text(e.last_s), std::to_string(e.last_s)});
    }
    row({"GLOBAL_STATS", "Max bcast/mcast queue length", "0"});
    row({"GLOBAL_STATS", "dco_enabled", "0"});
    out += "END\n";
  }
  return out;
}

std::string format_counters(const char* why, const dp::dp_shared& sh, const control_counters& cc) {
  uint64_t tot[dp::k_drop_count] = {};
  std::string s = std::string("counters (") + why + "):";
  for (uint16_t w = 0; w < sh.cfg.n_workers; ++w) {
    const auto& c = sh.lcores[w]->ctr;
    auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    char line[640];
    std::snprintf(line, sizeof line,
                  "\n  lcore %u: wan rx %llu/%llu B tx %llu/%llu B | tun rx %llu tx %llu | dec %llu enc %llu | "
                  "punt %llu ctl_tx %llu arp %llu nd_adverts %llu | handoff out %llu in %llu | pings rx %llu tx %llu | hairpin %llu "
                  "floats %llu mss_clamped %llu",
                  sh.lcores[w]->lcore_id, (unsigned long long)ld(c.wan_rx_pkts), (unsigned long long)ld(c.wan_rx_bytes),
                  (unsigned long long)ld(c.wan_tx_pkts), (unsigned long long)ld(c.wan_tx_bytes),
                  (unsigned long long)ld(c.tun_rx_pkts), (unsigned long long)ld(c.tun_tx_pkts),
                  (unsigned long long)ld(c.decrypted), (unsigned long long)ld(c.encrypted),
                  (unsigned long long)ld(c.punted), (unsigned long long)ld(c.ctl_tx),
                  (unsigned long long)ld(c.arp_replies), (unsigned long long)ld(c.nd_adverts),
                  (unsigned long long)ld(c.handoff_out),
                  (unsigned long long)ld(c.handoff_in), (unsigned long long)ld(c.pings_rx),
                  (unsigned long long)ld(c.pings_tx), (unsigned long long)ld(c.hairpin),
                  (unsigned long long)ld(c.floats), (unsigned long long)ld(c.mss_clamped));
    s += line;
    if (sh.cfg.lan.on) {
      std::snprintf(line, sizeof line,
                    "\n    lan rx %llu/%llu B tx %llu/%llu B | to lan %llu from lan %llu | arp/nd %llu echo %llu | "
                    "waiting %llu resolver tx %llu | icmp %llu (limited %llu)",
                    (unsigned long long)ld(c.lan_rx_pkts), (unsigned long long)ld(c.lan_rx_bytes),
                    (unsigned long long)ld(c.lan_tx_pkts), (unsigned long long)ld(c.lan_tx_bytes),
                    (unsigned long long)ld(c.to_lan), (unsigned long long)ld(c.from_lan),
                    (unsigned long long)ld(c.lan_neigh), (unsigned long long)ld(c.lan_echo),
                    (unsigned long long)ld(c.lan_wait), (unsigned long long)ld(c.lan_ctl),
                    (unsigned long long)ld(c.icmp_errors), (unsigned long long)ld(c.icmp_limited));
      s += line;
    }
    if (sh.cfg.tap) {  // dev tap (docs/tap.md)
      std::snprintf(line, sizeof line, "\n    tap arp answered %llu to peer %llu | learn asked %llu lost %llu | fanout in %llu sealed %llu",
                    (unsigned long long)ld(c.l2_arp_answered), (unsigned long long)ld(c.l2_to_peer),
                    (unsigned long long)ld(c.l2_learn_asked), (unsigned long long)ld(c.l2_learn_lost),
                    (unsigned long long)ld(c.fanout_in), (unsigned long long)ld(c.fanout_sealed));
      s += line;
    }
    if (sh.cfg.tunnel_spread > 1) {  // dp-tunnel-spread: what this lcore did for other owners' tunnels
      std::snprintf(line, sizeof line, "\n    spread sealed %llu opened %llu | order held %llu gave way %llu",
                    (unsigned long long)ld(c.spread_sealed), (unsigned long long)ld(c.spread_opened),
                    (unsigned long long)ld(c.order_held), (unsigned long long)ld(c.order_gave_way));
      s += line;
    }
    for (size_t i = 0; i < dp::k_drop_count; ++i) tot[i] += ld(c.drops[i]);
  }
  s += "\n  drops:";
  bool any = false;
  for (size_t i = 0; i < dp::k_drop_count; ++i) {
    if (!tot[i]) continue;
    s += std::string(" ") + dp::drop_name(i) + "=" + std::to_string(tot[i]);
    any = true;
  }
  if (!any) s += " none";
  s += "\n  control: clients " + std::to_string(cc.clients) + ", cookie/front drops " +
       std::to_string(cc.front_dropped) + ", refused " + std::to_string(cc.refused) + ", connect-freq refused " +
       std::to_string(cc.connect_freq_refused) + ", connect-freq-initial dropped " +
       std::to_string(cc.first_reply_dropped) + ", ctl_tx drops " + std::to_string(cc.ctl_tx_dropped) +
       ", log lines held back " + std::to_string(cc.log_held_back) + ", half-open refused " +
       std::to_string(cc.half_open_refused);
  for (const std::string& l : cc.services) s += "\n  " + l;
  return s;
}

void status_report::poll(uint64_t now_ms, const client_table::map& clients) {
  if (cfg_.status_path.empty() || now_ms < next_status_ms_) return;
  write(now_ms, clients);
  next_status_ms_ = now_ms + uint64_t{cfg_.status_interval} * 1000;
}

bool status_report::counters_due(uint64_t now_ms) {
  if (cfg_.verb < 4 || !cfg_.dp_stats_interval || now_ms < next_stats_ms_) return false;
  const bool first = next_stats_ms_ == 0;
  next_stats_ms_ = now_ms + uint64_t{cfg_.dp_stats_interval} * 1000;
  return !first;
}

void status_report::write(uint64_t now_ms, const client_table::map& clients) {
  if (cfg_.status_path.empty()) return;
  const std::string out = format_status(cfg_.status_version, now_ms / 1000, status_entries(clients));
  // Blocking file I/O on the control thread: one small local file every `status` seconds.
  if (!replace_file(cfg_.status_path, out)) {
    if (!status_failed_) log_(1, "status: cannot write " + cfg_.status_path);
    status_failed_ = true;
    return;
  }
  status_failed_ = false;
}

}  // namespace dpvpn::cp
