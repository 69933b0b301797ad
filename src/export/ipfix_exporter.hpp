#pragma once
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "export/ipfix_encoder.hpp"
#include "stats/flow_record.hpp"

namespace sealscope::ipfix {

/// Where IPFIX messages go: a collector's UDP address, resolved once.
struct Collector {
  std::string spec;  ///< as given (HOST:PORT), for messages
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
};

/// Parses HOST:PORT ([v6]:PORT for an IPv6 literal; HOST an address or a name, resolved now) and throws
/// UsageError saying what is wrong.
Collector resolve_collector(std::string_view spec);

/// What an Exporter did, for the summary.
struct ExportCounts {
  uint64_t messages = 0, records = 0;                // handed to the network
  uint64_t failed_messages = 0, failed_records = 0;  // refused by send() (e.g. an ICMP port unreachable)
  bool refused_after = false;  ///< the collector's host refused a message after the last send
  uint64_t skipped = 0;        ///< records without IP addresses: no template carries them
  std::string error;           ///< the first error's reason
};

/// A record sink that sends every record to a collector as IPFIX over UDP (RFC 7011 §10.3): messages of
/// at most Encoder::kMaxMessage bytes, the templates in the first message and again every
/// kTemplateEveryMessages messages or kTemplateEverySeconds of wall time, whichever comes first.
/// A send error is counted, not thrown: the run and its other outputs go on. Not thread-safe (one producer).
class Exporter : public stats::RecordSink {
 public:
  static constexpr unsigned kTemplateEveryMessages = 20;
  static constexpr unsigned kTemplateEverySeconds = 5;
  /// Messages per second at most (a capture file is read much faster than real time; see sealscope(1)).
  static constexpr unsigned kDefaultRate = 10000;

  struct Options {
    uint32_t domain = 0;          ///< observation domain id
    bool send_each = false;       ///< live capture: one message per record, sent as the flow ends
    unsigned max_rate = kDefaultRate;  ///< messages per second, 0 = as fast as the socket takes them
  };

  /// Opens a UDP socket connected to the collector; throws sealscope::Error when it cannot.
  Exporter(const Collector& c, const Options& o);
  ~Exporter() override;
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  void write(const stats::FlowRecord& r) override;
  /// Sends the last message, then notes a refusal the collector's host reports within kLateErrorMs.
  /// Further calls do nothing.
  void close();
  const ExportCounts& counts() const { return counts_; }
  const std::string& collector() const { return spec_; }

  static constexpr int kLateErrorMs = 50;

 private:
  void start();
  void send();

  std::string spec_;
  Options opt_;
  Encoder enc_;
  int fd_ = -1;
  ExportCounts counts_;
  unsigned since_templates_ = 0;
  std::chrono::steady_clock::time_point templates_at_{}, next_send_{};
  bool closed_ = false;
};

}  // namespace sealscope::ipfix
