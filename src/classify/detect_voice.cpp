#include "classify/detect_voice.hpp"

namespace sealscope::classify {

bool voice_like(const flow::Flow& f, const VoiceRule& r) noexcept {
  if (f.key.l4 != 17) return false;
  const uint64_t up = f.packets[flow::kUp], down = f.packets[flow::kDown];
  if (up < r.min_packets_each_way || down < r.min_packets_each_way) return false;
  const double lo = static_cast<double>(up < down ? up : down), hi = static_cast<double>(up < down ? down : up);
  if (lo / hi < r.min_balance) return false;
  const double duration_s = static_cast<double>(f.last_seen - f.first_seen) / 1e6;
  if (duration_s < r.min_duration_s) return false;
  for (int d = 0; d < 2; ++d) {
    // Mean inter-arrival over the flow's life per direction (idle gaps included, so silence counts).
    const double iat = duration_s * 1000.0 / static_cast<double>(f.packets[d] - 1);
    if (iat > r.max_mean_iat_ms || iat < r.min_mean_iat_ms) return false;
    const double size = f.size_dir[d].mean;
    if (size < r.min_mean_size || size > r.max_mean_size) return false;
  }
  return true;
}

}  // namespace sealscope::classify
