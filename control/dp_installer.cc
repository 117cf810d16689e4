// SPDX-License-Identifier: MIT
// dp_installer: rings, mbufs and tables between the control thread and the workers.
#include "dp_installer.h"

#include <rte_hash.h>
#include <rte_rcu_qsbr.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <unistd.h>

#include <cstring>

#include "dpvpn/dp_l2.h"
#include "dpvpn/dp_setup.h"

namespace dpvpn::cp {

void dp_installer::send_frame(uint16_t worker, const net::outer_addr& to, const net::mac& mac,
                              std::span<const uint8_t> payload) {
  rte_mbuf* m = rte_pktmbuf_alloc(sh_.pool);
  if (!m) {
    ++ctl_tx_dropped_;
    return;
  }
  const bool v4 = net::is_v4_mapped(to.ip);
  const size_t hdr = v4 ? net::k_outer_v4 : net::k_outer_v6;
  auto* h = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(hdr + payload.size())));
  if (!h) {
    rte_pktmbuf_free(m);
    ++ctl_tx_dropped_;
    return;
  }
  std::memcpy(h + hdr, payload.data(), payload.size());
  if (v4) {
    net::udp_endpoints e;
    e.src_mac = sh_.cfg.wan_mac;
    e.dst_mac = mac;
    e.src_ip = sh_.cfg.local_ip;
    e.dst_ip = net::v4_of(to.ip);
    e.src_port = sh_.cfg.local_port;
    e.dst_port = to.port;
    net::write_outer_v4(h, e, payload.size(), 0, true);
  } else {
    const net::udp6_endpoints e{sh_.cfg.wan_mac, mac, sh_.cfg.local_ip6, to.ip, sh_.cfg.local_port, to.port};
    net::write_outer_v6(h, e, payload.size());
  }
  if (rte_ring_sp_enqueue(sh_.lcores[worker]->ctl_tx, m) != 0) {
    rte_pktmbuf_free(m);
    ++ctl_tx_dropped_;
  }
}

std::unique_ptr<dp::peer_cmd> make_key_cmd(const proto::data_key_params& base, const proto::session_event& ev,
                                           bool armed, bool server, std::string& err) {
  proto::data_key_params p = base;
  p.cipher = ev.cipher;
  p.digest = ev.digest;
  std::span<const uint8_t, wire::k_key2_size> k(ev.key.data(), ev.key.size());
  auto cmd = std::make_unique<dp::peer_cmd>();
  cmd->type = dp::cmd_type::new_key;
  cmd->key_id = ev.key_id;
  cmd->armed = armed;
  const int tx_dir = server ? proto::k_dir_server_to_client : proto::k_dir_client_to_server;
  const int rx_dir = server ? proto::k_dir_client_to_server : proto::k_dir_server_to_client;
  cmd->tx = proto::dc_tx::create(p, k, tx_dir, &err);
  cmd->rx = proto::dc_rx::create(p, k, rx_dir, &err);
  if (!cmd->tx || !cmd->rx) return nullptr;
  return cmd;
}

void dp_installer::send_raw(uint16_t worker, std::span<const uint8_t> frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(sh_.pool);
  auto* h = m ? reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()))) : nullptr;
  if (h) std::memcpy(h, frame.data(), frame.size());
  if (!h || rte_ring_sp_enqueue(sh_.lcores[worker]->ctl_tx, m) != 0) {
    rte_pktmbuf_free(m);  // null-safe
    ++ctl_tx_dropped_;
  }
}

bool dp_installer::poll_punt(const frame_fn& on_frame) {
  void* objs[32];
  unsigned total = 0, n;
  auto each = [&](unsigned k) {
    for (unsigned i = 0; i < k; ++i) {
      auto* m = static_cast<rte_mbuf*>(objs[i]);
      const dp::mbuf_meta mm = *static_cast<dp::mbuf_meta*>(rte_mbuf_to_priv(m));
      on_frame(mm, std::span<const uint8_t>(rte_pktmbuf_mtod(m, const uint8_t*) + mm.payload_off, mm.payload_len));
      rte_pktmbuf_free(m);
    }
  };
  // Established clients' frames first, all of them (bounded by their ring), then new contacts.
  while (sh_.punt_est && (n = rte_ring_sc_dequeue_burst(sh_.punt_est, objs, 32, nullptr)) > 0) {
    each(n);
    total += n;
  }
  n = rte_ring_sc_dequeue_burst(sh_.punt, objs, 32, nullptr);
  each(n);
  return total + n > 0;
}

void dp_installer::poll_done(const std::function<void(uint32_t)>& peer_back) {
  void* objs[32];
  unsigned n;
  while ((n = rte_ring_sc_dequeue_burst(sh_.done, objs, 32, nullptr)) > 0) {
    for (unsigned i = 0; i < n; ++i) {
      std::unique_ptr<dp::peer_cmd> cmd(static_cast<dp::peer_cmd*>(objs[i]));
      if (cmd->type == dp::cmd_type::del_peer) {
        delete cmd->peer;  // the lcore handed it back; its keys are wiped by their destructors
        dp::l2_forget_peer(sh_, cmd->peer_id);  // dev tap: its MACs, before the peer-id is reused
        peer_back(cmd->peer_id);
      } else if (cmd->type == dp::cmd_type::new_peer) {
        delete cmd->peer;  // not adopted (slot was taken): should not happen
      }
      // Evicted keys in cmd->tx / cmd->rx are destroyed here, off the packet path.
    }
  }
}

bool dp_installer::send_cmd(client& c, std::unique_ptr<dp::peer_cmd> cmd) {
  cmd->peer_id = c.peer_id;
  rte_ring* r = sh_.lcores[c.owner]->cmd;
  // The control thread may wait here (never a worker): the owner drains its ring every loop.
  for (int i = 0; i < 10000; ++i) {
    if (rte_ring_sp_enqueue(r, cmd.get()) == 0) {
      cmd.release();
      return true;
    }
    ::usleep(100);
  }
  const std::string lcore = std::to_string(sh_.lcores[c.owner]->lcore_id);
  if (cmd->type == dp::cmd_type::del_peer) {
    log_(1, c.name + ": command ring to lcore " + lcore + " full for 1 s; peer removal retried later");
    pending_del_.emplace_back(c.owner, std::move(cmd));
  } else {
    log_(1, c.name + ": command ring to lcore " + lcore + " full for 1 s; command dropped");
  }
  return false;
}

void dp_installer::retry_pending() {
  for (auto it = pending_del_.begin(); it != pending_del_.end();) {
    if (rte_ring_sp_enqueue(sh_.lcores[it->first]->cmd, it->second.get()) != 0) {
      ++it;
      continue;
    }
    it->second.release();
    it = pending_del_.erase(it);
  }
}

int dp_installer::publish(const client& c) {
  sh_.owner[c.peer_id].store(c.owner, std::memory_order_release);
  return dp::addr_set(sh_, c.addr, c.peer_id);
}

void dp_installer::unpublish(const client& c) {
  sh_.owner[c.peer_id].store(dp::k_no_owner, std::memory_order_release);
  dp::addr_del(sh_, c.addr);
}

void dp_installer::move_addr(const net::outer_addr& from, const net::outer_addr& to, uint32_t peer_id) {
  dp::addr_del(sh_, from);
  dp::addr_set(sh_, to, peer_id);
}

int dp_installer::route_add_v4(uint32_t net, uint8_t len, uint32_t peer_id) { return dp::route_add_v4(sh_.rt, net, len, peer_id); }
int dp_installer::route_del_v4(uint32_t net, uint8_t len) { return dp::route_del_v4(sh_.rt, net, len); }
int dp_installer::route_add_v6(const uint8_t net[16], uint8_t len, uint32_t peer_id) {
  return dp::route_add_v6(sh_.rt, net, len, peer_id);
}
int dp_installer::route_del_v6(const uint8_t net[16], uint8_t len) { return dp::route_del_v6(sh_.rt, net, len); }

std::vector<dp::lan_route_spec> lan_routes_of(const server_config& cfg) {
  std::vector<dp::lan_route_spec> routes;
  for (const auto& r : cfg.dp_routes) {
    dp::lan_route_spec x;
    x.v6 = r.v6;
    x.net = r.net;
    x.via = r.via;
    std::memcpy(x.net6.data(), r.net6.data(), 16);
    std::memcpy(x.via6.data(), r.via6.data(), 16);
    x.len = r.len;
    routes.push_back(x);
  }
  return routes;
}

bool dp_installer::replace_lan_routes(const server_config& cfg, std::string& err) {
  if (!sh_.cfg.lan.on) {
    err = "no LAN port (dp-lan) in the running gateway";
    return false;
  }
  dp::lan_routes* neu = dp::lan_routes_create(sh_.cfg.lan, lan_routes_of(cfg), err);
  if (!neu) return false;
  dp::lan_routes* old = sh_.lan_rt.exchange(neu, std::memory_order_acq_rel);
  rte_rcu_qsbr_synchronize(sh_.qsbr, RTE_QSBR_THRID_INVALID);  // no worker still reads `old`
  dp::lan_routes_destroy(old);
  return true;
}

}  // namespace dpvpn::cp
