#pragma once
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "stats/summary.hpp"

namespace sealscope::report {

/// The run summary as JSON (--summary-json): totals, family × activity table, labels, anomalies, inputs.
nlohmann::json summary_json(const stats::Summary& s);

/// The inputs that could not be read to their end, with the same fields in every report (analyze's summary,
/// the capture object of policy test's and audit's, eval's): the input, why, the byte offset reached and the
/// packets read.
template <typename Json>
Json problems_json(const std::vector<stats::InputProblem>& problems) {
  Json probs = Json::array();
  for (const auto& p : problems) {
    probs.push_back({{"input", p.name}, {"reason", p.reason}, {"offset", p.offset}, {"packets", p.packets}});
  }
  return probs;
}

/// What the reports of policy test and audit say about reading their captures: frames, not-IP and malformed
/// frames, inputs that could not be read to their end (input, reason, offset, packets: the fields of the
/// summary's problems) and whether a signal stopped the run, so that a report kept as evidence says when it
/// covers only part of a capture. Inline (policy enforce) also the queue's totals and what --ipfix sent.
nlohmann::ordered_json capture_json(const stats::Summary& s);

/// "INCOMPLETE: input: reason (stopped at byte N after M packets)" per input not read to its end ("(capture
/// stopped after M packets)" for a live interface), and
/// "INTERRUPTED: ..." after a signal: what every text and HTML report says when it covers only part of its
/// captures.
std::vector<std::string> incomplete_lines(const stats::Summary& s);

/// Writes summary_json() to a file (pretty, deterministic key order).
void write_summary_json(const stats::Summary& s, const std::string& path);

/// Seconds from the first to the last packet read (0 without packets).
double capture_seconds(const stats::Summary& s);

/// The family × activity rows in the order the summaries show them: named families first, then by bytes.
std::vector<std::pair<std::pair<std::string, std::string>, stats::Totals>> family_activity_rows(
    const stats::Summary& s);

/// Prints the human summary (stdout of `sealscope analyze`).
void print_summary(const stats::Summary& s, FILE* out);

/// The line saying what --ipfix sent (nothing without --ipfix): in the summary and policy enforce's report.
void print_ipfix_line(const stats::Summary& s, FILE* out);

}  // namespace sealscope::report
