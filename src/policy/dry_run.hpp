#pragma once
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "analyze/worker.hpp"
#include "eval/eval.hpp"
#include "policy/decider.hpp"
#include "policy/pcap_out.hpp"
#include "policy/time_sample.hpp"
#include "policy/token_bucket.hpp"
#include "stats/flow_record.hpp"

namespace sealscope::policy {

/// Packets and IP bytes.
struct Volume {
  uint64_t packets = 0, bytes = 0;
  void add(uint64_t b) {
    ++packets;
    bytes += b;
  }
  void add(const Volume& v) {
    packets += v.packets;
    bytes += v.bytes;
  }
};

/// Distinct subscribers, as one bit per subscriber number (DryRun numbers each subscriber address once per
/// run): a tally holds a bit, not an address string, per subscriber, so a long policy enforce over many
/// subscribers stays small.
class SubscriberBits {
 public:
  void add(uint32_t n) {
    const size_t w = n / 64;
    if (w >= bits_.size()) bits_.resize(w + 1);
    const uint64_t m = uint64_t{1} << (n % 64);
    if (!(bits_[w] & m)) {
      bits_[w] |= m;
      ++count_;
    }
  }
  uint64_t size() const { return count_; }

 private:
  std::vector<uint64_t> bits_;
  uint64_t count_ = 0;
};

/// What a rule (or a region) did over the run.
struct Tally {
  uint64_t flows = 0;          ///< flows it acted on (at least one packet, or the verdict)
  uint64_t dropped_flows = 0;  ///< of which at least one packet was dropped
  SubscriberBits subscribers;
  Volume all, passed, dropped, throttled, before_verdict;  ///< throttled ⊂ dropped: drops by a throttle
  uint64_t intended = 0, collateral = 0;
  std::map<std::string, uint64_t> collateral_labels;
};

/// What passed before the decision, per label (the record's), over flows whose rule at the last decision (the
/// verdict, or a label revision that chose another rule) blocks or throttles.
struct Leak {
  uint64_t flows = 0;
  Volume before;
  TimeSample ms;  ///< time from the flow's first packet to its verdict, one per flow
};

/// Ground truth per flow (a labels.tsv in the corpus format), keyed by l4, VLAN and unordered endpoints.
class TruthTable {
 public:
  /// Loads a labels.tsv with eval::load_labels; rows of files not among `captures` (by base name) are
  /// ignored when `captures` is non-empty. Throws ConfigError (file:line:column) on a malformed line.
  void load(const std::string& path, const std::vector<std::string>& captures);
  using Row = eval::Observed;  ///< label, family, activity of the row
  const Row* find(const stats::FlowRecord& r) const;
  bool empty() const { return rows_.empty(); }

 private:
  std::map<std::string, Row> rows_;  ///< by eval::match_key without the file name (eval::add_observed)
};

/// The policy dry-run: a packet observer applying the rules as a middlebox would (a flow passes until its
/// verdict is final, then its rule acts per packet at that packet's time), plus a record sink that closes
/// each flow's account at its end. One instance per run; single worker. Inline (policy enforce) it is also
/// the run's Gate: the packet it counts as dropped is dropped.
class DryRun : public analyze::PacketObserver, public stats::RecordSink, public analyze::Gate {
 public:
  /// `exact_times`: how many times to block per label are kept before their p50 and p90 come from a sample
  /// (TimeSample).
  explicit DryRun(const Policy& p, size_t exact_times = TimeSample::kDefaultExact);
  ~DryRun() override;

  /// Optional outputs and ground truth (set before the run).
  void set_pass_pcap(std::unique_ptr<PcapOut> out) { pass_ = std::move(out); }
  void set_drop_pcap(std::unique_ptr<PcapOut> out) { drop_ = std::move(out); }
  void set_truth(const TruthTable* t) { truth_ = t; }

  void on_packet(const flow::Flow& f, const decode::Packet& p, flow::Dir d,
                 const classify::Classifier& cls) override;
  /// A later fragment the worker holds for its first fragment: its headers are kept, and it is counted into
  /// its flow, and written to a pcap, when the worker counts it (on_held_counted). Orphans are left out, as
  /// the records leave them out.
  void on_unattributed(const decode::Packet& p, bool held) override;
  void on_held_counted(const flow::Flow& f, const decode::Packet& first, flow::Dir d, uint32_t n,
                       const classify::Classifier& cls) override;
  void write(const stats::FlowRecord& r) override;
  void arm() override { gate_drop_ = false; }
  bool drop() const override { return gate_drop_; }
  /// Closes the pcap outputs.
  void finish();

  const std::vector<Tally>& rules() const { return rules_; }  ///< one per rule, then the default
  const std::vector<Tally>& regions() const { return regions_; }
  const std::map<std::string, Leak>& leaks() const { return leaks_; }
  const Tally& total() const { return total_; }
  uint64_t flows_without_region() const { return no_region_; }
  const Policy& policy() const { return p_; }
  const PcapOut* pass_pcap() const { return pass_.get(); }
  const PcapOut* drop_pcap() const { return drop_.get(); }

 private:
  struct FlowState;
  FlowState& state_for(const flow::Flow& f, TimestampUs ts);
  /// Chooses the flow's rule at its verdict (adding what passed before it to that rule), or again at a
  /// label revision.
  void decide(FlowState& st, TimestampUs ts);
  /// Reads the flow's verdict into st; whether a decided flow's label, family, activity, category or server
  /// name changed (a revision the rules must follow).
  bool take_verdict(FlowState& st, const flow::Flow& f, const classify::Classifier& cls);
  Tally& rule_tally(int rule) { return rules_[rule < 0 ? rules_.size() - 1 : static_cast<size_t>(rule)]; }
  void count(FlowState& st, int rule, uint32_t bytes, bool before, bool dropped, bool throttled);
  /// Counts one packet of the flow; true when the rules drop it. A `held` later fragment (counted with its
  /// first fragment, before that is classified) never brings the verdict, and passes: it passed when it
  /// came, as no flow can be told from a later fragment (inline, the worker's gate let it through).
  bool packet(const flow::Flow& f, const decode::Packet& p, flow::Dir d, const classify::Classifier& cls,
              bool held = false);

  /// A held later fragment: its decoded facts, with `frame` pointing at a copy of its headers (never payload).
  struct Held {
    decode::Packet p;
    std::vector<uint8_t> head;
    TimestampUs held_at;  ///< the latest packet time seen when it came
  };
  /// At most as many as the worker can hold at once (every entry of its fragment table with kMaxPending).
  static constexpr size_t kMaxHeld = size_t{flow::FragmentTable::kDefaultSets} * flow::FragmentTable::kWays *
                                     flow::FragmentTable::kMaxPending;
  /// Let go once the latest packet time is this far past held_at: twice the worker's fragment timeout, as
  /// the worker's clock may run ahead of the packets this observer sees (never too early, so nothing the
  /// worker still counts is missing here).
  static constexpr TimestampUs kLetGoUs = 2 * TimestampUs{flow::FragmentTable::kDefaultTimeoutS} * 1000000;
  /// Lets go of the oldest held fragments while they are past kLetGoUs or more than kMaxHeld.
  void let_go_of_old();
  /// In arrival order (by serial), and each datagram's serials in arrival order: the worker counts the last
  /// n it holds, and the ones it never counts (orphans) go after kLetGoUs, so a long run holds a bounded set.
  std::map<uint64_t, Held> held_;
  std::map<flow::FragmentTable::DatagramKey, std::vector<uint64_t>> held_by_datagram_;
  uint64_t held_serial_ = 0;
  TimestampUs latest_ts_ = 0;

  const Policy& p_;
  Decider decider_;
  std::unordered_map<uint64_t, std::unique_ptr<FlowState>> flows_;
  std::vector<Tally> rules_, regions_;
  Tally total_;
  std::map<std::string, Leak> leaks_;
  size_t exact_times_;
  /// Subscriber addresses numbered in the order they first close a flow (for the tallies' SubscriberBits).
  struct AddrHash {
    size_t operator()(const IpAddr& a) const;
  };
  std::unordered_map<IpAddr, uint32_t, AddrHash> subscriber_no_;
  uint64_t no_region_ = 0;
  std::unique_ptr<PcapOut> pass_, drop_;
  const TruthTable* truth_ = nullptr;
  bool wants_sni_ = false;
  classify::Verdict verdict_;
  bool gate_drop_ = false;  ///< the verdict on the packet on_packet() last saw (Gate)
};

}  // namespace sealscope::policy
