#include "cli/pipeline_options.hpp"

#include <fmt/format.h>

#include <csignal>
#include <fstream>

#include "common/errors.hpp"

namespace po = boost::program_options;

namespace sealscope::cli {

po::options_description pipeline_options(analyze::AnalyzeOptions& o, PipelineSwitches& s) {
  auto& t = o.pipeline.table;
  auto& e = o.pipeline.engine;
  po::options_description d("Decoding, flow and classification options");
  d.add_options()
      ("tcp-timeout", po::value(&t.tcp_idle_s)->default_value(300), "TCP idle timeout, seconds")
      ("udp-timeout", po::value(&t.udp_idle_s)->default_value(120), "UDP idle timeout, seconds")
      ("other-timeout", po::value(&t.other_idle_s)->default_value(60), "idle timeout of other flows, seconds")
      ("max-tcp-packets", po::value(&e.max_tcp_packets)->default_value(80),
       "TCP packets given to nDPI before giving up (as ndpiReader -T)")
      ("max-udp-packets", po::value(&e.max_udp_packets)->default_value(24),
       "UDP packets given to nDPI before giving up (as ndpiReader -U)")
      ("no-guess", po::bool_switch(&s.no_guess), "do not let nDPI guess by port/IP when it gives up")
      ("no-tunnels", po::bool_switch(&s.no_tunnels), "do not decapsulate GTP-U (UDP 2152)");
  return d;
}

void apply_switches(analyze::AnalyzeOptions& o, const PipelineSwitches& s) {
  o.pipeline.engine.guess = !s.no_guess;
  o.decoder.decode_gtp = !s.no_tunnels;
}

namespace {
void on_signal(int) { analyze::Analyzer::request_stop(); }
}  // namespace

bool run_interruptible(analyze::Analyzer& a) {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const bool ok = a.run();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return ok;
}

void write_report(const std::string& path, const std::string& text) {
  if (path == "-") {
    fmt::print("{}", text);
    std::fflush(stdout);  // a failure is reported when the program ends (cli::run checks standard output)
    return;
  }
  std::ofstream out(path, std::ios::binary);
  if (!out || !(out << text) || !out.flush()) throw InputError(path + ": cannot write the report");
}

}  // namespace sealscope::cli
