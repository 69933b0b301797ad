#include "report/summary_writer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "common/display_text.hpp"
#include "common/errors.hpp"
#include "report/flow_writers.hpp"
#include "report/text_escape.hpp"

namespace sealscope::report {

namespace {
nlohmann::json totals_json(const stats::Totals& t) {
  return {{"flows", t.flows}, {"packets", t.packets}, {"bytes", t.bytes}};
}

/// What --ipfix sent: the summary's "ipfix" object, and policy enforce's capture.ipfix.
template <class Json>
Json ipfix_json(const stats::IpfixTotals& x) {
  return {{"collector", display_text(x.collector)}, {"messages", x.messages}, {"records", x.records},
          {"failed_messages", x.failed_messages}, {"failed_records", x.failed_records},
          {"refused", x.refused}, {"skipped", x.skipped},
          {"error", x.error.empty() ? Json(nullptr) : Json(display_text(x.error))}};
}

}  // namespace


double capture_seconds(const stats::Summary& s) {
  return s.last_ts > s.first_ts ? static_cast<double>(s.last_ts - s.first_ts) / 1e6 : 0.0;
}

nlohmann::json summary_json(const stats::Summary& s) {
  using nlohmann::json;
  json j;
  j["inputs"] = s.inputs;
  j["frames"] = s.frames;
  j["frames_bytes"] = s.frames_bytes;
  j["frames_cut_by_snaplen"] = s.frames_cut;
  j["not_ip_frames"] = s.not_ip;
  j["malformed_frames"] = s.malformed;
  j["fragments_attributed"] = s.fragments_attributed;
  j["icmp_errors"] = {{"flows", s.icmp_error_flows}, {"messages", s.icmp_errors}};
  j["flows"] = totals_json(s.all);
  j["unknown"] = totals_json(s.unknown);
  j["unknown_share"] = {{"flows", s.all.flows ? static_cast<double>(s.unknown.flows) / s.all.flows : 0.0},
                        {"bytes", s.all.bytes ? static_cast<double>(s.unknown.bytes) / s.all.bytes : 0.0}};
  json fa = json::array();
  for (const auto& [k, t] : s.by_family_activity) {
    json row = totals_json(t);
    row["family"] = k.first;
    row["activity"] = k.second;
    fa.push_back(row);
  }
  j["by_family_activity"] = fa;
  json labels = json::object();
  for (const auto& [k, t] : s.by_label) labels[k] = totals_json(t);
  j["by_label"] = labels;
  j["by_end"] = s.by_end;
  j["by_confidence"] = s.by_confidence;
  json an = json::object();
  for (int i = 0; i < static_cast<int>(decode::Anomaly::Count); ++i) {
    const auto a = static_cast<decode::Anomaly>(i);
    if (s.anomalies.get(a) > 0) an[decode::anomaly_name(a)] = s.anomalies.get(a);
  }
  j["anomalies"] = an;
  j["evictions"] = s.evictions;
  j["peak_flows"] = s.peak_flows;
  j["ndpi_state"] = {{"parked", s.ndpi_parked}, {"restored", s.ndpi_restored}};
  j["kernel_drops"] = s.kernel_drops;
  j["interface_drops"] = s.interface_drops;
  j["inputs_overlapping"] = s.inputs_overlapping;
  j["capture"] = {{"first_seen", s.timed ? json(format_rfc3339_us(s.first_ts)) : json(nullptr)},
                  {"last_seen", s.timed ? json(format_rfc3339_us(s.last_ts)) : json(nullptr)},
                  {"duration_s", capture_seconds(s)}};
  j["problems"] = problems_json<json>(s.problems);
  j["interrupted"] = s.interrupted;
  if (s.ipfix) j["ipfix"] = ipfix_json<json>(*s.ipfix);
  return j;
}

std::vector<std::string> incomplete_lines(const stats::Summary& s) {
  std::vector<std::string> out;
  for (const auto& p : s.problems) {
    if (p.live) {  // an interface has no byte offset
      out.push_back(fmt::format("INCOMPLETE: {}: {} (capture stopped after {} packets)", p.name, p.reason, p.packets));
      continue;
    }
    out.push_back(fmt::format("INCOMPLETE: {}: {} (stopped at byte {} after {} packets)", p.name, p.reason, p.offset,
                              p.packets));
  }
  if (s.interrupted) out.emplace_back("INTERRUPTED: stopped by a signal; what was read until then is reported");
  if (s.queue) {
    // Packets of an inline run that no rule judged, or whose verdict went astray: the report cannot count them.
    const stats::QueueTotals& q = *s.queue;
    if (q.overflow > 0) {
      out.push_back(fmt::format("INCOMPLETE: {}: {} packets found the queue full and were dropped unjudged", q.name,
                                q.overflow));
    }
    if (q.undelivered > 0 || q.lost_messages > 0) {
      out.push_back(fmt::format("INCOMPLETE: {}: {} packets could not be handed over and {} messages were lost on "
                                "the way (dropped by the kernel, unjudged)",
                                q.name, q.undelivered, q.lost_messages));
    }
    if (q.verdict_errors > 0) {
      out.push_back(fmt::format("INCOMPLETE: {}: the kernel did not take {} verdicts", q.name, q.verdict_errors));
    }
    if (!q.kernel_known) {
      out.push_back(fmt::format("INCOMPLETE: {}: the kernel's counters could not be read: packets it could not "
                                "queue are unknown",
                                q.name));
    }
  }
  return out;
}

nlohmann::ordered_json capture_json(const stats::Summary& s) {
  nlohmann::ordered_json in;
  in["frames"] = s.frames;
  in["not_ip"] = s.not_ip;
  in["malformed"] = s.malformed;
  in["problems"] = problems_json<nlohmann::ordered_json>(s.problems);
  in["interrupted"] = s.interrupted;
  if (s.queue) {
    const stats::QueueTotals& q = *s.queue;
    in["queue"] = {{"name", q.name},
                   {"fail_open", q.fail_open},
                   {"packets", q.packets},
                   {"accepted", q.accepted},
                   {"dropped", q.dropped},
                   {"verdict_errors", q.verdict_errors},
                   {"lost_messages", q.lost_messages},
                   {"overflow", q.kernel_known ? nlohmann::ordered_json(q.overflow) : nlohmann::ordered_json()},
                   {"undelivered", q.kernel_known ? nlohmann::ordered_json(q.undelivered) : nlohmann::ordered_json()}};
  }
  if (s.ipfix) in["ipfix"] = ipfix_json<nlohmann::ordered_json>(*s.ipfix);
  return in;
}

void write_summary_json(const stats::Summary& s, const std::string& path) {
  if (path == "-") {
    fmt::print("{}\n", json_text(summary_json(s)));
    std::fflush(stdout);  // a failure is reported when the program ends (cli::run checks standard output)
    return;
  }
  // OutputFile, as the flow files use: its errors name the file and the system's reason (a full disk).
  OutputFile f(path);
  const std::string text = json_text(summary_json(s)) + "\n";
  f.write(text.data(), text.size());
  f.close();
}

std::vector<std::pair<std::pair<std::string, std::string>, stats::Totals>> family_activity_rows(
    const stats::Summary& s) {
  std::vector<std::pair<std::pair<std::string, std::string>, stats::Totals>> rows(s.by_family_activity.begin(),
                                                                                    s.by_family_activity.end());
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    if (a.first.first.empty() != b.first.first.empty()) return !a.first.first.empty();
    return a.second.bytes > b.second.bytes;
  });
  return rows;
}

void print_summary(const stats::Summary& s, FILE* out) {
  const double dur = capture_seconds(s);
  print_text(out, "sealscope analyze: {} input(s), {} frames ({}), capture span {:.3f} s\n", s.inputs.size(),
             s.frames, human_bytes(s.frames_bytes), dur);
  print_text(out, "flows: {}   packets: {}   bytes (IP): {}   peak concurrent flows: {}\n", s.all.flows,
             s.all.packets, human_bytes(s.all.bytes), s.peak_flows);
  print_text(out, "unknown: {} flows ({:.1f}%), {} ({:.1f}% of bytes)\n", s.unknown.flows,
             s.all.flows ? 100.0 * s.unknown.flows / s.all.flows : 0.0, human_bytes(s.unknown.bytes),
             s.all.bytes ? 100.0 * s.unknown.bytes / s.all.bytes : 0.0);
  print_text(out, "\n{:<14} {:<11} {:>8} {:>10} {:>12}\n", "family", "activity", "flows", "packets", "bytes");
  for (const auto& [k, t] : family_activity_rows(s)) {
    print_text(out, "{:<14} {:<11} {:>8} {:>10} {:>12}\n", k.first.empty() ? "-" : k.first, k.second, t.flows,
               t.packets, human_bytes(t.bytes));
  }
  print_text(out, "\nflow ends:");
  for (const auto& [k, v] : s.by_end) print_text(out, " {}={}", k, v);
  print_text(out, "\nconfidence:");
  for (const auto& [k, v] : s.by_confidence) print_text(out, " {}={}", k, v);
  print_text(out, "\nnot-IP frames: {}   malformed frames: {}   evictions: {}", s.not_ip, s.malformed,
             s.evictions);
  print_text(out, "\n");
  if (s.live) {
    print_text(out, "dropped before sealscope saw them: {} by the kernel (capture buffer full), {} by the interface\n",
               s.kernel_drops, s.interface_drops);
    if (s.kernel_drops > 0) {
      print_text(out, "  the kernel's drops mean sealscope fell behind: raise --buffer-mib for bursts, add --workers, "
                 "or narrow --bpf\n");
    }
  }
  if (s.frames_cut > 0) {
    // Not an anomaly, but it explains many unknown labels: nDPI and the detectors see only what was captured.
    print_text(out, "frames cut short by the capture's snap length: {} ({:.1f}%): their payload past the cut was "
               "not captured, so labels may be missing\n",
               s.frames_cut, s.frames ? 100.0 * static_cast<double>(s.frames_cut) / static_cast<double>(s.frames) : 0.0);
  }
  if (s.inputs_overlapping > 0) {
    print_text(out, "inputs overlapping in time: {}: each was read after the one before it, not merged, so flows "
               "they share may be cut in two; merge them first (mergecap -w - A B | sealscope analyze ... -)\n",
               s.inputs_overlapping);
  }
  if (s.icmp_error_flows > 0) {
    print_text(out, "ICMP errors about flows: {} messages about {} flows (unreachable, time exceeded, packet too "
               "big: icmp_errors in their records)\n",
               s.icmp_errors, s.icmp_error_flows);
  }
  if (s.anomalies.total() > 0) {
    print_text(out, "anomalies:");
    for (int i = 0; i < static_cast<int>(decode::Anomaly::Count); ++i) {
      const auto a = static_cast<decode::Anomaly>(i);
      if (s.anomalies.get(a) > 0) print_text(out, " {}={}", decode::anomaly_name(a), s.anomalies.get(a));
    }
    print_text(out, "\n");
  }
  if (s.wall_seconds > 0) {
    print_text(out, "processed in {:.3f} s: {:.0f} packets/s, {:.1f} Mbit/s\n", s.wall_seconds,
               static_cast<double>(s.frames) / s.wall_seconds,
               static_cast<double>(s.frames_bytes) * 8 / s.wall_seconds / 1e6);
  }
  for (const auto& l : incomplete_lines(s)) print_text(out, "{}\n", l);
  print_ipfix_line(s, out);
}

void print_ipfix_line(const stats::Summary& s, FILE* out) {
  if (!s.ipfix) return;
  print_text(out, "IPFIX to {}: {} messages with {} records sent over UDP (delivery is not confirmed: compare the "
                  "collector's count)",
             s.ipfix->collector, s.ipfix->messages, s.ipfix->records);
  if (s.ipfix->skipped > 0) print_text(out, "; {} records without IP addresses not exported", s.ipfix->skipped);
  print_text(out, "\n");
}

}  // namespace sealscope::report
