#pragma once
#include <cstdint>
#include <vector>

#include "classify/classifier.hpp"
#include "decode/packet.hpp"
#include "flow/flow_table.hpp"
#include "flow/fragments.hpp"
#include "stats/flow_record.hpp"

namespace sealscope::analyze {

/// Sees every accounted packet after its flow was updated and classified (policy dry-run, audit).
/// Called on the packet path: implementations must not block and should not allocate per packet.
class PacketObserver {
 public:
  virtual ~PacketObserver() = default;
  virtual void on_packet(const flow::Flow& f, const decode::Packet& p, flow::Dir d,
                         const classify::Classifier& cls) = 0;
  /// A later fragment that reaches no flow when it arrives. `held`: the worker holds it for its first
  /// fragment (at most FragmentTable::kMaxPending per datagram, for the table's timeout), and counts it into
  /// that flow when the first comes (see on_held_counted; no on_packet for it). Otherwise it is orphaned at
  /// once (its flow has ended, or its datagram already has kMaxPending held). Either way its bytes pass here
  /// only, so an observer that must see every payload byte (the audit's canary search) looks at them here.
  virtual void on_unattributed(const decode::Packet& p, bool held) { (void)p, (void)held; }
  /// Right before on_packet for a first fragment: the worker has counted into f the last `n` fragments of
  /// that datagram it held (n > 0), with the first fragment and before classifying it. Held fragments it
  /// does not count here it has let go (timed out, or displaced from a full fragment table; the summary
  /// counts them as fragment_orphan).
  virtual void on_held_counted(const flow::Flow& f, const decode::Packet& first, flow::Dir d, uint32_t n,
                               const classify::Classifier& cls) {
    (void)f, (void)first, (void)d, (void)n, (void)cls;
  }
};

/// Inline mode's verdict (policy enforce): armed before the worker processes a packet, asked after it.
class Gate {
 public:
  virtual ~Gate() = default;
  /// A new packet: nothing decided yet.
  virtual void arm() = 0;
  /// Whether the packet just processed is to be dropped (false when no flow took it, e.g. a later fragment
  /// held for its first fragment).
  virtual bool drop() const = 0;
};

/// Everything that shapes a run of the pipeline after decoding.
struct PipelineOptions {
  flow::FlowTableOptions table;
  classify::EngineOptions engine;
};

/// One shard of the pipeline: flow table, nDPI module and detectors, fragment tracking. Flows shard across
/// workers by their direction-normalised key, so each worker owns its flows outright (no locks).
class Worker : public flow::FlowSink {
 public:
  /// Shard `shard` of `shards`: its flow ids are shard, shard + shards, ... (unique across the shards).
  Worker(const PipelineOptions& opts, stats::RecordSink& sink, uint64_t seed, uint32_t shard = 0,
         uint32_t shards = 1);
  /// Frees the nDPI state of flows still live when the worker is dropped without finish() (error paths).
  ~Worker() override;

  /// Processes one decoded IP packet (timestamps may go backwards: the clock never does).
  void process(const decode::Packet& p);
  /// End of input: first ends, as idle, the flows idle at `clock` when that is later than this worker's
  /// own (the latest packet of any shard), then every remaining flow in creation order.
  void finish(TimestampUs clock = 0);
  /// Live capture: time has reached `t` (µs since the epoch) though no packet of this shard says so; flows
  /// idle at `t` end (and nDPI state is parked or given up) as a packet at `t` would have made them. A quiet
  /// link's flows then end at their idle timeout, not at the end of the capture. The clock never goes back.
  void tick(TimestampUs t) { advance(t); }
  /// The worker's clock: the latest timestamp of its packets (since its last timeline restart).
  TimestampUs clock() const { return now_; }

  /// A later input whose first packet comes more than a second before the clock (the latest packet so far)
  /// is another timeline (an unrelated capture): against the older clock its packets would look long idle
  /// and every one would start and end a flow of its own. Inputs that continue in time (rotated files) keep
  /// their flows across the boundary. The one rule for both callers below.
  static bool new_timeline(TimestampUs first_ts, TimestampUs clock) { return first_ts + kTimelineSlackUs < clock; }
  /// Another timeline starts at `first_ts`: flows idle at `clock` (the old timeline's last clock, over
  /// every shard) end idle, every other flow ends eof as at the end of input, and the clock restarts. One
  /// worker calls this itself at the first packet of each input; with several, the capture thread decides
  /// for all of them (each worker sees only its shard) and each gets the call in the same place of its
  /// packet sequence, so their records are those of one worker.
  void restart_timeline(TimestampUs clock, TimestampUs first_ts);

  void flow_ended(flow::Flow& f) override;

  const decode::AnomalyCounters& anomalies() const { return anomalies_; }
  uint64_t fragments_attributed() const { return fragments_attributed_; }
  const flow::FlowTable& table() const { return table_; }
  const classify::Classifier& classifier() const { return cls_; }
  classify::Classifier& classifier() { return cls_; }
  /// Adds an observer of every packet (not owned).
  void add_observer(PacketObserver* o) { observers_.push_back(o); }

 private:
  void account(flow::Flow& f, TimestampUs ts, uint32_t ip_len, uint32_t payload_len, flow::Dir d,
               uint8_t tcp_flags);
  void process_later_fragment(const decode::Packet& p);
  /// An ICMP error `p`: counts it into the live flow of the packet it quotes, if there is one.
  void tie_icmp_error(const decode::Packet& p);
  void emit_active(flow::Flow& f);
  void engine_link(flow::Flow& f);
  void engine_unlink(flow::Flow& f);
  void engine_push(flow::Flow& f, uint8_t list);
  /// Moves the clock to `t` (never back) and ends or parks what is idle at it, as every packet does.
  void advance(TimestampUs t);
  void give_up_idle();
  void park_idle();

  flow::FlowTable table_;
  classify::Classifier cls_;
  flow::FragmentTable frags_;
  stats::RecordSink& sink_;
  stats::FlowRecord rec_;
  decode::AnomalyCounters anomalies_;
  uint64_t fragments_attributed_ = 0;
  TimestampUs now_ = 0;
  TimestampUs active_us_ = 0;
  uint16_t file_index_ = 0;  // input of the last packet
  bool shared_timeline_ = false;  // one of several shards: timeline restarts come from restart_timeline()
  /// A new input starting more than this before the clock is another timeline (new_timeline()).
  static constexpr TimestampUs kTimelineSlackUs = 1000000;
  std::vector<PacketObserver*> observers_;
  // Flows holding nDPI state, least recently active first (links in ClassState): [0] live, [1] parked.
  struct EngineList {
    uint32_t head = 0xFFFFFFFFu, tail = 0xFFFFFFFFu;
  };
  EngineList engine_[2];
  TimestampUs classify_idle_us_ = 0;
  TimestampUs park_idle_us_ = 0;
};

}  // namespace sealscope::analyze
