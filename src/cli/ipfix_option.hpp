#pragma once
#include <boost/program_options.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "export/ipfix_exporter.hpp"
#include "stats/summary.hpp"

namespace sealscope::cli {

/// --ipfix HOST:PORT and --ipfix-domain N, as `analyze` and `policy enforce` take them: one definition of
/// the options, their checks, the exporter and what is said when messages could not be sent.
class IpfixOption {
 public:
  /// Adds both options to `desc`; `counted_in`: where the command says how many records were sent.
  void add_to(boost::program_options::options_description& desc, const char* counted_in);
  /// After parsing: the usage checks and the collector's address. Prints "sealscope CMD: ..." and returns
  /// false on a usage error.
  bool check(const char* cmd);
  /// The exporter (when --ipfix was given); `send_each`: each record in a message of its own, at once.
  std::unique_ptr<ipfix::Exporter> open(bool send_each) const;
  /// Closes the exporter and puts its counts into the summary (summary.ipfix).
  static void close(ipfix::Exporter& out, stats::Summary& summary);
  /// Prints why messages were not sent, if any were not; true when so (the command then exits 1).
  static bool failed(const char* cmd, const stats::Summary& summary);

 private:
  std::string spec_, help_;
  uint32_t domain_ = 0;
  bool domain_given_ = false;
  ipfix::Collector collector_;
};

}  // namespace sealscope::cli
