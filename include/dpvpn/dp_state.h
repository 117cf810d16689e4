// SPDX-License-Identifier: MIT
// Dataplane state shared between the worker lcores and the control thread, with who writes what.
// DPDK types are forward-declared so that this header compiles on its own.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

#include "dpvpn/crypto.h"
#include "dpvpn/data_keys.h"
#include "dpvpn/dp_lan.h"
#include "dpvpn/dp_routes.h"
#include "dpvpn/dp_stats.h"
#include "dpvpn/l2frame.h"
#include "dpvpn/netpkt.h"
#include "dpvpn/netpkt6.h"
#include "dpvpn/session_mem.h"

struct rte_ring;
struct rte_mempool;
struct rte_hash;
struct rte_rcu_qsbr;
struct rte_mbuf;

namespace dpvpn::proto {
class front_filter;
}
namespace dpvpn::net {
class mac_table;
}

namespace dpvpn::dp {

inline constexpr unsigned k_max_workers = 64;
inline constexpr uint16_t k_no_owner = 0xffff;

// Per-packet metadata in the mbuf private area (see mbuf_meta_of()).
// wan: from the WAN, to be opened; tun: plaintext for a client, to be sealed; lan_wait: a packet
// for the LAN waiting for its next hop's MAC (src holds the next hop); lan_l2: an ARP reply or
// Neighbor Advertisement from the LAN for the control thread's neighbor resolver.
// wan_l2: an ARP reply for our WAN address, punted in the client role (the control thread resolves
// the server's, or dp-wan-gateway's, MAC: control/wan_neighbor.h). wan_raw: a WAN frame as the NIC
// gave it, handed to another lcore unclassified (a spread tunnel's share, docs/dataplane.md "One
// tunnel on several lcores").
// flood (TAP mode, docs/tap.md "the fan-out"): an inner Ethernet frame for every client an lcore
// owns but peer_id (the sender; k_no_peer: from the exception port). The same mbuf goes to every
// owner lcore, one reference each: read-only, each destination is sealed from a copy.
// wan_share: a classified WAN packet of a spread tunnel's share (spread_rx), to open where it is
// handed. wan_raw and wan_share are not written into the mbufs: a share_mark ahead of them on the
// hand-off ring says it.
enum class pkt_dir : uint8_t { wan = 0, tun = 1, lan_wait = 2, lan_l2 = 3, wan_l2 = 4, wan_raw = 5, flood = 6, wan_share = 7 };
struct mbuf_meta {
  uint32_t peer_id;
  net::outer_addr src;    // outer source address and port (WAN packets; IPv4 v4-mapped)
  uint16_t payload_off;   // offset of the OpenVPN packet in the frame (WAN packets)
  uint16_t payload_len;
  pkt_dir dir;
  uint8_t from_worker;    // ingress worker (punted control packets)
  net::mac src_mac;       // outer source MAC (WAN packets)
};

// The head of a spread tunnel's share on a hand-off ring (docs/dataplane.md, "Order"): one ring
// entry that is not an mbuf (bit 0 set; mbufs are cache-line aligned) ahead of the share's n
// mbufs, with its number in the sending lcore's order (dp_lcore::order) and its direction
// (wan_raw or wan_share). The lcore that cuts a share writes nothing into the mbufs it hands on,
// so their metadata lines are not pulled from its cache. Every reader of a hand-off ring must
// know it (owner_input; drains skip it).
struct share_mark {
  uint32_t seq;
  uint16_t n;
  pkt_dir dir;
  static_assert(sizeof(void*) == 8, "a share mark is a 64-bit ring entry");
  void* entry() const noexcept {
    return reinterpret_cast<void*>(uint64_t{seq} << 32 | uint64_t{n} << 16 | uint64_t(dir) << 8 | 1u);
  }
  static bool is(const void* e) noexcept { return (reinterpret_cast<uintptr_t>(e) & 1u) != 0; }
  static share_mark of(const void* e) noexcept {
    const auto v = reinterpret_cast<uintptr_t>(e);
    return {static_cast<uint32_t>(v >> 32), static_cast<uint16_t>(v >> 16), static_cast<pkt_dir>((v >> 8) & 0xff)};
  }
};

// A client's dataplane state. Owned by exactly one worker (its owner lcore), which is the only
// writer of everything here except where a field says otherwise. Cache-line aligned: the fields
// every packet reads (addresses, key slots, rx/tx counters) are the first four lines, which the
// burst's look-up pass prefetches (prefetch_peer).
struct alignas(64) dp_peer : session_allocated {
  uint32_t peer_id = 0;     // immutable
  uint32_t vpn_ip = 0;      // immutable, host order
  bool data_v2 = true;      // immutable: send P_DATA_V2 with peer_id
  // immutable: the peer-id DATA_V2 carries when it is not peer_id (the client role: the one the
  // server pushed; peer_id is then the local table index); k_peer_id_none = peer_id.
  uint32_t wire_id = wire::k_peer_id_none;
  uint32_t ping_interval_s = 10;  // immutable: send a keepalive ping when idle this long
  // One tunnel on several lcores (docs/dataplane.md): how many lcores may seal and open this
  // peer's packets. 0: dp-tunnel-spread's value (dp_config::tunnel_spread); 1: the owner alone.
  // cp: wo before new_peer; the owner settles 0 when it adopts the peer, then immutable.
  uint16_t spread = 0;
  // dp: wo (owner), cp: ro until del_peer hands the peer back. A spread peer's other lcores read
  // `client` to keep a packet from a new address for the owner (a float, rare; a torn read only
  // sends one packet to the owner).
  net::outer_addr client{};  // outer address and port (IPv4 as v4-mapped): v4 or v6 header on TX
  net::mac client_mac{};
  // dp: wo (owner, relaxed; a spread peer's lcores: fetch_add of their tallies, see peer_count in
  // dataplane/worker_internal.h), cp: ro (liveness, stats). Ahead of `keys`, so that every field a
  // packet reads or writes is in the first four lines (data_keys' published pointers, read only
  // for spread peers, are its last line), which prefetch_peer fetches; a fifth line would be a
  // miss per packet at 10 000 sessions (within this VM's noise: docs/bench/dataplane.md, "The floor").
  std::atomic<uint64_t> last_rx_s{0}, last_tx_s{0};
  std::atomic<uint64_t> rx_pkts{0}, rx_bytes{0}, tx_pkts{0}, tx_bytes{0};
  proto::data_keys keys{true, proto::data_key_params{}};
  std::atomic<bool> occ_exit{false};
  // §8.3: the sending key's packet-id passed the wrap trigger. The owner bumps wrap_seq once per
  // key that does (wrap_flagged names it; owner only), the control thread starts a renegotiation
  // when wrap_seq moves. dp: wo (owner, relaxed), cp: ro.
  std::atomic<uint32_t> wrap_seq{0};
  const void* wrap_flagged = nullptr;
  // Float (§1.5, §B.1): an authenticated data packet from a new outer address moved the peer
  // there. dp: wo (owner, a seqlock: float_seq is odd while it writes, 0 = never floated), cp: ro
  // via read_float(). floated_addr holds the 20 bytes of a net::outer_addr (IPv4 or IPv6: the
  // whole address is published at once), floated_mac the 6 MAC bytes, big-endian.
  std::atomic<uint32_t> float_seq{0};
  std::atomic<uint64_t> floated_addr[3] = {};
  std::atomic<uint64_t> floated_mac{0};
};

// Owner lcore only: publish p's new outer address (the seqlock's writer side).
inline void publish_float(dp_peer& p, const net::outer_addr& a, const net::mac& mac) noexcept {
  uint64_t w[3] = {};
  std::memcpy(w, &a, sizeof a);
  uint64_t m = 0;
  for (uint8_t b : mac) m = (m << 8) | b;
  const uint32_t seq = p.float_seq.load(std::memory_order_relaxed);
  p.float_seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (int i = 0; i < 3; ++i) p.floated_addr[i].store(w[i], std::memory_order_relaxed);
  p.floated_mac.store(m, std::memory_order_relaxed);
  p.float_seq.store(seq + 2, std::memory_order_release);
}

// Control thread: the peer's latest float, if any. A consistent snapshot of the owner's last
// write; false when it never floated (or the owner is writing: retry later).
inline bool read_float(const dp_peer& p, net::outer_addr& addr, net::mac& mac) noexcept {
  const uint32_t s1 = p.float_seq.load(std::memory_order_acquire);
  if (s1 == 0 || (s1 & 1)) return false;
  uint64_t w[3];
  for (int i = 0; i < 3; ++i) w[i] = p.floated_addr[i].load(std::memory_order_relaxed);
  const uint64_t m = p.floated_mac.load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (p.float_seq.load(std::memory_order_relaxed) != s1) return false;
  std::memcpy(&addr, w, sizeof addr);
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(m >> (40 - 8 * i));
  return true;
}

// control -> owner lcore, on that lcore's cmd ring. The lcore applies it between bursts and
// returns it on the done ring with whatever it replaced (evicted keys, the deleted peer), so
// that the control thread frees and wipes them outside the packet path.
// arm_key: the client holds key_id now (it ACKed our key-method-2): start its switch timer.
enum class cmd_type : uint8_t { new_peer, new_key, del_key, del_peer, arm_key };
struct peer_cmd {
  cmd_type type = cmd_type::new_peer;
  uint32_t peer_id = 0;
  dp_peer* peer = nullptr;  // new_peer: adopted by the lcore; del_peer: handed back
  uint8_t key_id = 0;
  bool armed = true;  // new_key: false until arm_key (data_keys::install_prebuilt)
  std::unique_ptr<proto::dc_tx> tx;  // new_key: in; evicted key: out
  std::unique_ptr<proto::dc_rx> rx;
};

// The order of one receiving lcore's spread shares (docs/dataplane.md, "Order"). The lcore that
// receives a spread tunnel's bursts numbers each share it cuts (issued); the lcore that opens a
// share sends its output only once `next` reached the share's number (or the share waited too
// long), then marks it done, and whoever finds the next number done moves `next` past it.
struct share_order {
  static constexpr uint32_t k_slots = 64;
  // Share numbers start at 1. The receiving lcore, and with cfg.spread_pull the lcores that poll
  // its WAN queue (while they hold it, wan_queue): rw (fetch_add). On a line of its own.
  alignas(64) std::atomic<uint32_t> issued{0};
  // The oldest share not yet out. Every lcore of the receiver's spread group: rw (CAS).
  alignas(64) std::atomic<uint32_t> next{1};
  // done[s % k_slots] == s: share s went out. Every lcore of the group: rw.
  std::atomic<uint32_t> done[k_slots] = {};
};

// Per-worker state. Cache-line aligned; `ctr` is read by the control thread.
struct alignas(64) dp_lcore {
  uint16_t index = 0;        // worker index == WAN and exception-port queue id
  unsigned lcore_id = 0;
  std::unique_ptr<crypto::engine> eng;  // this lcore's IPsec-MB manager
  std::unique_ptr<dp_peer*[]> peers;    // [max_peers], owner only
  std::unique_ptr<uint32_t[]> owned;    // compact list of owned peer ids (keepalive scan)
  uint32_t n_owned = 0;
  rte_ring* cmd = nullptr;     // control -> this lcore (SP/SC)
  rte_ring* ctl_tx = nullptr;  // control -> this lcore: ready WAN frames (SP/SC)
  rte_ring* exc_in = nullptr;  // workers without an exception-port queue -> this one (MP/SC)
  rte_ring* handoff_in[k_max_workers] = {};  // from worker i -> this one (SP/SC each)
  lcore_counters ctr;
  // How many peers this lcore owns (n_owned), published for the other lcores' TAP fan-out, which
  // hands a flood frame only to lcores that own a client. dp: wo (this lcore, relaxed), others: ro.
  std::atomic<uint32_t> owns{0};
  // First-contact rate limit (worker_rx.cc): token buckets for control frames from addresses with
  // no established client, shared by the source addresses that hash to the same entry. Owner
  // only; null: no limit.
  struct contact_bucket {
    uint64_t last_tsc;
    uint32_t tokens;
  };
  static constexpr uint32_t k_contact_buckets = 4096;
  std::unique_ptr<contact_bucket[]> contact;
  // The same frames' tls-auth / tls-crypt / tls-crypt-v2 check (control/proto/front_filter.h),
  // this lcore's own instance. Written once by main before the workers start, owned there; used by
  // this worker only. Null: the server has no wrapping key, nothing to check.
  proto::front_filter* front = nullptr;
  share_order order;  // this lcore's spread shares (see share_order)
  // With cfg.spread_pull: this lcore's WAN queue, which the lcores a hot spread tunnel on it is
  // spread over poll too, whoever is free (docs/dataplane.md, "The queue pulled by whoever is
  // free"). holder: the lcore polling it now (k_free: nobody); taken by CAS, never waited for,
  // given back right after the poll; every lcore of the group: rw. hot: the spread of the tunnel
  // that is hot on the queue, 0 while none is (only this lcore polls it then); this lcore: wo.
  // Each on its own line: every lcore reads `hot` of every queue once a loop, and the owner's
  // CAS on `holder` at each poll must not take that line from them.
  struct wan_queue {
    static constexpr uint32_t k_free = UINT32_MAX;
    alignas(64) std::atomic<uint32_t> holder{k_free};
    alignas(64) std::atomic<uint16_t> hot{0};
  } wan_q;
};

struct dp_config {
  uint16_t wan_port = 0;
  uint16_t exc_port = 0;
  uint16_t n_workers = 1;
  // Exception-port queues: workers 0 .. exc_queues-1 poll and send on their own queue; any other
  // worker passes its packets for the kernel to worker (index % exc_queues) on that one's exc_in
  // ring (DPDK 22.11's net_tun/net_tap cannot have more than 4 queues: see main.cc).
  uint16_t exc_queues = k_max_workers;
  uint32_t local_ip = 0;     // host order; the IPv4 WAN address (`local`), when wan_v4
  net::ip6 local_ip6{};      // the IPv6 WAN address (`local` with an IPv6 address), when wan_v6
  bool wan_v4 = true, wan_v6 = false;  // which outer families the gateway answers on
  uint16_t local_port = 1194;
  net::mac wan_mac{};
  uint16_t rx_burst = 32;
  uint32_t max_peers = 1024;
  bool udp_checksum = true;  // outer UDP checksum on TX (af_packet has no offload)
  // The WAN port computes the outer checksums (IPv4 header, UDP) on TX: the workers write the
  // pseudo-header sum and set the mbuf's offload flags instead (set from the port at start-up).
  bool tx_csum_offload = false;
  bool adaptive_idle = true; // sleep briefly when idle (functional tests on 2 vCPUs)
  bool client_to_client = false;  // `client-to-client`: hairpin client -> client in the dataplane
  uint16_t mss_clamp = 0;    // `mssfix`: TCP SYN MSS ceiling, both directions; 0 = off
  uint16_t mss_clamp_v6 = 0; // the same for inner IPv6 (20 bytes less: the larger IPv6 header)
  // `dp-contact-rate PPS BURST`: control frames per second each lcore passes to the control
  // thread from one source address (its hash bucket) that has no established client; 0 = no limit.
  uint32_t contact_pps = 1000, contact_burst = 2000;
  lan_conf lan;              // `dp-lan` (lan.on false: no LAN port)
  // The client role (docs/client.md): the one peer is the server. Its data packets are found by
  // outer address whatever peer-id they carry (the server writes ours), their inner sources are
  // not checked against the routes (an openvpn client accepts what its server sends), and ARP
  // replies for our WAN address go to the control thread (pkt_dir::wan_l2).
  bool client_role = false;
  // `dp-tunnel-spread N`: a peer's packets may be sealed and opened on up to N lcores (its
  // dp_peer::spread when that is 0); 1 = each peer on its owner alone (docs/dataplane.md).
  uint16_t tunnel_spread = 1;
  // With tunnel_spread > 1 (set by dp::shared_create): a hot spread tunnel's WAN queue is polled by
  // every lcore of its group when free (dp_lcore::wan_queue), instead of its receiving lcore
  // handing whole bursts on (spread_raw's raw shares, which remain when this is off).
  bool spread_pull = false;
  // `dev tap` (docs/tap.md): the exception port and the tunnels carry Ethernet frames; l2 is the
  // gateway's side of the segment (client-to-client, the gateway's ARP address and MAC, sizes).
  bool tap = false;
  net::l2_policy l2;
};

struct dp_shared {
  dp_config cfg;
  rte_mempool* pool = nullptr;
  rte_ring* punt = nullptr;  // workers -> control: control-channel frames (MP/SC)
  // workers -> control: control-channel frames from the outer address of an established client
  // (MP/SC), drained first, so that a flood of first contacts on `punt` never delays a client's
  // renegotiation or keepalive-driven control traffic. Null: everything goes on `punt`.
  rte_ring* punt_est = nullptr;
  rte_ring* done = nullptr;  // workers -> control: applied peer_cmds (MP/SC)
  // peer-id -> owner worker index; control: wo, dp: ro
  std::unique_ptr<std::atomic<uint16_t>[]> owner;
  route_tables* rt = nullptr;  // inner address (LPM, IPv4 and IPv6) -> peer id; control: wo, dp: ro (QSBR)
  rte_hash* addrs = nullptr;   // outer net::outer_addr -> peer id; control: wo (addr_set / addr_del), dp: ro
  // Moves (release) after every change to addrs made through addr_set / addr_del (dp_setup.h): a
  // worker's memo of its last look-up (worker_ctx::memo) holds only while it has not. control: wo
  // (rarely: clients coming, going, floating), dp: ro.
  std::atomic<uint32_t> addrs_gen{0};
  rte_rcu_qsbr* qsbr = nullptr;
  // [max_peers]: the peers whose packets other lcores seal and open too (dp_peer::spread > 1).
  // The owner: wo (adopts: publishes; del_peer: clears, then hands the peer back only after a
  // QSBR grace period), the other lcores: ro (acquire). Null when cfg.tunnel_spread <= 1.
  std::unique_ptr<std::atomic<dp_peer*>[]> spread_peer;
  // The LAN port (cfg.lan.on): static routes (immutable), next hops (control: wo, dp: ro), frames
  // for the neighbor resolver (workers -> control, MP/SC: pkt_dir lan_wait / lan_l2), and frames
  // the resolver sends (control -> lcore 0, SP/SC: requests, packets whose next hop resolved).
  // lan_rt: control: wo (a reload swaps in a new table, frees the old after QSBR), dp: ro.
  std::atomic<lan_routes*> lan_rt{nullptr};
  neigh_table* neigh = nullptr;
  rte_ring* lan_punt = nullptr;
  rte_ring* lan_ctl = nullptr;
  // TAP mode (cfg.tap; dp_l2.h builds them): the MAC table (control: wo, through learn_drain; dp:
  // ro, and touch by the entry's owner lcore); learn requests (workers -> control, MP/SC, fixed-size
  // l2_learn_req elements); per peer-id, the client's own MAC (the one that sends from its pool
  // address: 1 << 48 | MAC, 0 = unknown; dp: wo by the peer's owner lcore, relaxed; every lcore:
  // ro, for proxy ARP) and "MACs full" (its max-routes-per-client reached: frames from new MACs
  // are dropped as l2_mac_limit; control: wo, dp: ro, relaxed).
  net::mac_table* macs = nullptr;
  rte_ring* learn = nullptr;
  std::unique_ptr<std::atomic<uint64_t>[]> client_mac;
  std::unique_ptr<std::atomic<bool>[]> mac_full;
  std::atomic<uint64_t> now_s{0};  // control: wo (coarse clock), dp: ro
  // The client role with `float` (docs/client.md): the server's peer index while it is installed,
  // k_no_float otherwise. A data packet from an address the table does not know is tried against
  // that peer's keys; one that opens moves the peer (float_peer). control: wo, dp: ro.
  static constexpr uint32_t k_no_float = UINT32_MAX;
  std::atomic<uint32_t> client_float{k_no_float};
  std::atomic<bool> stop{false};   // control/main: wo
  dp_lcore* lcores[k_max_workers] = {};
};

// The worker loop. Runs until shared.stop. Owner-lcore rules apply to everything it touches.
int worker_main(dp_shared& shared, dp_lcore& me);

}  // namespace dpvpn::dp
