#pragma once
// Behavioural (metadata-only) call detector: a bidirectional UDP flow whose packet rate, sizes and
// timing look like interactive voice/video media. Basis: voice codecs send one packet per 10-60 ms
// frame in each direction (RFC 7587 Opus 2.5-60 ms frames, G.711/G.729 20 ms ptime, RFC 3551 §4.5),
// so both directions carry a steady stream of small, similar-sized datagrams; video adds larger
// packets but keeps the audio cadence. Used only for flows that nothing else named; reported with
// confidence "heuristic" and the generic label RTP (family VoIP, activity call).

#include "flow/flow.hpp"

namespace sealscope::classify {

/// Thresholds of the behavioural rule (documented in man/sealscope-flows.5).
struct VoiceRule {
  uint64_t min_packets_each_way = 10;
  double min_duration_s = 2.0;
  double max_mean_iat_ms = 80.0;   ///< per direction: at least ~12 packets/s
  double min_mean_iat_ms = 5.0;    ///< at most ~200 packets/s per direction (bulk transfer is faster)
  double min_mean_size = 60.0;     ///< IP bytes
  double max_mean_size = 1000.0;   ///< per direction; voice-only flows are far below this
  double min_balance = 0.2;        ///< packets of the quieter direction / the busier one
};

/// True when the flow's metadata fits the rule.
bool voice_like(const flow::Flow& f, const VoiceRule& r = VoiceRule{}) noexcept;

}  // namespace sealscope::classify
