// SPDX-License-Identifier: MIT
// client_table: the clients by outer address, and what their lifecycle allocates: peer-ids (a
// free list; an id comes back only when the owner lcore handed its peer back, or at once for a
// client that never reached the dataplane), the max-clients cap, the per-source-IP cap on
// sessions that are not established yet (half-open), and the session timers (a min-heap of
// (wake-up time, client), lazily deleted: an entry is current only while it matches
// client::sched_ms).
// Called by gateway_control: first contact creates, the loop takes the due timers, housekeeping
// erases the dead, floats re-key. It makes no session call itself (next_wakeup is given) and no
// dataplane call. Control thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include "client.h"
#include "dpvpn/log_limit.h"

namespace dpvpn::cp {

class client_table {
 public:
  using map = std::map<net::outer_addr, std::unique_ptr<client>>;
  using wake_fn = std::function<uint64_t(const client&)>;  // the session's next wake-up (~0: none)
  // A source IP may hold at most this many sessions that are not established yet. A cookie echo
  // proves the address answers, not that a handshake will follow: without a cap one address fills
  // max-clients with half-open sessions for a hand-window. Real clients are half-open for tens of
  // milliseconds, so 64 leaves room for a NAT full of clients reconnecting at once.
  static constexpr uint32_t k_half_open_per_ip = 64;
  // All sources together: sessions that proved their address (the cookie) but are not established
  // yet hold TLS state on the control thread; max-clients / 4, at least 1024, may be half-open.
  uint32_t half_open_max() const { return std::max<uint32_t>(1024, max_clients_ / 4); }
  uint32_t half_open() const { return half_open_total_; }

  // Peer-ids 0 .. n_peer_ids-1, handed out lowest first.
  client_table(uint32_t max_clients, uint32_t n_peer_ids, wake_fn next_wakeup, control_log log);

  map& all() { return clients_; }
  const map& all() const { return clients_; }
  size_t size() const { return clients_.size(); }
  client* find(const net::outer_addr& a);  // live or dead; null when none
  // By the management interface's client-id (client::cid, given out from 0 by create): live only.
  client* find_cid(uint64_t cid) const;
  // A new client (no session yet: the caller makes it) with a free peer-id, or null at max-clients
  // or with no free id (counted; logged at most 10 times per 10 s).
  client* create(const net::outer_addr& addr, const net::mac& mac, uint16_t owner, uint64_t now_ms);
  void erase(const net::outer_addr& a) {
    if (auto it = clients_.find(a); it != clients_.end()) erase(it);
  }
  map::iterator erase(map::iterator it) {
    by_cid_.erase(it->second->cid);
    return clients_.erase(it);
  }
  // A client at `from` moves to `to` (a float). A client already at `to` goes to displaced() first,
  // then is erased.
  void rekey(const net::outer_addr& from, const net::outer_addr& to, const std::function<void(client&)>& displaced);

  void free_peer_id(uint32_t id) { free_peer_ids_.push_back(id); }
  void set_max_clients(uint32_t n) { max_clients_ = n; }  // reload: applies to the next client
  size_t free_peer_ids() const { return free_peer_ids_.size(); }

  // Half-open sessions: admit checks the cap for the source IP (refusals counted, logged on the
  // first and every 1000th); start counts c under it; end (established or gone) uncounts it.
  bool admit_half_open(const net::outer_addr& from);
  void start_half_open(client& c, const net::ip6& ip);
  void end_half_open(client& c);

  // Session timers. schedule: c's next wake-up goes on the heap when it changed (not for the
  // dead). take_due: the clients whose current entry is due, each once; their sched_ms is reset.
  // compact_timers: rebuilds the heap when stale entries pile up (call after the due are served).
  void schedule(client& c);
  void reschedule(client& c) {  // its entry names an old key or time: a new one
    c.sched_ms = ~uint64_t{0};
    schedule(c);
  }
  std::vector<client*> take_due(uint64_t now_ms);
  void compact_timers();
  uint64_t next_wakeup() const { return wakeups_.empty() ? ~uint64_t{0} : wakeups_.top().first; }
  size_t timer_entries() const { return wakeups_.size(); }

  uint64_t refused() const { return refused_; }
  uint64_t half_open_refused() const { return half_open_refused_; }
  uint64_t log_held_back() const { return refused_log_.suppressed_total(); }
  void report_suppressed(uint64_t now_ms);  // housekeeping: the summary of refusals not logged

 private:
  uint32_t max_clients_;
  wake_fn next_wakeup_;
  control_log log_;
  map clients_;  // by outer address and port
  std::unordered_map<uint64_t, client*> by_cid_;  // the same clients by cid
  uint64_t next_cid_ = 0;
  std::vector<uint32_t> free_peer_ids_;
  // Session timers: a min-heap of (wake-up time, client key), so that a loop touches only the
  // sessions that are due (not all of them: 60 000 clients made the old scan the bottleneck).
  using wake_entry = std::pair<uint64_t, net::outer_addr>;
  std::priority_queue<wake_entry, std::vector<wake_entry>, std::greater<>> wakeups_;
  std::map<net::ip6, uint32_t> half_open_by_ip_;
  uint32_t half_open_total_ = 0;
  uint64_t refused_ = 0, half_open_refused_ = 0;
  // A refusal at max-clients is a log line a peer can trigger at will (every retransmit of a
  // refused handshake asks again).
  log_limit refused_log_{10, 10};
};

}  // namespace dpvpn::cp
