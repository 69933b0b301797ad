// The policy report when a label's times to block outgrow what is kept exactly: the JSON, the text and the
// page say that p50 and p90 come from a sample. A dry run over captures/mixed.pcap that blocks everything,
// keeping one time per label exactly (the real limit is 2^18 flows).
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "analyze/analyzer.hpp"
#include "policy/dry_run.hpp"
#include "policy/policy.hpp"
#include "policy/report.hpp"
#include "stats/summary.hpp"

using namespace sealscope;

TEST_CASE("policy report: times to block past the exact limit are said to come from a sample", "[policy][sample]") {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "sealscope-sample-test";
  std::filesystem::create_directories(dir);
  const std::string rules = (dir / "block-all.yaml").string();
  std::ofstream(rules) << "regions:\n  all: {subscribers: [0.0.0.0/0, \"::/0\"]}\nrules:\n"
                          "  - name: block-all\n    region: all\n    action: block\ndefault: allow\n";
  const auto pol = policy::load_policy_or_throw(rules);
  policy::DryRun run(*pol, 1);
  analyze::AnalyzeOptions o;
  o.files = {std::string(SEALSCOPE_SOURCE_DIR) + "/captures/mixed.pcap"};
  o.workers = 1;
  o.pipeline.table.active_s = 0;
  stats::Summary summary;
  analyze::TeeSink tee;
  tee.add(&summary);
  tee.add(&run);
  analyze::Analyzer analyzer(o, tee, summary);
  analyzer.add_observer(&run);
  REQUIRE(analyzer.run());
  run.finish();
  policy::ReportContext ctx{rules, o.files, "flow labels", &summary};

  const auto j = policy::report_json(run, ctx);
  std::string sampled_label;
  uint64_t sampled_flows = 0;
  int exact = 0;
  for (const auto& e : j.at("time_to_block")) {
    const uint64_t flows = e.at("flows").get<uint64_t>();
    if (flows > 1) {
      CHECK(e.at("ms").at("sample") == 1);  // p50 and p90 from one kept time
      CHECK(e.at("ms").at("min") <= e.at("ms").at("max"));
      sampled_label = e.at("label").get<std::string>();
      sampled_flows = flows;
    } else {
      CHECK_FALSE(e.at("ms").contains("sample"));  // one flow: exact
      ++exact;
    }
  }
  REQUIRE_FALSE(sampled_label.empty());  // mixed.pcap has a label with several blocked flows
  CHECK(exact > 0);
  const std::string note = "p50 and p90 of " + sampled_label + ": from a uniform sample of 1 of its " +
                           std::to_string(sampled_flows) + " flows";

  const std::string text_path = (dir / "report.txt").string();
  {
    FILE* f = std::fopen(text_path.c_str(), "w");
    REQUIRE(f != nullptr);
    policy::print_report(run, ctx, f);
    std::fclose(f);
  }
  std::ifstream in(text_path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text.find(note + "\n") != std::string::npos);
  CHECK(policy::report_html(run, ctx, "test").find(note + ".</p>") != std::string::npos);
  std::filesystem::remove_all(dir);
}
