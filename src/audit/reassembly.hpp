#pragma once
#include <cstdint>
#include <map>
#include <vector>

namespace sealscope::audit {

/// Bounds on the bytes held for out-of-order TCP segments (waiting for the hole before them to fill).
struct ReassemblyLimits {
  uint64_t per_stream = 1u << 20;  ///< per flow direction
  uint64_t total = 64u << 20;      ///< all streams together
};

/// What all streams share: the total budget and the run-wide counters of the caps.
struct ReassemblyBudget {
  ReassemblyLimits limits;
  uint64_t used = 0, peak = 0;
  uint64_t stream_cap_hits = 0, total_cap_hits = 0;  ///< times a cap forced a hole to be skipped
};

/// Receives a direction's bytes in stream order.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  /// Bytes at stream offset `off` (0 = first byte after the SYN, or the first byte seen), ending in frame
  /// `frame_no` (the packet that completed them).
  virtual void stream_data(uint64_t off, const uint8_t* data, std::size_t len, uint32_t frame_no) = 0;
  /// `len` bytes at `off` were never seen (lost, not captured, or given up on at a cap); data resumes after.
  virtual void stream_gap(uint64_t off, uint64_t len) = 0;
};

/// Counters of one direction.
struct StreamCounters {
  uint64_t delivered = 0;     ///< bytes handed on in order
  uint64_t duplicate = 0;     ///< bytes seen again (retransmissions, overlaps)
  uint64_t out_of_order = 0;  ///< segments that arrived before a hole in front of them filled
  uint64_t gaps = 0, gap_bytes = 0;
  uint64_t stream_cap_hits = 0, total_cap_hits = 0;
  uint64_t out_of_window = 0;  ///< segments implausibly far ahead (> 1 GiB): ignored for the stream
  uint64_t peak_buffered = 0;
  bool mid_stream = false;     ///< no SYN seen: the stream starts at the first byte captured

  /// Adds another stream's counts into a run total (peak_buffered: the larger; mid_stream: either).
  void add(const StreamCounters& o) {
    delivered += o.delivered;
    duplicate += o.duplicate;
    out_of_order += o.out_of_order;
    gaps += o.gaps;
    gap_bytes += o.gap_bytes;
    stream_cap_hits += o.stream_cap_hits;
    total_cap_hits += o.total_cap_hits;
    out_of_window += o.out_of_window;
    if (o.peak_buffered > peak_buffered) peak_buffered = o.peak_buffered;
    mid_stream = mid_stream || o.mid_stream;
  }
};

/// One direction of a TCP connection, reassembled in sequence order (32-bit wrap handled). Out-of-order
/// segments are copied and held until the hole before them fills, within the per-stream and total caps;
/// when a cap is reached the hole is declared a gap and delivery resumes after it (counted, never silent).
/// Retransmitted and overlapping bytes are delivered once (first copy wins).
/// Hand-written: libtins' TCPIP::DataTracker::process_payload(seq, payload) works without its sniffer, but
/// copies every segment into a std::vector (this copies only out-of-order ones) and has no byte budget or
/// gap accounting; libnids keeps one process-wide stream table set up through globals (nids_params) and is
/// fed whole link-layer frames (nids_run or nids_pcap_handler).
class TcpReassembler {
 public:
  ~TcpReassembler();
  /// One segment of this direction: sequence number, SYN flag, the captured payload and how many payload
  /// bytes the capture cut off after it (snap length): those become a gap in the stream.
  void segment(uint32_t seq, bool syn, const uint8_t* data, std::size_t len, uint32_t uncaptured,
               uint32_t frame_no, ReassemblyBudget& budget, StreamSink& sink);
  /// End of the flow: every hole left becomes a gap and what was held is delivered.
  void finish(ReassemblyBudget& budget, StreamSink& sink);
  const StreamCounters& counters() const { return c_; }
  uint64_t buffered() const { return buffered_; }

 private:
  struct Held {
    std::vector<uint8_t> bytes;
    uint32_t uncaptured;
    uint32_t frame_no;
  };
  void deliver(uint64_t off, const uint8_t* data, std::size_t len, uint32_t uncaptured, uint32_t frame_no,
               StreamSink& sink);
  void drain(ReassemblyBudget& budget, StreamSink& sink);
  void skip_hole(ReassemblyBudget& budget, StreamSink& sink);
  void release(std::size_t n, ReassemblyBudget& budget);

  bool started_ = false;
  uint32_t base_ = 0;  ///< sequence number of stream offset 0
  uint64_t next_ = 0;  ///< stream offset of the next byte expected
  std::map<uint64_t, Held> held_;
  uint64_t buffered_ = 0;
  ReassemblyBudget* budget_ = nullptr;  ///< for the destructor's release
  StreamCounters c_;
};

}  // namespace sealscope::audit
