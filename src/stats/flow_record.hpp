#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "classify/classifier.hpp"
#include "flow/flow.hpp"
#include "flow/flow_table.hpp"

namespace sealscope::stats {

/// Summary statistics of one series (sizes or inter-arrival times).
struct Moments {
  uint64_t n = 0;
  double min = 0, mean = 0, stddev = 0, max = 0;
};

/// The flow record contract (GUIDE §3, man sealscope-flows(5)): everything written about one flow.
/// Metadata only: no payload byte is ever copied into it.
struct FlowRecord {
  uint64_t id = 0;
  std::string src_ip, dst_ip;
  IpAddr src_addr, dst_addr;  ///< the same addresses, binary (for the IPFIX exporter)
  uint8_t proto = 0;          ///< IP protocol number (l4 is its name)
  uint16_t src_port = 0, dst_port = 0;
  bool has_ports = false;
  std::string l4;
  int vlan = -1;  ///< -1 = none
  decode::TunnelInfo tunnel;
  std::string tunnel_outer_src, tunnel_outer_dst;
  TimestampUs first_seen = 0, last_seen = 0;
  uint64_t packets[2] = {0, 0}, bytes[2] = {0, 0}, payload[2] = {0, 0};
  Moments size[3], iat_ms[3];  ///< [all, up, down]
  std::vector<flow::SpltEntry> splt;
  uint32_t tcp_flags[8] = {};  ///< indexed by flag bit: FIN SYN RST PSH ACK URG ECE CWR
  /// ICMP/ICMPv6 flows: the first message's type and code each way ([up, down]), where has_icmp says so.
  bool has_icmp[2] = {false, false};
  uint8_t icmp_type[2] = {0, 0}, icmp_code[2] = {0, 0};
  /// ICMP/ICMPv6 error messages that quote a packet of this flow (0: none, and the fields after it are
  /// unset), and of the first one: its type and code, the quoted packet's direction (flow::Dir) and whether
  /// the quoted packet's destination sent it (the flow's other end; otherwise a router or middlebox).
  uint32_t icmp_errors = 0;
  uint8_t icmp_error_type = 0, icmp_error_code = 0;
  flow::Dir icmp_error_dir = flow::kUp;
  bool icmp_error_from_peer = false;
  classify::Verdict verdict;
  uint64_t after_packets = 0, after_bytes = 0;
  double after_ms = 0;
  std::string server_name;
  bool has_tls = false;
  std::string tls_version, tls_alpn, tls_ja3c, tls_ja3s;
  std::string category;
  flow::EndReason end = flow::EndReason::None;
};

/// Fills `r` from a flow at its end (reusing r's buffers).
void fill_record(const flow::Flow& f, const flow::FlowTable& table, const classify::Classifier& cls,
                 FlowRecord& r);

/// "TLSv1.3" style names for TLS/DTLS version numbers.
std::string tls_version_name(uint16_t v);

/// Receives finished flow records (writers, summaries, the policy engine).
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void write(const FlowRecord& r) = 0;
};

}  // namespace sealscope::stats
