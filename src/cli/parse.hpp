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

/// `text` with every line longer than `width` broken at its last spaces that fit (help texts are kept to
/// 100 columns, as the option lists are by Boost; a text built with numbers in it cannot be wrapped by hand).
inline std::string wrap_lines(const std::string& text, size_t width = 100) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    size_t from = start;
    while (end - from > width) {
      const size_t cut = text.rfind(' ', from + width);
      if (cut == std::string::npos || cut <= from) break;  // one word longer than the line: left whole
      out.append(text, from, cut - from).push_back('\n');
      from = cut + 1;
    }
    out.append(text, from, end - from);
    if (end < text.size()) out.push_back('\n');
    start = end + 1;
  }
  return out;
}

/// One way for every sub-command to read its arguments: the options in `desc` plus positional arguments
/// stored into `positional` (`max_positional` of them, -1 = any number). A parse error (including a
/// negative value for an unsigned option, see reject_negative_unsigned()) prints
/// "sealscope CMD: ERROR (see 'sealscope CMD --help')" and ends with exit status 2; --help prints `desc`
/// followed by `help_tail` (wrapped to 100 columns) and ends with 0. A list of inputs may name standard
/// input ("-") only once.
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
    fmt::print("{}\n{}", os.str(), wrap_lines(help_tail));
    return {true, kOk};
  }
  return {};
}

}  // namespace sealscope::cli
