// The time-to-block figures of a label: exact up to the sample's size, then from a bounded uniform sample
// with the count, mean, minimum and maximum still exact.
#include <catch2/catch.hpp>
#include <cmath>

#include "policy/time_sample.hpp"

using sealscope::policy::TimeSample;

TEST_CASE("time to block: nearest-rank p50 and p90, exact while the values fit", "[policy][sample]") {
  TimeSample t(10);
  CHECK(t.summary().n == 0);
  CHECK(t.summary().p90 == 0);
  for (double v : {7.0, 1.0, 9.0, 3.0, 5.0}) t.add(v);
  const auto s = t.summary();
  CHECK(s.n == 5);
  CHECK_FALSE(s.sampled());
  CHECK(s.min == 1.0);
  CHECK(s.max == 9.0);
  CHECK(s.p50 == 5.0);  // rank ceil(2.5) = 3 of 1 3 5 7 9
  CHECK(s.p90 == 9.0);  // rank ceil(4.5) = 5
  CHECK(s.mean == 5.0);
}

TEST_CASE("time to block: past the limit, a uniform sample of bounded size, reproducible", "[policy][sample]") {
  // 100 000 values 0..99 999 in a scrambled order (a multiplicative permutation), kept in 1 000.
  auto fill = [](TimeSample& t) {
    for (uint64_t i = 0; i < 100000; ++i) t.add(static_cast<double>((i * 7919) % 100000));
  };
  TimeSample a(1000), b(1000);
  fill(a);
  fill(b);
  const auto s = a.summary();
  CHECK(s.n == 100000);
  CHECK(s.sample == 1000);
  CHECK(s.sampled());
  CHECK(s.min == 0.0);      // exact whatever the sample holds
  CHECK(s.max == 99999.0);
  CHECK(s.mean == 49999.5);
  // A uniform sample of 1 000: the quantiles' rank error is about sqrt(q(1-q)/1000), under 2 % at 4 sigma.
  CHECK(std::abs(s.p50 - 50000.0) < 6400.0);
  CHECK(std::abs(s.p90 - 90000.0) < 3800.0);
  const auto r = b.summary();  // the same values in the same order: the same report
  CHECK(r.p50 == s.p50);
  CHECK(r.p90 == s.p90);
  // Values that come late are sampled as well as early ones: a sample that stopped at the first 1 000
  // values would put p50 of 0..99 999 in order at 499.
  TimeSample rising(1000);
  for (uint64_t i = 0; i < 100000; ++i) rising.add(static_cast<double>(i));
  CHECK(std::abs(rising.summary().p50 - 50000.0) < 6400.0);
}
