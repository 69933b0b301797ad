#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>

namespace sealscope::analyze {

/// Single-producer, single-consumer ring of captured frames: the capture thread copies each frame in
/// once, optionally behind a description of it (the decoded packet), and a worker thread reads both in
/// place. Nothing is allocated after construction; waiting uses C++20 atomic wait/notify (futexes), and
/// positions are published in batches to keep cache-line traffic low.
/// Hand-written: boost::lockfree::spsc_queue (Boost 1.74) is a bounded SPSC ring, but it cannot hand the
/// reader a variable-size record in place (contiguous, not copied out) and it has no blocking wait.
class FrameRing {
 public:
  struct Header {
    uint32_t size;     ///< bytes of this record in the ring (header + frame, 32-byte aligned)
    uint32_t caplen;   ///< kEnd marks the end of the input
    uint32_t wirelen;
    int32_t linktype;
    int64_t ts;
    uint32_t frame_no;    ///< 1-based record number in its capture file (live: since the start)
    uint16_t file_index;  ///< which input (0-based)
    uint16_t meta_len;    ///< bytes between this header and the frame (push_with's description)
    /// The description push_with() wrote (8-byte aligned), if any.
    const uint8_t* meta() const { return reinterpret_cast<const uint8_t*>(this) + sizeof(Header); }
    /// The frame's bytes.
    const uint8_t* data() const { return meta() + meta_len; }
  };
  static_assert(sizeof(Header) == 32);
  /// `caplen` of the records that carry no frame: the end of the input, a timeline restart, and a clock tick
  /// (the lowest of them: every caplen at or above kTick is a record without a frame).
  static constexpr uint32_t kEnd = 0xFFFFFFFFu, kTimeline = 0xFFFFFFFEu, kTick = 0xFFFFFFFDu;

  explicit FrameRing(size_t bytes)
      : size_((bytes + kAlign - 1) / kAlign * kAlign), buf_(new (std::align_val_t{kAlign}) uint8_t[size_]) {}
  ~FrameRing() { ::operator delete[](buf_, std::align_val_t{kAlign}); }
  FrameRing(const FrameRing&) = delete;
  FrameRing& operator=(const FrameRing&) = delete;

  /// Producer: copies a frame in, waiting while the ring is full.
  void push(int64_t ts, const uint8_t* data, uint32_t caplen, uint32_t wirelen, int linktype, uint32_t frame_no = 0,
            uint16_t file_index = 0) {
    write(ts, data, caplen, caplen, wirelen, linktype, frame_no, file_index, 0, kNoMeta);
  }
  /// Producer: as push(), with `meta_len` bytes (a multiple of 8) before the frame, which
  /// `fill(uint8_t* meta, const uint8_t* frame_in_ring)` writes once the frame is in the ring (so that what
  /// it writes may point into the ring's copy of the frame, which the consumer reads in place).
  template <class Fill>
  void push_with(int64_t ts, const uint8_t* data, uint32_t caplen, uint32_t wirelen, int linktype,
                 uint32_t frame_no, uint16_t file_index, uint16_t meta_len, Fill&& fill) {
    write(ts, data, caplen, caplen, wirelen, linktype, frame_no, file_index, meta_len, fill);
  }
  /// Producer: publishes every frame pushed so far (frames are otherwise published in batches of 64). Live
  /// capture calls this so a quiet interface's packets reach the worker at once, not 64 packets later.
  void flush() { publish_head(); }
  /// Producer: marks the end of the input and publishes everything. `drain` is passed on to the consumer in
  /// the end record's linktype (1: end every flow and write its record; 0: teardown, write nothing).
  void push_end(bool drain = false) {
    write(0, nullptr, 0, kEnd, 0, drain ? 1 : 0, 0, 0, 0, kNoMeta);
    publish_head();
  }
  /// Producer: another timeline starts at `first_ts`; `clock` is where the old one ended (a record with
  /// caplen kTimeline, ts `first_ts`, and `clock` as its 8 bytes of data: timeline_clock()).
  void push_timeline(int64_t clock, int64_t first_ts) { push_timeline_with(clock, first_ts, 0, kNoMeta); }
  /// As push_timeline(), with a description as push_with() writes one.
  template <class Fill>
  void push_timeline_with(int64_t clock, int64_t first_ts, uint16_t meta_len, Fill&& fill) {
    write(first_ts, reinterpret_cast<const uint8_t*>(&clock), sizeof clock, kTimeline, 0, 0, 0, 0, meta_len, fill);
  }
  /// Producer: live capture's clock has reached `ts` with no packet of this ring's shard to say so (a quiet
  /// link, or traffic only in other shards): a record with caplen kTick and ts `ts`, published at once.
  void push_tick(int64_t ts) { push_tick_with(ts, 0, kNoMeta); }
  /// As push_tick(), with a description as push_with() writes one.
  template <class Fill>
  void push_tick_with(int64_t ts, uint16_t meta_len, Fill&& fill) {
    write(ts, nullptr, 0, kTick, 0, 0, 0, 0, meta_len, fill);
    publish_head();
  }
  /// Consumer: the old timeline's clock of a kTimeline record.
  static int64_t timeline_clock(const Header* h) {
    int64_t clock = 0;
    std::memcpy(&clock, h->data(), sizeof clock);
    return clock;
  }
  /// Consumer: whether `h` is an end record that asks for every flow to be ended (push_end(true)).
  static bool drains(const Header* h) { return h->caplen == kEnd && h->linktype == 1; }

  /// Producer: how often it slept on a full ring (read by the producer thread, or after it finished).
  uint64_t producer_sleeps() const { return producer_sleeps_; }
  /// Consumer: how often it woke the producer (read by the consumer thread, or after it finished).
  uint64_t producer_wakes() const { return producer_wakes_; }
  /// Producer, before the first push: on a full ring, sleep kPollMicros at a time and look again, instead of
  /// being woken by the consumer. For a ring whose producer feeds nothing else (one worker): the consumer,
  /// the busier thread, then never enters the kernel for the producer. Waking it cost that worker about 4 %
  /// of its time on the bench capture (2,100 futex wake-ups, each an inter-processor interrupt in a VM), and
  /// a one-worker run took 4 % less time without them. With several workers the producer keeps being woken:
  /// while it sleeps on one full ring the other workers get nothing, and polling made two workers 8 % slower.
  void poll_when_full(bool on) { poll_ = on; }
  static constexpr unsigned kPollMicros = 100;  ///< the bench worker needs about 1.5 ms for a 1 MiB ring
  /// Producer: `f(ctx)` runs before the producer sleeps on this full ring. The analyzer publishes every
  /// lane there: a worker may be waiting for another lane's frames (classify::StunCacheSync), and frames
  /// the producer has not published would otherwise wait for it, while it waits for the first worker.
  void on_full(void (*f)(void*), void* ctx) {
    on_full_ = f;
    on_full_ctx_ = ctx;
  }

  /// Consumer: the next record, waiting until there is one. Valid until pop().
  const Header* peek() {
    while (read_ == head_cache_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (read_ != head_cache_) break;
      publish_tail();
      head_.wait(read_, std::memory_order_acquire);
    }
    for (;;) {
      const size_t idx = read_ % size_;
      const auto* h = reinterpret_cast<const Header*>(buf_ + idx);
      if (h->size == 0) {  // wrap marker: the rest of the ring up to its end is padding
        read_ += size_ - idx;
        continue;
      }
      return h;
    }
  }
  /// Consumer: releases the record returned by peek().
  void pop(const Header* h) {
    read_ += h->size;
    if (++pops_ % kBatch == 0) publish_tail();
  }

 private:
  static constexpr size_t kAlign = 32;
  static constexpr unsigned kBatch = 64;
  static uint32_t record_size(uint32_t caplen) {
    return static_cast<uint32_t>((sizeof(Header) + caplen + kAlign - 1) / kAlign * kAlign);
  }

  static constexpr auto kNoMeta = [](uint8_t*, const uint8_t*) {};

  /// Copies a record in, the one way every push does: a header whose caplen field says `caplen` (a frame's
  /// length, or kEnd/kTimeline), `meta_len` bytes that `fill` writes, then `len` bytes of `data`.
  template <class Fill>
  void write(int64_t ts, const uint8_t* data, uint32_t len, uint32_t caplen, uint32_t wirelen, int linktype,
             uint32_t frame_no, uint16_t file_index, uint16_t meta_len, Fill&& fill) {
    Header* h = reserve(record_size(meta_len + len));
    h->caplen = caplen;
    h->wirelen = wirelen;
    h->linktype = linktype;
    h->ts = ts;
    h->frame_no = frame_no;
    h->file_index = file_index;
    h->meta_len = meta_len;
    uint8_t* meta = reinterpret_cast<uint8_t*>(h) + sizeof(Header);
    if (len > 0) std::memcpy(meta + meta_len, data, len);
    fill(meta, static_cast<const uint8_t*>(meta + meta_len));
    commit(h->size);
  }
  Header* reserve(uint32_t size) {
    size_t idx = write_ % size_;
    const size_t pad = size_ - idx < size ? size_ - idx : 0;
    if (write_ + pad + size - tail_cache_ > size_) wait_for_space(pad + size);
    if (pad != 0) {
      reinterpret_cast<Header*>(buf_ + idx)->size = 0;  // wrap marker
      write_ += pad;
      idx = 0;
    }
    auto* h = reinterpret_cast<Header*>(buf_ + idx);
    h->size = size;
    return h;
  }
  /// Producer, ring full: polls (poll_when_full), or sleeps until the consumer has freed a quarter of the
  /// ring (or `need` bytes, if more). Waking once per quarter instead of once per consumer batch took the
  /// run's futex and sched_yield calls on a 900k-frame file from 50,000 to about 1,650. The consumer checks `producer_waiting_` after
  /// publishing its tail; both sides use seq_cst so one of them always sees the other.
  void wait_for_space(size_t need) {
    for (;;) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (write_ + need - tail_cache_ <= size_) return;
      publish_head();
      if (poll_) {
        ++producer_sleeps_;
        std::this_thread::sleep_for(std::chrono::microseconds(kPollMicros));
        continue;
      }
      const uint64_t fits = write_ + need - size_;  // the tail at which the record fits
      const uint64_t slack = fits + size_ / 4;
      wake_tail_.store(slack < write_ ? slack : fits, std::memory_order_relaxed);
      const uint32_t seq = space_seq_.load(std::memory_order_acquire);
      producer_waiting_.store(true, std::memory_order_seq_cst);
      tail_cache_ = tail_.load(std::memory_order_seq_cst);
      if (write_ + need - tail_cache_ > size_) {
        if (on_full_ != nullptr) on_full_(on_full_ctx_);
        ++producer_sleeps_;
        space_seq_.wait(seq, std::memory_order_acquire);
      }
      producer_waiting_.store(false, std::memory_order_relaxed);
    }
  }
  void commit(uint32_t size) {
    write_ += size;
    if (++pushes_ % kBatch == 0) publish_head();
  }
  void publish_head() {
    head_.store(write_, std::memory_order_release);
    head_.notify_one();
  }
  void publish_tail() {
    tail_.store(read_, std::memory_order_seq_cst);
    if (producer_waiting_.load(std::memory_order_seq_cst) && read_ >= wake_tail_.load(std::memory_order_relaxed)) {
      producer_waiting_.store(false, std::memory_order_relaxed);
      ++producer_wakes_;
      space_seq_.fetch_add(1, std::memory_order_release);
      space_seq_.notify_one();
    }
  }

  const size_t size_;
  uint8_t* const buf_;
  // Producer side.
  alignas(64) uint64_t write_ = 0;
  uint64_t tail_cache_ = 0;
  unsigned pushes_ = 0;
  uint64_t producer_sleeps_ = 0;
  bool poll_ = false;
  void (*on_full_)(void*) = nullptr;
  void* on_full_ctx_ = nullptr;
  alignas(64) std::atomic<uint64_t> head_{0};
  // Consumer side.
  alignas(64) uint64_t read_ = 0;
  uint64_t head_cache_ = 0;
  unsigned pops_ = 0;
  uint64_t producer_wakes_ = 0;
  alignas(64) std::atomic<uint64_t> tail_{0};
  // Producer sleeping on a full ring: the tail that wakes it, and the word it sleeps on.
  alignas(64) std::atomic<bool> producer_waiting_{false};
  std::atomic<uint64_t> wake_tail_{0};
  std::atomic<uint32_t> space_seq_{0};
};

}  // namespace sealscope::analyze
