// SPDX-License-Identifier: MIT
// metrics_hub: the control thread's published figures, the snapshot readers take, and the
// dp-metrics HTTP server. libmicrohttpd (Debian's libmicrohttpd-dev) serves HTTP/1.1 on its own
// thread, with its own connection limits and timeouts: no hand-written HTTP parser faces the
// network (docs/operations.md, "Metrics").
#include "metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <rte_mempool.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "client.h"
#include "dpvpn/session_mem.h"
#include "gateway.h"

namespace dpvpn::cp {

namespace {

uint64_t steady_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}
uint64_t wall_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

// A listening TCP socket on ip:port, or -1 with err. Bound here rather than by libmicrohttpd so
// that a bad address or a port in use is reported as such.
int listen_socket(const std::string& ip, uint16_t port, std::string& err) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (auto* s4 = reinterpret_cast<sockaddr_in*>(&ss); inet_pton(AF_INET, ip.c_str(), &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    len = sizeof *s4;
  } else if (auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss); inet_pton(AF_INET6, ip.c_str(), &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    len = sizeof *s6;
  } else {
    err = "expected an IPv4 or IPv6 address, got " + ip;
    return -1;
  }
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 16) != 0) {
    err = "cannot listen on " + ip + " port " + std::to_string(port) + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

// The request handler (libmicrohttpd's thread): GET or HEAD /metrics, 404 for other paths, 405
// for other methods. Requests have no body, so the first call answers.
struct metrics_http {
  static MHD_Result answer(void* cls, MHD_Connection* conn, const char* url, const char* method, const char*,
                           const char*, size_t*, void**) {
    auto* hub = static_cast<const metrics_hub*>(cls);
    unsigned code = MHD_HTTP_OK;
    std::string body;
    const char* type = "text/plain; version=0.0.4; charset=utf-8";
    if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0) {
      code = MHD_HTTP_METHOD_NOT_ALLOWED;
      body = "only GET and HEAD\n";
      type = "text/plain; charset=utf-8";
    } else if (std::strcmp(url, "/metrics") != 0) {
      code = MHD_HTTP_NOT_FOUND;
      body = "not found: the metrics are at /metrics\n";
      type = "text/plain; charset=utf-8";
    } else {
      body = hub->prometheus_text();
    }
    (code == MHD_HTTP_OK ? hub->http_ok_ : hub->http_other_).fetch_add(1, std::memory_order_relaxed);
    MHD_Response* r = MHD_create_response_from_buffer(body.size(), body.data(), MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    const MHD_Result ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
  }
};

metrics_hub::metrics_hub(const gateway_control& gw, const dp::dp_shared& sh, bool per_client)
    : gw_(gw), sh_(sh), per_client_(per_client) {}

metrics_hub::~metrics_hub() {
  if (http_) MHD_stop_daemon(http_);
}

bool metrics_hub::listen(const std::string& ip, uint16_t port, std::string& err) {
  const int fd = listen_socket(ip, port, err);
  if (fd < 0) return false;
  // A scrape is one short request: a few connections at once, idle ones closed after 10 s.
  http_ = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, nullptr, nullptr, &metrics_http::answer, this,
                           MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, 32u,
                           MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
  if (!http_) {
    ::close(fd);
    err = "libmicrohttpd could not start its server on " + ip + " port " + std::to_string(port);
    return false;
  }
  return true;
}

bool metrics_hub::poll(uint64_t now_ms) {
  const uint64_t t = steady_ns();
  if (last_poll_ns_) loop_.add(t - last_poll_ns_);
  last_poll_ns_ = t;
  if (now_ms >= next_publish_ms_) {
    publish(now_ms);
    next_publish_ms_ = now_ms + k_publish_ms;
  }
  return false;
}

void metrics_hub::publish(uint64_t now_ms) {
  auto f = std::make_shared<control_figures>();
  f->taken_ms = now_ms;
  f->handshakes_completed = gw_.handshakes_completed();
  f->handshakes_failed = gw_.handshakes_failed();
  f->loop = loop_;
  f->per_client = per_client_;
  for (const auto& [k, cp] : gw_.clients()) {
    const client& c = *cp;
    if (c.dead || !c.s) continue;
    ++(c.s->established() ? f->sessions_established : f->sessions_handshaking);
    // A connected client: as the status file lists them (status_entries).
    if (c.auth.stage != client::auth_stage::accepted || !c.dp.peer) continue;
    ++f->clients_connected;
    if (!per_client_) continue;
    const dp::dp_peer& p = *c.dp.peer;  // the owner lcore's counters (relaxed, dp: wo, cp: ro)
    f->clients.push_back({c.cn.empty() ? "UNDEF" : c.cn, c.real_address(), c.peer_id,
                          p.rx_bytes.load(std::memory_order_relaxed), p.tx_bytes.load(std::memory_order_relaxed),
                          p.rx_pkts.load(std::memory_order_relaxed), p.tx_pkts.load(std::memory_order_relaxed)});
  }
  std::shared_ptr<const control_figures> old = std::move(f);
  {
    std::lock_guard<std::mutex> lk(mu_);
    published_.swap(old);
  }
  // The previous figures are freed here, outside the lock (unless a reader still holds them).
}

std::shared_ptr<const control_figures> metrics_hub::control_now() const {
  std::lock_guard<std::mutex> lk(mu_);
  return published_;
}

metrics_snapshot metrics_hub::snapshot() const {
  metrics_snapshot s;
  s.lan = sh_.cfg.lan.on;
  s.lcores.reserve(sh_.cfg.n_workers);
  for (uint16_t w = 0; w < sh_.cfg.n_workers; ++w)
    s.lcores.push_back(figures_of(sh_.lcores[w]->lcore_id, sh_.lcores[w]->ctr));
  if (sh_.pool) {
    mbuf_figures m;
    m.pool = sh_.pool->name;
    m.in_use = rte_mempool_in_use_count(sh_.pool);
    m.available = rte_mempool_avail_count(sh_.pool);
    m.size = sh_.pool->size;
    s.pools.push_back(std::move(m));
  }
  const session_mem_stats sm = session_mem_usage();
  s.session_mem.in_use = sm.in_use;
  s.session_mem.mapped = sm.mapped;
  s.session_mem.thp_advised = sm.thp_advised;
  if (const auto cp = control_now()) s.cp = *cp;
  s.now_ms = wall_ms();
  return s;
}

std::string metrics_hub::counters() const {
  return "metrics: http /metrics " + std::to_string(http_ok_.load(std::memory_order_relaxed)) + ", other requests " +
         std::to_string(http_other_.load(std::memory_order_relaxed)) + ", telemetry reads " +
         std::to_string(telemetry_reads_.load(std::memory_order_relaxed)) + ", control loop max " +
         std::to_string(loop_.max_ns / 1000) + " us";
}

}  // namespace dpvpn::cp
