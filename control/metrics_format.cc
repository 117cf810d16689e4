// SPDX-License-Identifier: MIT
// metrics_format: the metrics snapshot as Prometheus text (exposition format 0.0.4). The names
// and their meaning are listed in docs/operations.md ("Metrics"); keep the two in step.
#include "metrics_format.h"

#include <cinttypes>
#include <cstdio>

namespace dpvpn::cp {

namespace {

// The families in the order they are written: a HELP and a TYPE line, then the samples.
class writer {
 public:
  explicit writer(std::string& out) : out_(out) {}
  void family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(std::string_view name, std::string_view labels, uint64_t v) {
    begin(name, labels);
    out_ += std::to_string(v);
    out_ += '\n';
  }
  void sample_s(std::string_view name, std::string_view labels, uint64_t ns) {  // seconds from ns
    begin(name, labels);
    char b[32];
    std::snprintf(b, sizeof b, "%" PRIu64 ".%09" PRIu64, ns / 1'000'000'000, ns % 1'000'000'000);
    out_ += b;
    out_ += '\n';
  }

 private:
  void begin(std::string_view name, std::string_view labels) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
  }
  std::string& out_;
};

// A metric family whose samples are one field of a figures struct.
template <class T>
struct column {
  const char* name;
  const char* help;
  uint64_t T::*field;
};

std::string lcore_label(const lcore_figures& l) { return "lcore=\"" + std::to_string(l.lcore_id) + "\""; }

void write_ports(writer& w, const metrics_snapshot& s) {
  using col = column<port_counts>;
  static constexpr col cols[] = {
      {"dpvpn_port_rx_packets_total", "Packets received on a port by the lcore.", &port_counts::rx_pkts},
      {"dpvpn_port_rx_bytes_total", "Bytes received on a port by the lcore (frames as the port gave them).",
       &port_counts::rx_bytes},
      {"dpvpn_port_tx_packets_total", "Packets the port's TX queue took from the lcore.", &port_counts::tx_pkts},
      {"dpvpn_port_tx_bytes_total", "Bytes the port's TX queue took from the lcore.", &port_counts::tx_bytes},
  };
  for (const col& c : cols) {
    w.family(c.name, "counter", c.help);
    for (const lcore_figures& l : s.lcores)
      for (size_t p = 0; p < k_port_kinds; ++p) {
        if (static_cast<port_kind>(p) == port_kind::lan && !s.lan) continue;
        w.sample(c.name, lcore_label(l) + ",port=\"" + port_name(static_cast<port_kind>(p)) + "\"", l.ports[p].*c.field);
      }
  }
}

void write_lcores(writer& w, const metrics_snapshot& s) {
  write_ports(w, s);
  w.family("dpvpn_drops_total", "counter", "Packets dropped by the lcore, by reason (include/dpvpn/dp_stats.h).");
  for (const lcore_figures& l : s.lcores)
    for (size_t i = 0; i < dp::k_drop_count; ++i)
      w.sample("dpvpn_drops_total", lcore_label(l) + ",reason=\"" + dp::drop_name(i) + "\"", l.drops[i]);
  w.family("dpvpn_ring_full_total", "counter",
           "Packets dropped because a ring or TX queue was full (the drop reasons named *_full).");
  for (const lcore_figures& l : s.lcores)
    for (size_t i = 0; i < dp::k_drop_count; ++i)
      if (std::string_view r = ring_of_drop(i); !r.empty())
        w.sample("dpvpn_ring_full_total", lcore_label(l) + ",ring=\"" + std::string(r) + "\"", l.drops[i]);
  w.family("dpvpn_handoffs_total", "counter",
           "Packets handed to the owner lcore of their client (out) or taken from another lcore (in).");
  for (const lcore_figures& l : s.lcores) {
    w.sample("dpvpn_handoffs_total", lcore_label(l) + ",direction=\"out\"", l.handoff_out);
    w.sample("dpvpn_handoffs_total", lcore_label(l) + ",direction=\"in\"", l.handoff_in);
  }
  struct one {
    const char* name;
    const char* help;
    uint64_t lcore_figures::*field;
  };
  static constexpr one ones[] = {
      {"dpvpn_decrypted_packets_total", "Data packets opened (authenticated and decrypted).", &lcore_figures::decrypted},
      {"dpvpn_encrypted_packets_total", "Data packets sealed for a client.", &lcore_figures::encrypted},
      {"dpvpn_punted_packets_total", "Control-channel frames passed to the control thread.", &lcore_figures::punted},
      {"dpvpn_control_tx_packets_total", "Control-channel frames sent for the control thread.", &lcore_figures::ctl_tx},
  };
  for (const one& o : ones) {
    w.family(o.name, "counter", o.help);
    for (const lcore_figures& l : s.lcores) w.sample(o.name, lcore_label(l), l.*o.field);
  }
}

void write_pools(writer& w, const metrics_snapshot& s) {
  using col = column<mbuf_figures>;
  static constexpr col cols[] = {
      {"dpvpn_mbufs_in_use",
       "Mbufs out of the pool: in NIC and internal rings, in flight (lcore caches count as available).",
       &mbuf_figures::in_use},
      {"dpvpn_mbufs_available", "Mbufs free in the pool, its lcore caches included.", &mbuf_figures::available},
      {"dpvpn_mbufs_capacity", "Mbufs the pool was created with.", &mbuf_figures::size},
  };
  for (const col& c : cols) {
    w.family(c.name, "gauge", c.help);
    for (const mbuf_figures& p : s.pools) w.sample(c.name, "pool=\"" + escape_label(p.pool) + "\"", p.*c.field);
  }
}

void write_session_mem(writer& w, const metrics_snapshot& s) {
  using col = column<session_mem_figures>;
  static constexpr col cols[] = {
      {"dpvpn_session_memory_bytes", "Bytes of per-session dataplane state (peers, key state, expanded keys) in use.",
       &session_mem_figures::in_use},
      {"dpvpn_session_memory_mapped_bytes", "Bytes mapped for per-session state (2 MiB chunks, kept until exit).",
       &session_mem_figures::mapped},
      {"dpvpn_session_memory_thp_advised_bytes",
       "Of the mapped bytes, those the kernel accepted for transparent huge pages (madvise).",
       &session_mem_figures::thp_advised},
  };
  for (const col& c : cols) {
    w.family(c.name, "gauge", c.help);
    w.sample(c.name, "", s.session_mem.*c.field);
  }
}

void write_control(writer& w, const metrics_snapshot& s) {
  const control_figures& c = s.cp;
  w.family("dpvpn_control_snapshot_age_seconds", "gauge",
           "Age of the control thread's figures below (published every 0.5 s; a large age: the loop is stuck).");
  w.sample_s("dpvpn_control_snapshot_age_seconds", "", (s.now_ms > c.taken_ms ? s.now_ms - c.taken_ms : 0) * 1'000'000);
  w.family("dpvpn_control_loop_seconds", "histogram",
           "Control thread loop period: its work per iteration plus an idle wait of at most 1 ms.");
  for (size_t i = 0; i < loop_histogram::k_bounds_s.size(); ++i) {
    char le[48];
    std::snprintf(le, sizeof le, "le=\"%g\"", loop_histogram::k_bounds_s[i]);
    w.sample("dpvpn_control_loop_seconds_bucket", le, c.loop.le[i]);
  }
  w.sample("dpvpn_control_loop_seconds_bucket", "le=\"+Inf\"", c.loop.count);
  w.sample_s("dpvpn_control_loop_seconds_sum", "", c.loop.sum_ns);
  w.sample("dpvpn_control_loop_seconds_count", "", c.loop.count);
  w.family("dpvpn_control_loop_max_seconds", "gauge", "Longest control thread loop period since start.");
  w.sample_s("dpvpn_control_loop_max_seconds", "", c.loop.max_ns);
  w.family("dpvpn_handshakes_completed_total", "counter", "Sessions that completed their handshake (established).");
  w.sample("dpvpn_handshakes_completed_total", "", c.handshakes_completed);
  w.family("dpvpn_handshakes_failed_total", "counter",
           "Sessions that ended before they were established (TLS or auth failure, timeout, restart).");
  w.sample("dpvpn_handshakes_failed_total", "", c.handshakes_failed);
  w.family("dpvpn_sessions", "gauge", "Control-channel sessions by state.");
  w.sample("dpvpn_sessions", "state=\"handshaking\"", c.sessions_handshaking);
  w.sample("dpvpn_sessions", "state=\"established\"", c.sessions_established);
  w.family("dpvpn_clients_connected", "gauge", "Clients accepted and installed in the dataplane.");
  w.sample("dpvpn_clients_connected", "", c.clients_connected);
  if (!c.per_client) return;
  using col = column<client_figures>;
  static constexpr col cols[] = {
      {"dpvpn_client_rx_bytes_total", "Inner bytes received from the client.", &client_figures::rx_bytes},
      {"dpvpn_client_tx_bytes_total", "Inner bytes sent to the client.", &client_figures::tx_bytes},
      {"dpvpn_client_rx_packets_total", "Inner packets received from the client.", &client_figures::rx_pkts},
      {"dpvpn_client_tx_packets_total", "Inner packets sent to the client.", &client_figures::tx_pkts},
  };
  for (const col& k : cols) {
    w.family(k.name, "counter", k.help);
    for (const client_figures& f : c.clients)
      w.sample(k.name,
               "common_name=\"" + escape_label(f.common_name) + "\",real_address=\"" + escape_label(f.real_address) +
                   "\",peer_id=\"" + std::to_string(f.peer_id) + "\"",
               f.*k.field);
  }
}

}  // namespace

const char* port_name(port_kind p) noexcept {
  switch (p) {
    case port_kind::wan: return "wan";
    case port_kind::exception: return "exception";
    case port_kind::lan: return "lan";
    default: return "?";
  }
}

lcore_figures figures_of(unsigned lcore_id, const dp::lcore_counters& c) noexcept {
  auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  lcore_figures f;
  f.lcore_id = lcore_id;
  f.ports[static_cast<size_t>(port_kind::wan)] = {ld(c.wan_rx_pkts), ld(c.wan_rx_bytes), ld(c.wan_tx_pkts),
                                                  ld(c.wan_tx_bytes)};
  f.ports[static_cast<size_t>(port_kind::exception)] = {ld(c.tun_rx_pkts), ld(c.tun_rx_bytes), ld(c.tun_tx_pkts),
                                                        ld(c.tun_tx_bytes)};
  f.ports[static_cast<size_t>(port_kind::lan)] = {ld(c.lan_rx_pkts), ld(c.lan_rx_bytes), ld(c.lan_tx_pkts),
                                                  ld(c.lan_tx_bytes)};
  f.decrypted = ld(c.decrypted);
  f.encrypted = ld(c.encrypted);
  f.punted = ld(c.punted);
  f.ctl_tx = ld(c.ctl_tx);
  f.handoff_out = ld(c.handoff_out);
  f.handoff_in = ld(c.handoff_in);
  for (size_t i = 0; i < dp::k_drop_count; ++i) f.drops[i] = ld(c.drops[i]);
  return f;
}

std::string_view ring_of_drop(size_t i) noexcept {
  constexpr std::string_view suffix = "_full";
  const std::string_view n = dp::drop_name(i);
  if (i >= dp::k_drop_count || n.size() <= suffix.size() || !n.ends_with(suffix)) return {};
  return n.substr(0, n.size() - suffix.size());
}

void loop_histogram::add(uint64_t ns) noexcept {
  for (size_t i = 0; i < k_bounds_s.size(); ++i)
    if (static_cast<double>(ns) <= k_bounds_s[i] * 1e9) ++le[i];
  ++count;
  sum_ns += ns;
  if (ns > max_ns) max_ns = ns;
}

std::string escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char ch : v) {
    if (ch == '\\') out += "\\\\";
    else if (ch == '"') out += "\\\"";
    else if (ch == '\n') out += "\\n";
    else out += ch;
  }
  return out;
}

std::string format_prometheus(const metrics_snapshot& s) {
  std::string out;
  out.reserve(4096 + s.lcores.size() * 6144 + s.cp.clients.size() * 512);
  writer w(out);
  w.family("dpvpn_worker_lcores", "gauge", "Worker lcores (each polls one queue of every port).");
  w.sample("dpvpn_worker_lcores", "", s.lcores.size());
  write_lcores(w, s);
  write_pools(w, s);
  write_session_mem(w, s);
  if (s.cp.taken_ms) write_control(w, s);
  return out;
}

}  // namespace dpvpn::cp
