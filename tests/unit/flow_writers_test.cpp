// The flow writers buffer 256 KiB before writing, which suits files read to their end. A live capture
// (analyze -i) switches them to flushing each record, so `--flows - | jq` or `tail -f flows.jsonl` sees a
// flow as it ends rather than when the buffer fills or the capture stops.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "report/flow_writers.hpp"

using namespace sealscope;
namespace fs = std::filesystem;

namespace {
struct TempPath {
  explicit TempPath(const char* what)
      : path((fs::temp_directory_path() / ("sealscope-writers-" + std::to_string(getpid()) + "-" + what)).string()) {}
  ~TempPath() {
    std::error_code ec;
    fs::remove(path, ec);
  }
  uintmax_t size() const { return fs::file_size(path); }
  std::string path;
};

stats::FlowRecord record() {
  stats::FlowRecord r;
  r.id = 7;
  r.src_ip = "10.0.0.1";
  r.dst_ip = "10.0.0.2";
  r.l4 = "udp";
  r.end = flow::EndReason::Idle;
  return r;
}
}  // namespace

TEST_CASE("flow writers: buffered by default, each record on disk at once with set_flush_each", "[writers]") {
  SECTION("JSONL") {
    TempPath buffered("b.jsonl"), live("l.jsonl");
    report::JsonlWriter b(buffered.path), l(live.path);
    l.set_flush_each(true);
    b.write(record());
    l.write(record());
    CHECK(buffered.size() == 0);  // still in the stdio buffer
    const uintmax_t one = live.size();
    CHECK(one > 0);
    l.write(record());
    CHECK(live.size() == 2 * one);
    b.close();
    l.close();
    CHECK(buffered.size() == one);
  }
  SECTION("CSV: the header at once, then each row") {
    TempPath buffered("b.csv"), live("l.csv");
    report::CsvWriter b(buffered.path), l(live.path);
    l.set_flush_each(true);
    CHECK(buffered.size() == 0);
    const uintmax_t header = live.size();
    CHECK(header == std::string(report::CsvWriter::header()).size());
    l.write(record());
    CHECK(live.size() > header);
    b.close();
    l.close();
  }
}
