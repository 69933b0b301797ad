// libFuzzer target: the policy rules loader (YAML parsing, validation with file:line:column diagnostics,
// regions, windows, prefixes) and lint, on arbitrary text.
#include <string>

#include "policy/policy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const sealscope::policy::LoadResult r = sealscope::policy::load_policy_text(text, "fuzz.yaml", true);
    for (const auto& d : r.diagnostics) (void)d.format();
  } catch (const std::exception&) {
    // The loader reports content problems as diagnostics; a throw of any std::exception is still a
    // controlled error (the CLI prints it). Crashes, hangs and sanitizer reports are the findings.
  }
  return 0;
}
