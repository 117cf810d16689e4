// SPDX-License-Identifier: MIT
// script_queue: auth scripts by client, and learn-address (openvpn 2.6 multi.c semantics, run
// without blocking). Arguments and environment come from script_args.h.
#include "script_queue.h"

#include <chrono>
#include <thread>

#include "dpvpn/script_args.h"

namespace dpvpn::cp {

script_queue::script_queue(const server_config& cfg, control_log log, learned_fn on_learned)
    : cfg_(cfg), log_(log), on_learned_(std::move(on_learned)), scripts_(cfg.tmp_dir) {}

bool script_queue::start(client& c, const std::vector<std::string>& argv, script_request req, uint64_t now_ms) {
  req.argv = argv;
  req.deadline_ms = now_ms + uint64_t{cfg_.hand_window} * 1000;  // a script may use the whole hand-window
  std::string err;
  const uint64_t id = scripts_.start(std::move(req), err);
  if (id == 0) {
    log_(1, c.name + ": " + err);
    return false;
  }
  c.auth.script_id = id;
  script_clients_[id] = c.addr;
  return true;
}

void script_queue::cancel(client& c) {
  if (!c.auth.script_id) return;
  scripts_.cancel(c.auth.script_id);
  script_clients_.erase(c.auth.script_id);
  c.auth.script_id = 0;
}

void script_queue::poll(uint64_t now_ms, const result_fn& on_result) {
  if (scripts_.running() == 0) return;
  std::vector<script_result> done;
  scripts_.poll(now_ms, done);
  for (script_result& r : done) {
    if (on_learn_result(r, now_ms)) continue;  // learn-address
    auto it = script_clients_.find(r.id);
    if (it == script_clients_.end()) {  // client-disconnect: nobody waits for it
      if (!r.ok) log_(3, "client-disconnect script: " + r.status);
      continue;
    }
    const net::outer_addr who = it->second;
    script_clients_.erase(it);
    on_result(who, r);
  }
}

// openvpn learns, in this order, the client's IPv4 address, its IPv6 address and its iroutes
// (multi_client_connect_late_setup), after client-connect and before the push reply: the client
// waits for them here too. A failed add leaves the client connected but unrouted: openvpn drops
// its packets as coming from a "bad source address" and routes nothing to it.
size_t script_queue::start_learn(client& c, const script_env& env, uint64_t now_ms) {
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
  log_(4, c.name + ": learn-address: " + std::to_string(c.learn.pending) + " address(es) queued");
  const size_t n = c.learn.pending;  // learn_next may finish them all (a script that cannot start)
  if (n > 0) learn_next(now_ms);
  return n;
}

void script_queue::learn_next(uint64_t now_ms) {
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
    log_(4, "learn-address " + j.op + " " + j.addr + (j.c ? " " + j.c->name : std::string()));
    std::string err;
    learn_running_ = scripts_.start(std::move(req), err);
    if (learn_running_ == 0) {  // cannot run: the same as a failing script
      log_(1, "learn-address: " + err);
      script_result r;
      r.status = err;
      on_learn_result(r, now_ms);  // pops the job and moves on
    }
  }
}

bool script_queue::on_learn_result(const script_result& r, uint64_t now_ms) {
  if (learn_queue_.empty() || r.id != learn_running_) return false;
  learn_job j = std::move(learn_queue_.front());
  learn_queue_.pop_front();
  learn_running_ = 0;
  if (j.op == "delete") {
    if (!r.ok) log_(3, "learn-address delete " + j.addr + ": " + r.status + " (ignored, as in openvpn)");
  } else if (!j.c) {
    // Its client left while the script ran: what was learned goes again.
    if (r.ok) learn_queue_.push_back(learn_job{nullptr, "delete", j.addr, j.kind, base_env("learn-address")});
  } else {
    client& c = *j.c;
    if (r.ok) {
      learned_[j.addr] = &c;
    } else {
      log_(1, c.name + ": learn-address " + j.op + " " + j.addr + " failed (" + r.status +
                 "): the address is not routed (openvpn's \"Learn FAILED\")");
      if (j.kind == learn_job::what::v4) c.learn.v4_unlearned = true;
      if (j.kind == learn_job::what::v6) c.learn.v6_unlearned = true;
      if (j.kind == learn_job::what::iroute4)
        std::erase_if(c.opts.iroutes, [&](const iroute4& x) { return learn_addr_v4(x.network, x.len) == j.addr; });
      if (j.kind == learn_job::what::iroute6)
        std::erase_if(c.opts.iroutes_v6, [&](const ipv6_net& x) { return learn_addr_v6(x.addr, static_cast<int>(x.len)) == j.addr; });
    }
    if (--c.learn.pending == 0) on_learned_(c, now_ms);  // auth_pipeline: the push goes
  }
  learn_next(now_ms);
  return true;
}

// openvpn's delete comes from its route reaper after the client is gone (within ~16 s; a client
// back sooner on the same address gets "update" instead), with no common name and an environment
// of script_type only; dpvpn sends it at teardown, with the setenv variables as well.
void script_queue::unlearn(client& c, uint64_t now_ms) {
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
    learn_queue_.push_back(learn_job{nullptr, "delete", it->first, learn_job::what::v4, base_env("learn-address")});
    it = learned_.erase(it);
  }
  learn_next(now_ms);
}

// At exit every learned address gets its delete (openvpn's multi_uninit reaps them all), and the
// control thread waits for the queue, a hand-window at most.
void script_queue::flush(const client_table::map& clients, uint64_t now_ms) {
  if (cfg_.learn_address.empty()) return;
  for (auto& [k, c] : clients)
    if (!c->dead) unlearn(*c, now_ms);
  const uint64_t until = now_ms + uint64_t{cfg_.hand_window} * 1000;
  std::vector<script_result> done;
  for (uint64_t now = now_ms; !learn_queue_.empty() && now < until; now += 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    done.clear();
    scripts_.poll(now, done);
    for (const script_result& r : done) on_learn_result(r, now);
  }
  if (!learn_queue_.empty()) log_(1, "learn-address: " + std::to_string(learn_queue_.size()) + " call(s) left undone at exit");
}

script_env script_queue::base_env(const char* script_type) const {
  script_env e;
  e.emplace_back("script_type", script_type);
  add_setenv(e, cfg_);
  return e;
}

}  // namespace dpvpn::cp
