#include "cli/ipfix_option.hpp"

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "common/display_text.hpp"
#include "common/errors.hpp"

namespace po = boost::program_options;

namespace sealscope::cli {

void IpfixOption::add_to(po::options_description& desc, const char* counted_in) {
  help_ = fmt::format(
      "send every flow record as IPFIX (RFC 7011) over UDP to the collector at HOST:PORT ([v6]:PORT for an IPv6 "
      "address; e.g. nfcapd); UDP does not confirm delivery: {} says how many records were sent",
      counted_in);
  desc.add_options()
      ("ipfix", po::value(&spec_), help_.c_str())
      ("ipfix-domain", po::value<uint32_t>()->notifier([this](uint32_t v) {
         domain_ = v;
         domain_given_ = true;
       }),
       "observation domain id of the IPFIX messages (default 0)");
}

bool IpfixOption::check(const char* cmd) {
  if (domain_given_ && spec_.empty()) {
    eprint("sealscope {}: --ipfix-domain sets the observation domain of --ipfix; give --ipfix HOST:PORT too\n", cmd);
    return false;
  }
  if (spec_.empty()) return true;
  try {
    collector_ = ipfix::resolve_collector(spec_);
  } catch (const UsageError& ex) {
    eprint("sealscope {}: {} (see 'sealscope {} --help')\n", cmd, verbatim(ex.what()), cmd);
    return false;
  }
  return true;
}

std::unique_ptr<ipfix::Exporter> IpfixOption::open(bool send_each) const {
  if (spec_.empty()) return nullptr;
  ipfix::Exporter::Options io;
  io.domain = domain_;
  io.send_each = send_each;
  return std::make_unique<ipfix::Exporter>(collector_, io);
}

void IpfixOption::close(ipfix::Exporter& out, stats::Summary& summary) {
  out.close();
  const ipfix::ExportCounts& c = out.counts();
  summary.ipfix = stats::IpfixTotals{out.collector(), c.messages,      c.records, c.failed_messages,
                                     c.failed_records, c.refused_after, c.skipped, c.error};
}

bool IpfixOption::failed(const char* cmd, const stats::Summary& summary) {
  if (!summary.ipfix || (summary.ipfix->failed_messages == 0 && !summary.ipfix->refused)) return false;
  const stats::IpfixTotals& x = *summary.ipfix;
  if (x.failed_messages > 0) {
    eprint("sealscope {}: --ipfix {}: {} of {} messages ({} records) could not be sent: {}\n", cmd, x.collector,
           x.failed_messages, x.failed_messages + x.messages, x.failed_records, x.error);
  } else {
    eprint("sealscope {}: --ipfix {}: the collector's host refused the last messages: {}\n", cmd, x.collector,
           x.error);
  }
  return true;
}

}  // namespace sealscope::cli
