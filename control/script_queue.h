// SPDX-License-Identifier: MIT
// script_queue: the control thread's user scripts. It owns the script runner (posix_spawn, reaped
// with waitpid(WNOHANG): a slow script delays only its own client), which client each running
// auth script belongs to, and the learn-address queue: one call at a time in queue order (so that
// a delete never overtakes the add it undoes, nor an add the delete of the address's previous
// holder), with the table of learned addresses and their holders (openvpn's vhash).
// Called by auth_pipeline (start, cancel, start_learn), gateway_control (poll each loop, unlearn
// at teardown, flush at exit). A client's learn calls end in on_learned(c). Control thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "client.h"
#include "client_table.h"
#include "dpvpn/auth_scripts.h"
#include "dpvpn/config.h"

namespace dpvpn::cp {

class script_queue {
 public:
  using learned_fn = std::function<void(client&, uint64_t)>;  // c's last learn call finished
  using result_fn = std::function<void(const net::outer_addr&, const script_result&)>;
  script_queue(const server_config& cfg, control_log log, learned_fn on_learned);

  // c's auth script (argv, a hand-window to run): its result comes back from poll() under c's
  // address and c.auth.script_id. False (logged) when it cannot start.
  bool start(client& c, const std::vector<std::string>& argv, script_request req, uint64_t now_ms);
  // A script nobody waits for (client-disconnect): 0 with err when it cannot start.
  uint64_t start_detached(script_request req, std::string& err) { return scripts_.start(std::move(req), err); }
  void cancel(client& c);  // c's running auth script, if any
  // Reaps finished scripts: learn-address results are handled here, a client-disconnect failure
  // is logged, and each auth script's result goes to on_result(the client's address, result).
  void poll(uint64_t now_ms, const result_fn& on_result);
  size_t running() const { return scripts_.running(); }

  // learn-address (openvpn's order: the IPv4 address, the IPv6 address, the iroutes up to
  // max-routes-per-client), with env as the scripts' environment. Returns how many calls were
  // queued for c (c.learn.pending); 0: nothing to learn, on_learned is not called.
  size_t start_learn(client& c, const script_env& env, uint64_t now_ms);
  // Teardown: deletes for what c holds; its queued adds are dropped (a running one is undone).
  void unlearn(client& c, uint64_t now_ms);
  // Exit: a delete for every learned address of the live clients, waited for (a hand-window).
  void flush(const client_table::map& clients, uint64_t now_ms);
  size_t learned() const { return learned_.size(); }
  size_t queued() const { return learn_queue_.size(); }

 private:
  struct learn_job {
    client* c = nullptr;  // add/update: the client waiting; null for delete, or once it is gone
    std::string op;       // "add" (becomes "update" when another client holds it), "delete"
    std::string addr;     // as openvpn prints it (script_args.h)
    enum class what : uint8_t { v4, v6, iroute4, iroute6 } kind = what::v4;
    script_env env;
  };
  bool on_learn_result(const script_result& r, uint64_t now_ms);  // false: not a learn-address run
  void learn_next(uint64_t now_ms);
  script_env base_env(const char* script_type) const;  // script_type + setenv

  const server_config& cfg_;
  control_log log_;
  learned_fn on_learned_;
  script_runner scripts_;
  std::map<uint64_t, net::outer_addr> script_clients_;  // running auth script id -> its client's key
  std::deque<learn_job> learn_queue_;
  uint64_t learn_running_ = 0;  // script id of learn_queue_.front(); 0 = none running
  std::map<std::string, client*> learned_;  // learned address -> its holder (openvpn's vhash)
};

}  // namespace dpvpn::cp
