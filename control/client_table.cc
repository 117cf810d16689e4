// SPDX-License-Identifier: MIT
// client_table: the client map, peer-ids, max-clients, half-open caps and session timers.
#include "client_table.h"

namespace dpvpn::cp {

client_table::client_table(uint32_t max_clients, uint32_t n_peer_ids, wake_fn next_wakeup, control_log log)
    : max_clients_(max_clients), next_wakeup_(std::move(next_wakeup)), log_(log) {
  for (uint32_t i = n_peer_ids; i-- > 0;) free_peer_ids_.push_back(i);
}

client* client_table::find(const net::outer_addr& a) {
  auto it = clients_.find(a);
  return it == clients_.end() ? nullptr : it->second.get();
}

client* client_table::find_cid(uint64_t cid) const {
  auto it = by_cid_.find(cid);
  return it == by_cid_.end() || it->second->dead ? nullptr : it->second;
}

client* client_table::create(const net::outer_addr& addr, const net::mac& mac, uint16_t owner, uint64_t now_ms) {
  if (clients_.size() >= max_clients_ || free_peer_ids_.empty()) {
    ++refused_;
    if (refused_log_.allow(now_ms / 1000)) log_(1, "refusing " + format_outer(addr) + ": max-clients reached");
    return nullptr;
  }
  auto c = std::make_unique<client>();
  c->addr = addr;
  c->mac = mac;
  c->owner = owner;
  c->cid = next_cid_++;
  by_cid_[c->cid] = c.get();
  c->peer_id = free_peer_ids_.back();
  free_peer_ids_.pop_back();
  c->name = format_outer(addr);
  c->created_ms = now_ms;
  c->inactive.restarted_ms = now_ms;
  client* raw = c.get();
  erase(addr);  // callers erase an old client first; this keeps by_cid_ right if one did not
  clients_[addr] = std::move(c);
  return raw;
}

void client_table::rekey(const net::outer_addr& from, const net::outer_addr& to,
                         const std::function<void(client&)>& displaced) {
  auto node = clients_.extract(from);
  if (node.empty()) return;
  if (auto it = clients_.find(to); it != clients_.end()) {
    displaced(*it->second);
    erase(it);
  }
  node.key() = to;
  client& c = *node.mapped();
  clients_.insert(std::move(node));
  reschedule(c);  // its heap entry names the old key
}

bool client_table::admit_half_open(const net::outer_addr& from) {
  auto it = half_open_by_ip_.find(from.ip);
  if (half_open_total_ >= half_open_max()) {
    if (half_open_refused_++ % 1000 == 0)
      log_(1, "refusing " + format_outer(from) + ": " + std::to_string(half_open_max()) +
                  " sessions are not established yet (refused so far: " + std::to_string(half_open_refused_) + ")");
    return false;
  }
  if (it == half_open_by_ip_.end() || it->second < k_half_open_per_ip) return true;
  if (half_open_refused_++ % 1000 == 0)  // the first refusal and every 1000th: a flood logs little
    log_(1, "refusing " + format_outer(from) + ": " + std::to_string(k_half_open_per_ip) +
                " sessions from this address are not established yet (refused so far: " +
                std::to_string(half_open_refused_) + ")");
  return false;
}

void client_table::start_half_open(client& c, const net::ip6& ip) {
  c.half_open = ip;
  ++half_open_by_ip_[ip];
  ++half_open_total_;
}

void client_table::end_half_open(client& c) {
  if (!c.half_open) return;
  auto it = half_open_by_ip_.find(*c.half_open);
  c.half_open.reset();
  --half_open_total_;
  if (it != half_open_by_ip_.end() && --it->second == 0) half_open_by_ip_.erase(it);
}

void client_table::schedule(client& c) {
  if (c.dead) return;
  const uint64_t t = next_wakeup_(c);
  if (t == c.sched_ms) return;
  c.sched_ms = t;
  if (t != ~uint64_t{0}) wakeups_.emplace(t, c.addr);
}

std::vector<client*> client_table::take_due(uint64_t now_ms) {
  // Collect first: a session whose timer stays due after tick() is handled next loop, not again now.
  std::vector<client*> due;
  while (!wakeups_.empty() && wakeups_.top().first <= now_ms) {
    const wake_entry e = wakeups_.top();
    wakeups_.pop();
    auto it = clients_.find(e.second);
    if (it == clients_.end() || it->second->dead || it->second->sched_ms != e.first) continue;  // stale
    it->second->sched_ms = ~uint64_t{0};
    due.push_back(it->second.get());
  }
  return due;
}

void client_table::compact_timers() {
  // Stale entries (timers that moved later) wait for their time; rebuild when they pile up.
  if (wakeups_.size() <= 4 * clients_.size() + 1024) return;
  wakeups_ = {};
  for (auto& [k, c] : clients_) reschedule(*c);
}

void client_table::report_suppressed(uint64_t now_ms) {
  if (const uint64_t n = refused_log_.take_suppressed(now_ms / 1000))
    log_(1, "max-clients reached: " + std::to_string(n) + " more refusal(s) not logged (at most 10 per " +
                std::to_string(refused_log_.window_s()) + " s)");
}

}  // namespace dpvpn::cp
