#pragma once
#include <boost/program_options.hpp>

#include "analyze/analyzer.hpp"

namespace sealscope::cli {

/// Switches of the shared pipeline options that need translating into AnalyzeOptions.
struct PipelineSwitches {
  bool no_guess = false;
  bool no_tunnels = false;
};

/// The decoding, flow and classification options that `analyze` and `policy test` share, as one group
/// (one definition, so both commands read captures the same way).
boost::program_options::options_description pipeline_options(analyze::AnalyzeOptions& o, PipelineSwitches& s);

/// Applies the switches after parsing.
void apply_switches(analyze::AnalyzeOptions& o, const PipelineSwitches& s);

/// Runs the analyzer with SIGINT and SIGTERM asking it to stop after the current packet (outputs are still
/// written); restores the default handlers afterwards. Returns Analyzer::run()'s result.
bool run_interruptible(analyze::Analyzer& a);

/// Writes a report to `path` ("-" = standard output); throws InputError when it cannot.
void write_report(const std::string& path, const std::string& text);

}  // namespace sealscope::cli
