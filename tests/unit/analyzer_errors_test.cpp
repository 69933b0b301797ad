// A record sink that cannot write (full disk, closed pipe) must end the run with its error on the calling
// thread — whether the record is written mid-run by a worker thread (here: evictions under --max-flows 1)
// or at the end of input, and with one worker or several. Before, an exception in a worker thread ended the
// process in std::terminate (exit 134, no message), and a lane that failed while draining could leave the
// capture thread waiting forever.
#include <catch2/catch.hpp>
#include <string>

#include "analyze/analyzer.hpp"
#include "common/errors.hpp"

using namespace sealscope;

namespace {
struct FailingSink : stats::RecordSink {
  explicit FailingSink(int fail_at) : after(fail_at) {}
  void write(const stats::FlowRecord&) override {
    if (++writes >= after) throw Error("out.jsonl: write failed: No space left on device");
  }
  int after;
  int writes = 0;
};
}  // namespace

TEST_CASE("analyzer: a sink that fails rethrows on the calling thread, mid-run or at the end", "[analyzer]") {
  const std::string dir = std::string(SEALSCOPE_SOURCE_DIR) + "/captures/";
  for (uint32_t workers : {1u, 2u, 3u}) {
    for (uint64_t max_flows : {uint64_t{1}, uint64_t{1000000}}) {
      for (int after : {1, 5}) {
        analyze::AnalyzeOptions o;
        o.files = {dir + "mixed.pcap", dir + "sealchat-call.pcap", dir + "dns.pcap"};
        o.workers = workers;
        o.pipeline.table.max_flows = max_flows;
        FailingSink sink(after);
        stats::Summary summary;
        analyze::Analyzer a(o, sink, summary);
        INFO("workers " << workers << ", max flows " << max_flows << ", failing at write " << after);
        CHECK_THROWS_WITH(a.run(), Catch::Contains("No space left on device"));
        CHECK(sink.writes >= after);
      }
    }
  }
}
