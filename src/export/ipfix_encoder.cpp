#include "export/ipfix_encoder.hpp"

#include <cassert>
#include <string_view>

#include "common/display_text.hpp"

namespace sealscope::ipfix {

namespace {

constexpr uint32_t kReversePen = 29305;  // RFC 5103: reverse information elements
constexpr uint16_t kEnterpriseBit = 0x8000;
constexpr uint16_t kVariable = 0xFFFF;   // RFC 7011 §7: variable-length field

struct Field {
  uint16_t id;
  uint16_t length;  // kVariable for applicationName
  bool reverse;     // an RFC 5103 reverse element (enterprise bit, PEN 29305)
};

// The template's fields after the two addresses and the ICMP type and code (icmpTypeCodeIPv4 (32) or
// icmpTypeCodeIPv6 (139), 2 bytes), in record order. That element comes before destinationTransportPort:
// nfdump 1.7 stores both in its destination port, the one met last winning (for ICMP it then takes a
// non-zero type and code), so a protocol with ports (SCTP) keeps its port. Only the initiator's ICMP type
// is sent: nfdump 1.7 reads an RFC 5103 reverse element it has no reverse for as the forward one.
constexpr Field kCommon[] = {
    {7, 2, false},    // sourceTransportPort
    {11, 2, false},   // destinationTransportPort
    {4, 1, false},    // protocolIdentifier
    {152, 8, false},  // flowStartMilliseconds
    {153, 8, false},  // flowEndMilliseconds
    {1, 8, false},    // octetDeltaCount: initiator → responder
    {2, 8, false},    // packetDeltaCount
    {1, 8, true},     // reverseOctetDeltaCount: responder → initiator
    {2, 8, true},     // reversePacketDeltaCount
    {58, 2, false},   // vlanId
    {136, 1, false},  // flowEndReason
    {96, kVariable, false},  // applicationName
};
constexpr size_t kFields = 3 + std::size(kCommon);
constexpr size_t kReverseFields = 2;
// A template record: id and field count, 4 bytes per field, 4 more per enterprise number.
constexpr size_t kTemplateSize = 4 + 4 * kFields + 4 * kReverseFields;
constexpr size_t kTemplateSetSize = 4 + 2 * kTemplateSize;
// A data record without the label's length and bytes.
constexpr size_t kFixedV4 = 4 + 4 + 2 + 2 + 2 + 1 + 8 + 8 + 4 * 8 + 2 + 1;
constexpr size_t kFixedV6 = kFixedV4 + 2 * 12;

// The label cut to at most kMaxName bytes, at a character boundary (display text is valid UTF-8).
std::string_view cut_name(std::string_view s) {
  if (s.size() <= Encoder::kMaxName) return s;
  size_t n = Encoder::kMaxName;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // s[n] starts the next character
  return s.substr(0, n);
}

uint64_t ms(TimestampUs us) { return us < 0 ? 0 : static_cast<uint64_t>(us) / 1000; }

}  // namespace

Encoder::Encoder(uint32_t domain, size_t max_message) : domain_(domain), max_(max_message) {
  // The largest message: header, templates, one data set of one IPv6 record with a 255-byte name.
  assert(max_ >= kHeaderSize + kTemplateSetSize + 4 + kFixedV6 + 3 + kMaxName);
  buf_.reserve(max_);
}

bool Encoder::exportable(const stats::FlowRecord& r) {
  return (r.src_addr.version == 4 || r.src_addr.version == 6) && r.dst_addr.version == r.src_addr.version;
}

uint8_t Encoder::end_reason(flow::EndReason e) {
  switch (e) {
    case flow::EndReason::Idle: return 0x01;     // idle timeout
    case flow::EndReason::Active: return 0x02;   // active timeout
    case flow::EndReason::Fin:
    case flow::EndReason::Rst: return 0x03;      // end of flow detected
    case flow::EndReason::Evicted: return 0x05;  // lack of resources
    case flow::EndReason::Eof:
    case flow::EndReason::None: break;
  }
  return 0x04;  // forced end: the input ended (or the run was stopped)
}

void Encoder::put16(uint16_t v) {
  put8(static_cast<uint8_t>(v >> 8));
  put8(static_cast<uint8_t>(v));
}
void Encoder::put32(uint32_t v) {
  put16(static_cast<uint16_t>(v >> 16));
  put16(static_cast<uint16_t>(v));
}
void Encoder::put64(uint64_t v) {
  put32(static_cast<uint32_t>(v >> 32));
  put32(static_cast<uint32_t>(v));
}

void Encoder::put_template(uint16_t id, bool v6) {
  put16(id);
  put16(static_cast<uint16_t>(kFields));
  put16(v6 ? 27 : 8);   // sourceIPv6Address / sourceIPv4Address
  put16(v6 ? 16 : 4);
  put16(v6 ? 28 : 12);  // destinationIPv6Address / destinationIPv4Address
  put16(v6 ? 16 : 4);
  put16(v6 ? 139 : 32);  // icmpTypeCodeIPv6 / icmpTypeCodeIPv4
  put16(2);
  for (const Field& f : kCommon) {
    put16(f.reverse ? static_cast<uint16_t>(f.id | kEnterpriseBit) : f.id);
    put16(f.length);
    if (f.reverse) put32(kReversePen);
  }
}

void Encoder::start(uint32_t export_time, bool templates) {
  buf_.clear();
  put16(10);  // version
  put16(0);   // length, set by finish()
  put32(export_time);
  put32(sequence_);
  put32(domain_);
  started_ = true;
  has_templates_ = templates;
  records_ = 0;
  set_start_ = 0;
  set_id_ = 0;
  if (templates) {
    put16(kTemplateSetId);
    put16(static_cast<uint16_t>(kTemplateSetSize));
    put_template(kTemplateV4, false);
    put_template(kTemplateV6, true);
  }
}

void Encoder::close_set() {
  if (set_start_ == 0) return;
  const size_t len = buf_.size() - set_start_;
  buf_[set_start_ + 2] = static_cast<uint8_t>(len >> 8);
  buf_[set_start_ + 3] = static_cast<uint8_t>(len);
  set_start_ = 0;
  set_id_ = 0;
}

bool Encoder::add(const stats::FlowRecord& r) {
  assert(started_ && exportable(r));
  const bool v6 = r.src_addr.version == 6;
  const uint16_t id = v6 ? kTemplateV6 : kTemplateV4;
  name_ = display_text(r.verdict.label);
  const std::string_view name = cut_name(name_);
  const size_t need = (set_id_ != id ? 4 : 0) + (v6 ? kFixedV6 : kFixedV4) + (name.size() < 255 ? 1 : 3) +
                      name.size();
  if (buf_.size() + need > max_) return false;
  if (set_id_ != id) {
    close_set();
    set_start_ = buf_.size();
    set_id_ = id;
    put16(id);
    put16(0);  // set length, set by close_set()
  }
  const size_t alen = v6 ? 16 : 4;
  buf_.insert(buf_.end(), r.src_addr.bytes, r.src_addr.bytes + alen);
  buf_.insert(buf_.end(), r.dst_addr.bytes, r.dst_addr.bytes + alen);
  // Type in the high byte, code in the low (RFC 7012); 0 for other protocols and when the initiator sent
  // no ICMP message in the record's span.
  put16(r.has_icmp[flow::kUp] ? static_cast<uint16_t>(r.icmp_type[flow::kUp] << 8 | r.icmp_code[flow::kUp]) : 0);
  put16(r.has_ports ? r.src_port : 0);
  put16(r.has_ports ? r.dst_port : 0);
  put8(r.proto);
  put64(ms(r.first_seen));
  put64(ms(r.last_seen));
  put64(r.bytes[flow::kUp]);
  put64(r.packets[flow::kUp]);
  put64(r.bytes[flow::kDown]);
  put64(r.packets[flow::kDown]);
  put16(r.vlan < 0 ? 0 : static_cast<uint16_t>(r.vlan & 0x0FFF));
  put8(end_reason(r.end));
  if (name.size() < 255) {
    put8(static_cast<uint8_t>(name.size()));
  } else {
    put8(255);
    put16(static_cast<uint16_t>(name.size()));
  }
  buf_.insert(buf_.end(), name.begin(), name.end());
  ++records_;
  return true;
}

std::span<const uint8_t> Encoder::finish() {
  assert(started_);
  close_set();
  buf_[2] = static_cast<uint8_t>(buf_.size() >> 8);
  buf_[3] = static_cast<uint8_t>(buf_.size());
  sequence_ += static_cast<uint32_t>(records_);
  started_ = false;
  return {buf_.data(), buf_.size()};
}

}  // namespace sealscope::ipfix
