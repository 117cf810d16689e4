// SPDX-License-Identifier: MIT
// Fuzz the gateway's client lifecycle (control/gateway.h and its parts): control frames, timer
// ticks, management decisions, signals and the dataplane's done-messages in any order and late.
// The gateway runs for real on a simulated clock (gateway_control::step) over a real dp_shared
// (EAL with --no-huge --no-pci, no ports); the target plays everything around it:
//   - four OpenVPN clients (proto::session, client role), each at a fixed outer address, whose
//     packets it delivers, drops, duplicates or sends from another address, and raw frames;
//   - the worker lcores (two): it takes the commands off their cmd rings, applies them as
//     apply_cmds does (dataplane/worker.cc) and hands them back on the done ring when the input
//     says, in any order; it floats peers, sets OCC exit, moves their counters;
//   - the management interface (a unix socket: client-auth, client-deny, client-kill, kill,
//     client-pending-auth, hold release, status) and the signals (a pipe in the signalfd's place).
// Auth scripts are not run (no processes are started): management-client-auth is the deferred
// auth decision here.
//
// Input: u8 config, then records until the input ends; a record is u8 op, k = (op >> 4) & 3 a
// client, bit 6 a variant:
//   op % 16 == 0  client k's next packet to the gateway (bit 6: and keep it, a duplicate)
//              1  drop it
//              2  send it from another address: u8 (a float address, or another client's)
//              3  raw frame: u8 address, u8 worker, u16 length (mod 512), bytes
//              4  client k reads its next packet from the gateway (bit 6: all of them)
//              5  time: u16 ms (bit 6: seconds, mod 600), then client timers and a gateway pass
//              6  the workers apply their commands; u8: 0 done-messages all, 1 all reversed,
//                 2 the one at u8, 3 none yet
//              7  management: u8 command, u8 client-id, u8 key-id
//              8  signal: u8 (SIGHUP, SIGUSR1, SIGUSR2)
//              9  client k restarts (a new session, same address: §B.2)
//             10  client k sends EXIT (bit 6: renegotiates)
//             11  dataplane event on client k's peer: u8 (float to an address, OCC exit, data
//                 received, packet-id near wrap)
//             12  pump: u8 rounds (mod 16) of every packet both ways and a gateway pass
//             13  a gateway pass
//          14, 15 as 0 and 12
// config: bit 0 tls-crypt, bit 1 management-client-auth, bits 2-3 max-clients 1, 2, 3, 8, bit 4
// short timers, bit 5 explicit-exit-notify, bit 6 management-hold, bit 7 duplicate-cn.
// At the end: time runs on until every session has ended (hand-window, ping-restart) with every
// command answered; then the checks: no client left, every peer-id free, no VPN address in use,
// the owner array and outer-address hash empty, every peer handed back by the workers; SIGTERM;
// and after teardown no mbuf in use. FUZZ_DEBUG=1 prints the gateway's log at verb 4.
#include <fcntl.h>
#include <rte_eal.h>
#include <rte_hash.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../../control/gateway.h"
#include "../../control/log_tap.h"
#include "dpvpn/dp_setup.h"
#include "dpvpn/ports.h"
#include "dpvpn/session.h"
#include "dpvpn/static_key.h"
#include "dpvpn/tls_engine.h"
#include "fuzz_input.h"
#include "fuzz_pki.h"

using namespace dpvpn;

namespace {

using bytes = std::vector<uint8_t>;
constexpr unsigned k_clients = 4;
constexpr unsigned k_workers = 2;
constexpr uint32_t k_gw_ip = 0xc6336401;  // 198.51.100.1
constexpr uint64_t k_start_ms = 1'800'000'000'000ull;

bool debug() {
  static const bool d = std::getenv("FUZZ_DEBUG") != nullptr;
  return d;
}

// THROWAWAY TEST MATERIAL (fuzz_pki.h): the gateway and every client use one identity (the clients
// share one common name).
struct pki {
  std::string cert, key;
  std::unique_ptr<proto::tls_context> server, client;
};
pki& tls() {
  static pki p = [] {
    pki r;
    const fuzz::throwaway_pem pem = fuzz::make_throwaway_pem(0x51, "fuzz-gw-throwaway");
    r.cert = pem.cert;
    r.key = pem.key;
    std::string err;
    for (bool server : {true, false}) {
      proto::tls_config c;
      c.server = server;
      c.cert_pem = r.cert;
      c.ca_pem = r.cert;
      c.key_pem = r.key;
      auto t = proto::tls_context::create(c, err);
      if (!t) {
        std::fprintf(stderr, "fuzz_gateway_lifecycle: tls_context: %s\n", err.c_str());
        std::abort();
      }
      (server ? r.server : r.client) = std::move(t);
    }
    return r;
  }();
  return p;
}

// A tls-crypt key from fixed bytes, as openvpn --genkey writes it.
const std::string& tls_crypt_text() {
  static const std::string t = [] {
    std::string s = "-----BEGIN OpenVPN Static key V1-----\n";
    char hex[3];
    for (int line = 0; line < 16; ++line) {
      for (int i = 0; i < 16; ++i) {
        std::snprintf(hex, sizeof hex, "%02x", (line * 16 + i) * 37 % 251);
        s += hex;
      }
      s += '\n';
    }
    return s + "-----END OpenVPN Static key V1-----\n";
  }();
  return t;
}

const std::string& mgmt_path() {
  static const std::string p = "/tmp/dpvpn-fuzz-gw-" + std::to_string(::getpid()) + ".sock";
  return p;
}

std::string config_text(uint8_t c, bool reload) {
  static const unsigned max_clients[] = {1, 2, 3, 8};
  std::string t =
      "dev tun\nproto udp\nport 1194\nlocal 198.51.100.1\nserver 10.8.0.0 255.255.255.0\nkeepalive 10 60\n"
      "verb " + std::string(debug() ? "4" : "0") + "\nmanagement " + mgmt_path() + " unix\n";
  t += "<ca>\n" + tls().cert + "</ca>\n<cert>\n" + tls().cert + "</cert>\n<key>\n" + tls().key + "</key>\n";
  t += "max-clients " + std::to_string(max_clients[((c >> 2) + (reload ? 1 : 0)) & 3]) + "\n";
  if (c & 1) t += "<tls-crypt>\n" + tls_crypt_text() + "</tls-crypt>\n";
  if (c & 2) t += "management-client-auth\n";
  if (c & 0x10) t += "hand-window 10\nreneg-sec 30\ntran-window 5\ntls-timeout 1\n";
  if (c & 0x20) t += "explicit-exit-notify 1\n";
  if (c & 0x40) t += "management-hold\n";
  if (c & 0x80) t += "duplicate-cn\n";
  return t;
}

// The signal pipe of the world that runs now. Management's `signal SIGHUP` raises the signal at
// the process (gateway_control::signal); dpvpn reads it from its signalfd, here the handler
// writes what the signalfd would have read.
int g_sig_wr = -1;
extern "C" void on_sighup(int signo) {
  signalfd_siginfo si{};
  si.ssi_signo = static_cast<uint32_t>(signo);
  if (g_sig_wr >= 0 && ::write(g_sig_wr, &si, sizeof si) < 0) { /* a full pipe: the signal is lost */ }
}

// EAL, the mbuf pool and the dataplane's shared state, made once per process: creating the
// route tables zeroes rte_lpm's 64 MB tbl24, which would cost more than the rest of an input.
// Each input leaves the shared state as it found it (world's checks and its destructor).
struct eal {
  rte_mempool* pool = nullptr;
  dp::dp_shared sh;
  eal() {
    const std::string prefix = "fuzz-gw-" + std::to_string(::getpid());
    std::vector<std::string> args = {"fuzz_gateway_lifecycle", "--no-huge", "-m", "256", "--no-shconf", "--no-pci",
                                     "--file-prefix", prefix, "-l", "0", "--log-level", "*:error"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
      std::fprintf(stderr, "fuzz_gateway_lifecycle: rte_eal_init failed\n");
      std::abort();
    }
    std::signal(SIGHUP, on_sighup);
    std::string err;
    pool = dp::create_mbuf_pool("fuzz_gw_pool", 2047, 0, err);
    if (!pool) {
      std::fprintf(stderr, "fuzz_gateway_lifecycle: %s\n", err.c_str());
      std::abort();
    }
    sh.cfg.n_workers = k_workers;
    sh.cfg.local_ip = k_gw_ip;
    sh.cfg.local_port = 1194;
    sh.cfg.wan_mac = {0x02, 0, 0, 0, 0, 1};
    sh.cfg.max_peers = 8 + 64;  // max-clients + spares, as app/main.cc sizes it
    sh.pool = pool;
    dp::shared_params sp;
    sp.lcore_ids = {0, 0};
    sp.ring_size = 1024;
    sp.max_routes = 256;
    sp.engines = false;  // the target applies commands itself; nothing seals or opens
    if (!dp::shared_create(sh, sp, err)) {
      std::fprintf(stderr, "fuzz_gateway_lifecycle: shared_create: %s\n", err.c_str());
      std::abort();
    }
  }
};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_gateway_lifecycle: %s\n", what.c_str());
  std::abort();
}

net::outer_addr client_addr(unsigned k) { return net::outer_v4(0x64400001 + k, static_cast<uint16_t>(40000 + k)); }
net::outer_addr float_addr(unsigned i) { return net::outer_v4(0x64400101 + i, static_cast<uint16_t>(50000 + i)); }
net::mac mac_of(const net::outer_addr& a) { return {0x02, 0, 0, 0, a.ip[15], static_cast<uint8_t>(a.port)}; }

struct sim_client {
  std::unique_ptr<proto::session> s;
  net::outer_addr addr;      // where its packets come from (a float moves it)
  std::deque<bytes> to_gw;   // its packets not yet delivered
  std::deque<bytes> from_gw; // the gateway's packets to it, not yet read
  uint8_t worker = 0;        // the lcore its packets arrive on
};

// One input's world: the dataplane's shared state, the gateway, the clients and the workers.
struct world {
  uint8_t conf = 0;
  uint64_t now = k_start_ms;
  dp::dp_shared& sh;
  int sig_rd = -1, sig_wr = -1, mgmt_fd = -1;
  std::unique_ptr<proto::tls_context> unused;
  cp::server_config cfg;
  std::unique_ptr<cp::gateway_control> gw;
  proto::session_config ccfg;
  sim_client cl[k_clients];
  // The workers: each lcore's peers (apply_cmds' slots) and the commands applied but not yet
  // handed back on the done ring.
  std::map<uint32_t, dp::dp_peer*> slots[k_workers];
  std::vector<dp::peer_cmd*> applied;
  bool stopped = false;

  world(uint8_t c, dp::dp_shared& shared) : conf(c), sh(shared) {
    sh.now_s.store(now / 1000);
    sh.stop.store(false);
    std::string err;
    int p[2];
    if (::pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) fail("pipe");
    sig_rd = p[0];
    sig_wr = p[1];
    g_sig_wr = sig_wr;
    cp::log_tap().verb_override = -1;
    cfg = cp::parse_server_config_text(config_text(conf, false), "fuzz.conf");
    gw = std::make_unique<cp::gateway_control>(cfg, cp::make_control_setup(cfg, tls().server.get()), sh, sig_rd);
    const uint8_t rc = conf;
    gw->set_reread([rc] { return cp::parse_server_config_text(config_text(rc, true), "fuzz.conf"); });
    if (!gw->open_management(err)) fail("management: " + err);
    mgmt_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, mgmt_path().c_str(), sizeof sa.sun_path - 1);
    if (::connect(mgmt_fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) fail("connect to management");
    ::fcntl(mgmt_fd, F_SETFL, O_NONBLOCK);

    ccfg.server = false;
    ccfg.tls = tls().client.get();
    if (conf & 1) {
      proto::key2 k{};
      if (!proto::parse_static_key(tls_crypt_text(), k, err)) fail("tls-crypt key: " + err);
      ccfg.wrap = proto::wrap_mode::tls_crypt;
      ccfg.wrap_key = k;
      ccfg.key_direction = 1;
    }
    for (unsigned k = 0; k < k_clients; ++k) {
      cl[k].addr = client_addr(k);
      cl[k].worker = static_cast<uint8_t>(k % k_workers);
      restart(k);
    }
  }

  ~world() {
    if (mgmt_fd >= 0) ::close(mgmt_fd);
    gw.reset();
    g_sig_wr = -1;
    ::close(sig_rd);
    ::close(sig_wr);
    for (dp::peer_cmd* c : applied) delete c;
    applied.clear();
    for (auto& s : slots)
      for (auto& [id, p] : s) delete p;
    take_ctl_tx();
    // Back to the state the next input starts from (after an input that passed its checks,
    // only the rings may hold anything: the punted frames after SIGTERM).
    void* o;
    for (unsigned w = 0; w < k_workers; ++w)
      while (rte_ring_sc_dequeue(sh.lcores[w]->cmd, &o) == 0) delete static_cast<dp::peer_cmd*>(o);
    for (rte_ring* r : {sh.punt, sh.punt_est})
      while (rte_ring_sc_dequeue(r, &o) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(o));
    while (rte_ring_sc_dequeue(sh.done, &o) == 0) delete static_cast<dp::peer_cmd*>(o);
    for (uint32_t i = 0; i < sh.cfg.max_peers; ++i) sh.owner[i].store(dp::k_no_owner);
    rte_hash_reset(sh.addrs);
  }

  void restart(unsigned k) {
    cl[k].s = std::make_unique<proto::session>(ccfg, now);
    cl[k].s->start(now);
    cl[k].to_gw.clear();
    cl[k].from_gw.clear();
    collect(k);
  }

  void collect(unsigned k) {
    bytes p;
    while (cl[k].s->pop_packet(p)) cl[k].to_gw.push_back(p);
    proto::session_event ev;
    while (cl[k].s->pop_event(ev)) {
      if (debug()) std::fprintf(stderr, "client %u: event %d %s\n", k, static_cast<int>(ev.type), ev.text.c_str());
    }
  }

  // A frame as a worker punts it: the OpenVPN packet alone (payload_off 0), the metadata in the
  // mbuf's private area; on the established clients' ring when the address is published.
  void punt(const net::outer_addr& from, uint8_t worker, std::span<const uint8_t> pkt) {
    rte_mbuf* m = rte_pktmbuf_alloc(sh.pool);
    if (!m) return;
    auto* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(std::max<size_t>(pkt.size(), 1))));
    if (!d) {
      rte_pktmbuf_free(m);
      return;
    }
    if (!pkt.empty()) std::memcpy(d, pkt.data(), pkt.size());
    dp::mbuf_meta mm{};
    mm.peer_id = ~0u;
    mm.src = from;
    mm.payload_off = 0;
    mm.payload_len = static_cast<uint16_t>(pkt.size());
    mm.dir = dp::pkt_dir::wan;
    mm.from_worker = static_cast<uint8_t>(worker % k_workers);
    mm.src_mac = mac_of(from);
    *static_cast<dp::mbuf_meta*>(rte_mbuf_to_priv(m)) = mm;
    rte_ring* r = rte_hash_lookup(sh.addrs, &from) >= 0 ? sh.punt_est : sh.punt;
    if (rte_ring_mp_enqueue(r, m) != 0) rte_pktmbuf_free(m);
  }

  // The frames the gateway put on the ctl_tx rings: to the client at their destination.
  void take_ctl_tx() {
    for (unsigned w = 0; w < k_workers; ++w) {
      if (!sh.lcores[w]) continue;
      void* o;
      while (rte_ring_sc_dequeue(sh.lcores[w]->ctl_tx, &o) == 0) {
        auto* m = static_cast<rte_mbuf*>(o);
        const auto* f = rte_pktmbuf_mtod(m, const uint8_t*);
        const size_t n = rte_pktmbuf_data_len(m);
        if (n >= net::k_outer_v4 && gw) {
          const uint32_t ip = wire::get_u32(f + 14 + 16);
          const uint16_t port = wire::get_u16(f + 14 + 20 + 2);
          const net::outer_addr to = net::outer_v4(ip, port);
          for (auto& c : cl)
            if (c.addr == to && c.from_gw.size() < 256) c.from_gw.emplace_back(f + net::k_outer_v4, f + n);
        }
        rte_pktmbuf_free(m);
      }
    }
  }

  // Read management's output (and forget it) so that the gateway never cuts the connection off.
  void drain_mgmt() {
    char buf[4096];
    ssize_t n;
    while (mgmt_fd >= 0 && (n = ::read(mgmt_fd, buf, sizeof buf)) > 0) {
      if (debug()) std::fprintf(stderr, "mgmt> %.*s", static_cast<int>(std::min<ssize_t>(n, 300)), buf);
    }
  }

  void step() {
    if (stopped) return;
    sh.now_s.store(now / 1000);
    const auto p = gw->step(now);
    stopped = p.stopped;
    take_ctl_tx();
    drain_mgmt();
    // A worker never lets its cmd ring fill: apply (without answering) when it gets long.
    for (unsigned w = 0; w < k_workers; ++w)
      if (rte_ring_count(sh.lcores[w]->cmd) > 512) apply(w);
  }

  // apply_cmds (dataplane/worker.cc) for lcore w, the done-messages held back.
  void apply(unsigned w) {
    void* o;
    while (rte_ring_sc_dequeue(sh.lcores[w]->cmd, &o) == 0) {
      auto* cmd = static_cast<dp::peer_cmd*>(o);
      auto it = slots[w].find(cmd->peer_id);
      dp::dp_peer* slot = it == slots[w].end() ? nullptr : it->second;
      const uint64_t now_s = now / 1000;
      switch (cmd->type) {
        case dp::cmd_type::new_peer:
          if (!slot) {
            slots[w][cmd->peer_id] = cmd->peer;
            cmd->peer = nullptr;
          }
          break;
        case dp::cmd_type::new_key:
          if (slot) slot->keys.install_prebuilt(cmd->key_id, cmd->tx, cmd->rx, now_s, cmd->armed);
          break;
        case dp::cmd_type::arm_key:
          if (slot) slot->keys.arm(cmd->key_id, now_s);
          break;
        case dp::cmd_type::del_key:
          if (slot) slot->keys.retire(cmd->key_id, cmd->tx, cmd->rx);
          break;
        case dp::cmd_type::del_peer:
          if (slot) {
            cmd->peer = slot;
            slots[w].erase(it);
          }
          break;
      }
      applied.push_back(cmd);
    }
    // The done ring holds every command in flight (dp_setup.h sizes it); so do the held-back ones.
    while (applied.size() > 2048) release(0);
  }
  void release(size_t i) {
    if (rte_ring_mp_enqueue(sh.done, applied[i]) != 0) fail("done ring full");
    applied.erase(applied.begin() + static_cast<long>(i));
  }
  void release_all(bool reversed) {
    while (!applied.empty()) release(reversed ? applied.size() - 1 : 0);
  }

  dp::dp_peer* peer_at(const net::outer_addr& a) {
    for (auto& s : slots)
      for (auto& [id, p] : s)
        if (p->client == a) return p;
    return nullptr;
  }

  void signal(uint32_t signo) {
    signalfd_siginfo si{};
    si.ssi_signo = signo;
    if (::write(sig_wr, &si, sizeof si) != static_cast<ssize_t>(sizeof si)) fail("signal pipe");
  }

  void mgmt(const std::string& line) {
    if (debug()) std::fprintf(stderr, "mgmt< %s\n", line.c_str());
    const std::string l = line + "\n";
    if (::write(mgmt_fd, l.data(), l.size()) < 0) { /* a full socket: the command is lost */ }
  }

  void tick_clients() {
    for (unsigned k = 0; k < k_clients; ++k) {
      if (cl[k].s->next_wakeup_ms() <= now) cl[k].s->tick(now);
      collect(k);
    }
  }

  void client_reads(unsigned k, bool all) {
    while (!cl[k].from_gw.empty()) {
      const bytes p = std::move(cl[k].from_gw.front());
      cl[k].from_gw.pop_front();
      cl[k].s->on_packet(p, now);
      collect(k);
      if (!all) break;
    }
  }

  void deliver(unsigned k, bool keep, const net::outer_addr* from = nullptr) {
    if (cl[k].to_gw.empty()) return;
    punt(from ? *from : cl[k].addr, cl[k].worker, cl[k].to_gw.front());
    if (!keep) cl[k].to_gw.pop_front();
  }

  void pump(unsigned rounds) {
    for (unsigned r = 0; r < rounds; ++r) {
      for (unsigned k = 0; k < k_clients; ++k)
        while (!cl[k].to_gw.empty()) deliver(k, false);
      step();
      for (unsigned k = 0; k < k_clients; ++k) client_reads(k, true);
    }
  }

  net::outer_addr other_addr(uint8_t b) {
    return (b & 4) ? client_addr(b & 3) : float_addr(b & 1);
  }

  void op(fuzz::reader& in) {
    const uint8_t op = in.u8();
    const unsigned k = (op >> 4) & 3;
    const bool v = op & 0x40;
    switch (op & 15) {
      case 0:
      case 14: deliver(k, v); break;
      case 1:
        if (!cl[k].to_gw.empty()) cl[k].to_gw.pop_front();
        break;
      case 2: {
        const net::outer_addr a = other_addr(in.u8());
        deliver(k, false, &a);
        break;
      }
      case 3: {
        const net::outer_addr a = other_addr(in.u8());
        const uint8_t w = in.u8();
        const auto pkt = in.bytes(in.u16() % 512);
        punt(a, w, pkt);
        break;
      }
      case 4: client_reads(k, v); break;
      case 5: {
        const uint16_t t = in.u16();
        now += v ? uint64_t{t % 600u} * 1000 : t;
        tick_clients();
        step();
        break;
      }
      case 6: {
        for (unsigned w = 0; w < k_workers; ++w) apply(w);
        const uint8_t m = in.u8();
        if ((m & 3) == 0) release_all(false);
        if ((m & 3) == 1) release_all(true);
        if ((m & 3) == 2 && !applied.empty()) release(in.u8() % applied.size());
        break;
      }
      case 7: {
        const uint8_t c = in.u8();
        const unsigned cid = in.u8() % 8, kid = in.u8() % 4;  // openvpn's key-ids: 1 first, then 3, 4, ...
        const std::string ids = std::to_string(cid) + " " + std::to_string(kid);
        switch (c % 10) {
          case 0: mgmt("client-auth-nt " + ids); break;
          case 1: mgmt("client-deny " + ids + " fuzz \"denied by the fuzzer\""); break;
          case 2: mgmt("client-kill " + std::to_string(cid)); break;
          case 3: mgmt("kill 100.64.0." + std::to_string(1 + cid % 4) + ":" + std::to_string(40000 + cid % 4)); break;
          case 4: mgmt("kill fuzz-gw-throwaway"); break;
          case 5: mgmt("client-pending-auth " + ids + " WEB_AUTH::https://x 30"); break;
          case 6: mgmt("hold release"); break;
          case 7: mgmt("status 2"); break;
          case 8: mgmt("client-auth " + ids + "\npush \"route 10.9.0.0 255.255.0.0\"\nifconfig-push 10.8.0.200 255.255.255.0\nEND"); break;
          case 9: mgmt("signal SIGHUP"); break;
        }
        break;
      }
      case 8: {
        static const uint32_t sigs[] = {SIGHUP, SIGUSR1, SIGUSR2};
        signal(sigs[in.u8() % 3]);
        break;
      }
      case 9: restart(k); break;
      case 10:
        if (v) cl[k].s->renegotiate(now);
        else cl[k].s->send_text("EXIT", now);
        collect(k);
        break;
      case 11: {
        const uint8_t e = in.u8();
        dp::dp_peer* p = peer_at(cl[k].addr);
        if (!p) break;
        switch (e & 3) {
          case 0: {  // an authenticated data packet from another address (worker_rx.cc's float)
            const net::outer_addr a = other_addr(e >> 2);
            dp::publish_float(*p, a, mac_of(a));
            p->client = a;
            cl[k].addr = a;
            break;
          }
          case 1: p->occ_exit.store(true); break;
          case 2:
            p->last_rx_s.store(now / 1000);
            p->rx_pkts.fetch_add(e);
            p->rx_bytes.fetch_add(uint64_t{e} * 1000);
            break;
          case 3: p->wrap_seq.fetch_add(1); break;
        }
        break;
      }
      case 12:
      case 15: pump(in.u8() % 16); break;
      case 13: step(); break;
    }
  }

  // Time runs on, every command is answered, until every session has ended.
  void finish() {
    for (int round = 0; round < 40 && !stopped; ++round) {
      now += round < 20 ? 500 : 30'000;
      step();
      for (unsigned w = 0; w < k_workers; ++w) apply(w);
      release_all(false);
      step();
      if (gw->clients().empty() && applied.empty() && rte_ring_count(sh.lcores[0]->cmd) == 0 &&
          rte_ring_count(sh.lcores[1]->cmd) == 0 && slots[0].empty() && slots[1].empty())
        break;
    }
    if (stopped) fail("the gateway stopped without SIGTERM");
    if (!gw->clients().empty()) fail(std::to_string(gw->clients().size()) + " client(s) left after every session ended");
    if (!slots[0].empty() || !slots[1].empty()) fail("a peer was never handed back by its lcore");
    if (gw->free_peer_ids() != sh.cfg.max_peers)
      fail("peer-ids: " + std::to_string(gw->free_peer_ids()) + " free of " + std::to_string(sh.cfg.max_peers));
    if (gw->pool_in_use() != 0) fail(std::to_string(gw->pool_in_use()) + " VPN address(es) still in use");
    // Deleted keys' slots come back only when the QSBR defer queue is reclaimed: look for live keys.
    const void* key;
    void* data;
    uint32_t it = 0;
    if (rte_hash_iterate(sh.addrs, &key, &data, &it) >= 0) fail("outer-address hash not empty");
    for (uint32_t i = 0; i < sh.cfg.max_peers; ++i)
      if (sh.owner[i].load() != dp::k_no_owner) fail("peer-id " + std::to_string(i) + " still has an owner");
    signal(SIGTERM);
    now += 2000;
    step();
    if (!stopped) fail("SIGTERM did not stop the gateway");
  }
};

eal& env() {
  static eal e;
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  eal& e = env();
  (void)tls();
  fuzz::reader in(data, size);
  {
    world w(in.u8(), e.sh);
    for (int n = 0; !in.empty() && n < 2000; ++n) w.op(in);
    w.finish();
  }
  if (rte_mempool_in_use_count(e.pool) != 0)
    fail(std::to_string(rte_mempool_in_use_count(e.pool)) + " mbuf(s) still in use after teardown");
  return 0;
}
