#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <string>
#include <system_error>

#include "classify/ndpi_adapter.hpp"
#include "report/flow_writers.hpp"
#include "cli/commands.hpp"
#include "policy/policy.hpp"

#ifndef SEALSCOPE_VERSION
#define SEALSCOPE_VERSION "0"
#endif

namespace sealscope::cli {

namespace {
const char* kUsageText =
    "usage: sealscope <command> [options]\n"
    "\n"
    "commands:\n"
    "  analyze   capture(s) or a live interface -> flows, labels, metadata statistics\n"
    "  policy    region-scoped rules: check (lint), test (dry-run on captures), enforce (inline, NFQUEUE)\n"
    "  eval      accuracy of the labels against a labels file (e.g. ../shared/corpus/labels.tsv)\n"
    "  audit     canaries and randomness: does content stay unreadable on the wire? (PASS/FAIL)\n"
    "\n"
    "Run 'sealscope <command> --help' for a command's options; see sealscope(1).\n";

int run_command(int argc, char** argv) {
  if (argc < 2) {
    eprint("{}", verbatim(kUsageText));
    return kUsage;
  }
  const std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    fmt::print("{}", kUsageText);
    return kOk;
  }
  if (cmd == "--version" || cmd == "version") {
    fmt::print("{}\n", version_string());
    return kOk;
  }
  if (cmd == "analyze") return analyze_main(args);
  if (cmd == "policy") return policy_main(args);
  if (cmd == "eval") return eval_main(args);
  if (cmd == "audit") return audit_main(args);
  eprint("sealscope: unknown command '{}'{}\n{}", cmd,
         policy::suggest(cmd, {"analyze", "policy", "eval", "audit"}), verbatim(kUsageText));
  return kUsage;
}

}  // namespace

std::string version_string() {
  return fmt::format("sealscope {} (nDPI {})", SEALSCOPE_VERSION, classify::NdpiEngine::version());
}

int run(int argc, char** argv) {
  // Started with standard input, output or error closed, the first file opened would take its number, and
  // messages or a '-' output would land in a capture file or a report. Each closed one gets /dev/null opened
  // the wrong way round (no reads on 0, no writes on 1 and 2), so using it still fails as it would have.
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
      const int got = ::open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
      if (got >= 0 && got != fd) ::close(got);  // cannot happen: open returns the lowest free number
    }
  }
  // A reader that goes away (`| head`) makes writes fail with EPIPE, reported as any output that cannot be
  // written (exit status 1, the output named), instead of SIGPIPE ending the run without a word.
  std::signal(SIGPIPE, SIG_IGN);
  int rc = kOk;
  int failed_errno = 0;  // of a write to standard output that failed before the final flush
  try {
    rc = run_command(argc, argv);
  } catch (const std::system_error& ex) {
    // fmt::print throws this when stdio cannot pass a long text on (a full disk behind standard output, or
    // behind standard error when a summary goes there): the outputs written so far stay, the run ends here,
    // and the message is the one below. Anything else is said as it is.
    if (std::ferror(stdout) == 0) {
      eprint("sealscope: {}\n", ex.what());
      return kInputProblem;
    }
    failed_errno = ex.code().value();
    rc = kInputProblem;
  }
  // Summaries, reports and '-' outputs go to standard output through stdio's buffer: a full disk or a
  // closed file behind it shows only here, and must not pass for success.
  // errno is read right after the flush: taken earlier, it could be any call's since the write failed.
  errno = 0;
  const bool flush_failed = std::fflush(stdout) != 0;
  const int flush_errno = errno;
  if (flush_failed || std::ferror(stdout) != 0) {
    // An output to "-" that failed has said so, naming standard output: no second line.
    if (report::OutputFile::stdout_failure_reported()) return rc == kOk ? kInputProblem : rc;
    const int e = flush_failed && flush_errno != 0 ? flush_errno : failed_errno;
    eprint("sealscope: standard output: write failed{}\n",
           e != 0 ? std::string(": ") + std::strerror(e) : std::string());
    return rc == kOk ? kInputProblem : rc;
  }
  return rc;
}

}  // namespace sealscope::cli
