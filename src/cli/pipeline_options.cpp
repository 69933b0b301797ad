#include "cli/pipeline_options.hpp"

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>

#include "capture/pcap_source.hpp"
#include "cli/commands.hpp"
#include "common/errors.hpp"
#include "report/flow_writers.hpp"

namespace po = boost::program_options;

namespace sealscope::cli {

po::options_description pipeline_options(analyze::AnalyzeOptions& o, PipelineSwitches& s) {
  auto& t = o.pipeline.table;
  auto& e = o.pipeline.engine;
  po::options_description d("Decoding, flow and classification options");
  d.add_options()
      ("tcp-timeout", po::value(&t.tcp_idle_s)->default_value(300), "TCP idle timeout, seconds (0 = never)")
      ("udp-timeout", po::value(&t.udp_idle_s)->default_value(120), "UDP idle timeout, seconds (0 = never)")
      ("other-timeout", po::value(&t.other_idle_s)->default_value(60), "idle timeout of other flows, seconds (0 = never)")
      ("max-tcp-packets", po::value(&e.max_tcp_packets)->default_value(80),
       "TCP packets given to nDPI before giving up (as ndpiReader -T)")
      ("max-udp-packets", po::value(&e.max_udp_packets)->default_value(24),
       "UDP packets given to nDPI before giving up (as ndpiReader -U)")
      ("no-guess", po::bool_switch(&s.no_guess), "do not let nDPI guess by port/IP when it gives up")
      ("no-tunnels", po::bool_switch(&s.no_tunnels),
       "do not decapsulate tunnels (GTP-U, VXLAN, Geneve, GRE, ERSPAN, TZSP, CAPWAP, IP-in-IP)");
  return d;
}

void apply_switches(analyze::AnalyzeOptions& o, const PipelineSwitches& s) {
  o.pipeline.engine.guess = !s.no_guess;
  o.decoder.decode_tunnels = !s.no_tunnels;
}

namespace {
// Async-signal-safe: a lock-free atomic, pcap_breakloop (a flag and an eventfd write), signal() and raise().
void on_signal(int sig) {
  if (analyze::Analyzer::stop_requested()) {  // the second one: no more waiting
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  analyze::Analyzer::request_stop();
}
}  // namespace

StopOnSignal::StopOnSignal() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

StopOnSignal::~StopOnSignal() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

namespace {
/// The file at `path` when it exists: its device, inode and whether it is a regular file. "-" is the file
/// standard input comes from (sealscope analyze - < x.pcap); outputs to "-" never get here.
struct FileId {
  bool exists = false, regular = false;
  dev_t dev = 0;
  ino_t ino = 0;
};
FileId file_id(const std::string& path) {
  struct stat st{};
  if ((path == "-" ? ::fstat(STDIN_FILENO, &st) : ::stat(path.c_str(), &st)) != 0) return {};
  return {true, S_ISREG(st.st_mode), st.st_dev, st.st_ino};
}
std::string absolute_path(const std::string& path) {
  std::error_code ec;
  const auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
  return ec ? path : p.string();
}
}  // namespace

void order_by_time(const std::string& cmd, std::vector<std::string>& captures) {
  if (captures.size() < 2) return;
  std::vector<std::pair<TimestampUs, size_t>> keyed;  // (first packet's time, position given)
  for (size_t i = 0; i < captures.size(); ++i) {
    if (captures[i] == "-" || !file_id(captures[i]).regular) continue;  // reading would consume a stream
    try {
      capture::PcapSource src = capture::PcapSource::open_file(captures[i]);
      capture::RawPacket pkt;
      if (src.next(pkt) == capture::ReadStatus::Packet) keyed.emplace_back(pkt.ts, i);
    } catch (const std::exception&) {
      // Not readable as a capture: it keeps its place and its error is reported when it is read.
    }
  }
  std::vector<size_t> slots;
  for (const auto& k : keyed) slots.push_back(k.second);
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> ordered = captures;
  for (size_t k = 0; k < keyed.size(); ++k) ordered[slots[k]] = captures[keyed[k].second];
  if (ordered == captures) return;
  std::string names;
  constexpr size_t kShown = 6;
  for (size_t i = 0; i < ordered.size() && i < kShown; ++i) names += (i ? ", " : "") + ordered[i];
  if (ordered.size() > kShown) names += fmt::format(", ... ({} more)", ordered.size() - kShown);
  eprint("sealscope {}: reading the captures in the time order of their first packets, not as given: {}\n",
         cmd, names);
  captures = std::move(ordered);
}

bool bpf_compiles(const std::string& cmd, const std::string& bpf) {
  if (bpf.empty()) return true;
  const std::string why = capture::bpf_syntax_error(bpf);
  if (why.empty()) return true;
  eprint("sealscope {}: --bpf '{}': {}\n", cmd, bpf, why);
  return false;
}

bool files_are_distinct(const std::string& cmd, const std::vector<std::string>& captures,
                        std::vector<NamedPath> inputs, const std::vector<NamedPath>& outputs) {
  // The same capture twice (by any path, or as the file standard input comes from) would count every
  // packet twice without a word: a glob that overlaps a name given beside it.
  std::vector<FileId> ids;
  for (size_t i = 0; i < captures.size(); ++i) {
    ids.push_back(file_id(captures[i]));
    const FileId& c = ids.back();
    if (!c.exists || (captures[i] == "-" && !c.regular)) continue;  // a pipe; a missing file is reported at open
    for (size_t j = 0; j < i; ++j) {
      if (!ids[j].exists || (captures[j] == "-" && !ids[j].regular) || ids[j].dev != c.dev || ids[j].ino != c.ino) {
        continue;
      }
      auto name = [](const std::string& p) { return p == "-" ? std::string("- (standard input)") : p; };
      eprint("sealscope {}: {} and {} are the same capture: give each input once (see 'sealscope {} --help')\n",
             cmd, name(captures[j]), name(captures[i]), cmd);
      return false;
    }
  }
  for (const auto& c : captures) inputs.push_back({"the capture", c});
  auto named = [](const NamedPath& n) { return n.what + " " + n.path; };
  for (size_t i = 0; i < outputs.size(); ++i) {
    const NamedPath& out = outputs[i];
    if (out.path.empty() || out.path == "-") continue;
    const FileId o = file_id(out.path);
    if (o.exists && !o.regular) continue;  // /dev/null, a FIFO, a terminal: writing destroys nothing
    if (o.exists) {
      for (const NamedPath& in : inputs) {
        if (in.path.empty()) continue;
        const FileId f = file_id(in.path);
        if (f.exists && f.regular && f.dev == o.dev && f.ino == o.ino) {
          eprint("sealscope {}: {} is {}{}: refusing to overwrite an input\n", cmd, named(out), named(in),
                 in.path == "-" ? " (standard input)" : "");
          return false;
        }
      }
    }
    for (size_t j = 0; j < i; ++j) {
      const NamedPath& prev = outputs[j];
      if (prev.path.empty() || prev.path == "-") continue;
      const FileId p = file_id(prev.path);
      const bool same = o.exists ? (p.exists && p.dev == o.dev && p.ino == o.ino)
                                 : !p.exists && absolute_path(prev.path) == absolute_path(out.path);
      if (same) {
        eprint("sealscope {}: {} and {} are the same file: refusing to write both into it\n", cmd,
               named(prev), named(out));
        return false;
      }
    }
  }
  return true;
}

void write_report(const std::string& path, const std::string& text) {
  if (path == "-") {
    // fwrite, not fmt::print (which throws on a short write): a failure sets the stream's error flag and is
    // reported when the program ends (cli::run checks standard output).
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return;
  }
  // As every other output is written, so the message names the system's reason ("PATH: cannot create output
  // file: Permission denied", "PATH: write failed: No space left on device").
  report::OutputFile out(path);
  out.write(text.data(), text.size());
  out.close();
}

}  // namespace sealscope::cli
