#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "stats/flow_record.hpp"

namespace sealscope::analyze {

/// Passes records to another sink on a thread of its own, in order. Formatting JSON and CSV and writing
/// the files took 13 % of the worker thread's time in a one-worker run on the bench capture (perf), and
/// the worker thread is what limits a run; the capture thread's core has time to spare.
///
/// Records are copied into batches of kBatch (one lock per batch; a batch's strings keep their capacity,
/// so nothing is allocated once every batch has been used). At most kBatches batches exist: a producer
/// that gets ahead of the writer waits. A batch is handed over only when it is full or at close(), so
/// this is for capture files: in a live run a record would wait for the batch to fill.
///
/// An exception thrown by the inner sink (a full disk) is kept; the next write() or close() rethrows it
/// on the producer's thread, and later records are dropped, as a synchronous sink's caller would stop.
class AsyncSink : public stats::RecordSink {
 public:
  static constexpr size_t kBatch = 64;  // records of about 900 bytes each: 0.25 MB for kBatches
  static constexpr size_t kBatches = 4;

  explicit AsyncSink(stats::RecordSink& inner);
  /// Writes what was handed over and stops the thread (a partial batch is dropped unless close() ran).
  ~AsyncSink() override;
  AsyncSink(const AsyncSink&) = delete;
  AsyncSink& operator=(const AsyncSink&) = delete;

  /// Copies the record into the current batch. Not thread-safe: one producer at a time (LockedSink).
  void write(const stats::FlowRecord& r) override;
  /// Hands over the partial batch, waits until every record has been written and stops the thread.
  /// Rethrows the inner sink's first error. Further calls do nothing.
  void close();

 private:
  struct Batch {
    std::vector<stats::FlowRecord> records = std::vector<stats::FlowRecord>(kBatch);
    size_t n = 0;
  };
  void hand_over();
  void run();
  void stop();
  void rethrow_if_failed();

  stats::RecordSink& inner_;
  std::vector<std::unique_ptr<Batch>> batches_;  // owns every batch
  Batch* current_ = nullptr;                     // producer's batch being filled
  std::mutex mu_;
  std::condition_variable work_cv_, space_cv_;
  std::deque<Batch*> full_;  // handed over, oldest first
  std::vector<Batch*> free_;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
  bool closed_ = false;
  std::thread thread_;
};

}  // namespace sealscope::analyze
