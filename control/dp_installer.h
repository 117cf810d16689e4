// SPDX-License-Identifier: MIT
// dp_installer: the control thread's hands on the dataplane. It owns every rte_* call the control
// side makes: frames to a worker's ctl_tx ring (built whole, outer headers included), peer_cmds
// on a worker's cmd ring (with the 1 s wait, and del_peer retries when a ring stays full), the
// punt rings (control frames the workers copied) and the done ring (applied commands: deleted
// peers and evicted keys are freed here), the peer-id -> owner array, the outer-address hash and
// the inner route tables. It also publishes the coarse clock and the stop flag the workers read.
// State: the commands a full ring refused, the ctl_tx drop count.
// Called by gateway_control (the loop, session events, teardown, floats) and, through
// route_writer, by addressing. Control thread only; it never touches a worker's queues.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "client.h"
#include "dpvpn/config.h"
#include "dpvpn/data_keys.h"
#include "dpvpn/dp_lan.h"
#include "dpvpn/dp_state.h"
#include "route_writer.h"

namespace dpvpn::cp {

// `dp-route` lines as the LAN port's table takes them.
std::vector<dp::lan_route_spec> lan_routes_of(const server_config& cfg);

// A new_key command for a session's key_ready event: the data keys of both directions built from
// ev (server: ours is server-to-client). Null with err when the keys cannot be built.
std::unique_ptr<dp::peer_cmd> make_key_cmd(const proto::data_key_params& base, const proto::session_event& ev,
                                           bool armed, bool server, std::string& err);

class dp_installer final : public route_writer {
 public:
  dp_installer(dp::dp_shared& sh, control_log log) : sh_(sh), log_(log) {}

  const dp::dp_config& cfg() const { return sh_.cfg; }
  const dp::dp_shared& shared() const { return sh_; }  // the lcores' counters (status_report)
  unsigned lcore_id(uint16_t worker) const { return sh_.lcores[worker]->lcore_id; }
  void publish_clock(uint64_t now_ms) { sh_.now_s.store(now_ms / 1000, std::memory_order_relaxed); }
  uint64_t now_s() const { return sh_.now_s.load(std::memory_order_relaxed); }
  void stop_workers() { sh_.stop.store(true, std::memory_order_release); }
  // Reload: a new table of `dp-route`s for the LAN port; the workers see it at their next burst
  // and the old one is freed once each has passed a quiescent state. False + err: the old stays.
  bool replace_lan_routes(const server_config& cfg, std::string& err);

  // A control packet to `to` through `worker`'s WAN queue: the whole Ethernet/IP/UDP frame goes on
  // its ctl_tx ring. Dropped (counted) when no mbuf or the ring is full.
  void send_frame(uint16_t worker, const net::outer_addr& to, const net::mac& mac, std::span<const uint8_t> payload);
  // A whole Ethernet frame (an ARP request of the client role's WAN resolver) through `worker`'s
  // WAN queue. Dropped (counted) like send_frame's.
  void send_raw(uint16_t worker, std::span<const uint8_t> frame);
  // Punted control frames, the established clients' ring first: on_frame(meta, payload) for each;
  // the mbuf is freed after the call. True when there was any.
  using frame_fn = std::function<void(const dp::mbuf_meta&, std::span<const uint8_t>)>;
  bool poll_punt(const frame_fn& on_frame);
  // Commands the workers applied: handed-back peers and evicted keys are freed (wiped);
  // peer_back(id) for each peer-id that is free again.
  void poll_done(const std::function<void(uint32_t)>& peer_back);

  // Queues cmd on c's owner lcore, waiting up to 1 s for room. False (logged) when the ring stayed
  // full: cmd is destroyed, except a del_peer, which is kept and retried by retry_pending().
  bool send_cmd(client& c, std::unique_ptr<dp::peer_cmd> cmd);
  void retry_pending();  // housekeeping

  // The tables the workers read: publish (owner, outer address) once new_peer and new_key are
  // queued; unpublish at teardown. publish returns 0 or a negative errno (the address hash).
  int publish(const client& c);
  void unpublish(const client& c);
  void move_addr(const net::outer_addr& from, const net::outer_addr& to, uint32_t peer_id);  // a float
  // The client role with `float`: the peer whose data may come from a new address (or none).
  void set_client_float(uint32_t peer_id) { sh_.client_float.store(peer_id, std::memory_order_relaxed); }
  void clear_client_float() { sh_.client_float.store(dp::dp_shared::k_no_float, std::memory_order_relaxed); }

  int route_add_v4(uint32_t net, uint8_t len, uint32_t peer_id) override;
  int route_del_v4(uint32_t net, uint8_t len) override;
  int route_add_v6(const uint8_t net[16], uint8_t len, uint32_t peer_id) override;
  int route_del_v6(const uint8_t net[16], uint8_t len) override;

  uint64_t ctl_tx_dropped() const { return ctl_tx_dropped_; }

 private:
  dp::dp_shared& sh_;
  control_log log_;
  // del_peer commands a full ring refused: retried by housekeeping (their peer-ids come back only
  // once an lcore hands the peer back).
  std::vector<std::pair<uint16_t, std::unique_ptr<dp::peer_cmd>>> pending_del_;
  uint64_t ctl_tx_dropped_ = 0;
};

}  // namespace dpvpn::cp
