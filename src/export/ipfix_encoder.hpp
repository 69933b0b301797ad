#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "stats/flow_record.hpp"

namespace sealscope::ipfix {

/// IPFIX (RFC 7011) messages of flow records: the message header, one template set with two templates
/// (IPv4 and IPv6 addresses) and data sets of one biflow record per flow (RFC 5103 reverse counters).
///
/// Hand-written, not a library: sealscope's dependencies are Debian packages, and none of them encodes
/// IPFIX. Debian's libfixbuf is not among them and would bring GLib and its own session, template and
/// buffer model, while what is needed here is small and fixed (RFC 7011 §3: a 16-byte header, a template
/// set, data sets of fixed-layout records plus one variable-length string). Encoding is kept apart from the
/// socket (ipfix_exporter.hpp) so it can be checked byte by byte.
///
/// Information elements (IANA registry; the reverse ones are RFC 5103's, enterprise number 29305):
///   sourceIPv4Address(8) / sourceIPv6Address(27)            the initiator's address
///   destinationIPv4Address(12) / destinationIPv6Address(28) the responder's address
///   icmpTypeCodeIPv4(32) / icmpTypeCodeIPv6(139)            the initiator's first ICMP type and code, else 0
///   sourceTransportPort(7), destinationTransportPort(11)    0 for protocols without ports
///   protocolIdentifier(4)
///   flowStartMilliseconds(152), flowEndMilliseconds(153)    first and last packet, ms since the epoch
///   octetDeltaCount(1), packetDeltaCount(2)                 initiator → responder (IP bytes)
///   reverseOctetDeltaCount(29305/1), reversePacketDeltaCount(29305/2)  responder → initiator
///   vlanId(58)                                              0 when none
///   flowEndReason(136)                                      from the record's end
///   applicationName(96)                                     the label, display text, at most 255 bytes
class Encoder {
 public:
  static constexpr size_t kMaxMessage = 1472;  ///< a 1500-byte MTU less the IPv4 and UDP headers
  static constexpr uint16_t kTemplateV4 = 256, kTemplateV6 = 257;
  static constexpr uint16_t kTemplateSetId = 2;
  static constexpr size_t kHeaderSize = 16;
  static constexpr size_t kMaxName = 255;  ///< applicationName is cut to this many bytes

  /// `max_message`: the largest message in bytes (at least large enough for the templates and one record).
  explicit Encoder(uint32_t domain, size_t max_message = kMaxMessage);

  /// True for records the templates can carry (IPv4 or IPv6 addresses).
  static bool exportable(const stats::FlowRecord& r);
  /// flowEndReason (RFC 7011 / IANA) of a record's end.
  static uint8_t end_reason(flow::EndReason e);

  /// Starts a message stamped `export_time` (seconds since the epoch), with the template set when `templates`.
  void start(uint32_t export_time, bool templates);
  /// Appends the record to the started message; false, appending nothing, when it does not fit.
  /// The record must be exportable().
  bool add(const stats::FlowRecord& r);
  /// Ends the started message and returns its bytes (valid until the next start()). The sequence number
  /// advances by the records it holds.
  std::span<const uint8_t> finish();

  bool started() const { return started_; }
  /// Data records in the started message.
  size_t records() const { return records_; }
  /// Whether the started message holds the template set.
  bool has_templates() const { return has_templates_; }
  /// The sequence number of the next message: data records in the messages finished so far (mod 2^32).
  uint32_t sequence() const { return sequence_; }

 private:
  void put8(uint8_t v) { buf_.push_back(v); }
  void put16(uint16_t v);
  void put32(uint32_t v);
  void put64(uint64_t v);
  void put_template(uint16_t id, bool v6);
  void close_set();

  uint32_t domain_;
  size_t max_;
  std::vector<uint8_t> buf_;
  std::string name_;  // scratch: the label's display text
  bool started_ = false, has_templates_ = false;
  size_t set_start_ = 0;  // offset of the open data set's header, 0 = none
  uint16_t set_id_ = 0;
  size_t records_ = 0;
  uint32_t sequence_ = 0;
};

}  // namespace sealscope::ipfix
