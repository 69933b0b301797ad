#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "analyze/analyzer.hpp"
#include "cli/commands.hpp"
#include "cli/parse.hpp"
#include "cli/pipeline_options.hpp"
#include "common/errors.hpp"
#include "eval/eval.hpp"
#include "report/summary_writer.hpp"
#include "report/text_escape.hpp"

namespace po = boost::program_options;

namespace sealscope::cli {

namespace {

/// Collects what the pipeline said about each flow of one capture, by match key.
class Collector : public stats::RecordSink {
 public:
  Collector(std::string file, std::map<std::string, eval::Observed>& out) : file_(std::move(file)), out_(out) {}
  void write(const stats::FlowRecord& r) override {
    const std::string a = eval::endpoint_text(r.src_ip, r.src_port, r.has_ports);
    const std::string b = eval::endpoint_text(r.dst_ip, r.dst_port, r.has_ports);
    eval::add_observed(out_, file_, eval::l4_upper(r.l4), r.vlan, a, b,
                       eval::Observed{r.verdict.label, std::string(r.verdict.family),
                                      std::string(r.verdict.activity), r.verdict.confidence});
  }

 private:
  std::string file_;
  std::map<std::string, eval::Observed>& out_;
};

void print_report(const eval::Report& rep, bool by_file, bool diff, FILE* out) {
  const auto& t = rep.total;
  print_text(out, "messaging/VoIP flows (family set, activity not dns): {}\n", t.flows);
  print_text(out, "  app agreement:             {:6.1f}%  ({}/{})\n", t.pct(t.app), t.app, t.flows);
  print_text(out, "  family agreement:          {:6.1f}%  ({}/{})\n", t.pct(t.family), t.family, t.flows);
  print_text(out, "  family+activity agreement: {:6.1f}%  ({}/{})\n", t.pct(t.family_activity), t.family_activity,
             t.flows);
  print_text(out, "false messaging labels: {} of {} {} without a family\n", rep.false_messaging,
             rep.unlabelled_flows, rep.unlabelled_flows == 1 ? "flow" : "flows");
  print_text(out, "labelled flows with no matching flow: {}\n", rep.not_found);
  if (rep.reread > 0) {
    print_text(out, "labelled flows matched under the one reading of an ambiguous IPv6 address that fits: {}\n",
               rep.reread);
  }
  print_text(out, "\n{:<12} {:>6} {:>8} {:>8} {:>10}\n", "family", "flows", "app%", "family%", "fam+act%");
  for (const auto& [fam, x] : rep.by_family) {
    print_text(out, "{:<12} {:>6} {:>8.1f} {:>8.1f} {:>10.1f}\n", fam, x.flows, x.pct(x.app), x.pct(x.family),
               x.pct(x.family_activity));
  }
  if (by_file) {
    print_text(out, "\n{:<52} {:>6} {:>8} {:>8} {:>10}\n", "file", "flows", "app%", "family%", "fam+act%");
    for (const auto& [file, x] : rep.by_file) {
      print_text(out, "{:<52} {:>6} {:>8.1f} {:>8.1f} {:>10.1f}\n", file, x.flows, x.pct(x.app), x.pct(x.family),
                 x.pct(x.family_activity));
    }
  }
  if (diff) {
    print_text(out,
               "\ndisagreements (file, l4, endpoints: expected label family/activity -> ours), and rows found under\n"
               "the one reading of an ambiguous IPv6 address that fits ([read as ...]):\n");
    for (const auto& s : rep.scored) {
      const auto& r = *s.row;
      const bool labelled = !r.family.empty() && r.activity != "dns";
      const bool false_pos = r.family.empty() && s.found && !s.ours.family.empty();
      if ((labelled && !(s.app_ok && s.family_activity_ok)) || false_pos || !s.found || !s.reading.empty()) {
        print_text(out, "  {} {} {} {}: {} {}/{} -> {}{}\n", r.file, r.l4, r.endpoint_a, r.endpoint_b,
                   r.expected_label, r.family.empty() ? "-" : r.family, r.activity,
                   s.found ? fmt::format("{} {}/{} ({})", s.ours.label, s.ours.family.empty() ? "-" : s.ours.family,
                                         s.ours.activity, s.ours.confidence)
                           : std::string("no such flow"),
                   s.reading.empty() ? std::string() : " [read as " + s.reading + "]");
      }
    }
  }
}

/// The value of a --min-* option: a percentage from 0 to 100 ("nan", "inf" and anything else refused, with
/// "sealscope eval: OPTION ..." on stderr); -1 when the option was not given.
bool parse_percent(const std::string& option, const std::optional<std::string>& text, double& out) {
  out = -1;
  if (!text) return true;
  const char* end = text->data() + text->size();
  double v = 0;
  const auto [at, ec] = std::from_chars(text->data(), end, v);
  if (ec != std::errc() || at != end || !(v >= 0 && v <= 100)) {
    eprint("sealscope eval: {} must be a percentage from 0 to 100, found '{}' (see 'sealscope eval --help')\n",
           option, *text);
    return false;
  }
  out = v;
  return true;
}

}  // namespace

int eval_main(const std::vector<std::string>& args) {
  std::string labels_path, capture_dir, column, json_path;
  std::optional<std::string> min_app_text, min_fa_text;
  double min_app = -1, min_fa = -1;
  bool by_file = false, diff = false, expiry = false;
  po::options_description desc(
      "usage: sealscope eval --labels LABELS.tsv CAPTURE_DIR [OPTIONS]\n\n"
      "Runs the analyze pipeline on every capture the labels file names (files in CAPTURE_DIR; an absolute\n"
      "path in the file column is read where it points), matches flows by (file, l4, VLAN, unordered\n"
      "endpoints) and scores agreement with the expected labels.\n\n"
      "Options");
  desc.add_options()
      ("help,h", "show this help")
      ("labels", po::value(&labels_path), "labels file (format of ../shared/corpus/labels.tsv)")
      ("diff", po::bool_switch(&diff),
       "list every disagreeing or unmatched flow, and every flow found under a reading of an ambiguous IPv6 "
       "address (with the reading)")
      ("by-file", po::bool_switch(&by_file), "print the per-file table")
      ("min-agreement", po::value<std::string>()->notifier([&](const std::string& v) { min_app_text = v; }),
       "exit 3 when app agreement (percent, 0-100) is below this")
      ("min-family-activity", po::value<std::string>()->notifier([&](const std::string& v) { min_fa_text = v; }),
       "exit 3 when family+activity agreement (percent, 0-100) is below this")
      ("score-column", po::value(&column),
       "score a column of the labels file instead of running the pipeline (ndpi42_label: the nDPI 4.2 baseline)")
      ("report-json", po::value(&json_path),
       "write totals and per-family/per-file tables as JSON to FILE (- = stdout; the tables then go to stderr)")
      ("expiry", po::bool_switch(&expiry),
       "keep analyze's idle timeouts and classification give-up (default: off, as the labels' reader never expires flows in files)");
  const Parsed parsed = parse_command(args, "eval", desc, capture_dir, 1,
                                      "Exit status: 0 ok, 1 a capture could not be read or nothing to score (no "
                                      "row matched a flow), 2 usage error or a missing or malformed labels file, "
                                      "3 below a --min-* threshold or no messaging/VoIP row to measure it on.\n");
  if (parsed.done) return parsed.code;
  if (!parse_percent("--min-agreement", min_app_text, min_app) ||
      !parse_percent("--min-family-activity", min_fa_text, min_fa)) {
    return kUsage;
  }
  if (labels_path.empty() || (capture_dir.empty() && column.empty())) {
    eprint("sealscope eval: need --labels FILE and a capture directory (see --help)\n");
    return kUsage;
  }
  std::vector<eval::LabelRow> rows;
  try {
    rows = eval::load_labels(labels_path);
  } catch (const Error& ex) {
    // Like policy test --labels: the labels file is part of the command line (exit status 2), a missing one
    // included, and is read before anything else.
    eprint("sealscope eval: {}\n", ex.what());
    return kUsage;
  }
  // The captures are the files the labels name, in CAPTURE_DIR: known only now, and checked with the labels
  // file before anything is written, so that --report-json never replaces one of them.
  std::set<std::string> files;
  for (const auto& r : rows) files.insert(r.file);
  auto capture_path = [&](const std::string& file) { return (std::filesystem::path(capture_dir) / file).string(); };
  std::vector<NamedPath> inputs{{"--labels", labels_path}};
  if (column.empty()) {
    for (const auto& file : files) inputs.push_back({"the capture", capture_path(file)});
  }
  if (!files_are_distinct("eval", {}, inputs, {{"--report-json", json_path}})) return kUsage;
  try {
    std::map<std::string, eval::Observed> observed;
    std::vector<stats::InputProblem> problems;  // captures not opened or not read to their end
    if (!column.empty()) {
      observed = eval::observed_from_column(rows, column);
    } else {
      for (const auto& file : files) {
        const std::string path = capture_path(file);
        analyze::AnalyzeOptions o;
        o.files = {path};
        if (!expiry) {
          o.pipeline.table.tcp_idle_s = o.pipeline.table.udp_idle_s = o.pipeline.table.other_idle_s = 100000000;
          o.pipeline.table.active_s = 0;
          o.pipeline.table.classify_idle_s = 0;
        }
        Collector col(file, observed);
        stats::Summary summary;
        analyze::TeeSink tee;
        tee.add(&col);
        tee.add(&summary);
        analyze::Analyzer an(o, tee, summary);
        try {
          an.check_inputs();
        } catch (const Error& ex) {
          eprint("sealscope eval: {}\n", ex.what());
          problems.push_back({path, ex.what(), 0, 0});
          continue;
        }
        if (!an.run()) {
          for (const auto& p : summary.problems) {
            if (p.offset == 0 && p.packets == 0) {  // not opened (missing, unreadable, not a capture)
              eprint("sealscope eval: {}: {}\n", p.name, p.reason);
            } else {
              eprint("sealscope eval: {}: {} (read {} packets, stopped at byte offset {})\n", p.name, p.reason,
                     p.packets, p.offset);
            }
            problems.push_back(p);
          }
        }
      }
    }
    const bool inputs_ok = problems.empty();
    const eval::Report rep = eval::score(rows, observed);
    print_report(rep, by_file, diff, json_path == "-" ? stderr : stdout);
    // Captures none of whose rows found a flow: most likely not the captures the labels describe (another
    // file under that name), which would otherwise pass as a plain 0% agreement. A capture that could not
    // be opened has had its message already.
    std::map<std::string, std::pair<uint64_t, uint64_t>> per_file;  // file -> (rows, rows matched)
    for (const auto& sc : rep.scored) {
      auto& [n, found] = per_file[sc.row->file];
      ++n;
      found += sc.found;
    }
    std::vector<std::string> unmatched;
    for (const auto& [file, counts] : per_file) {
      if (counts.second > 0) continue;
      const std::string path = capture_path(file);
      const bool not_opened = std::any_of(problems.begin(), problems.end(), [&](const stats::InputProblem& p) {
        return p.name == path && p.offset == 0 && p.packets == 0;
      });
      if (not_opened) continue;
      unmatched.push_back(file);
      eprint("sealscope eval: warning: {}: none of its {} {} in {} matched a flow of the capture (is it the "
             "capture the labels describe?)\n",
             path, counts.first, counts.first == 1 ? "row" : "rows", labels_path);
    }
    const uint64_t matched = rep.scored.size() - rep.not_found;
    if (!json_path.empty()) {
      nlohmann::json j;
      auto tally = [](const eval::Tally& t) {
        return nlohmann::json{{"flows", t.flows},
                              {"app", t.app},
                              {"family", t.family},
                              {"family_activity", t.family_activity},
                              {"app_pct", t.pct(t.app)},
                              {"family_pct", t.pct(t.family)},
                              {"family_activity_pct", t.pct(t.family_activity)}};
      };
      j["total"] = tally(rep.total);
      j["false_messaging"] = rep.false_messaging;
      j["unlabelled_flows"] = rep.unlabelled_flows;
      j["not_found"] = rep.not_found;
      j["reread"] = rep.reread;
      j["by_family"] = nlohmann::json::object();  // {} when there is none, not left out
      j["by_file"] = nlohmann::json::object();
      for (const auto& [k, t] : rep.by_family) j["by_family"][k] = tally(t);
      for (const auto& [k, t] : rep.by_file) j["by_file"][k] = tally(t);
      j["rows"] = rep.scored.size();
      j["matched"] = matched;
      j["unmatched_captures"] = unmatched;
      j["problems"] = report::problems_json<nlohmann::json>(problems);  // as analyze's summary lists them
      j["inputs_ok"] = inputs_ok;
      write_report(json_path, report::json_text(j) + "\n");
    }
    if (matched == 0) {
      // Agreement over no flow at all is not a result (and not "below the threshold" either).
      if (rows.empty()) {
        eprint("sealscope eval: nothing to score: {} has no rows\n", labels_path);
      } else {
        eprint("sealscope eval: nothing to score: none of the {} {} in {} matched a flow of the captures\n",
               rows.size(), rows.size() == 1 ? "row" : "rows", labels_path);
      }
      return kInputProblem;
    }
    if (!inputs_ok) return kInputProblem;
    if ((min_app >= 0 || min_fa >= 0) && rep.total.flows == 0) {
      eprint("sealscope eval: no messaging/VoIP row (family set, activity not dns) in {}: agreement not "
             "measured, so the --min-* threshold is not met\n",
             labels_path);
      return kFailed;
    }
    if ((min_app >= 0 && rep.total.pct(rep.total.app) < min_app) ||
        (min_fa >= 0 && rep.total.pct(rep.total.family_activity) < min_fa)) {
      eprint("sealscope eval: agreement below the threshold\n");
      return kFailed;
    }
    return kOk;
  } catch (const UsageError& ex) {
    eprint("sealscope eval: {}\n", ex.what());
    return kUsage;
  } catch (const Error& ex) {
    eprint("sealscope eval: {}\n", ex.what());
    return kInputProblem;
  }
}

}  // namespace sealscope::cli
