// SPDX-License-Identifier: MIT
// gateway_control: learn-address (openvpn 2.6 multi.c semantics, run without blocking) and the
// synchronous up/down scripts. Arguments and environment come from script_args.h. Control thread
// only, except run_updown (main thread, before and after the control thread).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "gateway.h"
#include "dpvpn/script_args.h"
#include "client.h"

namespace dpvpn::cp {

// openvpn learns, in this order, the client's IPv4 address, its IPv6 address and its iroutes
// (multi_client_connect_late_setup), after client-connect and before the push reply: the client
// waits for them here too. A failed add leaves the client connected but unrouted: openvpn drops
// its packets as coming from a "bad source address" and routes nothing to it.
void gateway_control::start_learn(client& c, std::vector<std::string> push, uint64_t now_ms) {
  c.auth.stage = client::auth_stage::learn;
  c.learn.push = std::move(push);
  const script_env env = client_env(c, "learn-address", now_ms);
  auto queue = [&](learn_job::what kind, std::string addr) {
    learn_queue_.push_back(learn_job{&c, "add", std::move(addr), kind, env});
    ++c.learn.pending;
  };
  if (c.vpn_ip) queue(learn_job::what::v4, learn_addr_v4(c.vpn_ip, -1));
  if (c.lease.v6) queue(learn_job::what::v6, learn_addr_v6(*c.lease.v6, -1));
  // The iroutes add_client_routes will install: max-routes-per-client bounds both (openvpn's
  // route quota fails a learn beyond it without running the script).
  size_t budget = cfg_.max_routes_per_client;
  for (const iroute4& r : c.opts.iroutes) {
    if (budget == 0) break;
    --budget;
    queue(learn_job::what::iroute4, learn_addr_v4(r.network, r.len));
  }
  for (const ipv6_net& r : c.opts.iroutes_v6) {
    if (budget == 0) break;
    --budget;
    queue(learn_job::what::iroute6, learn_addr_v6(r.addr, static_cast<int>(r.len)));
  }
  log(4, c.name + ": learn-address: " + std::to_string(c.learn.pending) + " address(es) queued");
  if (c.learn.pending == 0) {
    c.auth.stage = client::auth_stage::accepted;
    c.auth.accepted_ms = now_ms;
    c.s->authorize(true, std::move(c.learn.push), "", now_ms);
    return;
  }
  learn_next(now_ms);
}

void gateway_control::learn_next(uint64_t now_ms) {
  while (learn_running_ == 0 && !learn_queue_.empty()) {
    learn_job& j = learn_queue_.front();
    if (j.op.empty()) {  // an add whose client left before it ran
      learn_queue_.pop_front();
      continue;
    }
    std::string cn;
    if (j.c) {
      // openvpn: "update" when the address is in its table already (another client holds it).
      j.op = learned_.count(j.addr) ? "update" : "add";
      cn = j.c->cn;
    }
    script_request req;
    req.argv = learn_address_argv(cfg_.learn_address, j.op, j.addr, cn);
    req.env = j.env;
    req.deadline_ms = now_ms + uint64_t{cfg_.hand_window} * 1000;
    log(4, "learn-address " + j.op + " " + j.addr + (j.c ? " " + j.c->name : std::string()));
    std::string err;
    learn_running_ = scripts_.start(std::move(req), err);
    if (learn_running_ == 0) {  // cannot run: the same as a failing script
      log(1, "learn-address: " + err);
      script_result r;
      r.status = err;
      on_learn_result(r, now_ms);  // pops the job and moves on
    }
  }
}

bool gateway_control::on_learn_result(const script_result& r, uint64_t now_ms) {
  if (learn_queue_.empty() || r.id != learn_running_) return false;
  learn_job j = std::move(learn_queue_.front());
  learn_queue_.pop_front();
  learn_running_ = 0;
  if (j.op == "delete") {
    if (!r.ok) log(3, "learn-address delete " + j.addr + ": " + r.status + " (ignored, as in openvpn)");
  } else if (!j.c) {
    // Its client left while the script ran: what was learned goes again.
    if (r.ok) learn_queue_.push_back(learn_job{nullptr, "delete", j.addr, j.kind, script_base_env("learn-address")});
  } else {
    client& c = *j.c;
    if (r.ok) {
      learned_[j.addr] = &c;
    } else {
      log(1, c.name + ": learn-address " + j.op + " " + j.addr + " failed (" + r.status +
                 "): the address is not routed (openvpn's \"Learn FAILED\")");
      if (j.kind == learn_job::what::v4) c.learn.v4_unlearned = true;
      if (j.kind == learn_job::what::v6) c.learn.v6_unlearned = true;
      if (j.kind == learn_job::what::iroute4)
        std::erase_if(c.opts.iroutes, [&](const iroute4& x) { return learn_addr_v4(x.network, x.len) == j.addr; });
      if (j.kind == learn_job::what::iroute6)
        std::erase_if(c.opts.iroutes_v6, [&](const ipv6_net& x) { return learn_addr_v6(x.addr, static_cast<int>(x.len)) == j.addr; });
    }
    if (--c.learn.pending == 0 && c.auth.stage == client::auth_stage::learn && !c.dead) {
      c.auth.stage = client::auth_stage::accepted;
      c.auth.accepted_ms = now_ms;
      c.s->authorize(true, std::move(c.learn.push), "", now_ms);
      drain(c, now_ms);
    }
  }
  learn_next(now_ms);
  return true;
}

// openvpn's delete comes from its route reaper after the client is gone (within ~16 s; a client
// back sooner on the same address gets "update" instead), with no common name and an environment
// of script_type only; dpvpn sends it at teardown, with the setenv variables as well.
void gateway_control::unlearn(client& c) {
  for (size_t i = 0; i < learn_queue_.size(); ++i) {
    learn_job& j = learn_queue_[i];
    if (j.c != &c) continue;
    j.c = nullptr;
    if (i > 0 || learn_running_ == 0) j.op.clear();  // not started: dropped
  }
  c.learn.pending = 0;
  for (auto it = learned_.begin(); it != learned_.end();) {
    if (it->second != &c) {
      ++it;
      continue;
    }
    learn_queue_.push_back(learn_job{nullptr, "delete", it->first, learn_job::what::v4, script_base_env("learn-address")});
    it = learned_.erase(it);
  }
  learn_next(dp_.now_s() * 1000);
}

// At exit every learned address gets its delete (openvpn's multi_uninit reaps them all), and the
// control thread waits for the queue, a hand-window at most.
void gateway_control::flush_learn(uint64_t now_ms) {
  if (cfg_.learn_address.empty()) return;
  for (auto& [k, c] : table_.all())
    if (!c->dead) unlearn(*c);
  const uint64_t until = now_ms + uint64_t{cfg_.hand_window} * 1000;
  std::vector<script_result> done;
  for (uint64_t now = now_ms; !learn_queue_.empty() && now < until; now += 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    done.clear();
    scripts_.poll(now, done);
    for (const script_result& r : done) on_learn_result(r, now);
  }
  if (!learn_queue_.empty()) log(1, "learn-address: " + std::to_string(learn_queue_.size()) + " call(s) left undone at exit");
}

script_env gateway_control::script_base_env(const char* script_type) const {
  script_env e;
  e.emplace_back("script_type", script_type);
  add_setenv(e, cfg_);
  return e;
}

bool run_updown(const server_config& cfg, const std::string& ifname, const char* script_type, const std::string& signal,
                unsigned timeout_s, std::string& err) {
  const std::vector<std::string>& cmd = std::string_view(script_type) == "up" ? cfg.up : cfg.down;
  if (cmd.empty()) return true;
  updown_info dev;
  dev.dev = ifname;
  dev.tun_mtu = cfg.tun_mtu;
  dev.signal = signal;
  script_request req;
  req.argv = updown_argv(cmd, cfg, dev);
  req.env = updown_env(cfg, dev, script_type, static_cast<uint64_t>(::getpid()));
  auto now_ms = [] {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
  };
  req.deadline_ms = timeout_s ? now_ms() + uint64_t{timeout_s} * 1000 : 0;
  std::string line;
  for (const std::string& a : req.argv) line += (line.empty() ? "" : " ") + a;
  std::printf("dpvpn: %s script: %s\n", script_type, line.c_str());
  std::fflush(stdout);
  script_runner runner(cfg.tmp_dir);
  if (runner.start(std::move(req), err) == 0) return false;
  std::vector<script_result> done;
  while (done.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    runner.poll(now_ms(), done);
  }
  if (!done[0].ok) err = std::string(script_type) + " script: " + done[0].status;
  return done[0].ok;
}

// `inactive SECONDS [BYTES]`: the dataplane's per-peer totals (both ways) feed the client's timer
// (inactivity.h). openvpn 2.6 signals the instance SIGTERM ("Inactivity timeout (--inactive)"), so
// as with session-timeout the client is closed without a message and notices by its ping-restart.
bool gateway_control::inactive_expired(client& c, uint64_t now_ms) {
  uint64_t bytes = 0, pkts = 0;
  if (c.dp.peer) {
    bytes = c.dp.peer->rx_bytes.load(std::memory_order_relaxed) + c.dp.peer->tx_bytes.load(std::memory_order_relaxed);
    pkts = c.dp.peer->rx_pkts.load(std::memory_order_relaxed) + c.dp.peer->tx_pkts.load(std::memory_order_relaxed);
  }
  return c.inactive.update(now_ms, bytes, pkts, cfg_.inactive_s, cfg_.inactive_bytes);
}

}  // namespace dpvpn::cp
