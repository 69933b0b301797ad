#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <fstream>
#include <memory>
#include <sstream>

#include "analyze/analyzer.hpp"
#include "audit/audit.hpp"
#include "audit/canaries.hpp"
#include "audit/matcher.hpp"
#include "audit/report.hpp"
#include "cli/commands.hpp"
#include "cli/parse.hpp"
#include "cli/pipeline_options.hpp"
#include "common/errors.hpp"
#include "report/text_escape.hpp"

namespace po = boost::program_options;

namespace sealscope::cli {

int audit_main(const std::vector<std::string>& args) {
  analyze::AnalyzeOptions o;
  std::string canaries_path, report_path, html_path;
  bool quiet = false;
  audit::AuditOptions ao;
  PipelineSwitches switches;
  po::options_description desc(
      "usage: sealscope audit --canaries FILE [OPTIONS] CAPTURE...\n\n"
      "Checks from the network side that content stays unreadable. Searches every packet payload, every\n"
      "reassembled TCP stream (both directions, in order, gaps noted) and every fragmented IPv4/IPv6\n"
      "datagram reassembled, for each canary (a string known to be in the plaintext) as raw bytes, hex\n"
      "(both cases), base64 (three alignments), UTF-16LE/BE and URL-encoded; measures per flow direction\n"
      "the randomness of the content bytes after known framing (TLS, DTLS, QUIC, RTP, sealchat, WhatsApp)\n"
      "is stripped; flags cleartext protocols in messaging flows.\n"
      "PASS only when no canary is found and no messaging flow carries cleartext content. Hits are reported\n"
      "by position and encoding, canaries by number and line: never the bytes.\n"
      "A CAPTURE of - is standard input (pcap or pcapng).\n\nOptions");
  desc.add_options()
      ("help,h", "show this help")
      ("canaries", po::value(&canaries_path), "canaries file: one string per line (UTF-8, at least 6 bytes), "
       "'#' starts a comment line; required")
      ("report-json", po::value(&report_path), "write the audit report as JSON to FILE (- = stdout)")
      ("html", po::value(&html_path), "write the audit report as a self-contained HTML page to FILE (no script; - = "
       "stdout)")
      ("max-hits", po::value(&ao.max_hits_listed)->default_value(1000),
       "canary occurrences listed in the report (all are counted)")
      ("reassembly-stream-cap", po::value(&ao.reassembly.per_stream)->default_value(1u << 20),
       "bytes held per TCP direction while waiting for a hole to fill; at the cap the hole becomes a gap "
       "(at most --reassembly-total-cap)")
      ("reassembly-total-cap", po::value(&ao.reassembly.total)->default_value(64u << 20),
       "bytes held for all TCP directions together; at the cap the stream that pushes past it skips its hole")
      ("defrag-cap", po::value(&ao.defrag.held)->default_value(16u << 20),
       "bytes held for IP datagrams whose fragments have not all come; at the cap the oldest are given up "
       "(counted; their fragments are still searched one by one)")
      ("defrag-timeout", po::value(&ao.defrag.timeout_s)->default_value(30),
       "seconds after its first fragment an incomplete IP datagram is given up (counted)")
      ("bpf", po::value(&o.bpf), "BPF filter applied to the captures (pcap-filter(7))")
      ("quiet,q", po::bool_switch(&quiet),
       "print only the verdict line (and a warning on stderr when no flow was seen)");
  desc.add(pipeline_options(o, switches));
  const Parsed parsed =
      parse_command(args, "audit", desc, o.files, -1,
                    "The report and the summary hold positions, counts, statistics and names only.\n"
                    "Exit status: 0 PASS, 3 FAIL, 1 an input could not be read to its end (verdict on what was "
                    "read),\n2 usage error or a bad canaries file.\n");
  if (parsed.done) return parsed.code;
  if (canaries_path.empty()) {
    eprint("sealscope audit: --canaries FILE is required (see --help)\n");
    return kUsage;
  }
  if (o.files.empty()) {
    eprint("sealscope audit: no capture given (see --help)\n");
    return kUsage;
  }
  if (ao.reassembly.per_stream == 0 || ao.reassembly.total < ao.reassembly.per_stream) {
    eprint("sealscope audit: --reassembly-stream-cap ({}) must be > 0 and at most --reassembly-total-cap ({}); "
           "to go below 1 MiB in all, lower both\n",
           ao.reassembly.per_stream, ao.reassembly.total);
    return kUsage;
  }
  if (ao.defrag.held == 0 || ao.defrag.timeout_s == 0) {
    eprint("sealscope audit: --defrag-cap ({}) and --defrag-timeout ({}) must be > 0\n", ao.defrag.held,
           ao.defrag.timeout_s);
    return kUsage;
  }
  if (report_path == "-" && html_path == "-") {
    eprint("sealscope audit: only one of --report-json and --html can be - (stdout)\n");
    return kUsage;
  }
  if (!bpf_compiles("audit", o.bpf)) return kUsage;
  if (!files_are_distinct("audit", o.files, {{"--canaries", canaries_path}},
                          {{"--report-json", report_path}, {"--html", html_path}})) {
    return kUsage;
  }
  order_by_time("audit", o.files);
  apply_switches(o, switches);
  o.workers = 1;  // flows are the auditor's keys: one shard
  o.pipeline.table.active_s = 0;

  std::vector<audit::Canary> canaries;
  std::unique_ptr<audit::Matcher> matcher;
  try {
    canaries = audit::load_canaries(canaries_path);
    matcher = std::make_unique<audit::Matcher>(audit::encode_canaries(canaries));
  } catch (const Error& ex) {
    eprint("sealscope audit: {}\n", ex.what());
    return kUsage;
  }
  stats::Summary summary;
  analyze::TeeSink tee;
  tee.add(&summary);
  audit::Auditor auditor(*matcher, ao);
  tee.add(&auditor);
  audit::ReportContext ctx{o.files, canaries_path, &canaries, &summary};
  bool ok = true;
  try {
    const StopOnSignal stop_on_signal;  // until the last output is closed
    auto analyzer = std::make_unique<analyze::Analyzer>(o, tee, summary);
    analyzer->check_inputs();
    analyzer->add_observer(&auditor);
    ok = analyzer->run();
    keep_until_exit(std::move(analyzer));  // run() has joined its threads
    if (!report_path.empty()) write_report(report_path, report::json_text(audit::report_json(auditor, ctx)) + "\n");
    if (!html_path.empty()) write_report(html_path, audit::report_html(auditor, ctx, version_string()));
  } catch (const Error& ex) {
    eprint("sealscope audit: {}\n", ex.what());
    return kInputProblem;
  }
  std::FILE* out = report_path == "-" || html_path == "-" ? stderr : stdout;
  if (quiet) {
    fmt::print(out, "audit verdict: {}\n", auditor.pass() ? "PASS" : "FAIL");
    // The verdict alone would hide that it rests on nothing: said on standard error, as input problems are.
    for (const auto& w : audit::warnings(auditor)) eprint("sealscope audit: warning: {}\n", w);
  } else {
    audit::print_summary(auditor, ctx, out);
  }
  for (const auto& p : summary.problems) {
    eprint("sealscope audit: {}: {} (read {} packets, stopped at byte offset {}; verdict on those)\n",
           p.name, p.reason, p.packets, p.offset);
  }
  if (summary.interrupted) return kInterrupted;
  if (!auditor.pass()) return kFailed;
  return ok ? kOk : kInputProblem;
}

}  // namespace sealscope::cli
