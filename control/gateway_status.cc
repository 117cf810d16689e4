// SPDX-License-Identifier: MIT
// `status FILE [SECONDS]` / `status-version 1|2|3`: openvpn's client list file, for the monitoring
// that operators already point at it. Written by the control thread every SECONDS and at exit,
// to FILE.tmp then renamed, so a reader never sees half a file.
#include <cstdio>
#include <ctime>

#include "gateway.h"
#include "client.h"

namespace dpvpn::cp {

namespace {

// openvpn 2.6's time format in status files (local time).
std::string time_text(uint64_t t) {
  const time_t tt = static_cast<time_t>(t);
  struct tm tmv {};
  localtime_r(&tt, &tmv);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tmv);
  return buf;
}

}  // namespace

void gateway_control::write_status(uint64_t now_ms) {
  if (cfg_.status_path.empty()) return;
  const unsigned ver = cfg_.status_version;
  const char sep = ver == 3 ? '\t' : ',';
  const uint64_t now_s = now_ms / 1000;
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
  struct entry {
    const client* c;
    std::string real, since, last_ref;
    uint64_t rx, tx, since_s, last_s;
  };
  std::vector<entry> list;
  for (const auto& [k, cp] : table_.all()) {
    const client& c = *cp;
    if (c.dead || c.auth.stage != client::auth_stage::accepted || !c.dp.peer) continue;
    entry e{&c, c.real_address(), {}, {}, 0, 0, c.auth.accepted_ms / 1000, 0};
    // Inner bytes the dataplane counted (openvpn counts link bytes: a little more per packet).
    e.rx = c.dp.peer->rx_bytes.load(std::memory_order_relaxed);
    e.tx = c.dp.peer->tx_bytes.load(std::memory_order_relaxed);
    e.last_s = std::max(c.dp.peer->last_rx_s.load(std::memory_order_relaxed), c.last_ctl_rx_ms / 1000);
    e.since = time_text(e.since_s);
    e.last_ref = time_text(e.last_s);
    list.push_back(std::move(e));
  }
  const std::string cn_unknown = "UNDEF";
  auto cn_of = [&](const client& c) { return c.cn.empty() ? cn_unknown : c.cn; };
  auto v6_of = [](const client& c) { return c.lease.v6 ? format_ipv6(*c.lease.v6) : std::string(); };

  if (ver == 1) {
    out += "OpenVPN CLIENT LIST\n";
    row({"Updated", time_text(now_s)});
    row({"Common Name", "Real Address", "Bytes Received", "Bytes Sent", "Connected Since"});
    for (const auto& e : list)
      row({cn_of(*e.c), e.real, std::to_string(e.rx), std::to_string(e.tx), e.since});
    out += "ROUTING TABLE\n";
    row({"Virtual Address", "Common Name", "Real Address", "Last Ref"});
    for (const auto& e : list) {
      if (e.c->vpn_ip) row({format_ipv4(e.c->vpn_ip), cn_of(*e.c), e.real, e.last_ref});
      if (e.c->lease.v6) row({v6_of(*e.c), cn_of(*e.c), e.real, e.last_ref});
    }
    out += "GLOBAL STATS\n";
    row({"Max bcast/mcast queue length", "0"});
    out += "END\n";
  } else {
    row({"TITLE", "dpvpn (OpenVPN 2.6 protocol)"});
    row({"TIME", time_text(now_s), std::to_string(now_s)});
    row({"HEADER", "CLIENT_LIST", "Common Name", "Real Address", "Virtual Address", "Virtual IPv6 Address",
         "Bytes Received", "Bytes Sent", "Connected Since", "Connected Since (time_t)", "Username", "Client ID",
         "Peer ID", "Data Channel Cipher"});
    for (const auto& e : list) {
      const client& c = *e.c;
      const std::string user = c.s->username().empty() ? cn_unknown : c.s->username();
      row({"CLIENT_LIST", cn_of(c), e.real, c.vpn_ip ? format_ipv4(c.vpn_ip) : std::string(), v6_of(c),
           std::to_string(e.rx), std::to_string(e.tx), e.since, std::to_string(e.since_s), user,
           std::to_string(c.peer_id), std::to_string(c.peer_id), crypto::name(c.s->cipher())});
    }
    row({"HEADER", "ROUTING_TABLE", "Virtual Address", "Common Name", "Real Address", "Last Ref", "Last Ref (time_t)"});
    for (const auto& e : list) {
      if (e.c->vpn_ip)
        row({"ROUTING_TABLE", format_ipv4(e.c->vpn_ip), cn_of(*e.c), e.real, e.last_ref, std::to_string(e.last_s)});
      if (e.c->lease.v6)
        row({"ROUTING_TABLE", v6_of(*e.c), cn_of(*e.c), e.real, e.last_ref, std::to_string(e.last_s)});
    }
    row({"GLOBAL_STATS", "Max bcast/mcast queue length", "0"});
    row({"GLOBAL_STATS", "dco_enabled", "0"});
    out += "END\n";
  }

  // Blocking file I/O on the control thread: one small local file every `status` seconds.
  const std::string tmp = cfg_.status_path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  bool ok = f != nullptr && std::fwrite(out.data(), 1, out.size(), f) == out.size();
  if (f != nullptr) ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), cfg_.status_path.c_str()) != 0) {
    if (!status_failed_) log(1, "status: cannot write " + cfg_.status_path);
    status_failed_ = true;
    std::remove(tmp.c_str());
    return;
  }
  status_failed_ = false;
}

}  // namespace dpvpn::cp
