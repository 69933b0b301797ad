#pragma once
#include <array>
#include <compare>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "decode/packet.hpp"
#include "flow/flow.hpp"

namespace sealscope::flow {

/// Attributes later IP fragments (which carry no ports) to the flow of their first fragment, by
/// (source, destination, IP id, VLAN, and the protocol for IPv4: datagram_proto()). Fixed capacity, kWays-way set-associative, no allocation after
/// construction. Fragments that arrive before their first fragment wait here (up to kMaxPending each).
class FragmentTable {
 public:
  static constexpr int kMaxPending = 4;
  struct Pending {
    TimestampUs ts;
    uint32_t ip_len;
    uint32_t payload_len;
  };
  struct Entry {
    uint8_t src[16], dst[16];
    uint32_t id;
    uint16_t vlan;
    uint8_t proto, ip_version;
    bool used;
    bool have_first;
    uint8_t npending;
    TimestampUs ts;
    FlowKey flow;
    Pending pending[kMaxPending];
  };

  static constexpr uint32_t kDefaultSets = 2048, kDefaultTimeoutS = 30;
  static constexpr size_t kWays = 4;
  explicit FragmentTable(uint32_t sets = kDefaultSets, uint32_t timeout_s = kDefaultTimeoutS);

  /// The protocol as part of a datagram's identity: IPv4's protocol field (RFC 791), and nothing for IPv6,
  /// whose fragments are told apart by source, destination and identification alone (RFC 8200 §4.5). An
  /// IPv6 first fragment's `l4_proto` is the transport after the whole header chain, a later fragment's the
  /// fragment header's next header: with a destination options header after the fragment header the two
  /// differ, and keying on them left every later fragment of such a datagram an orphan.
  static uint8_t datagram_proto(const decode::Packet& p) { return p.ip_version == 6 ? 0 : p.l4_proto; }

  /// What tells one datagram's fragments from another's (the fields an Entry matches on), as an ordered key
  /// for code outside the packet path that keeps fragments of its own (the policy dry run).
  struct DatagramKey {
    std::array<uint8_t, 16> src, dst;
    uint32_t id;
    uint16_t vlan;
    uint8_t proto, ip_version;
    auto operator<=>(const DatagramKey&) const = default;
    static DatagramKey of(const decode::Packet& p) {
      DatagramKey k{};
      std::memcpy(k.src.data(), p.src.bytes, 16);
      std::memcpy(k.dst.data(), p.dst.bytes, 16);
      k.id = p.frag_id;
      k.vlan = p.vlan;
      k.proto = datagram_proto(p);
      k.ip_version = p.ip_version;
      return k;
    }
  };

  /// Finds the entry of a fragment's datagram, or nullptr.
  Entry* find(const decode::Packet& p, TimestampUs now);
  /// Finds or makes the entry of a datagram; `displaced` counts pending fragments of a replaced entry that
  /// will never be attributed, `evicted_fresh` tells whether a still-live entry had to be replaced.
  Entry* upsert(const decode::Packet& p, TimestampUs now, uint64_t& displaced, bool& evicted_fresh);
  /// Pending fragments still unattributed (for the end-of-input count).
  uint64_t pending_total() const;

 private:
  bool matches(const Entry& e, const decode::Packet& p) const;
  uint32_t set_of(const decode::Packet& p) const;

  uint32_t sets_;
  TimestampUs timeout_us_;
  // calloc'd: the kernel's zero pages stay out of the resident set until fragments arrive (most captures
  // have few; new Entry[]() would write all 1.3 MB up front).
  struct Free {
    void operator()(Entry* e) const { std::free(e); }
  };
  std::unique_ptr<Entry[], Free> entries_;
};

}  // namespace sealscope::flow
