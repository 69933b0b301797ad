#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace sealscope::policy {

/// The times to block of one label over a run, in bounded memory: the count, mean, minimum and maximum
/// exactly, and the p50 and p90 (nearest rank) exactly up to `exact` values; past that, from a uniform
/// sample of `exact` of them (reservoir sampling, Vitter's algorithm R, with a fixed seed so that the same
/// input gives the same report). A long `policy enforce` would otherwise keep 8 bytes per blocked flow
/// for ever. Hand-written: no packaged library keeps a bounded uniform sample (Boost.Accumulators'
/// P² quantiles are estimates from the first value on).
class TimeSample {
 public:
  static constexpr size_t kDefaultExact = size_t{1} << 18;  ///< 2 MiB per label
  explicit TimeSample(size_t exact = kDefaultExact) : exact_(exact == 0 ? 1 : exact) {}

  void add(double v) {
    if (n_ == 0 || v < min_) min_ = v;
    if (n_ == 0 || v > max_) max_ = v;
    sum_ += v;
    ++n_;
    if (kept_.size() < exact_) {
      kept_.push_back(v);
    } else if (const uint64_t j = rng_() % n_; j < exact_) {
      kept_[j] = v;  // each of the n values is in the sample with probability exact / n
    }
  }

  struct Summary {
    double min = 0, p50 = 0, p90 = 0, max = 0, mean = 0;
    uint64_t n = 0;
    size_t sample = 0;  ///< the values p50 and p90 come from: n when exact, else the sample's size
    bool sampled() const { return sample < n; }
  };
  Summary summary() const {
    Summary s;
    s.n = n_;
    s.sample = kept_.size();
    if (n_ == 0) return s;
    std::vector<double> v = kept_;
    std::sort(v.begin(), v.end());
    auto rank = [&](double q) {
      size_t k = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
      return v[(k == 0 ? 1 : k) - 1];
    };
    s.min = min_;
    s.max = max_;
    s.p50 = rank(0.5);
    s.p90 = rank(0.9);
    s.mean = sum_ / static_cast<double>(n_);
    return s;
  }

 private:
  size_t exact_;
  std::vector<double> kept_;
  uint64_t n_ = 0;
  double min_ = 0, max_ = 0, sum_ = 0;
  std::mt19937_64 rng_{0x5ea15c09e};  // fixed: reproducible reports
};

}  // namespace sealscope::policy
