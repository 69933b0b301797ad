#pragma once
#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "cli/commands.hpp"
#include "common/cli_unsigned.hpp"

namespace sealscope::cli {

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
    eprint("sealscope {}: {} (see 'sealscope {} --help')\n", cmd, ex.what(), cmd);
    return {true, kUsage};
  }
  if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (std::count(positional.begin(), positional.end(), "-") > 1) {
      eprint("sealscope {}: - (standard input) can be given only once (see 'sealscope {} --help')\n",
             cmd, cmd);
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
