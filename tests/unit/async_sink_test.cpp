// AsyncSink moves record formatting and file writes off the worker thread. What must hold: every record
// arrives, once, in the order written (also when the writer is slower than the producer and the producer
// has to wait for a free batch); a failing inner sink's error comes back to the producer's thread, from
// write() or at the latest from close(), and nothing after the failing record is written.
#include <catch2/catch.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "analyze/async_sink.hpp"
#include "common/errors.hpp"

using namespace sealscope;
using analyze::AsyncSink;

namespace {

struct Collect : stats::RecordSink {
  std::vector<uint64_t> ids;
  std::vector<std::string> names;
  std::chrono::microseconds delay{0};
  uint64_t fail_at = UINT64_MAX;  // id whose write throws
  void write(const stats::FlowRecord& r) override {
    if (r.id == fail_at) throw Error("out.jsonl: write failed: No space left on device");
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    ids.push_back(r.id);
    names.push_back(r.server_name);
  }
};

stats::FlowRecord record(uint64_t id) {
  stats::FlowRecord r;
  r.id = id;
  r.server_name = "host-" + std::to_string(id) + std::string(id % 40, 'x');  // lengths vary: slot reuse
  return r;
}

}  // namespace

TEST_CASE("async sink: every record arrives once, in order", "[async_sink]") {
  for (uint64_t n : {uint64_t{0}, uint64_t{1}, uint64_t{AsyncSink::kBatch}, uint64_t{10 * AsyncSink::kBatch + 17}}) {
    Collect inner;
    {
      AsyncSink s(inner);
      for (uint64_t i = 0; i < n; ++i) s.write(record(i));
      s.close();
      s.close();  // a second close does nothing
    }
    INFO("records " << n);
    REQUIRE(inner.ids.size() == n);
    for (uint64_t i = 0; i < n; ++i) {
      REQUIRE(inner.ids[i] == i);
      REQUIRE(inner.names[i] == record(i).server_name);
    }
  }
}

TEST_CASE("async sink: a slow writer makes the producer wait, nothing is dropped", "[async_sink]") {
  Collect inner;
  inner.delay = std::chrono::microseconds(20);
  const uint64_t n = AsyncSink::kBatch * (AsyncSink::kBatches + 3) + 5;  // more than all batches hold
  AsyncSink s(inner);
  for (uint64_t i = 0; i < n; ++i) s.write(record(i));
  s.close();
  REQUIRE(inner.ids.size() == n);
  for (uint64_t i = 0; i < n; ++i) REQUIRE(inner.ids[i] == i);
}

TEST_CASE("async sink: the inner sink's error reaches the producer, later records are not written",
          "[async_sink]") {
  for (uint64_t fail_at : {uint64_t{0}, uint64_t{300}, uint64_t{5 * AsyncSink::kBatch - 1}}) {
    Collect inner;
    inner.fail_at = fail_at;
    const uint64_t n = 8 * AsyncSink::kBatch;
    AsyncSink s(inner);
    std::string message;
    uint64_t written = 0;
    bool closing = false;
    try {
      for (; written < n; ++written) s.write(record(written));
      closing = true;
      s.close();
    } catch (const Error& e) {
      message = e.what();
    }
    INFO("failing at record " << fail_at << ", write() calls that returned " << written);
    CHECK(message == "out.jsonl: write failed: No space left on device");
    CHECK(written > fail_at);  // write() cannot know of the failure before the record was handed over
    if (closing) {
      CHECK_NOTHROW(s.close());  // closed already: nothing more to do
    } else {
      CHECK_THROWS_WITH(s.close(), message);  // the caller's cleanup still learns of the error
    }
    REQUIRE(inner.ids.size() == fail_at);
    for (uint64_t i = 0; i < fail_at; ++i) REQUIRE(inner.ids[i] == i);
  }
}

TEST_CASE("async sink: dropped without close(), it stops its thread and writes what was handed over",
          "[async_sink]") {
  Collect inner;
  {
    AsyncSink s(inner);
    for (uint64_t i = 0; i < AsyncSink::kBatch + 3; ++i) s.write(record(i));
  }
  // The full batch was handed over; the partial one is dropped (only close() hands it over).
  REQUIRE(inner.ids.size() == AsyncSink::kBatch);
}
