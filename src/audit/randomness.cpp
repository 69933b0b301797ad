#include "audit/randomness.hpp"

#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <vector>

namespace sealscope::audit {

const char* judgement_name(Judgement j) {
  switch (j) {
    case Judgement::TooFew: return "too-few";
    case Judgement::RandomLike: return "random-like";
    case Judgement::CleartextLike: return "cleartext-like";
    case Judgement::Structured: return "structured";
    case Judgement::FixedLead: return "fixed-lead";
    case Judgement::Filler: return "filler";
  }
  return "?";
}

void ByteStats::add(const uint8_t* data, std::size_t len) {
  for (std::size_t i = 0; i < len; ++i) {
    const int b = data[i];
    ++counts[static_cast<size_t>(b)];
    if (last >= 0) {
      const double x = last, y = b;
      ++pairs;
      sx += x;
      sy += y;
      sxx += x * x;
      syy += y * y;
      sxy += x * y;
    }
    last = b;
  }
  n += len;
}

double expected_random_entropy(uint64_t n) {
  if (n == 0) return 0;
  const double N = static_cast<double>(n);
  if (n > (1u << 20)) return 8.0 - 255.0 / (2.0 * N * std::log(2.0));
  // E[H] = -sum_bins E[(c/n) log2(c/n)], c ~ Binomial(n, 1/256); the terms beyond mean + 12 sd vanish.
  const double p = 1.0 / 256, mean = N * p, sd = std::sqrt(N * p * (1 - p));
  const uint64_t kmax = std::min<uint64_t>(n, static_cast<uint64_t>(mean + 12 * sd + 20));
  double sum = 0;
  const double lgn = std::lgamma(N + 1);
  for (uint64_t k = 1; k <= kmax; ++k) {
    const double K = static_cast<double>(k);
    const double logpmf = lgn - std::lgamma(K + 1) - std::lgamma(N - K + 1) + K * std::log(p) +
                          (N - K) * std::log1p(-p);
    const double q = K / N;
    sum += std::exp(logpmf) * q * std::log2(q);
  }
  return -256.0 * sum;
}

uint32_t pooled_chi_square(const uint32_t* counts, uint32_t size, uint64_t total, double& chi, double& p) {
  uint32_t bins = size;
  while (bins > 2 && static_cast<double>(total) / bins < 5.0) bins /= 2;
  const uint32_t per = size / bins;
  std::vector<double> pooled(bins, 0.0);
  for (uint32_t i = 0; i < size; ++i) pooled[i / per] += counts[i];  // by high bits: i / per
  const double e = static_cast<double>(total) / bins;
  chi = 0;
  for (double o : pooled) chi += (o - e) * (o - e) / e;
  p = total == 0 ? 1.0 : boost::math::gamma_q((bins - 1) / 2.0, chi / 2.0);
  return bins;
}

Assessment assess(const ByteStats& s) {
  Assessment a;
  a.bytes = s.n;
  a.units = s.units;
  a.packets = s.packets;
  if (s.n > 0) {
    const double N = static_cast<double>(s.n);
    double h = 0;
    for (uint32_t c : s.counts) {
      if (c == 0) continue;
      const double q = c / N;
      h -= q * std::log2(q);
    }
    a.entropy = h;
    uint64_t printable = s.counts['\t'] + s.counts['\r'] + s.counts['\n'];
    for (int b = 0x20; b <= 0x7E; ++b) printable += s.counts[static_cast<size_t>(b)];
    a.printable = static_cast<double>(printable) / N;
    a.expected_entropy = expected_random_entropy(s.n);
    a.chi_bins = pooled_chi_square(s.counts.data(), 256, s.n, a.chi_square, a.p_value);
  }
  if (s.pairs > 1) {
    const double P = static_cast<double>(s.pairs);
    const double num = P * s.sxy - s.sx * s.sy;
    const double den = std::sqrt((P * s.sxx - s.sx * s.sx) * (P * s.syy - s.sy * s.sy));
    a.serial = den > 0 ? num / den : 1.0;  // constant bytes: perfectly correlated
  }
  if (s.units > 0) {
    a.lead_bins = pooled_chi_square(s.lead.data(), 16, s.units, a.lead_chi_square, a.lead_p_value);
    uint32_t top = 0;
    for (uint32_t c : s.lead) top = std::max(top, c);
    a.lead_share = static_cast<double>(top) / s.units;
  }
  const bool enough_bytes = s.n >= kMinBytes, enough_units = s.units >= kMinUnits;
  if ((!enough_bytes && !enough_units) || s.packets < kMinPackets) {
    a.judgement = Judgement::TooFew;
  } else if (enough_bytes && a.entropy < kMaxFillerEntropy) {
    a.judgement = Judgement::Filler;
  } else if (enough_bytes && a.p_value < kAlpha && a.printable >= kMinPrintableShare &&
             a.expected_entropy - a.entropy >= kMinTextDeficit) {
    a.judgement = Judgement::CleartextLike;
  } else if (enough_bytes && a.p_value < kAlpha && a.expected_entropy - a.entropy >= kMinEntropyDeficit) {
    a.judgement = Judgement::Structured;
  } else if (enough_units && a.lead_p_value < kAlpha && a.lead_share >= kMinLeadShare) {
    a.judgement = Judgement::FixedLead;
  } else {
    a.judgement = Judgement::RandomLike;
  }
  return a;
}

}  // namespace sealscope::audit
