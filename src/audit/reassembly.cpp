#include "audit/reassembly.hpp"

#include <algorithm>

namespace sealscope::audit {

namespace {
constexpr uint64_t kMaxAhead = 1ull << 30;
}

TcpReassembler::~TcpReassembler() {
  if (budget_) budget_->used -= buffered_;
}

void TcpReassembler::release(std::size_t n, ReassemblyBudget& budget) {
  buffered_ -= n;
  budget.used -= n;
}

void TcpReassembler::deliver(uint64_t off, const uint8_t* data, std::size_t len, uint32_t uncaptured,
                             uint32_t frame_no, StreamSink& sink) {
  // Trim what was already delivered.
  if (off + len + uncaptured <= next_) {
    c_.duplicate += len + uncaptured;
    return;
  }
  if (off + len <= next_) {  // only the part the capture cut off is new: a gap
    const uint64_t end = off + len + uncaptured;
    sink.stream_gap(next_, end - next_);
    ++c_.gaps;
    c_.gap_bytes += end - next_;
    next_ = end;
    return;
  }
  if (off < next_) {
    const uint64_t skip = next_ - off;
    c_.duplicate += skip;
    data += skip;
    len -= static_cast<std::size_t>(skip);
    off = next_;
  }
  sink.stream_data(off, data, len, frame_no);
  c_.delivered += len;
  next_ = off + len;
  if (uncaptured > 0) {
    sink.stream_gap(next_, uncaptured);
    ++c_.gaps;
    c_.gap_bytes += uncaptured;
    next_ += uncaptured;
  }
}

void TcpReassembler::drain(ReassemblyBudget& budget, StreamSink& sink) {
  while (!held_.empty() && held_.begin()->first <= next_) {
    auto it = held_.begin();
    Held h = std::move(it->second);
    const uint64_t off = it->first;
    held_.erase(it);
    release(h.bytes.size(), budget);
    deliver(off, h.bytes.data(), h.bytes.size(), h.uncaptured, h.frame_no, sink);
  }
}

void TcpReassembler::skip_hole(ReassemblyBudget& budget, StreamSink& sink) {
  const uint64_t to = held_.begin()->first;
  if (to > next_) {
    sink.stream_gap(next_, to - next_);
    ++c_.gaps;
    c_.gap_bytes += to - next_;
    next_ = to;
  }
  drain(budget, sink);
}

void TcpReassembler::segment(uint32_t seq, bool syn, const uint8_t* data, std::size_t len, uint32_t uncaptured,
                             uint32_t frame_no, ReassemblyBudget& budget, StreamSink& sink) {
  budget_ = &budget;
  if (syn) {
    if (!started_) {
      started_ = true;
      base_ = seq + 1;
      next_ = 0;
    }
    ++seq;  // data on a SYN starts after it
  }
  if (len + uncaptured == 0) return;
  if (!started_) {
    started_ = true;
    base_ = seq;
    next_ = 0;
    c_.mid_stream = true;
  }
  // Offset relative to the next expected byte, in 32-bit sequence space (wraps), widened to 64 bits.
  const uint32_t expected = base_ + static_cast<uint32_t>(next_);
  const int64_t delta = static_cast<int32_t>(seq - expected);
  if (delta < 0 && static_cast<uint64_t>(-delta) > next_) {
    // Before the stream's first byte (e.g. data before a SYN we anchored on): only its tail can count.
    const uint64_t before = static_cast<uint64_t>(-delta) - next_;
    if (before >= len) {
      c_.duplicate += len;
      return;
    }
    data += before;
    len -= static_cast<std::size_t>(before);
    deliver(0, data, len, uncaptured, frame_no, sink);  // trims against next_
    drain(budget, sink);
    return;
  }
  const uint64_t off = static_cast<uint64_t>(static_cast<int64_t>(next_) + delta);
  if (off <= next_) {
    deliver(off, data, len, uncaptured, frame_no, sink);
    drain(budget, sink);
    return;
  }
  if (off - next_ > kMaxAhead) {
    ++c_.out_of_window;
    return;
  }
  // Ahead of a hole: hold a copy (first copy at an offset wins unless a longer one comes).
  ++c_.out_of_order;
  auto it = held_.find(off);
  if (it != held_.end()) {
    if (it->second.bytes.size() + it->second.uncaptured >= len + uncaptured) {
      c_.duplicate += len;
      return;
    }
    release(it->second.bytes.size(), budget);
    held_.erase(it);
  }
  held_.emplace(off, Held{std::vector<uint8_t>(data, data + len), uncaptured, frame_no});
  buffered_ += len;
  budget.used += len;
  budget.peak = std::max(budget.peak, budget.used);
  c_.peak_buffered = std::max(c_.peak_buffered, buffered_);
  while (!held_.empty() && (buffered_ > budget.limits.per_stream || budget.used > budget.limits.total)) {
    if (buffered_ > budget.limits.per_stream) {
      ++c_.stream_cap_hits;
      ++budget.stream_cap_hits;
    } else {
      ++c_.total_cap_hits;
      ++budget.total_cap_hits;
    }
    skip_hole(budget, sink);
  }
}

void TcpReassembler::finish(ReassemblyBudget& budget, StreamSink& sink) {
  while (!held_.empty()) skip_hole(budget, sink);
}

}  // namespace sealscope::audit
