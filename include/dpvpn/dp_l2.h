// SPDX-License-Identifier: MIT
// TAP mode's shared state (docs/tap.md): the MAC table, the learn ring from the workers, the
// per-peer MAC words; built and torn down here, and the control thread's side of learning.
#pragma once

#include <cstdint>
#include <string>

#include "dpvpn/dp_state.h"
#include "dpvpn/mac_table.h"

namespace dpvpn::dp {

// One learn request, worker -> control thread (an element of dp_shared::learn): "peer sent from
// (mac, vid), which nobody holds". Workers send it at most once a second per (MAC, peer) (each
// lcore's net::learn_filter) and forward the frame meanwhile.
struct l2_learn_req {
  net::mac mac;
  uint16_t vid;
  uint32_t peer;  // a peer-id, or net::k_mac_segment for a frame from the exception port
  uint32_t at_s;  // the worker's coarse clock
};
static_assert(sizeof(l2_learn_req) == 16, "the learn ring's element size");

struct l2_params {
  uint32_t capacity = 4096;      // MAC table entries
  uint32_t max_per_peer = 256;   // max-routes-per-client
  uint32_t max_segment = 4096;   // MACs behind the exception port
  uint64_t seed = 0;             // the table's hash key (a random value)
  unsigned ring_size = 1024;     // learn ring (power of two)
  uint32_t max_age_s = 300;      // entries unseen this long are removed (Linux bridges' default)
};

// Control thread, with sh.cfg.max_peers set, before the workers start. False with err.
bool l2_create(dp_shared& sh, const l2_params& p, std::string& err);
// After the workers have returned.
void l2_destroy(dp_shared& sh);

// What one learn_drain did, by the table's answer.
struct l2_learn_stats {
  uint32_t learned = 0, known = 0, taken = 0, peer_full = 0, table_full = 0, bad_peer = 0;
};

// Control thread only (the MAC table's one writer): up to `max` learn requests into the table at
// now_s. A client past its cap gets its "MACs full" flag (dp_shared::mac_full), so its owner
// drops frames from further new MACs; `taken` changes nothing (the first claim keeps the MAC).
l2_learn_stats learn_drain(dp_shared& sh, uint32_t now_s, unsigned max = 256) noexcept;

// Control thread only: a client left (after its del_peer came back): its MACs and its flag go.
// Returns how many MACs it held. Nothing without TAP mode's state.
size_t l2_forget_peer(dp_shared& sh, uint32_t peer) noexcept;

// The control thread's service for the MAC table (a gateway service, polled every loop): the
// learn ring drained, entries unseen for max_age_s aged out (a bounded slice of the table per
// poll), and a client's "MACs full" flag lifted once aging brought it below its cap again.
class l2_learner {
 public:
  l2_learner(dp_shared& sh, uint32_t max_per_peer, uint32_t max_age_s) : sh_(sh), cap_(max_per_peer), age_(max_age_s) {}
  static constexpr uint32_t k_age_budget = 1024;  // slots visited per poll
  bool poll(uint64_t now_ms) noexcept;            // true when it did something
  std::string counters() const;                   // one line for print_counters
  const l2_learn_stats& totals() const { return tot_; }
  uint64_t aged() const { return aged_; }

 private:
  dp_shared& sh_;
  uint32_t cap_, age_;
  l2_learn_stats tot_;
  uint64_t aged_ = 0;
};

}  // namespace dpvpn::dp
