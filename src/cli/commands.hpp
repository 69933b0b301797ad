#pragma once
#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "common/display_text.hpp"

namespace sealscope::cli {

/// Exit codes shared by every sub-command.
enum Exit : int {
  kOk = 0,
  kInputProblem = 1,  ///< an input could not be read to its end (outputs were still written), or an output
                      ///< could not be written
  kUsage = 2,         ///< bad command line
  kFailed = 3,        ///< the command ran but its check failed (eval threshold, audit FAIL)
  kInterrupted = 130,
};

/// `sealscope analyze …`; args exclude the program and command names.
int analyze_main(const std::vector<std::string>& args);
/// `sealscope policy check|test …`; args exclude the program and command names.
int policy_main(const std::vector<std::string>& args);

/// `sealscope audit …`: canary search and randomness evidence on captures.
int audit_main(const std::vector<std::string>& args);

/// `sealscope eval …`: accuracy against a labels file.
int eval_main(const std::vector<std::string>& args);

/// "sealscope VERSION (nDPI VERSION)": what --version prints and reports name as their maker.
std::string version_string();

/// A message on standard error. Never throws (fmt::print does, on a short write): when standard error cannot
/// be written (a full disk, a closed pipe) the message is lost and the run goes on to its exit status.
/// Formatted by format_text(): every string argument (a file name, an exception's message naming one, a
/// rule's name) is shown as its display text, so no name can send a terminal a control sequence or break
/// the line; the format string's own line breaks, and a usage text passed as verbatim(), are kept.
template <typename... T>
void eprint(fmt::format_string<T...> format, T&&... args) {
  const std::string s = format_text<T...>(format, std::forward<T>(args)...);
  std::fwrite(s.data(), 1, s.size(), stderr);
}

/// Top-level dispatch; returns the process exit code.
int run(int argc, char** argv);

}  // namespace sealscope::cli
