// SPDX-License-Identifier: MIT
// The client role's server as the dataplane's one peer (client_peer.h).
#include "client_peer.h"

#include <algorithm>

namespace dpvpn::cp {

namespace {
// The catch-all routes: both halves of each family (an LPM takes no /0).
constexpr uint32_t k_half = 0x80000000u;
const uint8_t k_v6_low[16] = {};
const uint8_t k_v6_high[16] = {0x80};
}  // namespace

client_peer::client_peer(dp_installer& dp, const server_config& cfg, const proto::data_key_params& data)
    : dp_(dp), cfg_(cfg), data_(data), busy_(dp.cfg().max_peers, false) {}

bool client_peer::begin(client& conn) {
  owner_known_ = false;
  pending_.clear();
  const auto it = std::find(busy_.begin(), busy_.end(), false);
  if (it == busy_.end()) return false;
  conn.peer_id = static_cast<uint32_t>(it - busy_.begin());
  return true;
}

int client_peer::publish(client& conn) {
  busy_[conn.peer_id] = true;
  return dp_.publish(conn);
}

void client_peer::saw_frame(client& conn, uint16_t from) {
  if (owner_known_ || conn.dp.installed) return;
  conn.owner = from;  // the worker the server's flow lands on owns the peer
  owner_known_ = true;
  dp_.publish(conn);
}

std::string client_peer::on_key_event(client& conn, const proto::session_event& ev) {
  using proto::session_event_type;
  auto key_cmd = [&](dp::cmd_type type) {  // arm or delete the key of ev's key_id on the owner
    auto cmd = std::make_unique<dp::peer_cmd>();
    cmd->type = type;
    cmd->key_id = ev.key_id;
    return dp_.send_cmd(conn, std::move(cmd));
  };
  switch (ev.type) {
    case session_event_type::key_ready:
      if (conn.dp.installed) return install_key(conn, ev, ev.confirmed);
      pending_.push_back({ev, ev.confirmed});
      return {};
    case session_event_type::key_confirmed:
      if (conn.dp.installed) {
        key_cmd(dp::cmd_type::arm_key);
      } else {
        for (pending_key& k : pending_)
          if (k.ev.key_id == ev.key_id) k.armed = true;
      }
      return {};
    case session_event_type::key_retired:
      if (conn.dp.installed) {
        if (!key_cmd(dp::cmd_type::del_key)) return "data key not retired on its lcore";
      } else {
        std::erase_if(pending_, [&](const pending_key& k) { return k.ev.key_id == ev.key_id; });
      }
      return {};
    default: return {};
  }
}

bool client_peer::install(client& conn, std::string& why) {
  const auto& p = conn.s->pushed();
  auto* peer = new dp::dp_peer();
  peer->peer_id = conn.peer_id;
  peer->data_v2 = p.peer_id.has_value();
  peer->wire_id = p.peer_id.value_or(wire::k_peer_id_none);
  peer->ping_interval_s = p.ping ? static_cast<uint32_t>(p.ping) : cfg_.ping;
  peer->client = conn.addr;
  peer->client_mac = conn.mac;
  peer->keys = proto::data_keys(false, data_);
  peer->keys.framing = conn.s->framing();
  peer->last_rx_s.store(dp_.now_s());
  auto np = std::make_unique<dp::peer_cmd>();
  np->type = dp::cmd_type::new_peer;
  np->peer = peer;
  if (!dp_.send_cmd(conn, std::move(np))) {
    delete peer;  // no lcore saw it
    why = "peer not installed on its lcore";
    return false;
  }
  conn.dp.peer = peer;
  conn.dp.installed = true;
  // Everything the kernel routes into the exception port goes to the server, whatever was pushed.
  dp_.route_add_v4(0, 1, conn.peer_id);
  dp_.route_add_v4(k_half, 1, conn.peer_id);
  dp_.route_add_v6(k_v6_low, 1, conn.peer_id);
  dp_.route_add_v6(k_v6_high, 1, conn.peer_id);
  if (cfg_.float_ok) dp_.set_client_float(conn.peer_id);
  for (const pending_key& k : pending_) {
    why = install_key(conn, k.ev, k.armed);
    if (!why.empty()) return false;
  }
  pending_.clear();
  return true;
}

std::string client_peer::install_key(client& conn, const proto::session_event& ev, bool armed) {
  std::string err;
  auto cmd = make_key_cmd(data_, ev, armed, false, err);
  if (!cmd) return "data key setup failed: " + err;
  if (!dp_.send_cmd(conn, std::move(cmd))) return "data key not installed on its lcore";
  return {};
}

// `float`: the server's data opened from a new address and the owner lcore moved the peer there
// (dp::float_peer); control frames and the address table follow.
std::optional<net::outer_addr> client_peer::follow_float(client& conn) {
  net::outer_addr a;
  net::mac mac{};
  if (!conn.dp.peer || !dp::read_float(*conn.dp.peer, a, mac) || net::same_outer(a, conn.addr)) return std::nullopt;
  dp_.move_addr(conn.addr, a, conn.peer_id);
  const net::outer_addr old = conn.addr;
  conn.addr = a;
  conn.mac = mac;
  conn.name = format_outer(a);
  return old;
}

void client_peer::teardown(client& conn, bool handshaking) {
  if (conn.dp.installed) {
    dp_.clear_client_float();
    dp_.route_del_v4(0, 1);
    dp_.route_del_v4(k_half, 1);
    dp_.route_del_v6(k_v6_low, 1);
    dp_.route_del_v6(k_v6_high, 1);
    dp_.unpublish(conn);
    auto cmd = std::make_unique<dp::peer_cmd>();
    cmd->type = dp::cmd_type::del_peer;
    dp_.send_cmd(conn, std::move(cmd));  // the index is free again once the lcore hands the peer back
  } else if (handshaking || (conn.peer_id < busy_.size() && busy_[conn.peer_id])) {
    dp_.unpublish(conn);
    busy_[conn.peer_id] = false;
  }
  conn.dp = {};
  pending_.clear();
}

}  // namespace dpvpn::cp
