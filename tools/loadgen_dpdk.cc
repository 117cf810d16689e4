// SPDX-License-Identifier: MIT
// dpvpn-loadgen --dpdk: EAL, the two ports, the sessions' handshakes over the WAN port (the same
// session_pool as the kernel-socket mode), then the measured steps on this one lcore:
//   c2s: inner packets to the LAN host are sealed on the fly with each session's sending key
//        (unique packet ids: the data_keys of the session) and sent on the WAN in bursts; what
//        the gateway forwards to the LAN port is counted;
//   s2c: plain packets to the sessions' VPN addresses are sent on the LAN; what comes back on the
//        WAN is opened (AEAD and replay check, session_pool::open_data) and counted.
// Every inner packet carries a mark (loadgen_dpdk.h): the TSC when it was built, for the latency
// histogram, and its window, so that a window counts only its own packets.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "dpvpn/wire.h"
#include "loadgen_dpdk.h"

namespace dpvpn::loadgen {
namespace {

using namespace dpdk;

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = std::min(s.find(',', start), s.size());
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

uint16_t port_named(const std::string& name, uint16_t fallback_index, const char* what) {
  uint16_t id = 0;
  if (!name.empty()) {
    if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) die(std::string(what) + " port: no ethdev named " + name);
    return id;
  }
  uint16_t k = 0;
  RTE_ETH_FOREACH_DEV(id) {
    if (k++ == fallback_index) return id;
  }
  die(std::string(what) + " port: fewer than " + std::to_string(fallback_index + 1) + " ethdevs (give --vdev=net_memif...)");
}

// CPU seconds a thread has used (utime + stime of /proc/PID/task/TID/stat); -1 if unreadable.
double thread_cpu_of(int pid, int tid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return -1;
  const size_t rp = line.rfind(')');  // comm may hold spaces
  if (rp == std::string::npos) return -1;
  std::istringstream in(line.substr(rp + 2));
  std::string field;
  unsigned long long ut = 0, st = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) ut = std::stoull(field);
    if (i == 15) st = std::stoull(field);
  }
  return static_cast<double>(ut + st) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double self_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// One measured window of one direction.
struct dir_stats {
  uint64_t tx = 0, rx = 0, rx_bytes = 0;  // rx_bytes: inner IP bytes
  uint64_t tx_calls = 0, tx_short = 0;    // tx bursts, and those the port took only in part
  uint64_t bad = 0;                       // s2c: data packets that failed to open
  histogram lat;
  void clear() { *this = dir_stats{}; }
};

struct step {
  bool c2s = false, s2c = false;
  std::string dir_label;
  std::string size_label;
  std::vector<uint32_t> pattern;  // inner sizes, cycled
};

class runner {
 public:
  runner(const options& o, report& r, session_pool& pool, wan_io& io, l2_port& wan, l2_port* lan, rte_mempool* mp,
         volatile std::sig_atomic_t* stop)
      : o_(o), r_(r), pool_(pool), io_(io), wan_(wan), lan_(lan), mp_(mp), stop_(stop), hz_(rte_get_tsc_hz()) {}

  bool run_steps();

 private:
  void build_templates();
  struct result;
  void window(const step& st, double rate, uint32_t id, double seconds, bool measured);
  result measure(const step& st, double rate, uint32_t& id);
  void show(const step& st, double rate, const result& r);
  void drain_wan(uint64_t now);
  void drain_lan(uint64_t now);
  uint16_t build_c2s(const step& st, rte_mbuf** m, uint16_t n, uint64_t now);
  uint16_t build_s2c(const step& st, rte_mbuf** m, uint16_t n, uint64_t now);
  void housekeeping();
  void print(const step& st, const char* dir, const char* kind, double rate, const dir_stats& s, double secs);

  const options& o_;
  report& r_;
  session_pool& pool_;
  wan_io& io_;
  l2_port& wan_;
  l2_port* lan_;
  rte_mempool* mp_;
  volatile std::sig_atomic_t* stop_;
  const uint64_t hz_;

  std::vector<live_session> ss_;
  std::vector<uint32_t> sizes_;                      // distinct inner sizes
  std::vector<std::vector<std::vector<uint8_t>>> c2s_tpl_;  // [session][size index]: inner packet
  std::vector<std::vector<std::vector<uint8_t>>> s2c_tpl_;  // [session][size index]: whole LAN frame
  std::vector<uint64_t> note_bytes_, note_pkts_;   // per session, since the last housekeeping
  std::unique_ptr<crypto::engine> eng_ = crypto::engine::create();
  size_t c2s_sess_ = 0, c2s_pos_ = 0, s2c_sess_ = 0, s2c_pos_ = 0;
  uint32_t cur_window_ = 0;  // counted window id (0 while warming up or draining)
  uint64_t now_ms_ = 0;
  uint64_t live_gen_ = 0;  // session_pool::live_generation() that ss_ was built from
  dir_stats c2s_, s2c_;
  double last_secs_ = 0;  // the last measured window's length
  double gw_cpu_ = -1;     // the gateway worker's CPU share in the last window (-1: unknown)
  double lg_cpu_ = 0;      // ours
  std::pair<double, double> span_{};  // the last measured window, CLOCK_MONOTONIC seconds
  uint64_t seal_failures_ = 0;
  bool all_ok_ = true;
};

size_t size_index(const std::vector<uint32_t>& sizes, uint32_t s) {
  return static_cast<size_t>(std::find(sizes.begin(), sizes.end(), s) - sizes.begin());
}

void runner::build_templates() {
  ss_ = pool_.live();
  live_gen_ = pool_.live_generation();
  c2s_sess_ = s2c_sess_ = 0;
  sizes_ = pool_.sizes();
  c2s_tpl_.assign(ss_.size(), {});
  s2c_tpl_.assign(ss_.size(), {});
  note_bytes_.assign(ss_.size(), 0);
  note_pkts_.assign(ss_.size(), 0);
  const uint32_t target = o_.target ? o_.target : o_.lan_ip;
  for (size_t i = 0; i < ss_.size(); ++i) {
    for (uint32_t sz : sizes_) {
      c2s_tpl_[i].push_back(build_udp4(ss_[i].vpn_ip, target, ss_[i].sport, o_.target_port, sz));
      std::vector<uint8_t> f(net::k_eth_hdr);
      if (lan_) {
        std::memcpy(f.data(), lan_->peer_mac.data(), 6);
        std::memcpy(f.data() + 6, lan_->mac.data(), 6);
      }
      wire::put_u16(f.data() + 12, net::k_ethertype_ipv4);
      const auto inner = build_udp4(o_.lan_ip, ss_[i].vpn_ip, o_.target_port, ss_[i].sport, sz);
      f.insert(f.end(), inner.begin(), inner.end());
      s2c_tpl_[i].push_back(std::move(f));
    }
  }
}

uint16_t runner::build_c2s(const step& st, rte_mbuf** m, uint16_t n, uint64_t now) {
  if (rte_pktmbuf_alloc_bulk(mp_, m, n) != 0) return 0;
  const mark mk{now, cur_window_, k_mark_magic};
  const uint64_t now_s = now_ms_ / 1000;
  uint16_t k = 0;
  for (; k < n; ++k) {
    const size_t si = c2s_sess_;
    if (++c2s_sess_ == ss_.size()) c2s_sess_ = 0;
    const uint32_t sz = st.pattern[c2s_pos_];
    if (++c2s_pos_ == st.pattern.size()) c2s_pos_ = 0;
    const std::vector<uint8_t>& t = c2s_tpl_[si][size_index(sizes_, sz)];
    rte_mbuf* b = m[k];
    uint8_t* d = rte_pktmbuf_mtod(b, uint8_t*);
    std::memcpy(d, t.data(), sz);
    std::memcpy(d + k_mark_off, &mk, sizeof mk);
    buf_view v{d, sz, rte_pktmbuf_headroom(b), static_cast<uint32_t>(rte_pktmbuf_tailroom(b)) - sz};
    if (ss_[si].dk->seal(*eng_, v, ss_[si].peer_id, now_s) != proto::dc_err::ok) break;
    uint8_t* h = v.prepend(net::k_outer_v4);
    io_.write_outer(h, ss_[si].tag, v.len - net::k_outer_v4, false);
    b->data_off = static_cast<uint16_t>(v.data - static_cast<uint8_t*>(b->buf_addr));
    b->data_len = static_cast<uint16_t>(v.len);
    b->pkt_len = v.len;
    note_bytes_[si] += v.len;
    ++note_pkts_[si];
  }
  if (k < n) {
    ++seal_failures_;  // no key yet, or the packet id is exhausted: give the rest back
    rte_pktmbuf_free_bulk(m + k, n - k);
  }
  return k;
}

uint16_t runner::build_s2c(const step& st, rte_mbuf** m, uint16_t n, uint64_t now) {
  if (rte_pktmbuf_alloc_bulk(mp_, m, n) != 0) return 0;
  const mark mk{now, cur_window_, k_mark_magic};
  for (uint16_t k = 0; k < n; ++k) {
    const size_t si = s2c_sess_;
    if (++s2c_sess_ == ss_.size()) s2c_sess_ = 0;
    const uint32_t sz = st.pattern[s2c_pos_];
    if (++s2c_pos_ == st.pattern.size()) s2c_pos_ = 0;
    const std::vector<uint8_t>& t = s2c_tpl_[si][size_index(sizes_, sz)];
    uint8_t* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m[k], static_cast<uint16_t>(t.size())));
    std::memcpy(d, t.data(), t.size());
    std::memcpy(d + net::k_eth_hdr + k_mark_off, &mk, sizeof mk);
  }
  return n;
}

// The mark of an inner IPv4/UDP packet of ours, or nullptr.
const mark* mark_of(const uint8_t* ip, uint32_t len) {
  if (len < k_mark_off + sizeof(mark) || (ip[0] >> 4) != 4 || ip[9] != net::k_proto_udp) return nullptr;
  const auto* mk = reinterpret_cast<const mark*>(ip + k_mark_off);
  return mk->magic == k_mark_magic ? mk : nullptr;
}

void runner::drain_wan(uint64_t now) {
  rte_mbuf* rx[k_rx_burst];
  for (int round = 0; round < 4; ++round) {
    const uint16_t n = rte_eth_rx_burst(wan_.id, 0, rx, k_rx_burst);
    for (uint16_t i = 0; i < n; ++i) {
      rte_mbuf* m = rx[i];
      if (wan_.arp_input(m)) continue;
      uint32_t tag = 0;
      buf_view v;
      if (!io_.classify(m, tag, v)) {
        ++wan_.rx_other;
      } else if (v.len && wire::is_data_op(wire::op_of(v.data[0]))) {
        proto::dc_kind kind{};
        if (!pool_.open_data(tag, v, now_ms_, kind)) {
          ++s2c_.bad;
        } else if (kind == proto::dc_kind::ip) {
          const mark* mk = mark_of(v.data, v.len);
          if (mk && mk->window == cur_window_ && cur_window_ != 0) {
            ++s2c_.rx;
            s2c_.rx_bytes += v.len;
            s2c_.lat.add(now - mk->tsc);
          }
        }
      } else {
        pool_.on_rx(tag, v);  // control channel
      }
      rte_pktmbuf_free(m);
    }
    if (n < k_rx_burst) break;
  }
}

void runner::drain_lan(uint64_t now) {
  if (!lan_) return;
  rte_mbuf* rx[k_rx_burst];
  rte_mbuf* done[k_rx_burst];
  for (int round = 0; round < 4; ++round) {
    const uint16_t n = rte_eth_rx_burst(lan_->id, 0, rx, k_rx_burst);
    uint16_t nd = 0;
    for (uint16_t i = 0; i < n; ++i) {
      rte_mbuf* m = rx[i];
      const auto* f = rte_pktmbuf_mtod(m, const uint8_t*);
      const uint32_t len = rte_pktmbuf_data_len(m);
      if (len >= net::k_eth_hdr + k_mark_off + sizeof(mark) && wire::get_u16(f + 12) == net::k_ethertype_ipv4) {
        const mark* mk = mark_of(f + net::k_eth_hdr, len - net::k_eth_hdr);
        if (mk && mk->window == cur_window_ && cur_window_ != 0) {
          ++c2s_.rx;
          c2s_.rx_bytes += wire::get_u16(f + net::k_eth_hdr + 2);
          c2s_.lat.add(now - mk->tsc);
        } else if (!mk) {
          ++lan_->rx_other;
        }
        done[nd++] = m;
      } else if (!lan_->arp_input(m)) {
        ++lan_->rx_other;
        done[nd++] = m;
      }
    }
    if (nd) rte_pktmbuf_free_bulk(done, nd);
    if (n < k_rx_burst) break;
  }
}

// Every millisecond: what was sealed goes into each session's books (keepalive timer,
// renegotiation limits), the sessions' timers run, our own frames go out. A session that ended
// (the gateway's doing) leaves the rotation: its keys are gone.
void runner::housekeeping() {
  now_ms_ = wall_ms();
  for (size_t i = 0; i < ss_.size(); ++i) {
    if (!note_pkts_[i]) continue;
    pool_.note_tx(ss_[i].tag, note_bytes_[i], note_pkts_[i], now_ms_);
    note_bytes_[i] = note_pkts_[i] = 0;
  }
  pool_.scan(now_ms_);
  wan_.flush();
  if (lan_) lan_->flush();
  if (pool_.live_generation() != live_gen_) {
    build_templates();
    if (ss_.empty()) die("--dpdk: every session ended during the run");
  }
}

// One window: `seconds` of traffic at `rate` packets/s per direction (0 = as fast as the ports
// take it), marked `id` (0: warm-up), then up to 50 ms for what is still in flight.
void runner::window(const step& st, double rate, uint32_t id, double seconds, bool measured) {
  cur_window_ = id;
  if (measured) {
    c2s_.clear();
    s2c_.clear();
  }
  const uint64_t t0 = rte_rdtsc();
  const uint64_t end = t0 + static_cast<uint64_t>(seconds * static_cast<double>(hz_));
  const double per_tsc = rate / static_cast<double>(hz_);
  // Up to 10 ms of packets may be owed after a pause (the scheduler gave our CPU to someone else),
  // so that the offered rate holds over the window on a shared machine; they go out as fast as the
  // port takes them (memif pushes back rather than dropping), each stamped when it is built.
  const double cap = std::max(2.0 * k_burst, rate / 100);
  double tok_c = 0, tok_s = 0;
  uint64_t last = t0;
  const uint64_t scan_every = hz_ / 1000;  // 1 ms
  uint64_t next_scan = t0;
  const double m0 = mono_s();
  const double g0 = o_.gw_pid > 0 ? thread_cpu_of(o_.gw_pid, o_.gw_pid) : -1;
  const double l0 = self_cpu();
  rte_mbuf* pc[k_burst];
  rte_mbuf* ps[k_burst];
  uint16_t nc = 0, oc = 0, ns = 0, os = 0;  // pending: count and offset
  uint64_t now = t0;
  while (!*stop_ && (now = rte_rdtsc()) < end) {
    if (rate > 0) {
      const double add = static_cast<double>(now - last) * per_tsc;
      tok_c = std::min(tok_c + add, cap);
      tok_s = std::min(tok_s + add, cap);
      last = now;
    }
    if (st.c2s) {
      if (nc == 0) {
        uint16_t want = k_burst;
        if (rate > 0) want = static_cast<uint16_t>(std::min<double>(tok_c, k_burst));
        if (want) {
          oc = 0;
          nc = build_c2s(st, pc, want, now);
          if (rate > 0) tok_c -= nc;
        }
      }
      if (nc) {
        const uint16_t sent = rte_eth_tx_burst(wan_.id, 0, pc + oc, nc);
        ++c2s_.tx_calls;
        if (sent < nc) ++c2s_.tx_short;
        c2s_.tx += sent;
        oc = static_cast<uint16_t>(oc + sent);
        nc = static_cast<uint16_t>(nc - sent);
      }
    }
    if (st.s2c && lan_) {
      if (ns == 0) {
        uint16_t want = k_burst;
        if (rate > 0) want = static_cast<uint16_t>(std::min<double>(tok_s, k_burst));
        if (want) {
          os = 0;
          ns = build_s2c(st, ps, want, now);
          if (rate > 0) tok_s -= ns;
        }
      }
      if (ns) {
        const uint16_t sent = rte_eth_tx_burst(lan_->id, 0, ps + os, ns);
        ++s2c_.tx_calls;
        if (sent < ns) ++s2c_.tx_short;
        s2c_.tx += sent;
        os = static_cast<uint16_t>(os + sent);
        ns = static_cast<uint16_t>(ns - sent);
      }
    }
    drain_lan(now);
    drain_wan(now);
    if (now >= next_scan) {
      housekeeping();
      next_scan = now + scan_every;
    }
  }
  const double secs = static_cast<double>(now - t0) / static_cast<double>(hz_);
  if (o_.gw_pid > 0) {
    const double g1 = thread_cpu_of(o_.gw_pid, o_.gw_pid);
    gw_cpu_ = g0 >= 0 && g1 >= 0 ? (g1 - g0) / secs : -1;
  }
  lg_cpu_ = (self_cpu() - l0) / secs;
  const double m1 = mono_s();
  // What was built stays this window's: send it, then let the last packets come through.
  const uint64_t flush_end = rte_rdtsc() + hz_ / 20;
  while ((nc || ns) && rte_rdtsc() < flush_end) {
    if (nc) {
      const uint16_t sent = rte_eth_tx_burst(wan_.id, 0, pc + oc, nc);
      c2s_.tx += sent;
      oc = static_cast<uint16_t>(oc + sent);
      nc = static_cast<uint16_t>(nc - sent);
    }
    if (ns) {
      const uint16_t sent = rte_eth_tx_burst(lan_->id, 0, ps + os, ns);
      s2c_.tx += sent;
      os = static_cast<uint16_t>(os + sent);
      ns = static_cast<uint16_t>(ns - sent);
    }
    now = rte_rdtsc();
    drain_lan(now);
    drain_wan(now);
  }
  if (nc) rte_pktmbuf_free_bulk(pc + oc, nc);
  if (ns) rte_pktmbuf_free_bulk(ps + os, ns);
  const uint64_t grace_end = rte_rdtsc() + hz_ / 20;
  while ((now = rte_rdtsc()) < grace_end) {
    drain_lan(now);
    drain_wan(now);
  }
  housekeeping();
  cur_window_ = 0;
  if (measured) {
    last_secs_ = secs;
    span_ = {m0, m1};
  }
}

// What one measured window left in c2s_/s2c_, kept to pick the median of --repeat windows.
struct runner::result {
  dir_stats c2s, s2c;
  double secs = 0, gw_cpu = -1, lg_cpu = 0;
  std::pair<double, double> span;
  // The delivered rate, the slower direction's when both run.
  double delivered(const step& st) const {
    double d = 1e300;
    if (st.c2s) d = std::min(d, static_cast<double>(c2s.rx) / secs);
    if (st.s2c) d = std::min(d, static_cast<double>(s2c.rx) / secs);
    return d;
  }
};

runner::result runner::measure(const step& st, double rate, uint32_t& id) {
  if (o_.warmup_s > 0) window(st, rate, 0, o_.warmup_s, false);
  window(st, rate, ++id, o_.duration_s, true);
  result r;
  r.c2s = c2s_;
  r.s2c = s2c_;
  r.secs = last_secs_ > 0 ? last_secs_ : o_.duration_s;
  r.gw_cpu = gw_cpu_;
  r.lg_cpu = lg_cpu_;
  r.span = span_;
  return r;
}

void runner::show(const step& st, double rate, const result& r) {
  gw_cpu_ = r.gw_cpu;
  lg_cpu_ = r.lg_cpu;
  span_ = r.span;
  const char* kind = rate > 0 ? "rate" : "max";
  if (st.c2s) print(st, "c2s", kind, rate, r.c2s, r.secs);
  if (st.s2c) print(st, "s2c", kind, rate, r.s2c, r.secs);
}

void runner::print(const step& st, const char* dir, const char* kind, double rate, const dir_stats& s, double secs) {
  double mean = 0;
  for (uint32_t x : st.pattern) mean += x;
  mean /= static_cast<double>(st.pattern.size());
  const double tx_pps = static_cast<double>(s.tx) / secs, rx_pps = static_cast<double>(s.rx) / secs;
  const double gbps = static_cast<double>(s.rx_bytes) * 8 / secs / 1e9;  // inner IP bits delivered
  const double loss = s.tx ? std::max(0.0, 1.0 - static_cast<double>(s.rx) / static_cast<double>(s.tx)) : 1.0;
  const double us = 1e6 / static_cast<double>(hz_);
  const double p50 = s.lat.percentile(50) * us, p99 = s.lat.percentile(99) * us, p999 = s.lat.percentile(99.9) * us;
  const double backpressure = s.tx_calls ? static_cast<double>(s.tx_short) / static_cast<double>(s.tx_calls) : 0;
  if (s.rx == 0) all_ok_ = false;
  if (o_.json) {
    std::printf("{\"mode\":\"dpdk\",\"dir\":\"%s\",\"size\":\"%s\",\"window\":\"%s\",\"rate_pps\":%.0f,\"sessions\":%zu,"
                "\"duration_s\":%.4f,\"tx_packets\":%llu,\"rx_packets\":%llu,\"tx_mpps\":%.4f,\"rx_mpps\":%.4f,"
                "\"rx_gbps\":%.4f,\"avg_bytes\":%.1f,\"loss\":%.6f,\"p50_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,"
                "\"tx_backpressure\":%.4f,\"open_failures\":%llu,\"gw_cpu\":%.3f,\"rx_mpps_per_gw_cpu\":%.4f,"
                "\"lg_cpu\":%.3f,\"t_start\":%.6f,\"t_end\":%.6f}\n",
                dir, st.size_label.c_str(), kind, rate, ss_.size(), secs, static_cast<unsigned long long>(s.tx),
                static_cast<unsigned long long>(s.rx), tx_pps / 1e6, rx_pps / 1e6, gbps, mean, loss, p50, p99, p999,
                backpressure, static_cast<unsigned long long>(s.bad), gw_cpu_, gw_cpu_ > 0 ? rx_pps / 1e6 / gw_cpu_ : 0,
                lg_cpu_, span_.first, span_.second);
  } else {
    std::printf("%-4s %-5s %-4s offered %10.0f pps  sent %8.4f Mpps  delivered %8.4f Mpps %7.3f Gbit/s  loss %.4f%%"
                "  latency p50 %.1f us p99 %.1f us  tx full %.0f%%  cpu gw %.0f%% us %.0f%%\n",
                dir, st.size_label.c_str(), kind, rate, tx_pps / 1e6, rx_pps / 1e6, gbps, loss * 100, p50, p99,
                backpressure * 100, gw_cpu_ * 100, lg_cpu_ * 100);
  }
  std::fflush(stdout);
}

bool runner::run_steps() {
  build_templates();
  if (ss_.empty()) die("--dpdk: no established session with a VPN address");
  std::vector<step> steps;
  for (const std::string& d : split(o_.dirs)) {
    for (const std::string& sz : split(o_.size)) {
      step st;
      st.dir_label = d;
      st.size_label = sz;
      st.c2s = d == "c2s" || d == "both";
      st.s2c = d == "s2c" || d == "both";
      if (!st.c2s && !st.s2c) die("--dir wants c2s, s2c or both, got '" + d + "'");
      if (st.s2c && !lan_) die("--dir s2c needs a LAN port");
      std::string err;
      st.pattern = size_pattern(sz, &err);
      steps.push_back(std::move(st));
    }
  }
  uint32_t id = 0;
  for (const step& st : steps) {
    if (*stop_) break;
    const double rate = o_.rate_pps;
    // The median of --repeat windows: on a shared machine a window can lose its CPU to other work,
    // and the best one would set the 90 % probe above what the gateway sustains in most windows.
    std::vector<result> rs;
    for (uint32_t k = 0; k < o_.repeat && !*stop_; ++k) rs.push_back(measure(st, rate, id));
    if (rs.empty()) break;
    std::sort(rs.begin(), rs.end(), [&](const result& a, const result& b) { return a.delivered(st) < b.delivered(st); });
    const result& med = rs[(rs.size() - 1) / 2];
    show(st, rate, med);
    if (o_.probe > 0 && !*stop_) {
      const double probe_rate = std::max(1000.0, std::floor(med.delivered(st) * o_.probe));
      show(st, probe_rate, measure(st, probe_rate, id));
    }
  }
  r_.duration_s = o_.duration_s;
  return all_ok_;
}

}  // namespace

int run_dpdk(const options& o, volatile std::sig_atomic_t* stop) {
  std::vector<char*> argv;
  std::vector<std::string> eal = o.eal_args;
  for (auto& s : eal) argv.push_back(s.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0)
    die(std::string("EAL init failed: ") + rte_strerror(rte_errno));
  if (rte_eth_dev_count_avail() == 0) die("--dpdk: no ethdev (give --vdev=net_memif0,... before --)");

  rte_mempool* mp = rte_pktmbuf_pool_create("lg_mbufs", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                            static_cast<int>(rte_socket_id()));
  if (!mp) die(std::string("mbuf pool: ") + rte_strerror(rte_errno));

  dpdk::l2_port wan, lan;
  wan.what = "WAN";
  wan.id = port_named(o.wan_port, 0, "WAN");
  wan.ip = o.wan_ip;
  wan.peer_ip = ntohl(o.remote.sin_addr.s_addr);
  const bool have_lan = o.lan_port != "none";
  if (have_lan) {
    lan.what = "LAN";
    lan.id = port_named(o.lan_port, 1, "LAN");
    if (lan.id == wan.id) die("--dpdk: the LAN port is the WAN port");
    lan.ip = o.lan_ip;
    lan.peer_ip = o.lan_gw;
  }
  dpdk::setup_port(wan, mp);
  if (have_lan) dpdk::setup_port(lan, mp);
  dpdk::wait_link(wan);
  if (have_lan) dpdk::wait_link(lan);
  std::vector<dpdk::l2_port*> ports{&wan};
  // The gateway learns the LAN host's MAC by its own ARP request; it answers ours as well.
  if (have_lan) ports.push_back(&lan);
  dpdk::resolve_peers(ports, mp, stop);

  report r;
  int rc = 1;
  {
    dpdk::wan_io io(o, wan, have_lan ? &lan : nullptr, mp);
    session_pool pool(o, r, io);
    pool.connect(stop);
    if (!*stop && r.established > 0) {
      runner run(o, r, pool, io, wan, have_lan ? &lan : nullptr, mp, stop);
      const bool ok = run.run_steps();
      pool.finish();
      // Let the EXITs go out.
      for (int i = 0; i < 20; ++i) pool.turn(1);
      rc = ok && r.ok ? 0 : 1;
    } else {
      pool.finish();
    }
  }
  std::fprintf(stderr,
               "dpvpn-loadgen: sessions %llu established of %llu%s; WAN: %llu ARP answered, %llu other frames; "
               "LAN: %llu ARP answered, %llu other frames; %llu open failures, %llu control drops\n",
               static_cast<unsigned long long>(r.established), static_cast<unsigned long long>(r.attempted),
               r.lost ? " (some lost after establishing)" : "", static_cast<unsigned long long>(wan.arp_answered),
               static_cast<unsigned long long>(wan.rx_other), static_cast<unsigned long long>(lan.arp_answered),
               static_cast<unsigned long long>(lan.rx_other), static_cast<unsigned long long>(r.rx_decrypt_failures),
               static_cast<unsigned long long>(r.rx_control_drops));
  rte_eth_dev_stop(wan.id);
  if (have_lan) rte_eth_dev_stop(lan.id);
  rte_eth_dev_close(wan.id);
  if (have_lan) rte_eth_dev_close(lan.id);
  rte_eal_cleanup();
  return rc;
}

}  // namespace dpvpn::loadgen
