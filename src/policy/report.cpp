#include "policy/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>

#include "common/display_text.hpp"
#include "report/html_page.hpp"
#include "report/summary_writer.hpp"

namespace sealscope::policy {

namespace {
using ojson = nlohmann::ordered_json;

ojson vol(const Volume& v) { return ojson{{"packets", v.packets}, {"bytes", v.bytes}}; }

/// Said on the page and in the text report when the captures held no flow.
constexpr const char* kNoFlows =
    "no flow in the captures: no rule was tried, so this dry run says nothing about the rules";

double round3(double x) { return std::round(x * 1000.0) / 1000.0; }

ojson tally(const Tally& t, bool with_intent) {
  ojson j;
  j["flows"] = t.flows;
  j["dropped_flows"] = t.dropped_flows;
  j["subscribers"] = t.subscribers.size();
  j["packets"] = t.all.packets;
  j["bytes"] = t.all.bytes;
  j["passed"] = vol(t.passed);
  j["dropped"] = vol(t.dropped);
  j["throttled"] = vol(t.throttled);
  j["before_verdict"] = vol(t.before_verdict);
  if (with_intent) {
    j["intended"] = t.intended;
    j["collateral"] = t.collateral;
    ojson cl = ojson::object();
    for (const auto& [l, n] : t.collateral_labels) cl[l] = n;
    j["collateral_labels"] = cl;
  }
  return j;
}

}  // namespace

ojson report_json(const DryRun& run, const ReportContext& ctx) {
  const Policy& p = run.policy();
  ojson j;
  j["rules_file"] = ctx.rules_file;
  j["captures"] = ctx.captures;
  j["truth"] = ctx.truth;
  if (ctx.summary) j["capture"] = report::capture_json(*ctx.summary);
  j["totals"] = tally(run.total(), false);
  j["totals"]["flows_without_region"] = run.flows_without_region();
  ojson rules = ojson::array();
  for (size_t i = 0; i <= p.rules.size(); ++i) {
    const int idx = i < p.rules.size() ? static_cast<int>(i) : -1;
    ojson r;
    r["rule"] = p.rule_name(idx);
    r["line"] = idx < 0 ? p.default_pos.line : p.rules[i].pos.line;
    const Action& a = p.rule_action(idx);
    r["action"] = action_name(a.kind);
    if (a.kind == ActionKind::Throttle) r["kbit_s"] = a.kbit_s;
    const bool intent = idx >= 0 && p.rules[i].intent.any();
    r.update(tally(run.rules()[i], intent));
    rules.push_back(std::move(r));
  }
  j["rules"] = std::move(rules);
  ojson regions = ojson::array();
  for (size_t i = 0; i < p.regions.size(); ++i) {
    ojson r;
    r["region"] = p.regions[i].name;
    r.update(tally(run.regions()[i], false));
    regions.push_back(std::move(r));
  }
  j["regions"] = std::move(regions);
  ojson leaks = ojson::array();
  for (const auto& [label, l] : run.leaks()) {
    const TimeSample::Summary ms = l.ms.summary();
    ojson e;
    e["label"] = label;
    e["flows"] = l.flows;
    e["packets"] = l.before.packets;
    e["bytes"] = l.before.bytes;
    e["ms"] = ojson{{"min", round3(ms.min)},
                    {"p50", round3(ms.p50)},
                    {"p90", round3(ms.p90)},
                    {"max", round3(ms.max)},
                    {"mean", round3(ms.mean)}};
    if (ms.sampled()) e["ms"]["sample"] = ms.sample;  // p50 and p90 from a uniform sample of this many flows
    leaks.push_back(std::move(e));
  }
  j["time_to_block"] = std::move(leaks);
  ojson out = ojson::object();
  if (run.pass_pcap()) out["pass_pcap"] = {{"file", run.pass_pcap()->path()}, {"packets", run.pass_pcap()->written()}};
  if (run.drop_pcap()) out["drop_pcap"] = {{"file", run.drop_pcap()->path()}, {"packets", run.drop_pcap()->written()}};
  j["outputs"] = std::move(out);
  return j;
}

std::string report_html(const DryRun& run, const ReportContext& ctx, const std::string& generator) {
  namespace html = report::html;
  using html::bytes_cell;
  using html::count_cell;
  using html::raw;
  using html::text;
  const Policy& p = run.policy();
  const Tally& t = run.total();
  html::Buf b;
  auto out = std::back_inserter(b);
  // The columns rules and regions share: flows, subscribers, packets, bytes, dropped, throttled, before verdict.
  const auto tally_cells = [&b](const Tally& r) {
    count_cell(b, r.flows);
    count_cell(b, r.subscribers.size());
    count_cell(b, r.all.packets);
    bytes_cell(b, r.all.bytes);
    count_cell(b, r.dropped.packets);
    bytes_cell(b, r.dropped.bytes);
    count_cell(b, r.throttled.packets);
    count_cell(b, r.before_verdict.packets);
  };
  const size_t slash = ctx.rules_file.rfind('/');
  const std::string cmd = ctx.enforced ? "sealscope policy enforce" : "sealscope policy test";
  html::begin(b, cmd + ": " + (slash == std::string::npos ? ctx.rules_file : ctx.rules_file.substr(slash + 1)), cmd);
  raw(b, "<p id=\"inputs\">Rules <code>");
  text(b, ctx.rules_file);
  if (ctx.enforced) {
    raw(b, "</code> applied inline to");
  } else {
    fmt::format_to(out, "</code> replayed on {} capture{}:", ctx.captures.size(), ctx.captures.size() == 1 ? "" : "s");
  }
  html::code_list(b, ctx.captures);
  raw(b, "; intended and collateral hits judged by ");
  text(b, ctx.truth);
  raw(b, ".</p>\n");

  const stats::Summary empty;
  const stats::Summary& summary = ctx.summary ? *ctx.summary : empty;
  std::vector<std::string> notices = report::incomplete_lines(summary);
  const bool failed = !notices.empty();
  if (t.flows == 0) notices.push_back(kNoFlows);
  html::notices(b, notices, failed);

  raw(b, "<h2>Totals</h2>\n<table class=\"kv\" id=\"totals\"><tbody>\n");
  html::kv_row(b, "capture (UTC)",
               summary.timed ? html::utc(summary.first_ts) + " to " + html::utc(summary.last_ts) : "-", "span");
  html::kv_row(b, "flows", fmt::format("{} ({} in no region)", t.flows, run.flows_without_region()), "flows");
  html::kv_row(b, "packets", fmt::format("{} ({})", t.all.packets, human_bytes(t.all.bytes)), "packets");
  html::kv_row(b, "passed", fmt::format("{} packets ({})", t.passed.packets, human_bytes(t.passed.bytes)), "passed");
  html::kv_row(b, "dropped", fmt::format("{} packets ({}), of which {} by a throttle", t.dropped.packets,
                                         human_bytes(t.dropped.bytes), t.throttled.packets),
               "dropped");
  html::kv_row(b, "passed before a verdict",
               fmt::format("{} packets ({})", t.before_verdict.packets, human_bytes(t.before_verdict.bytes)),
               "before-verdict");
  raw(b, "</tbody></table>\n");

  raw(b, "<h2>Per rule (first match wins; the default last)</h2>\n<div class=\"wide\"><table id=\"rules\"><thead><tr>"
         "<th>rule</th><th>line</th><th>action</th><th>flows</th><th>subscribers</th><th>packets</th><th>bytes</th>"
         "<th>dropped</th><th>dropped bytes</th><th>throttled</th><th>before verdict</th><th>intended</th>"
         "<th>collateral</th></tr></thead><tbody>\n");
  for (size_t i = 0; i <= p.rules.size(); ++i) {
    const int idx = i < p.rules.size() ? static_cast<int>(i) : -1;
    const Tally& r = run.rules()[i];
    const bool intent = idx >= 0 && p.rules[i].intent.any();
    raw(b, "<tr><td>");
    text(b, p.rule_name(idx));
    fmt::format_to(out, "</td><td class=\"n\">{}</td><td>", idx < 0 ? p.default_pos.line : p.rules[i].pos.line);
    text(b, describe(p.rule_action(idx)));
    raw(b, "</td>");
    tally_cells(r);
    if (intent) {
      count_cell(b, r.intended);
      count_cell(b, r.collateral);
    } else {
      raw(b, "<td class=\"n none\">-</td><td class=\"n none\">-</td>");
    }
    raw(b, "</tr>\n");
    if (!r.collateral_labels.empty()) {
      raw(b, "<tr class=\"collateral\"><td></td><td colspan=\"12\" class=\"sub\">collateral:");
      bool first = true;
      for (const auto& [l, n] : r.collateral_labels) {
        fmt::format_to(out, "{} {} &#215; ", first ? "" : ",", n);
        text(b, l);
        first = false;
      }
      raw(b, "</td></tr>\n");
    }
  }
  raw(b, "</tbody></table></div>\n");

  if (!p.regions.empty()) {
    raw(b, "<h2>Per region</h2>\n<table id=\"regions\"><thead><tr><th>region</th><th>flows</th><th>subscribers</th>"
           "<th>packets</th><th>bytes</th><th>dropped</th><th>dropped bytes</th><th>throttled</th>"
           "<th>before verdict</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < p.regions.size(); ++i) {
      const Tally& r = run.regions()[i];
      raw(b, "<tr><td>");
      text(b, p.regions[i].name);
      raw(b, "</td>");
      tally_cells(r);
      raw(b, "</tr>\n");
    }
    raw(b, "</tbody></table>\n");
  }

  raw(b, "<h2>Time to block</h2>\n<p>Flows whose rule at the last decision (the verdict, or a revision of the "
         "label that chose another rule) blocks or throttles, by their own labels: what passed before that "
         "decision, and how long after the flow's first packet it came.</p>\n");
  if (run.leaks().empty()) {
    raw(b, "<p class=\"none\" id=\"time-to-block\">No flow was blocked or throttled.</p>\n");
  } else {
    raw(b, "<table id=\"time-to-block\"><thead><tr><th>label</th><th>flows</th><th>packets</th><th>bytes</th>"
           "<th>min ms</th><th>p50 ms</th><th>p90 ms</th><th>max ms</th></tr></thead><tbody>\n");
    html::Buf notes;  // after the table: labels whose p50 and p90 come from a sample
    for (const auto& [label, l] : run.leaks()) {
      const TimeSample::Summary ms = l.ms.summary();
      if (ms.sampled()) {
        raw(notes, "<p class=\"none\">p50 and p90 of ");
        text(notes, label);
        fmt::format_to(std::back_inserter(notes), ": from a uniform sample of {} of its {} flows.</p>\n", ms.sample,
                       ms.n);
      }
      raw(b, "<tr><td>");
      text(b, label);
      raw(b, "</td>");
      count_cell(b, l.flows);
      count_cell(b, l.before.packets);
      bytes_cell(b, l.before.bytes);
      fmt::format_to(out, "<td class=\"n\">{:.1f}</td><td class=\"n\">{:.1f}</td><td class=\"n\">{:.1f}</td>"
                          "<td class=\"n\">{:.1f}</td></tr>\n",
                     ms.min, ms.p50, ms.p90, ms.max);
    }
    raw(b, "</tbody></table>\n");
    raw(b, std::string_view(notes.data(), notes.size()));
  }
  if (run.pass_pcap() || run.drop_pcap()) {
    raw(b, "<h2>Frames written</h2>\n<table class=\"kv\" id=\"outputs\"><tbody>\n");
    if (run.pass_pcap()) {
      html::kv_row(b, "passed", fmt::format("{} frames to {}", run.pass_pcap()->written(), run.pass_pcap()->path()));
    }
    if (run.drop_pcap()) {
      html::kv_row(b, "dropped", fmt::format("{} frames to {}", run.drop_pcap()->written(), run.drop_pcap()->path()));
    }
    raw(b, "</tbody></table>\n");
  }
  html::end(b, "This page holds counts, rule, region and label names, never a byte of payload; the pcap outputs hold "
               "headers only.",
            generator);
  return fmt::to_string(b);
}

void print_report(const DryRun& run, const ReportContext& ctx, FILE* out) {
  const Policy& p = run.policy();
  const Tally& t = run.total();
  if (ctx.enforced) {
    print_text(out, "policy enforce: {} applied inline to {}; truth: {}\n", ctx.rules_file,
               ctx.captures.empty() ? std::string() : ctx.captures.front(), ctx.truth);
  } else {
    print_text(out, "policy dry-run: {} on {} capture(s); truth: {}\n", ctx.rules_file, ctx.captures.size(),
               ctx.truth);
  }
  print_text(out, "total: {} flows ({} in no region), {} packets / {}; passed {} / {}, dropped {} / {} "
                  "(throttle {}), before verdict {} packets / {}\n\n",
             t.flows, run.flows_without_region(), t.all.packets, human_bytes(t.all.bytes), t.passed.packets,
             human_bytes(t.passed.bytes), t.dropped.packets, human_bytes(t.dropped.bytes), t.throttled.packets,
             t.before_verdict.packets, human_bytes(t.before_verdict.bytes));
  if (t.flows == 0) print_text(out, "warning: {}\n\n", kNoFlows);
  print_text(out, "{:<24} {:<16} {:>6} {:>5} {:>9} {:>10} {:>9} {:>10} {:>9} {:>9} {:>8} {:>10}\n", "rule",
             "action", "flows", "subs", "packets", "bytes", "dropped", "dropped B", "throttled", "pre-verd",
             "intended", "collateral");
  for (size_t i = 0; i <= p.rules.size(); ++i) {
    const int idx = i < p.rules.size() ? static_cast<int>(i) : -1;
    const Tally& r = run.rules()[i];
    const bool intent = idx >= 0 && p.rules[i].intent.any();
    print_text(out, "{:<24} {:<16} {:>6} {:>5} {:>9} {:>10} {:>9} {:>10} {:>9} {:>9} {:>8} {:>10}\n",
               verbatim(display_cut(p.rule_name(idx), 24)), describe(p.rule_action(idx)), r.flows,
               r.subscribers.size(), r.all.packets, r.all.bytes, r.dropped.packets, r.dropped.bytes,
               r.throttled.packets, r.before_verdict.packets, intent ? std::to_string(r.intended) : "-",
               intent ? std::to_string(r.collateral) : "-");
    for (const auto& [l, n] : r.collateral_labels) print_text(out, "{:<24}   collateral: {} × {}\n", "", n, l);
  }
  if (!p.regions.empty()) {
    print_text(out, "\n{:<24} {:>6} {:>5} {:>9} {:>10} {:>9} {:>10} {:>9} {:>9}\n", "region", "flows", "subs",
               "packets", "bytes", "dropped", "dropped B", "throttled", "pre-verd");
    for (size_t i = 0; i < p.regions.size(); ++i) {
      const Tally& r = run.regions()[i];
      print_text(out, "{:<24} {:>6} {:>5} {:>9} {:>10} {:>9} {:>10} {:>9} {:>9}\n",
                 verbatim(display_cut(p.regions[i].name, 24)), r.flows, r.subscribers.size(), r.all.packets,
                 r.all.bytes, r.dropped.packets, r.dropped.bytes, r.throttled.packets, r.before_verdict.packets);
    }
  }
  if (!run.leaks().empty()) {
    print_text(out, "\ntime to block (flows whose rule at the last decision blocks or throttles; what passed first)\n");
    print_text(out, "{:<28} {:>6} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9}\n", "label", "flows", "packets", "bytes",
               "min ms", "p50 ms", "p90 ms", "max ms");
    std::vector<std::pair<std::string_view, TimeSample::Summary>> sampled;  // said after the table
    for (const auto& [label, l] : run.leaks()) {
      const TimeSample::Summary ms = l.ms.summary();
      if (ms.sampled()) sampled.emplace_back(label, ms);
      print_text(out, "{:<28} {:>6} {:>9} {:>10} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f}\n",
                 verbatim(display_cut(label, 28)), l.flows, l.before.packets, l.before.bytes, ms.min, ms.p50, ms.p90,
                 ms.max);
    }
    for (const auto& [label, ms] : sampled) {
      print_text(out, "p50 and p90 of {}: from a uniform sample of {} of its {} flows\n", verbatim(label), ms.sample,
                 ms.n);
    }
  }
  if (run.pass_pcap() || run.drop_pcap()) print_text(out, "\n");
  if (run.pass_pcap()) print_text(out, "passed packets: {} -> {}\n", run.pass_pcap()->written(), run.pass_pcap()->path());
  if (run.drop_pcap()) print_text(out, "dropped packets: {} -> {}\n", run.drop_pcap()->written(), run.drop_pcap()->path());
  if (ctx.summary) {
    for (const auto& l : report::incomplete_lines(*ctx.summary)) print_text(out, "{}\n", l);
  }
}

}  // namespace sealscope::policy
