// SPDX-License-Identifier: MIT
// metrics_format (control/metrics_format.h): the Prometheus text of snapshots built here (no
// DPDK, no threads): every family has HELP and TYPE once, every line parses, every drop reason
// appears per lcore, lan only with dp-lan, the histogram is cumulative, labels are escaped,
// per-client series only with the option.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "metrics_format.h"

using namespace dpvpn;
using namespace dpvpn::cp;

namespace {

metrics_snapshot two_lcores() {
  metrics_snapshot s;
  s.now_ms = 10'000;
  for (unsigned id : {0u, 3u}) {
    lcore_figures l;
    l.lcore_id = id;
    l.ports[static_cast<size_t>(port_kind::wan)] = {100 + id, 15000 + id, 90 + id, 14000 + id};
    l.ports[static_cast<size_t>(port_kind::exception)] = {7, 700, 8, 800};
    l.ports[static_cast<size_t>(port_kind::lan)] = {5, 500, 6, 600};
    l.handoff_out = 11 + id;
    l.handoff_in = 12 + id;
    l.decrypted = 40;
    l.encrypted = 41;
    for (size_t i = 0; i < dp::k_drop_count; ++i) l.drops[i] = i * 10 + id;
    s.lcores.push_back(l);
  }
  s.pools.push_back({"dpvpn_mbufs", 300, 700, 1000});
  s.session_mem = {3'200'000, 4'194'304, 2'097'152};
  s.cp.taken_ms = 9'750;
  s.cp.handshakes_completed = 3;
  s.cp.handshakes_failed = 1;
  s.cp.sessions_handshaking = 2;
  s.cp.sessions_established = 3;
  s.cp.clients_connected = 3;
  return s;
}

// name{labels} -> value for every sample line; also checks the format line by line.
struct parsed {
  std::map<std::string, std::string> samples;
  std::map<std::string, std::string> types;  // family -> type
  std::set<std::string> helps;
};

parsed parse_text(const std::string& text) {
  static const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([0-9]+(\.[0-9]+)?)$)");
  static const std::regex label(R"~(^\{([a-z_]+="([^"\\]|\\.)*",)*[a-z_]+="([^"\\]|\\.)*"\}$)~");
  parsed p;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      const std::string fam = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(p.helps.insert(fam).second) << "HELP twice: " << fam;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream t(line.substr(7));
      std::string fam, type;
      t >> fam >> type;
      EXPECT_TRUE(p.types.emplace(fam, type).second) << "TYPE twice: " << fam;
      EXPECT_TRUE(p.helps.count(fam)) << "TYPE before HELP: " << fam;
      EXPECT_EQ(fam.rfind("dpvpn_", 0), 0u) << fam;
      EXPECT_EQ(type == "counter", fam.ends_with("_total")) << fam;
      continue;
    }
    std::smatch m;
    EXPECT_TRUE(std::regex_match(line, m, sample)) << "not a sample line: " << line;
    if (m.empty()) continue;
    const std::string name = m[1], labels = m[2];
    if (!labels.empty()) {
      EXPECT_TRUE(std::regex_match(labels, label)) << line;
    }
    std::string fam = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (!p.types.count(fam) && fam.ends_with(suffix)) fam = fam.substr(0, fam.size() - std::strlen(suffix));
    EXPECT_TRUE(p.types.count(fam)) << "sample before its TYPE: " << line;
    EXPECT_TRUE(p.samples.emplace(name + labels, m[3]).second) << "sample twice: " << line;
  }
  return p;
}

TEST(MetricsFormat, LinesFamiliesAndValues) {
  const metrics_snapshot s = two_lcores();
  const std::string text = format_prometheus(s);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const parsed p = parse_text(text);
  EXPECT_EQ(p.types.at("dpvpn_port_rx_packets_total"), "counter");
  EXPECT_EQ(p.types.at("dpvpn_mbufs_in_use"), "gauge");
  EXPECT_EQ(p.types.at("dpvpn_control_loop_seconds"), "histogram");
  EXPECT_EQ(p.samples.at("dpvpn_worker_lcores"), "2");
  EXPECT_EQ(p.samples.at(R"(dpvpn_port_rx_packets_total{lcore="3",port="wan"})"), "103");
  EXPECT_EQ(p.samples.at(R"(dpvpn_port_tx_bytes_total{lcore="0",port="wan"})"), "14000");
  EXPECT_EQ(p.samples.at(R"(dpvpn_port_rx_bytes_total{lcore="0",port="exception"})"), "700");
  EXPECT_EQ(p.samples.at(R"(dpvpn_handoffs_total{lcore="3",direction="out"})"), "14");
  EXPECT_EQ(p.samples.at(R"(dpvpn_handoffs_total{lcore="3",direction="in"})"), "15");
  EXPECT_EQ(p.samples.at(R"(dpvpn_decrypted_packets_total{lcore="0"})"), "40");
  EXPECT_EQ(p.samples.at(R"(dpvpn_mbufs_in_use{pool="dpvpn_mbufs"})"), "300");
  EXPECT_EQ(p.samples.at(R"(dpvpn_mbufs_available{pool="dpvpn_mbufs"})"), "700");
  EXPECT_EQ(p.samples.at(R"(dpvpn_mbufs_capacity{pool="dpvpn_mbufs"})"), "1000");
  EXPECT_EQ(p.types.at("dpvpn_session_memory_bytes"), "gauge");
  EXPECT_EQ(p.samples.at("dpvpn_session_memory_bytes"), "3200000");
  EXPECT_EQ(p.samples.at("dpvpn_session_memory_mapped_bytes"), "4194304");
  EXPECT_EQ(p.samples.at("dpvpn_session_memory_thp_advised_bytes"), "2097152");
  EXPECT_EQ(p.samples.at("dpvpn_handshakes_completed_total"), "3");
  EXPECT_EQ(p.samples.at("dpvpn_handshakes_failed_total"), "1");
  EXPECT_EQ(p.samples.at(R"(dpvpn_sessions{state="handshaking"})"), "2");
  EXPECT_EQ(p.samples.at(R"(dpvpn_sessions{state="established"})"), "3");
  EXPECT_EQ(p.samples.at("dpvpn_clients_connected"), "3");
  EXPECT_EQ(p.samples.at("dpvpn_control_snapshot_age_seconds"), "0.250000000");
  // No lan series without dp-lan, no per-client series without the option.
  EXPECT_EQ(text.find("port=\"lan\""), std::string::npos);
  EXPECT_EQ(text.find("dpvpn_client_"), std::string::npos);
}

TEST(MetricsFormat, EveryDropReasonPerLcore) {
  const parsed p = parse_text(format_prometheus(two_lcores()));
  for (unsigned id : {0u, 3u})
    for (size_t i = 0; i < dp::k_drop_count; ++i) {
      const std::string key =
          "dpvpn_drops_total{lcore=\"" + std::to_string(id) + "\",reason=\"" + dp::drop_name(i) + "\"}";
      ASSERT_TRUE(p.samples.count(key)) << key;
      EXPECT_EQ(p.samples.at(key), std::to_string(i * 10 + id));
    }
  // The ring-full series are the *_full reasons, under the ring's name.
  const size_t handoff = static_cast<size_t>(dp::drop::handoff_full);
  EXPECT_EQ(p.samples.at(R"(dpvpn_ring_full_total{lcore="3",ring="handoff"})"), std::to_string(handoff * 10 + 3));
  EXPECT_TRUE(p.samples.count(R"(dpvpn_ring_full_total{lcore="0",ring="punt"})"));
  EXPECT_TRUE(p.samples.count(R"(dpvpn_ring_full_total{lcore="0",ring="wan_tx"})"));
  EXPECT_FALSE(p.samples.count(R"(dpvpn_ring_full_total{lcore="0",ring="replay"})"));
}

TEST(MetricsFormat, RingOfDrop) {
  EXPECT_EQ(ring_of_drop(static_cast<size_t>(dp::drop::handoff_full)), "handoff");
  EXPECT_EQ(ring_of_drop(static_cast<size_t>(dp::drop::neigh_wait_full)), "neigh_wait");
  EXPECT_EQ(ring_of_drop(static_cast<size_t>(dp::drop::replay)), "");
  EXPECT_EQ(ring_of_drop(dp::k_drop_count), "");
  size_t rings = 0;
  for (size_t i = 0; i < dp::k_drop_count; ++i) rings += !ring_of_drop(i).empty();
  EXPECT_GE(rings, 6u);
}

TEST(MetricsFormat, LanOnlyWithDpLan) {
  metrics_snapshot s = two_lcores();
  s.lan = true;
  const parsed p = parse_text(format_prometheus(s));
  EXPECT_EQ(p.samples.at(R"(dpvpn_port_rx_packets_total{lcore="0",port="lan"})"), "5");
  EXPECT_EQ(p.samples.at(R"(dpvpn_port_tx_bytes_total{lcore="3",port="lan"})"), "600");
}

TEST(MetricsFormat, LoopHistogramIsCumulative) {
  metrics_snapshot s = two_lcores();
  for (uint64_t ns : {100'000ull, 900'000ull, 1'000'000ull, 3'000'000ull, 2'000'000'000ull}) s.cp.loop.add(ns);
  EXPECT_EQ(s.cp.loop.count, 5u);
  EXPECT_EQ(s.cp.loop.max_ns, 2'000'000'000u);
  const parsed p = parse_text(format_prometheus(s));
  EXPECT_EQ(p.samples.at(R"(dpvpn_control_loop_seconds_bucket{le="0.0005"})"), "1");
  EXPECT_EQ(p.samples.at(R"(dpvpn_control_loop_seconds_bucket{le="0.001"})"), "3");  // 1 ms is <= 0.001
  EXPECT_EQ(p.samples.at(R"(dpvpn_control_loop_seconds_bucket{le="0.005"})"), "4");
  EXPECT_EQ(p.samples.at(R"(dpvpn_control_loop_seconds_bucket{le="1"})"), "4");
  EXPECT_EQ(p.samples.at(R"(dpvpn_control_loop_seconds_bucket{le="+Inf"})"), "5");
  EXPECT_EQ(p.samples.at("dpvpn_control_loop_seconds_count"), "5");
  EXPECT_EQ(p.samples.at("dpvpn_control_loop_seconds_sum"), "2.005000000");
  EXPECT_EQ(p.samples.at("dpvpn_control_loop_max_seconds"), "2.000000000");
  uint64_t prev = 0;
  for (size_t i = 0; i < loop_histogram::k_bounds_s.size(); ++i) {
    EXPECT_GE(s.cp.loop.le[i], prev);
    prev = s.cp.loop.le[i];
  }
}

TEST(MetricsFormat, PerClientSeriesEscaped) {
  metrics_snapshot s = two_lcores();
  s.cp.per_client = true;
  s.cp.clients.push_back({"alice", "192.0.2.1:40000", 0, 1000, 2000, 10, 20});
  s.cp.clients.push_back({"we\"ird\\cn\nx", "[2001:db8::1]:1194", 7, 1, 2, 3, 4});
  const parsed p = parse_text(format_prometheus(s));
  EXPECT_EQ(p.samples.at(R"(dpvpn_client_rx_bytes_total{common_name="alice",real_address="192.0.2.1:40000",peer_id="0"})"),
            "1000");
  EXPECT_EQ(p.samples.at(R"(dpvpn_client_tx_packets_total{common_name="alice",real_address="192.0.2.1:40000",peer_id="0"})"),
            "20");
  EXPECT_EQ(
      p.samples.at(
          R"(dpvpn_client_tx_bytes_total{common_name="we\"ird\\cn\nx",real_address="[2001:db8::1]:1194",peer_id="7"})"),
      "2");
}

TEST(MetricsFormat, EscapeLabel) {
  EXPECT_EQ(escape_label("plain"), "plain");
  EXPECT_EQ(escape_label("a\"b"), "a\\\"b");
  EXPECT_EQ(escape_label("a\\b"), "a\\\\b");
  EXPECT_EQ(escape_label("a\nb"), "a\\nb");
}

TEST(MetricsFormat, NoControlFiguresBeforeTheFirstPublication) {
  metrics_snapshot s = two_lcores();
  s.cp = control_figures{};
  const std::string text = format_prometheus(s);
  EXPECT_EQ(text.find("dpvpn_sessions"), std::string::npos);
  EXPECT_EQ(text.find("dpvpn_handshakes"), std::string::npos);
  EXPECT_NE(text.find("dpvpn_drops_total"), std::string::npos);
  parse_text(text);
}

TEST(MetricsFormat, FiguresOfCopiesTheCounters) {
  dp::lcore_counters c;
  c.wan_rx_pkts = 1;
  c.wan_rx_bytes = 2;
  c.wan_tx_pkts = 3;
  c.wan_tx_bytes = 4;
  c.tun_rx_pkts = 5;
  c.tun_tx_bytes = 6;
  c.lan_rx_bytes = 7;
  c.handoff_out = 8;
  c.handoff_in = 9;
  c.punted = 10;
  c.ctl_tx = 11;
  c.dropped(dp::drop::bad_tag, 12);
  const lcore_figures f = figures_of(4, c);
  EXPECT_EQ(f.lcore_id, 4u);
  const auto& wan = f.ports[static_cast<size_t>(port_kind::wan)];
  EXPECT_EQ(wan.rx_pkts + wan.rx_bytes + wan.tx_pkts + wan.tx_bytes, 10u);
  EXPECT_EQ(f.ports[static_cast<size_t>(port_kind::exception)].rx_pkts, 5u);
  EXPECT_EQ(f.ports[static_cast<size_t>(port_kind::exception)].tx_bytes, 6u);
  EXPECT_EQ(f.ports[static_cast<size_t>(port_kind::lan)].rx_bytes, 7u);
  EXPECT_EQ(f.handoff_out, 8u);
  EXPECT_EQ(f.handoff_in, 9u);
  EXPECT_EQ(f.punted, 10u);
  EXPECT_EQ(f.ctl_tx, 11u);
  EXPECT_EQ(f.drops[static_cast<size_t>(dp::drop::bad_tag)], 12u);
  EXPECT_EQ(f.drops[static_cast<size_t>(dp::drop::replay)], 0u);
}

}  // namespace
