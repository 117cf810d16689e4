// SPDX-License-Identifier: MIT
// The raw AEAD reference of dpvpn-bench's scenarios (bench_raw.h).
#include "bench_raw.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace dpvpn::bench {

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void eal_memory(std::vector<std::string>& eal, bool hugepages) {
  if (hugepages) std::replace(eal.begin(), eal.end(), std::string("--no-huge"), std::string("--in-memory"));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

namespace {
[[noreturn]] void fatal(const char* m) {
  std::fprintf(stderr, "dpvpn-bench: %s\n", m);
  std::exit(1);
}
}  // namespace

raw_ref::raw_ref(crypto::engine& eng, crypto::backend backend, crypto::cipher_alg cipher,
                 const std::vector<uint16_t>& pattern, bool seal, uint32_t offset)
    : eng_(eng), seal_(seal) {
  std::vector<uint8_t> key(crypto::key_len(cipher));
  crypto::random_bytes(key.data(), key.size());
  key_ = crypto::aead_key::create(backend, cipher, key);
  if (!key_) fatal("raw AEAD key setup failed");
  data_.resize(k_bufs);
  meta_.assign(k_bufs, std::vector<uint8_t>(64));
  ops_.resize(k_bufs);
  for (uint32_t i = 0; i < k_bufs; ++i) {
    const uint32_t len = pattern[i % pattern.size()];
    data_[i].resize(len + 128);
    // 64-byte aligned plus `offset` (the dataplane opens at 194 mod 64 = 2: after the outer
    // headers and the data-channel header in a 128-byte mbuf headroom; it seals at offset 0).
    uint8_t* d = data_[i].data() + (64 - reinterpret_cast<uintptr_t>(data_[i].data()) % 64) % 64 + offset;
    crypto::random_bytes(d, len);
    crypto::random_bytes(meta_[i].data(), meta_[i].size());
    ops_[i] = {meta_[i].data(), meta_[i].data() + 16, 8, d, len, meta_[i].data() + 32, false};
  }
  key_->seal_burst(eng_, ops_.data(), ops_.size());
  key_->open_burst(eng_, ops_.data(), ops_.size());
  for (const auto& op : ops_)
    if (!op.ok) fatal("raw AEAD self-check failed");
  for (int i = 0; i < 32; ++i) single_batch(), burst_batch(), job_batch();  // warm caches and predictors
}

double raw_ref::round(double seconds) {
  const double r[3] = {time_it(seconds / 3, [this] { single_batch(); }),
                       time_it(seconds / 3, [this] { burst_batch(); }),
                       time_it(seconds / 3, [this] { job_batch(); })};
  const int best = static_cast<int>(std::max_element(r, r + 3) - r);
  ++wins_[best];
  for (int i = 0; i < 3; ++i) rates_[i].push_back(r[i]);
  return r[best];
}

const char* raw_ref::api() const {
  static const char* const names[3] = {"single", "burst", "job"};
  return names[std::max_element(wins_, wins_ + 3) - wins_];
}

double raw_ref::median_rate(int api) const {
  if (rates_[api].empty()) return 0;
  return median(rates_[api]);
}

void raw_ref::single_batch() {
  for (auto& op : ops_)
    sink_ = sink_ + (seal_ ? key_->seal(eng_, op.iv, op.aad, op.aad_len, op.data, op.len, op.tag)
                           : key_->open(eng_, op.iv, op.aad, op.aad_len, op.data, op.len, op.tag));
}

void raw_ref::burst_batch() {
  seal_ ? key_->seal_burst(eng_, ops_.data(), ops_.size()) : key_->open_burst(eng_, ops_.data(), ops_.size());
  sink_ = sink_ + ops_[0].ok;
}

void raw_ref::job_batch() {
  seal_ ? key_->seal_jobs(eng_, ops_.data(), ops_.size()) : key_->open_jobs(eng_, ops_.data(), ops_.size());
  sink_ = sink_ + ops_[0].ok;
}

template <class F>
double raw_ref::time_it(double seconds, F&& batch) {
  const double t0 = thread_cpu_s();
  uint64_t n = 0;
  double el = 0;
  do {
    for (int i = 0; i < 16; ++i) batch();
    n += 16 * k_bufs;
    el = thread_cpu_s() - t0;
  } while (el < seconds);
  return static_cast<double>(n) / el;
}

}  // namespace dpvpn::bench
