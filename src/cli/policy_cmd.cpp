#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <fstream>
#include <memory>
#include <sstream>

#include "analyze/analyzer.hpp"
#include "cli/commands.hpp"
#include "cli/ipfix_option.hpp"
#include "cli/parse.hpp"
#include "cli/pipeline_options.hpp"
#include "common/errors.hpp"
#include "policy/dry_run.hpp"
#include "policy/policy.hpp"
#include "policy/report.hpp"
#include "report/flow_writers.hpp"
#include "report/summary_writer.hpp"
#include "report/text_escape.hpp"

namespace po = boost::program_options;

namespace sealscope::cli {

namespace {

const char* kPolicyUsage =
    "usage: sealscope policy check RULES.yaml\n"
    "       sealscope policy test --rules RULES.yaml [OPTIONS] CAPTURE...\n"
    "       sealscope policy enforce --rules RULES.yaml --queue N [OPTIONS]\n"
    "\n"
    "Region-scoped rules (sealscope-rules(5)): 'check' validates and lints a rules file; 'test' replays\n"
    "captures through the rules as a middlebox would and reports, rule by rule and region by region, what\n"
    "they would drop, throttle and let through before the verdict; 'enforce' applies them inline to the\n"
    "packets a netfilter queue holds, and reports the same at its end.\n"
    "Run 'sealscope policy check --help', 'sealscope policy test --help' or\n"
    "'sealscope policy enforce --help' for their options.\n";


void print_diagnostics(const policy::LoadResult& r) {
  for (const auto& d : r.diagnostics) eprint("{}\n", d.format());
}

int check_main(const std::vector<std::string>& args) {
  std::string rules;
  bool quiet = false;
  po::options_description desc(
      "usage: sealscope policy check [OPTIONS] RULES.yaml\n\n"
      "Validates a rules file and lints it: unknown names (with did-you-mean), rules shadowed by earlier\n"
      "ones, overlapping regions, windows that never open, rules that can never apply.\n"
      "Findings go to stderr as FILE:LINE:COLUMN: error|warning: MESSAGE.\n\nOptions");
  desc.add_options()("help,h", "show this help")("quiet,q", po::bool_switch(&quiet),
                                                 "print no summary line on stdout");
  const Parsed parsed = parse_command(args, "policy check", desc, rules, 1,
                                      "Exit status: 0 clean, 1 warnings only, 2 errors (or usage error).\n");
  if (parsed.done) return parsed.code;
  if (rules.empty()) {
    eprint("sealscope policy check: no rules file given (see --help)\n");
    return kUsage;
  }
  policy::LoadResult r;
  try {
    r = policy::load_policy_file(rules, true);
  } catch (const Error& ex) {
    eprint("sealscope policy check: {}\n", ex.what());
    return 2;
  }
  print_diagnostics(r);
  if (!quiet) {
    if (r.policy) {
      print_text(stdout, "{}: {} region(s), {} rule(s), default {}: {} error(s), {} warning(s)\n", rules,
                 r.policy->regions.size(), r.policy->rules.size(), policy::describe(r.policy->default_action),
                 r.errors(), r.warnings());
    } else {
      print_text(stdout, "{}: {} error(s), {} warning(s)\n", rules, r.errors(), r.warnings());
    }
  }
  if (r.errors() > 0) return 2;
  return r.warnings() > 0 ? 1 : 0;
}

/// The rules file for a run: errors (and warnings, printed: a misspelt app would otherwise just match nothing
/// without a word) on stderr; null after an error.
std::unique_ptr<policy::Policy> load_for_run(const std::string& cmd, const std::string& rules) {
  try {
    policy::LoadResult r = policy::load_policy_file(rules, false);
    if (r.errors() > 0) {
      print_diagnostics(r);
      eprint("sealscope {}: {} has {} error(s); nothing was run\n", cmd, rules, r.errors());
      return nullptr;
    }
    if (!r.diagnostics.empty()) print_diagnostics(r);
    return std::move(r.policy);
  } catch (const Error& ex) {
    eprint("sealscope {}: {}\n", cmd, ex.what());
    return nullptr;
  }
}

int test_main(const std::vector<std::string>& args) {
  analyze::AnalyzeOptions o;
  std::string rules, report_path, html_path, pass_path, drop_path, labels_path;
  bool quiet = false;
  PipelineSwitches switches;
  auto& t = o.pipeline.table;
  po::options_description desc(
      "usage: sealscope policy test --rules RULES.yaml [OPTIONS] CAPTURE...\n\n"
      "Replays captures through the rules as a middlebox would: a flow passes until its classification is\n"
      "final, then its first matching rule acts on each packet at that packet's time (block drops;\n"
      "throttle is a token bucket per flow, one second deep). Reports per rule and per region, and the\n"
      "time to block.\n"
      "A CAPTURE of - is standard input (pcap or pcapng).\n\n"
      "Options");
  desc.add_options()
      ("help,h", "show this help")
      ("rules", po::value(&rules), "the rules file (sealscope-rules(5)); required")
      ("report-json", po::value(&report_path), "write the report as JSON to FILE (- = stdout)")
      ("html", po::value(&html_path), "write the report as a self-contained HTML page to FILE (no script; - = stdout)")
      ("pass-pcap", po::value(&pass_path), "write the frames that would have passed to FILE (pcap, headers only)")
      ("drop-pcap", po::value(&drop_path), "write the frames that would have been dropped to FILE (pcap, headers only)")
      ("labels", po::value(&labels_path),
       "ground truth per flow (labels.tsv: file, l4, vlan, endpoint_a, endpoint_b, packets, expected_label, "
       "family, activity) for intended vs collateral hits; default: the flows' own labels")
      ("bpf", po::value(&o.bpf), "BPF filter applied to the captures (pcap-filter(7))")
      ("quiet,q", po::bool_switch(&quiet), "do not print the report tables on stdout");
  desc.add(pipeline_options(o, switches));
  const Parsed parsed = parse_command(
      args, "policy test", desc, o.files, -1,
      "The report holds counts and names only. The pcap outputs hold each frame cut where its L4 payload\n"
      "starts (link, IP and TCP/UDP headers; the original length is kept): never payload.\n"
      "Exit status: 0 ok, 1 an input could not be read (to its end), 2 usage error, a rules error or a malformed --labels file.\n");
  if (parsed.done) return parsed.code;
  if (rules.empty()) {
    eprint("sealscope policy test: --rules FILE is required (see --help)\n");
    return kUsage;
  }
  if (o.files.empty()) {
    eprint("sealscope policy test: no capture given (see --help)\n");
    return kUsage;
  }
  if (report_path == "-" && html_path == "-") {
    eprint("sealscope policy test: only one of --report-json and --html can be - (stdout)\n");
    return kUsage;
  }
  if (pass_path == "-" || drop_path == "-") {
    // Not standard output: the binary pcap would be mixed with the summary printed there.
    eprint("sealscope policy test: --{}-pcap writes a pcap file; - (standard output) is not one\n",
           pass_path == "-" ? "pass" : "drop");
    return kUsage;
  }
  if (!bpf_compiles("policy test", o.bpf)) return kUsage;
  if (!files_are_distinct("policy test", o.files, {{"--rules", rules}, {"--labels", labels_path}},
                            {{"--report-json", report_path},
                             {"--html", html_path},
                             {"--pass-pcap", pass_path},
                             {"--drop-pcap", drop_path}})) {
    return kUsage;
  }
  order_by_time("policy test", o.files);
  const std::unique_ptr<policy::Policy> pol = load_for_run("policy test", rules);
  if (!pol) return kUsage;
  apply_switches(o, switches);
  o.workers = 1;  // flow ids are the dry-run's keys: one shard
  t.active_s = 0;

  stats::Summary summary;
  analyze::TeeSink tee;
  tee.add(&summary);
  policy::DryRun run(*pol);
  policy::TruthTable truth;
  policy::ReportContext ctx{rules, o.files, "flow labels", &summary};
  if (!labels_path.empty()) {
    // Like the rules file, the labels file is read before anything is written: its errors are the
    // command line's (exit status 2, as --help says), a missing file included.
    try {
      truth.load(labels_path, o.files);
    } catch (const Error& ex) {
      eprint("sealscope policy test: {}\n", ex.what());
      return kUsage;
    }
    if (truth.empty()) {
      eprint("sealscope policy test: warning: {} has no row for the captures given: every flow is judged on its "
             "own label\n",
             labels_path);
    }
  }
  bool ok = true;
  try {
    const StopOnSignal stop_on_signal;  // until the last output is closed
    auto analyzer = std::make_unique<analyze::Analyzer>(o, tee, summary);
    analyzer->check_inputs();
    if (!labels_path.empty()) {
      run.set_truth(&truth);
      ctx.truth = "labels file " + labels_path;
    }
    if (!pass_path.empty()) run.set_pass_pcap(std::make_unique<policy::PcapOut>(pass_path));
    if (!drop_path.empty()) run.set_drop_pcap(std::make_unique<policy::PcapOut>(drop_path));
    tee.add(&run);
    analyzer->add_observer(&run);
    ok = analyzer->run();
    keep_until_exit(std::move(analyzer));  // run() has joined its threads
    run.finish();
    if (!report_path.empty()) write_report(report_path, report::json_text(policy::report_json(run, ctx)) + "\n");
    if (!html_path.empty()) write_report(html_path, policy::report_html(run, ctx, version_string()));
  } catch (const ConfigError& ex) {
    eprint("sealscope policy test: {}\n", ex.what());
    return kUsage;
  } catch (const Error& ex) {
    eprint("sealscope policy test: {}\n", ex.what());
    return kInputProblem;
  }
  if (!quiet) policy::print_report(run, ctx, report_path == "-" || html_path == "-" ? stderr : stdout);
  for (const auto& p : summary.problems) {
    eprint("sealscope policy test: {}: {} (read {} packets, stopped at byte offset {})\n", p.name,
           p.reason, p.packets, p.offset);
  }
  if (summary.interrupted) return kInterrupted;
  return ok ? kOk : kInputProblem;
}


int enforce_main(const std::vector<std::string>& args) {
  analyze::AnalyzeOptions o;
  std::string rules, report_path, html_path, flows_path;
  int queue = -1;
  bool queue_given = false;
  uint32_t max_len = capture::NfQueue::Options{}.max_len;
  bool quiet = false, fail_open = false;
  IpfixOption ipfix_opt;
  PipelineSwitches switches;
  std::vector<std::string> extra;
  po::options_description desc(
      "usage: sealscope policy enforce --rules RULES.yaml --queue N [OPTIONS]\n\n"
      "Applies the rules inline: judges each packet a netfilter queue holds, as 'policy test' judges a\n"
      "capture's, and tells the kernel to let it through or drop it. A flow passes until its classification\n"
      "is final; then its first matching rule acts on each packet, at the local time the packet arrives\n"
      "(block drops; throttle is a token bucket per flow, one second deep). Runs until Ctrl-C (SIGINT),\n"
      "SIGTERM or --duration, then prints the report of 'policy test'.\n\n"
      "Options");
  desc.add_options()
      ("help,h", "show this help")
      ("rules", po::value(&rules), "the rules file (sealscope-rules(5)); required")
      ("queue", po::value(&queue)->notifier([&](int) { queue_given = true; }), "the netfilter queue number, 0-65535 (iptables -j NFQUEUE --queue-num N); required")
      ("duration", po::value(&o.duration_s), "stop after S seconds (0, the default: until Ctrl-C or SIGTERM)")
      ("fail-open", po::bool_switch(&fail_open),
       "when the queue is full, let the kernel pass packets unjudged (and uncounted) instead of dropping them")
      ("queue-maxlen", po::value(&max_len)->default_value(max_len),
       "packets the kernel holds for sealscope before the queue is full")
      ("flows", po::value(&flows_path), "write each flow's record, as it ends, to FILE (JSON Lines, sealscope-flows(5); - = stdout)");
  ipfix_opt.add_to(desc, "the report");
  desc.add_options()
      ("report-json", po::value(&report_path), "write the report as JSON to FILE (- = stdout)")
      ("html", po::value(&html_path), "write the report as a self-contained HTML page to FILE (no script; - = stdout)")
      ("quiet,q", po::bool_switch(&quiet), "do not print the report tables on stdout");
  desc.add(pipeline_options(o, switches));
  const Parsed parsed = parse_command(
      args, "policy enforce", desc, extra, 0,
      "Send packets to the queue with a firewall rule, e.g. on a router:\n"
      "  iptables -I FORWARD -j NFQUEUE --queue-num 0 --queue-bypass\n"
      "(--queue-bypass: while no program holds the queue, packets pass; without it the kernel drops them).\n"
      "Packets start at their IP header and are timed by the wall clock as they are read. A packet that\n"
      "is not an IP packet sealscope can decode, or that no flow takes yet (a later IP fragment before its\n"
      "first), is let through and counted. Binding a queue needs root or CAP_NET_ADMIN.\n"
      "The report and the records hold counts, names and addresses only, never payload.\n"
      "Exit status: 0 ok (stopped by a signal or --duration), 1 the queue could not be bound or read, an\n"
      "output could not be written or --ipfix messages could not be sent, 2 usage error or a rules error.\n");
  if (parsed.done) return parsed.code;
  if (rules.empty() || !queue_given) {
    eprint("sealscope policy enforce: {} is required (see --help)\n", rules.empty() ? "--rules FILE" : "--queue N");
    return kUsage;
  }
  if (queue < 0 || queue > 65535) {
    eprint("sealscope policy enforce: --queue must be between 0 and 65535\n");
    return kUsage;
  }
  if (!(o.duration_s >= 0)) {  // also NaN
    eprint("sealscope policy enforce: --duration must be 0 (until stopped) or more seconds\n");
    return kUsage;
  }
  if (max_len == 0) {
    eprint("sealscope policy enforce: --queue-maxlen must be at least 1\n");
    return kUsage;
  }
  if ((report_path == "-") + (html_path == "-") + (flows_path == "-") > 1) {
    eprint("sealscope policy enforce: only one of --flows, --report-json and --html can be - (stdout)\n");
    return kUsage;
  }
  if (!files_are_distinct("policy enforce", {}, {{"--rules", rules}},
                            {{"--flows", flows_path}, {"--report-json", report_path}, {"--html", html_path}})) {
    return kUsage;
  }
  if (!ipfix_opt.check("policy enforce")) return kUsage;
  const std::unique_ptr<policy::Policy> pol = load_for_run("policy enforce", rules);
  if (!pol) return kUsage;
  apply_switches(o, switches);
  o.queue = capture::NfQueue::Options{static_cast<uint16_t>(queue), fail_open, max_len};
  o.pipeline.table.active_s = 0;  // flow ids are the tallies' keys: one record per flow, at its end

  stats::Summary summary;
  analyze::TeeSink tee;
  tee.add(&summary);
  policy::DryRun run(*pol);
  std::unique_ptr<report::JsonlWriter> jsonl;
  std::unique_ptr<ipfix::Exporter> ipfix_out;
  policy::ReportContext ctx{rules, {}, "flow labels", &summary, true};
  bool ok = true;
  try {
    const StopOnSignal stop_on_signal;  // until the last output is closed
    auto analyzer = std::make_unique<analyze::Analyzer>(o, tee, summary);
    analyzer->check_inputs();  // binds the queue: a queue that cannot be had creates no output file
    ctx.captures = {fmt::format("nfqueue {}", queue)};
    if (!flows_path.empty()) {
      jsonl = std::make_unique<report::JsonlWriter>(flows_path);
      jsonl->set_flush_each(true);  // each record as its flow ends, as a live capture writes them
      tee.add(jsonl.get());
    }
    ipfix_out = ipfix_opt.open(true);  // each record as its flow ends
    if (ipfix_out) tee.add(ipfix_out.get());
    tee.add(&run);
    analyzer->add_observer(&run);
    analyzer->set_gate(&run);
    ok = analyzer->run();
    keep_until_exit(std::move(analyzer));  // run() has joined its threads
    run.finish();
    if (jsonl) jsonl->close();
    if (ipfix_out) IpfixOption::close(*ipfix_out, summary);
    if (!report_path.empty()) write_report(report_path, report::json_text(policy::report_json(run, ctx)) + "\n");
    if (!html_path.empty()) write_report(html_path, policy::report_html(run, ctx, version_string()));
  } catch (const Error& ex) {
    eprint("sealscope policy enforce: {}\n", ex.what());
    return kInputProblem;
  }
  const bool to_stdout = report_path == "-" || html_path == "-" || flows_path == "-";
  if (!quiet) {
    FILE* out = to_stdout ? stderr : stdout;
    if (summary.queue) {
      const stats::QueueTotals& q = *summary.queue;
      print_text(out, "{}: {} packets judged: {} let through, {} dropped{}\n", q.name, q.packets, q.accepted,
                 q.dropped,
                 q.fail_open ? " (--fail-open: packets that found the queue full went through unjudged, uncounted)"
                             : "");
    }
    report::print_ipfix_line(summary, out);
    policy::print_report(run, ctx, out);
  }
  const bool ipfix_failed = IpfixOption::failed("policy enforce", summary);
  for (const auto& p : summary.problems) {
    eprint("sealscope policy enforce: {}: {} (stopped after {} packets)\n", p.name, p.reason, p.packets);
  }
  if (summary.interrupted) return kInterrupted;
  return ok && !ipfix_failed ? kOk : kInputProblem;
}

}  // namespace

int policy_main(const std::vector<std::string>& args) {
  if (args.empty()) {
    eprint("{}", verbatim(kPolicyUsage));
    return kUsage;
  }
  const std::string& sub = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "-h" || sub == "--help" || sub == "help") {
    fmt::print("{}", kPolicyUsage);
    // The options of both sub-commands, so that `sealscope policy --help` lists everything.
    check_main({"--help"});
    test_main({"--help"});
    enforce_main({"--help"});
    return kOk;
  }
  if (sub == "check") return check_main(rest);
  if (sub == "test") return test_main(rest);
  if (sub == "enforce") return enforce_main(rest);
  eprint("sealscope policy: unknown sub-command '{}'{}\n{}", sub, policy::suggest(sub, {"check", "test", "enforce"}),
         verbatim(kPolicyUsage));
  return kUsage;
}

}  // namespace sealscope::cli
