// SPDX-License-Identifier: MIT
// Single-core throughput of the data-channel crypto backends (seal/open, single-op and burst-32).
#include <openssl/crypto.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "dpvpn/crypto.h"

namespace {

using namespace dpvpn::crypto;

constexpr size_t k_burst = 32;
constexpr size_t k_sizes[] = {64, 512, 1420};

// Results feed this so the compiler cannot drop the work (it also goes through virtual calls
// into two shared libraries, which it cannot see into anyway).
volatile uint64_t g_sink;

struct point {
  const char* backend;
  std::string cipher;
  size_t size;
  const char* api;
  double seal_pps = 0, open_pps = 0;
};

// This thread's CPU time in seconds. Rates are per CPU-second of this thread, so time taken by
// other processes on a busy machine does not count (cache and SMT contention still does).
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Runs batch() (which does `per_batch` packets) for `seconds` of CPU time; returns packets/s.
template <class F>
double measure(double seconds, size_t per_batch, F&& batch) {
  for (int i = 0; i < 64; ++i) batch();  // warm caches, key schedules and branch predictors
  const double start = thread_cpu_s();
  uint64_t packets = 0;
  double elapsed = 0;
  do {
    for (int i = 0; i < 16; ++i) batch();
    packets += 16 * per_batch;
    elapsed = thread_cpu_s() - start;
  } while (elapsed < seconds);
  return static_cast<double>(packets) / elapsed;
}

struct packet_set {
  std::vector<std::vector<uint8_t>> data, tag, iv, aad;
  explicit packet_set(size_t len, size_t tag_len) {
    for (size_t i = 0; i < k_burst; ++i) {
      data.emplace_back(len + 16);
      tag.emplace_back(tag_len);
      iv.emplace_back(16);
      aad.emplace_back(8);
      random_bytes(data.back().data(), data.back().size());
      random_bytes(iv.back().data(), 16);
      random_bytes(aad.back().data(), 8);
    }
  }
};

// AEAD: open re-runs on the buffers each pass. After the first pass the tag no longer matches,
// but the cost does not depend on that: both backends always decrypt the whole buffer, compute
// the whole tag and compare it in constant time. Correctness is checked once before timing.
bool bench_aead(engine& eng, backend b, cipher_alg c, size_t len, double seconds, point& single, point& burst) {
  std::vector<uint8_t> key(key_len(c));
  random_bytes(key.data(), key.size());
  auto k = aead_key::create(b, c, key);
  if (!k) return false;
  packet_set p(len, 16);
  std::vector<aead_key::op> ops(k_burst);
  for (size_t i = 0; i < k_burst; ++i)
    ops[i] = {p.iv[i].data(), p.aad[i].data(), 8, p.data[i].data(), static_cast<uint32_t>(len), p.tag[i].data(), false};

  k->seal_burst(eng, ops.data(), k_burst);
  k->open_burst(eng, ops.data(), k_burst);
  for (const auto& o : ops)
    if (!o.ok) return false;

  uint64_t sink = 0;
  single.seal_pps = measure(seconds, k_burst, [&] {
    for (size_t i = 0; i < k_burst; ++i)
      sink += k->seal(eng, p.iv[i].data(), p.aad[i].data(), 8, p.data[i].data(), len, p.tag[i].data());
  });
  single.open_pps = measure(seconds, k_burst, [&] {
    for (size_t i = 0; i < k_burst; ++i)
      sink += k->open(eng, p.iv[i].data(), p.aad[i].data(), 8, p.data[i].data(), len, p.tag[i].data());
  });
  burst.seal_pps = measure(seconds, k_burst, [&] {
    k->seal_burst(eng, ops.data(), k_burst);
    sink += ops[0].ok + p.data[k_burst - 1][0];
  });
  burst.open_pps = measure(seconds, k_burst, [&] {
    k->open_burst(eng, ops.data(), k_burst);
    sink += ops[0].ok + p.data[k_burst - 1][0];
  });
  g_sink = sink;
  return true;
}

// CBC + HMAC as OpenVPN uses it (§8.2): ciphertext = packet-id(4) || payload, padded to a whole
// block (always 1..16 bytes of padding); HMAC over IV || ciphertext. Open checks the HMAC, then
// decrypts out of place, so the buffers stay valid across passes. No burst API exists for CBC.
bool bench_cbc(engine& eng, backend b, size_t len, double seconds, point& single) {
  const cipher_alg c = cipher_alg::aes_256_cbc;
  const digest_alg d = digest_alg::sha256;
  std::vector<uint8_t> ck(key_len(c)), hk(digest_len(d));
  random_bytes(ck.data(), ck.size());
  random_bytes(hk.data(), hk.size());
  auto k = cbc_hmac_key::create(b, c, d, ck, hk);
  if (!k) return false;
  const size_t ct_len = ((4 + len) / 16 + 1) * 16;
  // Each buffer: IV(16) || ciphertext(ct_len); plus a plaintext buffer and a MAC.
  std::vector<std::vector<uint8_t>> wire(k_burst, std::vector<uint8_t>(16 + ct_len)),
      plain(k_burst, std::vector<uint8_t>(ct_len)), mac(k_burst, std::vector<uint8_t>(32));
  for (auto& w : wire) random_bytes(w.data(), w.size());
  for (auto& pl : plain) random_bytes(pl.data(), pl.size());

  uint64_t sink = 0;
  auto seal_all = [&] {
    for (size_t i = 0; i < k_burst; ++i) {
      uint8_t* w = wire[i].data();
      sink += k->encrypt(eng, w, plain[i].data(), ct_len, w + 16);
      k->hmac(eng, w, 16 + ct_len, mac[i].data());
    }
  };
  size_t opened = 0;
  auto open_all = [&] {
    for (size_t i = 0; i < k_burst; ++i) {
      uint8_t* w = wire[i].data();
      uint8_t got[32];
      k->hmac(eng, w, 16 + ct_len, got);
      if (CRYPTO_memcmp(got, mac[i].data(), 32) == 0 && k->decrypt(eng, w, w + 16, ct_len, plain[i].data())) ++opened;
    }
  };
  seal_all();
  open_all();
  if (opened != k_burst) return false;
  single.seal_pps = measure(seconds, k_burst, seal_all);
  single.open_pps = measure(seconds, k_burst, open_all);
  g_sink = sink + opened;
  return true;
}

double gbps(double pps, size_t size) { return pps * static_cast<double>(size) * 8 / 1e9; }

void print_text(const std::vector<point>& pts, const char* arch) {
  std::printf("IPsec-MB arch: %s; one thread, rates per CPU-second of that thread; size = payload bytes; "
              "burst = %zu packets per call\n\n", arch, k_burst);
  std::printf("%-9s %-24s %5s %-7s %11s %9s %11s %9s\n", "backend", "cipher", "size", "api", "seal Mpps", "seal Gb/s",
              "open Mpps", "open Gb/s");
  for (const auto& p : pts)
    std::printf("%-9s %-24s %5zu %-7s %11.2f %9.2f %11.2f %9.2f\n", p.backend, p.cipher.c_str(), p.size, p.api,
                p.seal_pps / 1e6, gbps(p.seal_pps, p.size), p.open_pps / 1e6, gbps(p.open_pps, p.size));
}

void print_json(const std::vector<point>& pts, const char* arch, double seconds) {
  std::printf("{\"arch\":\"%s\",\"time_s\":%.3f,\"burst\":%zu,\"results\":[", arch, seconds, k_burst);
  for (size_t i = 0; i < pts.size(); ++i) {
    const auto& p = pts[i];
    std::printf("%s\n{\"backend\":\"%s\",\"cipher\":\"%s\",\"size\":%zu,\"api\":\"%s\",\"seal_pps\":%.0f,"
                "\"seal_gbps\":%.3f,\"open_pps\":%.0f,\"open_gbps\":%.3f}",
                i ? "," : "", p.backend, p.cipher.c_str(), p.size, p.api, p.seal_pps, gbps(p.seal_pps, p.size),
                p.open_pps, gbps(p.open_pps, p.size));
  }
  std::printf("\n]}\n");
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--time SECONDS] [--json]\n  --time S  run each point for S seconds (default 0.3)\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.3;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--json") {
      json = true;
    } else if (a == "--time" && i + 1 < argc) {
      char* end = nullptr;
      seconds = std::strtod(argv[++i], &end);
      if (*end != '\0' || !(seconds > 0)) return usage(argv[0]);
    } else {
      return usage(argv[0]);
    }
  }
  auto eng = engine::create();
  if (!eng) {
    std::fprintf(stderr, "cannot initialise IPsec-MB\n");
    return 1;
  }
  std::vector<point> pts;
  for (backend b : {backend::ipsec_mb, backend::openssl}) {
    for (cipher_alg c : {cipher_alg::aes_128_gcm, cipher_alg::aes_256_gcm, cipher_alg::chacha20_poly1305}) {
      for (size_t size : k_sizes) {
        point single{name(b), name(c), size, "single"}, burst{name(b), name(c), size, "burst32"};
        if (!bench_aead(*eng, b, c, size, seconds, single, burst)) {
          std::fprintf(stderr, "%s %s: self-check failed\n", name(b), name(c));
          return 1;
        }
        pts.push_back(single);
        pts.push_back(burst);
      }
    }
    for (size_t size : k_sizes) {
      point single{name(b), "AES-256-CBC+HMAC-SHA256", size, "single"};
      if (!bench_cbc(*eng, b, size, seconds, single)) {
        std::fprintf(stderr, "%s AES-256-CBC+SHA256: self-check failed\n", name(b));
        return 1;
      }
      pts.push_back(single);
    }
  }
  if (json)
    print_json(pts, eng->arch_name(), seconds);
  else
    print_text(pts, eng->arch_name());
  return 0;
}
