#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "audit/canaries.hpp"

struct hs_database;
struct hs_scratch;
struct hs_stream;

namespace sealscope::audit {

/// Multi-pattern literal search over every encoded canary, on Hyperscan: one block-mode database for single
/// payloads (packets, datagrams) and one stream-mode database for reassembled TCP streams, so a canary split
/// across segments is found without keeping the stream. Not thread-safe (one scratch).
class Matcher {
 public:
  /// Called for each occurrence: pattern index and the offset one past its last byte (in the block, or in
  /// the stream since it was opened or reset).
  using OnMatch = void (*)(void* ctx, uint32_t pattern, uint64_t end);

  /// Compiles both databases; throws UsageError when Hyperscan cannot run here (no SSSE3) or a pattern
  /// cannot compile.
  explicit Matcher(std::vector<Pattern> patterns);
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  const std::vector<Pattern>& patterns() const { return patterns_; }

  /// Searches one block.
  void scan(const uint8_t* data, std::size_t len, OnMatch cb, void* ctx) const;

  /// A stream: bytes fed in order; matches may span feeds.
  class Stream {
   public:
    Stream() = default;
    ~Stream();
    Stream(Stream&& o) noexcept : m_(o.m_), s_(o.s_) { o.s_ = nullptr; }
    Stream& operator=(Stream&& o) noexcept;
    bool open() const { return s_ != nullptr; }
    /// Appends bytes (opens the stream on first use).
    void feed(const Matcher& m, const uint8_t* data, std::size_t len, OnMatch cb, void* ctx);
    /// Forgets what was fed (a gap: nothing may match across it); offsets restart at 0.
    void reset(OnMatch cb, void* ctx);
    /// Ends the stream (reports matches that need the end, if any) and frees its state.
    void close(OnMatch cb, void* ctx);

   private:
    const Matcher* m_ = nullptr;
    hs_stream* s_ = nullptr;
  };

  /// Bytes of Hyperscan state per open stream (reported as the audit's memory per stream).
  std::size_t stream_state_bytes() const { return stream_bytes_; }

  /// Zero bytes kept readable on each side of what Hyperscan is given (see padded()).
  static constexpr std::size_t kSlack = 64;

 private:
  /// `data` copied between kSlack zero bytes on each side. Debian 12's Hyperscan 5.4 reads past the end of
  /// the buffer it scans on CPUs with AVX512VBMI (the fat Teddy literal matcher loads 32 bytes where fewer
  /// are left; fixed in Vectorscan, not in Hyperscan 5.4): a payload that ends at the last byte of a
  /// mapped page is a segmentation fault. Found by fuzz_audit. The copy costs one memcpy per scan.
  const char* padded(const uint8_t* data, std::size_t len) const;

  std::vector<Pattern> patterns_;
  hs_database* block_db_ = nullptr;
  hs_database* stream_db_ = nullptr;
  hs_scratch* scratch_ = nullptr;
  std::size_t stream_bytes_ = 0;
  mutable std::vector<uint8_t> pad_;  ///< grows to the largest scan plus 2 * kSlack, then stays
};

}  // namespace sealscope::audit
