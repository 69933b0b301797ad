#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "decode/packet.hpp"
#include "stats/flow_record.hpp"

namespace sealscope::stats {

/// Flows, packets and bytes of one group.
struct Totals {
  uint64_t flows = 0, packets = 0, bytes = 0;
  void add(const FlowRecord& r) {
    ++flows;
    packets += r.packets[0] + r.packets[1];
    bytes += r.bytes[0] + r.bytes[1];
  }
  void add(const Totals& o) {
    flows += o.flows;
    packets += o.packets;
    bytes += o.bytes;
  }
};

/// One input that could not be read to its end.
struct InputProblem {
  std::string name;
  std::string reason;
  uint64_t offset = 0;   ///< byte offset just past the last good record
  uint64_t packets = 0;  ///< packets read before the problem
  bool live = false;     ///< a live interface (gone, or an error while capturing): no byte offset to give
};

/// What `analyze --ipfix` sent, as the exporter counted it (filled in once it has closed).
struct IpfixTotals {
  std::string collector;                             ///< HOST:PORT as given
  uint64_t messages = 0, records = 0;                ///< handed to the network (UDP: not confirmed)
  uint64_t failed_messages = 0, failed_records = 0;  ///< refused by send()
  bool refused = false;  ///< the collector's host refused a message after the last send
  uint64_t skipped = 0;  ///< records without IP addresses, which no template carries
  std::string error;     ///< the first error's reason, empty when none
};

/// What an inline run (`policy enforce`) did with the packets its netfilter queue handed over.
struct QueueTotals {
  std::string name;  ///< "nfqueue N"
  bool fail_open = false;  ///< a full queue lets packets through unjudged, uncounted (else the kernel drops them)
  uint64_t packets = 0, accepted = 0, dropped = 0;  ///< verdicts sent
  uint64_t verdict_errors = 0;  ///< verdicts the kernel did not take
  uint64_t lost_messages = 0;   ///< messages lost on the way to sealscope (socket buffer full)
  bool kernel_known = false;    ///< the kernel's counters below could be read
  uint64_t overflow = 0;        ///< packets the kernel dropped because the queue was full
  uint64_t undelivered = 0;     ///< packets the kernel could not hand over (dropped)
};

/// Run-wide metadata statistics: what the summary on stdout and --summary-json report.
struct Summary : RecordSink {
  Totals all;
  Totals unknown;
  std::map<std::pair<std::string, std::string>, Totals> by_family_activity;  ///< (family, activity)
  std::map<std::string, Totals> by_label;
  std::map<std::string, uint64_t> by_end;
  std::map<std::string, uint64_t> by_confidence;

  uint64_t frames = 0;        ///< frames read from all inputs
  uint64_t frames_bytes = 0;  ///< their captured bytes
  uint64_t frames_cut = 0;    ///< frames captured shorter than on the wire (the capture's snap length)
  uint64_t not_ip = 0;        ///< well-formed frames that carry no IP (ARP, LLDP, …)
  uint64_t malformed = 0;     ///< frames dropped as malformed (reasons in anomalies)
  uint64_t fragments_attributed = 0;
  uint64_t icmp_error_flows = 0;  ///< records with ICMP errors tied to them (FlowRecord::icmp_errors)
  uint64_t icmp_errors = 0;       ///< the errors tied, over all records
  decode::AnomalyCounters anomalies;
  uint64_t evictions = 0;
  uint64_t peak_flows = 0;
  uint64_t ndpi_parked = 0;    ///< times a quiet flow's nDPI state was parked (--park-idle)
  uint64_t ndpi_restored = 0;  ///< times a parked state was restored (next packet, verdict, flow end)
  uint64_t kernel_drops = 0;     ///< live: no room in the capture buffer (sealscope fell behind)
  uint64_t interface_drops = 0;  ///< live: dropped by the interface or its driver before capture
  bool live = false;             ///< a live capture (the drop counters mean something)
  uint64_t inputs_overlapping = 0;  ///< inputs whose first packet is older than the newest of the inputs before
  bool timed = false;  ///< a frame with a time was read: first_ts and last_ts hold (0 is a time too)
  TimestampUs first_ts = 0, last_ts = 0;
  double wall_seconds = 0;
  std::vector<std::string> inputs;
  std::vector<InputProblem> problems;
  bool interrupted = false;
  std::optional<IpfixTotals> ipfix;  ///< set with --ipfix
  std::optional<QueueTotals> queue;  ///< set by an inline run

  void write(const FlowRecord& r) override;
};

}  // namespace sealscope::stats
