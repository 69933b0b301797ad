#include "analyze/async_sink.hpp"

#include <stdexcept>

namespace sealscope::analyze {

AsyncSink::AsyncSink(stats::RecordSink& inner) : inner_(inner) {
  for (size_t i = 0; i < kBatches; ++i) {
    batches_.push_back(std::make_unique<Batch>());
    free_.push_back(batches_.back().get());
  }
  current_ = free_.back();
  free_.pop_back();
  thread_ = std::thread([this] { run(); });
}

AsyncSink::~AsyncSink() { stop(); }

void AsyncSink::rethrow_if_failed() {
  if (!failed_.load(std::memory_order_acquire)) return;
  std::exception_ptr e;
  {
    std::lock_guard<std::mutex> lock(mu_);
    e = error_;
  }
  std::rethrow_exception(e);
}

void AsyncSink::write(const stats::FlowRecord& r) {
  rethrow_if_failed();
  if (current_ == nullptr) throw std::logic_error("AsyncSink: write after close");
  current_->records[current_->n++] = r;  // copy-assignment: reuses the slot's string capacity
  if (current_->n == kBatch) hand_over();
}

void AsyncSink::hand_over() {
  std::unique_lock<std::mutex> lock(mu_);
  full_.push_back(current_);
  current_ = nullptr;
  work_cv_.notify_one();
  space_cv_.wait(lock, [this] { return !free_.empty(); });
  current_ = free_.back();
  free_.pop_back();
}

void AsyncSink::run() {
  for (;;) {
    Batch* b = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [this] { return !full_.empty() || stopping_; });
      if (full_.empty()) return;  // stopping, and everything handed over is written
      b = full_.front();
      full_.pop_front();
    }
    if (!failed_.load(std::memory_order_relaxed)) {
      try {
        for (size_t i = 0; i < b->n; ++i) inner_.write(b->records[i]);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu_);
        error_ = std::current_exception();
        failed_.store(true, std::memory_order_release);
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    b->n = 0;
    free_.push_back(b);
    space_cv_.notify_one();
  }
}

void AsyncSink::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_one();
  thread_.join();
}

void AsyncSink::close() {
  if (closed_) return;
  closed_ = true;
  if (current_ != nullptr && current_->n > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    full_.push_back(current_);
    current_ = nullptr;
    work_cv_.notify_one();
  }
  stop();
  rethrow_if_failed();
}

}  // namespace sealscope::analyze
