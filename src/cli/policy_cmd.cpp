#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <fstream>
#include <memory>
#include <sstream>

#include "analyze/analyzer.hpp"
#include "cli/commands.hpp"
#include "cli/parse.hpp"
#include "cli/pipeline_options.hpp"
#include "common/errors.hpp"
#include "policy/dry_run.hpp"
#include "policy/policy.hpp"
#include "policy/report.hpp"
#include "report/text_escape.hpp"

namespace po = boost::program_options;

namespace sealscope::cli {

namespace {

const char* kPolicyUsage =
    "usage: sealscope policy check RULES.yaml\n"
    "       sealscope policy test --rules RULES.yaml [OPTIONS] CAPTURE...\n"
    "\n"
    "Region-scoped rules (sealscope-rules(5)): 'check' validates and lints a rules file; 'test' replays\n"
    "captures through the rules as a middlebox would and reports, rule by rule and region by region, what\n"
    "they would drop, throttle and let through before the verdict.\n"
    "Run 'sealscope policy check --help' or 'sealscope policy test --help' for their options.\n";


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
  std::unique_ptr<policy::Policy> pol;
  try {
    policy::LoadResult r = policy::load_policy_file(rules, false);
    if (r.errors() > 0) {
      print_diagnostics(r);
      eprint("sealscope policy test: {} has {} error(s); nothing was run\n", rules, r.errors());
      return kUsage;
    }
    // Warnings too (an unknown app name with its did-you-mean): a misspelt rule would otherwise just match
    // nothing in the dry run without a word.
    if (!r.diagnostics.empty()) print_diagnostics(r);
    pol = std::move(r.policy);
  } catch (const Error& ex) {
    eprint("sealscope policy test: {}\n", ex.what());
    return kUsage;
  }
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
    analyze::Analyzer analyzer(o, tee, summary);
    analyzer.check_inputs();
    if (!labels_path.empty()) {
      run.set_truth(&truth);
      ctx.truth = "labels file " + labels_path;
    }
    if (!pass_path.empty()) run.set_pass_pcap(std::make_unique<policy::PcapOut>(pass_path));
    if (!drop_path.empty()) run.set_drop_pcap(std::make_unique<policy::PcapOut>(drop_path));
    tee.add(&run);
    analyzer.add_observer(&run);
    ok = analyzer.run();
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
    return kOk;
  }
  if (sub == "check") return check_main(rest);
  if (sub == "test") return test_main(rest);
  eprint("sealscope policy: unknown sub-command '{}'{}\n{}", sub, policy::suggest(sub, {"check", "test"}),
         verbatim(kPolicyUsage));
  return kUsage;
}

}  // namespace sealscope::cli
