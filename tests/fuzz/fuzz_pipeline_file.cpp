// libFuzzer target: the whole `sealscope analyze` pipeline on a fuzzed capture file (libpcap's pcap and
// pcapng readers, our offset accounting, decode, flows, nDPI, detectors, records, summary). The input is
// written to a temporary file and analyzed as a capture, with one worker and with two.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "analyze/analyzer.hpp"
#include "common/errors.hpp"
#include "fuzz_input.hpp"
#include "report/flow_writers.hpp"
#include "report/summary_writer.hpp"

using namespace sealscope;

namespace {

struct FormattingSink : stats::RecordSink {
  fmt::memory_buffer buf;
  void write(const stats::FlowRecord& r) override {
    buf.clear();
    report::JsonlWriter::format(r, buf);
  }
};

std::string temp_path() {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/sealscope-fuzz-" + std::to_string(getpid()) + ".pcap";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const std::string path = temp_path();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  for (uint32_t workers : {1u, 2u}) {
    if (workers == 2 && size % 4 != 1) continue;  // the threaded run on a quarter of the inputs: slower
    analyze::AnalyzeOptions o;
    o.files = {path};
    o.workers = workers;
    o.pipeline.table.max_flows = 16;
    stats::Summary summary;
    FormattingSink records;
    analyze::TeeSink tee;
    tee.add(&summary);
    tee.add(&records);
    try {
      analyze::Analyzer a(o, tee, summary);
      a.check_inputs();
      a.run();
    } catch (const Error&) {
      continue;  // not a capture libpcap accepts: reported as an InputError, as the CLI does
    }
    std::FILE* devnull = std::fopen("/dev/null", "w");
    if (devnull != nullptr) {
      report::print_summary(summary, devnull);
      std::fclose(devnull);
    }
    (void)report::summary_json(summary).dump();
  }
  std::remove(path.c_str());
  return 0;
}
