#pragma once
#include <boost/program_options.hpp>
#include <memory>
#include <string>
#include <vector>

#include "analyze/analyzer.hpp"

namespace sealscope::cli {

/// Switches of the shared pipeline options that need translating into AnalyzeOptions.
struct PipelineSwitches {
  bool no_guess = false;
  bool no_tunnels = false;
};

/// The decoding, flow and classification options that `analyze` and `policy test` share, as one group
/// (one definition, so both commands read captures the same way).
boost::program_options::options_description pipeline_options(analyze::AnalyzeOptions& o, PipelineSwitches& s);

/// Applies the switches after parsing.
void apply_switches(analyze::AnalyzeOptions& o, const PipelineSwitches& s);

/// While it lives, SIGINT and SIGTERM ask the analyzer to stop after the current packet, its outputs still
/// written (Analyzer::request_stop); a second one ends the process at once, by the signal's default action
/// (for an output that blocks, a pipe nobody reads). A command holds it from before the analyzer is made
/// until its last output is closed, so a signal while nDPI is set up or while outputs are opened or written
/// is no longer the default action's: it leaves an interrupted run's outputs, not empty or half files.
/// The destructor restores the default handlers.
class StopOnSignal {
 public:
  StopOnSignal();
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;
};

#if defined(__SANITIZE_ADDRESS__)  // GCC
#define SEALSCOPE_TEARDOWN_CHECKED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)  // Clang
#define SEALSCOPE_TEARDOWN_CHECKED 1
#endif
#endif

/// Hands an idle object (its threads joined, its outputs closed) to the end of the process: it is not
/// destroyed, and its memory goes back with the process's instead of block by block. For what a command
/// built for its run: the analyzer's nDPI modules (automata, address trees) and flow tables, the record
/// batches. Their teardown took 14 ms of a two-worker run on an empty capture (46 ms against 32 ms), as
/// long as nDPI takes to set one module up. Sanitizer builds destroy it as usual, so that ASan and LSan go
/// on checking the teardown in every test that runs a command.
template <typename T>
void keep_until_exit(std::unique_ptr<T> p) {
#ifdef SEALSCOPE_TEARDOWN_CHECKED
  p.reset();
#else
  static auto* const kept = new std::vector<void*>();  // never freed, by design; still reachable
  kept->push_back(p.get());
  p.release();
#endif
}

/// A file a command reads or writes, with how the user named it ("the capture", "--rules", "--flows").
struct NamedPath {
  std::string what;
  std::string path;
};

/// Before anything is opened for writing: true when no capture is given twice and no output would
/// overwrite an input (one of the `captures`, or one of `inputs`: the rules, the canaries, the labels) or
/// another output. Files are the
/// same when they share device and inode (links and other spellings included), or, for outputs not yet
/// created, the same absolute path. An input "-" is the file standard input comes from, if it is one. Empty
/// paths and outputs to "-" are skipped, and so are outputs that exist but are not regular files
/// (/dev/null). Otherwise prints "sealscope CMD: ... are the same capture ..." or "... refusing to overwrite
/// ..." on stderr and returns false (the caller exits with the usage status: the command line alone is at
/// fault).
bool files_are_distinct(const std::string& cmd, const std::vector<std::string>& captures,
                        std::vector<NamedPath> inputs, const std::vector<NamedPath>& outputs);

/// False, with "sealscope CMD: --bpf 'EXPR': REASON" on stderr, when the filter compiles for no common link
/// type (a syntax error: the command line alone is at fault, exit status 2). A filter that only one
/// capture's link type cannot take is that capture's problem, reported when it is opened.
bool bpf_compiles(const std::string& cmd, const std::string& bpf);

/// Puts the capture files in the time order of their first packets (stable: files of equal times keep the
/// order given), so that rotated captures named dump.pcap, dump.pcap1, … dump.pcap10 (tcpdump -C), which a
/// shell glob sorts as text, are read as one link's time line and their flows are not cut where the files
/// meet. Only regular files are looked into; standard input, FIFOs, and files that cannot be read or hold no
/// packet keep their places (their errors are reported when they are read). When the order changes, says
/// so on stderr as "sealscope CMD: ...".
void order_by_time(const std::string& cmd, std::vector<std::string>& captures);

/// Writes a report to `path` ("-" = standard output); throws Error naming the file and the system's reason
/// when it cannot create or write it (as report::OutputFile does for every output).
void write_report(const std::string& path, const std::string& text);

}  // namespace sealscope::cli
