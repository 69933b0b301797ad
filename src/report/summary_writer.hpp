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

/// Writes summary_json() to a file (pretty, deterministic key order).
void write_summary_json(const stats::Summary& s, const std::string& path);

/// The family × activity rows in the order the summaries show them: named families first, then by bytes.
std::vector<std::pair<std::pair<std::string, std::string>, stats::Totals>> family_activity_rows(
    const stats::Summary& s);

/// Prints the human summary (stdout of `sealscope analyze`).
void print_summary(const stats::Summary& s, FILE* out);

}  // namespace sealscope::report
