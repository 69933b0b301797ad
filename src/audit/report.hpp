#pragma once
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audit/audit.hpp"
#include "audit/canaries.hpp"
#include "stats/summary.hpp"

namespace sealscope::audit {

/// What the report says about the run besides the auditor's findings.
struct ReportContext {
  std::vector<std::string> inputs;
  std::string canaries_file;
  const std::vector<Canary>* canaries = nullptr;
  const stats::Summary* summary = nullptr;
};

/// The audit report (sealscope-audit(5)... documented in sealscope(1)): verdict, canary hits by position and
/// encoding (canaries named by number and line, never by text), per-flow evidence, what stays visible.
nlohmann::ordered_json report_json(const Auditor& a, const ReportContext& ctx);

/// The report as one self-contained HTML page (audit --html, no script, nothing fetched): the verdict and its
/// reasons first, then the canaries found and where (by number, line, position and encoding), the flows the
/// JSON report lists with each direction's judgement, reassembly, and what stays visible.
std::string report_html(const Auditor& a, const ReportContext& ctx, const std::string& generator);

/// What makes the verdict weaker than it reads (no flow in the captures: nothing was searched), each a
/// sentence; the JSON report's `warnings`, and "WARNING: " lines in the summary and on the page.
std::vector<std::string> warnings(const Auditor& a);

/// The human summary.
void print_summary(const Auditor& a, const ReportContext& ctx, std::FILE* out);

}  // namespace sealscope::audit
