#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <exception>
#include <thread>
#include <string>
#include <vector>

#include "analyze/frame_ring.hpp"
#include "analyze/worker.hpp"
#include "capture/nfqueue.hpp"
#include "classify/stun_sync.hpp"
#include "classify/teams_sync.hpp"
#include "capture/pcap_source.hpp"
#include "decode/decoder.hpp"
#include "stats/summary.hpp"

namespace sealscope::analyze {

/// Inputs and behaviour of one `sealscope analyze` run.
struct AnalyzeOptions {
  std::vector<std::string> files;  ///< capture files, read in this order (the CLI puts them in time order: cli::order_by_time)
  std::string interface;           ///< live capture instead of files
  /// Inline instead of files or an interface: the packets a netfilter queue holds, each judged by the
  /// Gate (Analyzer::set_gate) before it goes on. One worker, on the calling thread.
  std::optional<capture::NfQueue::Options> queue;
  std::string bpf;
  double duration_s = 0;           ///< live: stop after this many seconds (0 = until interrupted)
  capture::PcapSource::LiveOptions live;  ///< live: promiscuous mode, buffer size
  bool progress = false;           ///< draw a progress bar on stderr (files)
  uint32_t workers = 1;
  decode::DecoderOptions decoder;
  PipelineOptions pipeline;
  uint64_t seed = 0x5ea15c09e5eedULL;  ///< flow hash seed (fixed by default: deterministic output)
};

/// Addresses of a subscriber or LAN side: RFC 1918, 100.64/10 (carrier-grade NAT), 169.254/16, fc00::/7,
/// fe80::/10.
bool private_side(const IpAddr& a);

/// Which worker owns a packet's flow (modulo the number of workers): a hash of the VLAN and of the private
/// address when exactly one side is private (a subscriber's flows all meet one nDPI module), otherwise of
/// the unordered address pair.
uint64_t shard_hash(const decode::Packet& p);

/// Serialises records from several worker threads into one sink.
class LockedSink : public stats::RecordSink {
 public:
  explicit LockedSink(stats::RecordSink& inner) : inner_(inner) {}
  void write(const stats::FlowRecord& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    inner_.write(r);
  }

 private:
  stats::RecordSink& inner_;
  std::mutex mu_;
};

/// Fans records out to several sinks (writers, summary, policy engine).
class TeeSink : public stats::RecordSink {
 public:
  void add(stats::RecordSink* s) { sinks_.push_back(s); }
  void write(const stats::FlowRecord& r) override {
    for (auto* s : sinks_) s->write(r);
  }

 private:
  std::vector<stats::RecordSink*> sinks_;
};

/// Drives capture → decode → flow → classify → records for a whole run. Records go to `sink` as flows end;
/// the run-wide statistics go to `summary`. Returns false when an input could not be read to its end
/// (recorded in summary.problems); flows seen so far are always written.
///
/// Threads: the calling thread captures (libpcap reads, progress, signals), decodes, and copies each IP
/// packet (its frame and the decoded description) into the ring of the worker that owns its flow (by a
/// symmetric hash: of the private side when exactly one address is private, else of the address pair);
/// each worker thread runs its shard of the pipeline. With one worker the output is deterministic; with more,
/// records may come in another order, and nDPI's per-module caches (STUN, …) see only their shard.
class Analyzer {
 public:
  Analyzer(const AnalyzeOptions& opts, stats::RecordSink& sink, stats::Summary& summary);
  ~Analyzer();

  /// Refuses standard input given twice (InputError) before any output, and opens a live interface here
  /// (InputError: no such interface, not up, no permission, a filter its link type cannot take), so that a
  /// capture that cannot start creates no output file and truncates none. An input that cannot be opened
  /// (missing, unreadable, not a capture, a filter its link type cannot take) is not fatal: run() records
  /// it in summary.problems in its turn and goes on with the others, so one bad file of many loses nothing.
  void check_inputs();
  bool run();
  /// Adds a packet observer to every worker (not owned; must outlive run()).
  void add_observer(PacketObserver* o) {
    for (auto& l : lanes_) l->worker.add_observer(o);
  }

  /// The verdicts of an inline run (not owned; required with AnalyzeOptions::queue).
  void set_gate(Gate* g) { gate_ = g; }

  /// Asks a running analysis to stop after the current packet (signal-safe).
  static void request_stop();
  static bool stop_requested();

 private:
  /// End of input with several workers. Each worker's clock moves only with its own shard's packets, so a
  /// flow idle at the end would end "eof" in a worker that saw no later packet, where one worker (whose
  /// clock every packet moves) ends it "idle". The lanes meet here before they drain, and each first
  /// expires its flows at the latest clock of all: the records are then those of one worker. (A later
  /// input of another timeline restarts every lane's clock at once: dispatch().)
  class EndClock {
   public:
    explicit EndClock(uint32_t lanes) : pending_(lanes) {}
    /// Called once by every lane at its end record; returns, once all have come, the clock to end at.
    TimestampUs meet(TimestampUs own);

   private:
    std::mutex m_;
    std::condition_variable cv_;
    uint32_t pending_;
    TimestampUs latest_ = 0;
  };

  /// One shard: its ring, its thread and its pipeline worker.
  struct Lane {
    // Reading a file, a full ring only makes the reader wait. One worker gets 1 MiB (about 1,500 frames of
    // the bench capture's, each behind its decoded packet): over a stretch of cheap packets (flows already
    // classified) the worker is faster than the capture thread, and with 512 KiB it ran dry 200 times a run
    // (18 ms idle on the bench capture), with 1 MiB 35 times (3 ms). Several workers get 512 KiB each: a
    // deeper ring lets one worker get further ahead of the others, and it then waits longer for them at the
    // STUN and Teams caches (1 MiB each: those waits went from 85 to 150 ms a worker). A live capture keeps
    // 4 MiB to absorb bursts while the worker catches up. With one worker the capture thread polls a full
    // ring rather than being woken (FrameRing::poll_when_full says why).
    static constexpr size_t kFileRingBytesOne = 1u << 20, kFileRingBytes = 512u << 10, kLiveRingBytes = 4u << 20;
    Lane(const AnalyzeOptions& o, stats::RecordSink& sink, uint64_t seed, uint32_t index)
        : ring(!o.interface.empty() ? kLiveRingBytes : o.workers == 1 ? kFileRingBytesOne : kFileRingBytes),
          worker(o.pipeline, sink, seed, index, o.workers),
          number(index) {
      ring.poll_when_full(o.workers == 1);
    }
    FrameRing ring;
    Worker worker;
    std::thread thread;
    /// The first exception thrown in this lane (a sink that cannot write, out of memory): the lane stops
    /// processing, keeps emptying its ring until the end record, and run() rethrows it on the calling thread.
    std::exception_ptr error;
    std::atomic<bool>* failed = nullptr;  // the analyzer's flag: tells the capture loop to stop reading
    EndClock* end_clock = nullptr;        // the analyzer's, met at the end record that drains
    classify::StunCacheSync* stun_sync = nullptr;  // the analyzer's, with several workers on nDPI 4.2
    const uint32_t number;                         // this lane's worker's
    bool ended = false;                   // the end record has been consumed
    void run();
    void consume();
  };

  bool run_file(const std::string& path);
  bool run_live();
  bool run_queue();
  /// Counts a frame and decodes it into `p`; false when it carries no IP packet a flow could take.
  bool admit(const capture::RawPacket& pkt, int linktype, uint32_t frame_no, decode::Packet& p);
  void dispatch(const capture::RawPacket& pkt, int linktype, uint32_t frame_no);
  /// push_packet with the packet's stamp behind its description (see stamps_), with its STUN part when
  /// `stun` (classify::may_touch_stun_cache).
  void push_stamped(size_t lane, const decode::Packet& p, const capture::RawPacket& pkt, int linktype,
                    uint32_t frame_no, bool stun);
  /// Writes the stamp's first part for the next packet (its sequence number, each lane's frames before it)
  /// into stamp_; returns its length in words.
  size_t begin_stamp();
  /// A clock tick (kind FrameRing::kTick, time `ts`) or a new timeline starting at `ts` (kTimeline, the old
  /// one's clock clock_) into every lane; stamped as a packet would be while stamps_.
  void push_records(uint32_t kind, TimestampUs ts);
  /// The lane of the flow an ICMP error `p` quotes (`lane`, `p`'s own, when it quotes none); marks `p`
  /// Quote::Elsewhere when that is another lane. Out of line: only ICMP errors get here.
  [[gnu::noinline]] size_t quoted_lane(decode::Packet& p, size_t lane) const;
  /// Inline: one packet through the (only) worker on this thread; true when it goes on. Never throws: an
  /// error stops the run (failed_) and is rethrown by finish().
  bool judge(const capture::RawPacket& pkt);
  struct QueueJudge : capture::PacketJudge {
    Analyzer* a = nullptr;
    bool judge(const capture::RawPacket& p) override { return a->judge(p); }
  };
  void finish();

  AnalyzeOptions opts_;
  std::optional<capture::PcapSource> live_;  // the interface, opened by check_inputs() (or run_live())
  std::unique_ptr<capture::NfQueue> queue_;  // the netfilter queue, bound by check_inputs() (or run_queue())
  Gate* gate_ = nullptr;
  stats::Summary& summary_;
  std::unique_ptr<LockedSink> locked_;
  decode::Decoder decoder_;  // capture thread: every frame is decoded there
  std::unique_ptr<EndClock> end_clock_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  decode::AnomalyCounters anomalies_;  // capture thread's: the decoder's, and timestamps going backwards
  TimestampUs last_ts_in_file_ = 0;
  uint16_t file_index_ = 0;  // index of the input being read
  // Several lanes: the run's clock (the latest IP packet since the last timeline restart, as one worker's)
  // and the input of the last IP packet, for the timeline decision in dispatch().
  TimestampUs clock_ = 0;
  uint16_t clock_file_ = 0;
  std::atomic<bool> failed_{false};  // a lane has thrown: stop reading
  // Several workers: every nDPI module's STUN and Teams caches kept as one module's would be
  // (classify/stun_sync.hpp, teams_sync.hpp). Every packet goes into the ring with a stamp: its sequence
  // number, each lane's count of frames before it, and for the packets that may use the STUN cache, for
  // each other lane how many of its frames must be finished before nDPI sees it (push_stamped).
  std::unique_ptr<classify::StunCacheSync> stun_sync_;
  std::unique_ptr<classify::TeamsCacheSync> teams_sync_;
  bool stamps_ = false;              // every engine took both
  uint64_t packet_seq_ = 0;          // packets dispatched
  std::vector<uint64_t> lane_frames_;  // frames pushed to each lane
  std::vector<uint64_t> stun_touch_;   // [slot * lanes + lane]: that lane's frame count at its last stamped
                                       // packet naming the slot (what a later packet naming it waits for)
  std::vector<uint64_t> stamp_;        // the stamp being written
};

}  // namespace sealscope::analyze
