// SPDX-License-Identifier: MIT
// OpenVPN-style user scripts (auth-user-pass-verify, client-connect, client-disconnect) run without
// blocking: started with posix_spawn, reaped with waitpid(WNOHANG) from the control loop, killed
// when overdue. Control thread only; no DPDK.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dpvpn/client_options.h"  // parse_client_connect: what client-connect writes
#include "dpvpn/script_args.h"     // script_env

namespace dpvpn::cp {

struct script_request {
  std::vector<std::string> argv;  // program and its configured arguments
  script_env env;                 // added to (and overriding) the process environment
  // A 0600 temp file is passed as the last argument when pass_file is set: it holds file_text
  // (via-file: "username\npassword\n"), and what the script leaves in it comes back in the result
  // when read_back is set (client-connect).
  bool pass_file = false;
  std::string file_text;
  bool read_back = false;
  // Set: the temp file's path goes into this environment variable instead of argv
  // (tls-crypt-v2-verify's metadata_file).
  std::string file_env;
  uint64_t deadline_ms = 0;  // killed (with its process group) after this; 0 = never
};

struct script_result {
  uint64_t id = 0;
  bool ok = false;         // exited with status 0
  bool timed_out = false;  // killed at its deadline
  std::string status;      // "exit 1", "signal 9", "timed out" for logs
  std::string file_text;   // read_back only
};

class script_runner {
 public:
  explicit script_runner(std::string tmp_dir);  // empty: $TMPDIR, else /tmp
  ~script_runner();  // kills and reaps what still runs, removes the temp files
  script_runner(const script_runner&) = delete;
  script_runner& operator=(const script_runner&) = delete;

  // Starts the script and returns at once: its id (never 0), or 0 with err set. Secrets in
  // req.env and req.file_text are wiped before returning.
  uint64_t start(script_request req, std::string& err);
  // Forgets a script: killed if it still runs, reaped later, no result reported.
  void cancel(uint64_t id);
  // Reaps finished scripts and kills overdue ones; their results are appended to done.
  void poll(uint64_t now_ms, std::vector<script_result>& done);
  size_t running() const noexcept { return jobs_.size(); }

 private:
  struct job {
    uint64_t id;
    int pid;
    std::string file;  // temp file, removed when reaped; empty = none
    bool read_back;
    bool cancelled;
    bool killed;
    uint64_t deadline_ms;
  };
  std::string tmp_dir_;
  std::vector<job> jobs_;
  uint64_t next_id_ = 1;
};

// Environment values are copied as OpenVPN does: anything but printable ASCII becomes '_'.
std::string env_safe(std::string_view v);

}  // namespace dpvpn::cp
