#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/dry_run.hpp"
#include "stats/summary.hpp"

namespace sealscope::policy {

/// What the report says about its inputs.
struct ReportContext {
  std::string rules_file;
  std::vector<std::string> captures;
  std::string truth;  ///< "labels file PATH" or "flow labels"
  const stats::Summary* summary = nullptr;  ///< the run's reading of its captures (problems, interruption)
  bool enforced = false;  ///< policy enforce: the rules acted on live packets (`captures` names the queue)
};

/// The dry-run report as JSON (metadata only: counts, names, addresses of subscribers counted, never payload).
nlohmann::ordered_json report_json(const DryRun& run, const ReportContext& ctx);
/// The same as one self-contained HTML page (policy test --html), with the run's warnings (inputs cut short,
/// an interruption) first; `generator` names the program.
std::string report_html(const DryRun& run, const ReportContext& ctx, const std::string& generator);
/// The same as tables for a terminal.
void print_report(const DryRun& run, const ReportContext& ctx, FILE* out);

}  // namespace sealscope::policy
