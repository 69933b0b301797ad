#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

namespace sealscope::audit {

/// Byte statistics of one flow direction's content (framing already stripped), kept incrementally so a
/// flow's bytes are never stored: a 256-bin histogram, the sums of the serial correlation, and a histogram
/// of the leading byte of each protocol unit (record, frame, RTP payload) by its high nibble.
struct ByteStats {
  std::array<uint32_t, 256> counts{};
  uint64_t n = 0;
  // Serial correlation over consecutive pairs (x_i, x_{i+1}).
  uint64_t pairs = 0;
  double sxy = 0, sx = 0, sy = 0, sxx = 0, syy = 0;
  int last = -1;
  std::array<uint32_t, 16> lead{};
  uint32_t units = 0;
  uint32_t packets = 0;  ///< packets (datagrams, or segments with new bytes) that contributed

  void add(const uint8_t* data, std::size_t len);
  /// Marks the start of a unit whose first content byte is `b` (call before add() of its bytes).
  void unit(uint8_t b) {
    ++lead[b >> 4];
    ++units;
  }
  /// Breaks the serial-correlation chain (a gap, or the next datagram: pairs only within contiguous bytes).
  void cut() { last = -1; }
};

/// What the numbers say about one direction.
enum class Judgement : uint8_t {
  TooFew,         ///< too few bytes and units to say anything (see kMinBytes, kMinUnits)
  RandomLike,     ///< indistinguishable from random bytes at these sample sizes: ciphertext (or compressed)
  CleartextLike,  ///< text: far from random and mostly printable (messages, markup, JSON, base64)
  Structured,     ///< far from random but binary: padding, probes, unencrypted binary headers or structures
  FixedLead,      ///< each unit starts with one of few values: an unencrypted codec or protocol header
  Filler,         ///< nearly constant bytes (entropy below kMaxFillerEntropy): padding or probes, no content
};
const char* judgement_name(Judgement j);

/// Below these sample sizes no judgement is made (reported as too-few). A direction whose content came in
/// one packet is a probe or a keepalive, not a conversation: too-few as well (hole-punching probes of
/// media relays carry small cleartext headers and nothing else).
inline constexpr uint64_t kMinBytes = 64;
inline constexpr uint32_t kMinPackets = 2;
inline constexpr uint32_t kMinUnits = 40;
/// Significance level of each test: a direction of random bytes is wrongly flagged with probability below
/// this per test (so below 1 in 250,000 over the two tests of a direction).
inline constexpr double kAlpha = 1e-6;
/// Effect size needed besides significance: entropy this many bits per byte below what random bytes of the
/// same count would show. Text, markup, JSON and base64 sit 2-4 bits below (base64 carries at most 6 bits
/// per byte); ciphertext behind a few bytes of unknown cleartext header per datagram (proprietary media
/// relays) sits 0.5-1.2 bits below in small flows and must not be called cleartext.
inline constexpr double kMinEntropyDeficit = 1.5;
/// Below this entropy (bits/byte) the bytes are nearly one value (zero-filled probes, padding): they carry
/// no content to judge, so they are neither ciphertext nor cleartext.
inline constexpr double kMaxFillerEntropy = 1.0;
/// Text: printable ASCII (0x20-0x7E, TAB, CR, LF) in at least this share of the bytes (random bytes: 0.38),
/// with a significant chi-square and an entropy deficit of at least kMinTextDeficit, is CleartextLike.
/// Non-random bytes that are not text (deficit >= kMinEntropyDeficit) are Structured: real messengers send
/// zero-padded probes and binary control packets in the clear, which say nothing about message content
/// (the canaries do).
inline constexpr double kMinPrintableShare = 0.75;
inline constexpr double kMinTextDeficit = 0.5;
/// FixedLead also needs the commonest leading nibble in at least this share of units (random: 1/16).
inline constexpr double kMinLeadShare = 0.25;

struct Assessment {
  uint64_t bytes = 0;
  double entropy = 0;           ///< bits per byte (Shannon, plug-in estimate)
  double expected_entropy = 0;  ///< what uniformly random bytes of the same count show on average
  double chi_square = 0;        ///< over `chi_bins` bins of equal expectation (byte values pooled by their
  uint32_t chi_bins = 0;        ///<   high bits so each bin expects >= 5 bytes)
  double p_value = 1;           ///< upper tail of chi-square with chi_bins - 1 degrees of freedom
  double serial = 0;            ///< serial correlation coefficient of consecutive bytes (random: ~0)
  double printable = 0;         ///< share of printable ASCII bytes (random: ~0.38)
  uint32_t units = 0;
  uint32_t packets = 0;
  double lead_chi_square = 0, lead_p_value = 1, lead_share = 0;
  uint32_t lead_bins = 0;
  Judgement judgement = Judgement::TooFew;
};

/// Runs the tests on the statistics (see the constants above for the rule).
Assessment assess(const ByteStats& s);

/// Expected plug-in entropy (bits) of n uniformly random bytes: exact binomial sum up to 2^20 bytes,
/// Miller-Madow's correction beyond.
double expected_random_entropy(uint64_t n);

/// Chi-square of counts against equal expectation after pooling `counts` (a power of two in size) into the
/// largest power-of-two number of bins with at least 5 expected per bin; returns bins used (>= 2) and p.
uint32_t pooled_chi_square(const uint32_t* counts, uint32_t size, uint64_t total, double& chi, double& p);

}  // namespace sealscope::audit
