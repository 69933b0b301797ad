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

}  // namespace sealscope::cli
