#pragma once
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <boost/program_options.hpp>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "cli/commands.hpp"
#include "common/cli_unsigned.hpp"

namespace sealscope::cli {

/// The first two inputs that are one file (same device and inode; "-" is the file standard input comes
/// from), or nothing. Inputs that do not exist are left to the open that reports them.
inline std::optional<std::pair<std::string, std::string>> same_input_twice(const std::vector<std::string>& inputs) {
  std::vector<std::pair<dev_t, ino_t>> ids(inputs.size());
  std::vector<bool> known(inputs.size(), false);
  for (size_t i = 0; i < inputs.size(); ++i) {
    struct stat st{};
    const bool ok = inputs[i] == "-" ? ::fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode)
                                     : ::stat(inputs[i].c_str(), &st) == 0;
    if (!ok) continue;
    ids[i] = {st.st_dev, st.st_ino};
    known[i] = true;
    for (size_t j = 0; j < i; ++j) {
      if (known[j] && ids[j] == ids[i]) return std::make_pair(inputs[j], inputs[i]);
    }
  }
  return std::nullopt;
}

/// Result of parse_command(): carry on, or exit with `code`.
struct Parsed {
  bool done = false;
  int code = kOk;
};

/// One way for every sub-command to read its arguments: the options in `desc` plus positional arguments
/// stored into `positional` (`max_positional` of them, -1 = any number). A parse error (including a
/// negative value for an unsigned option, see reject_negative_unsigned()) prints
/// "sealscope CMD: ERROR (see 'sealscope CMD --help')" and ends with exit status 2; --help prints `desc`
/// followed by `help_tail` and ends with 0. A list of inputs may name standard input ("-") only once.
template <class T>
Parsed parse_command(const std::vector<std::string>& args, const std::string& cmd,
                     const boost::program_options::options_description& desc, T& positional, int max_positional,
                     const std::string& help_tail) {
  namespace po = boost::program_options;
  po::options_description hidden;
  hidden.add_options()("positional-args", po::value(&positional));
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("positional-args", max_positional);
  po::variables_map vm;
  try {
    const po::parsed_options opts = po::command_line_parser(args).options(all).positional(pos).run();
    reject_negative_unsigned(opts);
    po::store(opts, vm);
    po::notify(vm);
  } catch (const po::error& ex) {
    fmt::print(stderr, "sealscope {}: {} (see 'sealscope {} --help')\n", cmd, ex.what(), cmd);
    return {true, kUsage};
  }
  if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (std::count(positional.begin(), positional.end(), "-") > 1) {
      fmt::print(stderr, "sealscope {}: - (standard input) can be given only once (see 'sealscope {} --help')\n",
                 cmd, cmd);
      return {true, kUsage};
    }
    // The same capture twice (by any path, or as the file standard input comes from) would count every
    // packet twice without a word: a glob that overlaps a name given beside it.
    if (auto dup = same_input_twice(positional)) {
      auto name = [](const std::string& p) { return p == "-" ? std::string("- (standard input)") : p; };
      fmt::print(stderr, "sealscope {}: {} and {} are the same capture: give each input once (see 'sealscope {} --help')\n",
                 cmd, name(dup->first), name(dup->second), cmd);
      return {true, kUsage};
    }
  }
  if (vm.count("help")) {
    std::ostringstream os;
    os << desc;
    fmt::print("{}\n{}", os.str(), help_tail);
    return {true, kOk};
  }
  return {};
}

}  // namespace sealscope::cli
