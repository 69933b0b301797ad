#include "stats/summary.hpp"

namespace sealscope::stats {

void Summary::write(const FlowRecord& r) {
  all.add(r);
  if (r.verdict.label == "Unknown") unknown.add(r);
  by_family_activity[{std::string(r.verdict.family), std::string(r.verdict.activity)}].add(r);
  by_label[r.verdict.label].add(r);
  ++by_end[flow::end_reason_name(r.end)];
  ++by_confidence[r.verdict.confidence];
  if (r.icmp_errors > 0) {
    ++icmp_error_flows;
    icmp_errors += r.icmp_errors;
  }
}

}  // namespace sealscope::stats
