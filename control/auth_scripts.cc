// SPDX-License-Identifier: MIT
// script_runner: user scripts started with posix_spawn and reaped with waitpid(WNOHANG), so that a
// slow script delays only its own client. What a client-connect script writes is read by
// parse_client_connect (client_options.h).
#include "dpvpn/auth_scripts.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>


extern char** environ;

namespace dpvpn::cp {

namespace {

constexpr size_t k_max_read_back = 64 * 1024;  // a client-connect file larger than this is cut

void wipe(std::string& s) {
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    s.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string read_small_file(const std::string& path) {
  std::string out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() >= k_max_read_back) break;
  }
  ::close(fd);
  return out;
}

// The environment of the child: ours, with req's variables added or replacing ours.
std::vector<std::string> build_env(const script_env& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    const std::string_view key = kv.substr(0, kv.find('='));
    bool replaced = false;
    for (const auto& [k, v] : extra) replaced = replaced || k == key;
    if (!replaced) env.emplace_back(kv);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

}  // namespace

std::string env_safe(std::string_view v) {
  std::string out(v);
  for (char& ch : out)
    if (ch < 0x20 || ch > 0x7E) ch = '_';
  return out;
}

script_runner::script_runner(std::string tmp_dir) : tmp_dir_(std::move(tmp_dir)) {
  if (tmp_dir_.empty()) {
    const char* t = std::getenv("TMPDIR");
    tmp_dir_ = (t && *t) ? t : "/tmp";
  }
}

script_runner::~script_runner() {
  for (job& j : jobs_) {
    ::kill(-j.pid, SIGKILL);
    ::waitpid(j.pid, nullptr, 0);
    if (!j.file.empty()) ::unlink(j.file.c_str());
  }
}

uint64_t script_runner::start(script_request req, std::string& err) {
  std::vector<std::string> env = build_env(req.env);
  for (auto& [k, v] : req.env) wipe(v);
  std::string file;
  if (req.pass_file) {
    std::string tmpl = tmp_dir_ + "/dpvpn_script_XXXXXX";
    const int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);  // mode 0600
    if (fd < 0) {
      err = "cannot create a temp file in " + tmp_dir_ + ": " + std::strerror(errno);
      wipe(req.file_text);
      for (std::string& e : env) wipe(e);
      return 0;
    }
    const bool ok = write_all(fd, req.file_text);
    ::close(fd);
    wipe(req.file_text);
    if (!ok) {
      err = "cannot write " + tmpl + ": " + std::strerror(errno);
      ::unlink(tmpl.c_str());
      for (std::string& e : env) wipe(e);
      return 0;
    }
    file = tmpl;
    if (req.file_env.empty()) req.argv.push_back(file);
    else env.push_back(req.file_env + "=" + file);
  }

  std::vector<char*> argv, envp;
  for (std::string& a : req.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  // The child gets an empty signal mask and default handlers (dpvpn blocks SIGTERM & co. in every
  // thread), its own process group (so that a timeout kills what it started too), /dev/null as
  // stdin, and none of our descriptors beyond stdout/stderr (DPDK's are not all close-on-exec).
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_init(&fa);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  // execve semantics, as openvpn runs scripts: a bare name is a file in the working directory
  // (server_config::cd), never a PATH search.
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  for (std::string& e : env) wipe(e);
  if (rc != 0) {
    err = "cannot run " + req.argv[0] + ": " + std::strerror(rc);
    if (!file.empty()) ::unlink(file.c_str());
    return 0;
  }
  const uint64_t id = next_id_++;
  jobs_.push_back(job{id, pid, file, req.read_back, false, false, req.deadline_ms});
  return id;
}

void script_runner::cancel(uint64_t id) {
  for (job& j : jobs_) {
    if (j.id != id || j.cancelled) continue;
    j.cancelled = true;
    ::kill(-j.pid, SIGKILL);
  }
}

void script_runner::poll(uint64_t now_ms, std::vector<script_result>& done) {
  for (size_t i = 0; i < jobs_.size();) {
    job& j = jobs_[i];
    if (!j.killed && j.deadline_ms && now_ms >= j.deadline_ms) {
      ::kill(-j.pid, SIGKILL);
      j.killed = true;
    }
    int st = 0;
    const pid_t r = ::waitpid(j.pid, &st, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR)) {
      ++i;
      continue;
    }
    // Reaped (or gone: ECHILD). A killed script's children were killed with its process group.
    if (!j.cancelled) {
      script_result res;
      res.id = j.id;
      res.timed_out = j.killed;
      if (r < 0) res.status = std::string("lost: ") + std::strerror(errno);
      else if (j.killed) res.status = "timed out";
      else if (WIFEXITED(st)) res.status = "exit " + std::to_string(WEXITSTATUS(st));
      else if (WIFSIGNALED(st)) res.status = "signal " + std::to_string(WTERMSIG(st));
      res.ok = r > 0 && !j.killed && WIFEXITED(st) && WEXITSTATUS(st) == 0;
      if (res.ok && j.read_back) res.file_text = read_small_file(j.file);
      done.push_back(std::move(res));
    }
    if (!j.file.empty()) ::unlink(j.file.c_str());
    jobs_.erase(jobs_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

}  // namespace dpvpn::cp
