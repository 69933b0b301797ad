#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "stats/flow_record.hpp"
#include "stats/summary.hpp"

namespace date {
class time_zone;
}

namespace sealscope::report {

/// The --html report of `sealscope analyze`: one self-contained page (inline CSS; no script, nothing
/// fetched, a Content-Security-Policy that forbids both) built from the run summary and from what this sink
/// keeps of the records itself: the flows with the most bytes, new flows per time interval by activity, and
/// new flows per local hour of the day by activity.
/// Metadata only, like every output: counts, addresses, ports, labels, server names. Deterministic for the
/// same records in the same order (no clock, no host name).
class HtmlReport : public stats::RecordSink {
 public:
  static constexpr size_t kTopFlows = 25;
  static constexpr size_t kMaxBins = 96;  ///< time-line intervals at most; the interval widens to fit
  /// The activities in the order the page shows them (labels.hpp: activity_of).
  static constexpr std::array<const char*, 6> kActivities = {"call", "chat", "files", "signalling", "dns", "other"};

  /// The zone of the hour-of-day table (`analyze --tz`): `tz` from find_zone(), null for UTC. Set it before
  /// the first record.
  void set_zone(const date::time_zone* tz, std::string name);

  void write(const stats::FlowRecord& r) override;

  /// The page as text; `generator` names the program and its nDPI ("sealscope 0.1.0 (nDPI 4.2.0)").
  std::string render(const stats::Summary& s, const std::string& generator) const;
  /// Writes render() to `path` (- = stdout); throws sealscope::Error when it cannot.
  void write_file(const stats::Summary& s, const std::string& path, const std::string& generator) const;

  /// Width of one time-line interval in seconds (1, 2, 10, 20, 60, … : each a multiple of the one before).
  int64_t bin_seconds() const { return bin_s_; }

 private:
  struct TopFlow {
    uint64_t bytes = 0, packets = 0, id = 0;
    std::string src, dst, l4, label, family, activity, server;
    uint16_t sport = 0, dport = 0;
    bool has_ports = false;
    int vlan = -1;
    decode::TunnelType tunnel = decode::TunnelType::None;
    bool has_tunnel_id = false;
    uint32_t tunnel_id = 0;            ///< TEID, VNI, GRE key or ERSPAN session (has_tunnel_id)
    std::string outer_src, outer_dst;  ///< the tunnel's endpoints (for GTP-U, cell site and core)
    TimestampUs first = 0, last = 0;
  };
  static bool bigger(const TopFlow& a, const TopFlow& b);
  void widen();

  std::vector<TopFlow> top_;  ///< a heap whose front is the smallest of the kept flows
  int64_t bin_s_ = 1;
  /// interval index (first_seen / bin width) → new flows per activity (kActivities order)
  std::map<int64_t, std::array<uint64_t, kActivities.size()>> bins_;
  const date::time_zone* tz_ = nullptr;  ///< null = UTC
  std::string zone_name_ = "UTC";
  /// local hour of the first packet (0..23) → new flows per activity (kActivities order)
  std::array<std::array<uint64_t, kActivities.size()>, 24> hours_{};
};

}  // namespace sealscope::report
