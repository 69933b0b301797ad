#pragma once
// Header-only, so that sealscope's commands and the messenger's binaries (which do not link
// sealscope_common) share the one check.
#include <boost/program_options.hpp>

#include <string>

namespace sealscope {

namespace detail {
template <class T>
bool typed_as(const boost::program_options::value_semantic* s) {
  return dynamic_cast<const boost::program_options::typed_value<T>*>(s) != nullptr;
}
}  // namespace detail

/// Boost.Program_options converts a value with boost::lexical_cast, which reads "-5" into an unsigned
/// option the way strtoul does: as 2^32 - 5 (or 2^64 - 5). `--max-flows -1` or `--chat-port -1` would
/// then run with a huge or wrapped value and no word said. Call this on the parsed options before
/// storing them: it throws a program_options error naming the option for any value that starts with '-'
/// given to an option declared with an unsigned type. No packaged library has this check, hence by hand.
inline void reject_negative_unsigned(const boost::program_options::parsed_options& parsed) {
  namespace po = boost::program_options;
  for (const po::option& opt : parsed.options) {
    if (opt.unregistered || opt.string_key.empty()) continue;
    const po::option_description* d = parsed.description->find_nothrow(opt.string_key, false);
    if (d == nullptr) continue;
    const po::value_semantic* s = d->semantic().get();
    const bool is_unsigned = detail::typed_as<unsigned char>(s) || detail::typed_as<unsigned short>(s) ||
                             detail::typed_as<unsigned int>(s) || detail::typed_as<unsigned long>(s) ||
                             detail::typed_as<unsigned long long>(s);
    if (!is_unsigned) continue;
    for (const std::string& v : opt.value) {
      const auto p = v.find_first_not_of(" \t");
      if (p != std::string::npos && v[p] == '-') {
        throw po::error("the argument ('" + v + "') for option '--" + opt.string_key +
                        "' is invalid: expected a whole number, 0 or more");
      }
    }
  }
}

}  // namespace sealscope
