#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "decode/packet.hpp"

namespace sealscope::flow {

/// Direction-normalised flow key: fixed-size POD, no padding, hashed as bytes.
/// Side A is the numerically lower (address, port) pair, so both directions map to one key.
struct FlowKey {
  uint8_t addr_a[16];
  uint8_t addr_b[16];
  uint16_t port_a;
  uint16_t port_b;
  uint16_t vlan;
  uint8_t l4;
  uint8_t ip_version;

  bool operator==(const FlowKey& o) const { return std::memcmp(this, &o, sizeof(FlowKey)) == 0; }
};
static_assert(sizeof(FlowKey) == 40, "FlowKey must stay padding-free");

/// Builds the key of a decoded packet; `a_is_src` tells whether the packet's source is side A.
FlowKey make_key(const decode::Packet& p, bool& a_is_src);

/// Welford running mean and variance with min and max, for a series whose count the flow keeps anyway
/// (its packet counters): the caller passes the number of values including the new one. Leaving the count
/// out, and keeping sizes' min and max as 4-byte integers, takes 72 bytes off every flow slot (six series
/// per flow). `T` is the type of min and max.
template <typename T>
struct RunningStats {
  double mean = 0, m2 = 0;
  T min = 0, max = 0;
  /// Adds x as the n-th value (n >= 1).
  void add(T x, uint64_t n) {
    if (n == 1) {
      min = max = x;
    } else {
      if (x < min) min = x;
      if (x > max) max = x;
    }
    const double v = static_cast<double>(x);
    const double d = v - mean;
    mean += d / static_cast<double>(n);
    m2 += d * (v - mean);
  }
  /// Population standard deviation of n values.
  double stddev(uint64_t n) const { return n > 1 ? std::sqrt(m2 / static_cast<double>(n)) : 0.0; }
  /// The series of a's na values and b's nb values together (the pairwise update of Chan, Golub and
  /// LeVeque): the same moments as adding all of them to one series, up to rounding, in any order.
  static RunningStats combine(const RunningStats& a, uint64_t na, const RunningStats& b, uint64_t nb) {
    if (na == 0) return b;
    if (nb == 0) return a;
    RunningStats r;
    const double fa = static_cast<double>(na), fb = static_cast<double>(nb), n = fa + fb;
    const double d = b.mean - a.mean;
    r.mean = a.mean + d * (fb / n);
    r.m2 = a.m2 + b.m2 + d * d * (fa * fb / n);
    r.min = a.min < b.min ? a.min : b.min;
    r.max = a.max > b.max ? a.max : b.max;
    return r;
  }
};
using SizeStats = RunningStats<uint32_t>;  ///< IP lengths in bytes
using IatStats = RunningStats<double>;     ///< inter-arrival times in ms

/// Why a flow record was written.
enum class EndReason : uint8_t { None, Idle, Active, Fin, Rst, Evicted, Eof };
const char* end_reason_name(EndReason r);

enum Dir : uint8_t { kUp = 0, kDown = 1 };  ///< up = from the initiator

/// Classification state a classifier keeps on the flow (the nDPI state itself stays opaque).
struct ClassState {
  // Ordered by size: 64 bytes without padding.
  void* engine_flow = nullptr;   ///< the engine's per-flow state, freed as soon as the verdict is final
  uint64_t after_packets = 0, after_bytes = 0;  ///< when the label became final
  int64_t after_us = 0;
  uint32_t detector_state = 0;   ///< per-flow scratch bits for our detectors
  // Links of the worker's lists of flows that hold engine state (live, parked), each ordered by last packet
  // (parking and idle give-up).
  uint32_t engine_prev = 0xFFFFFFFFu, engine_next = 0xFFFFFFFFu;
  uint16_t master = 0, app = 0;  ///< engine protocol ids
  uint16_t category = 0;         ///< engine category id of the label
  uint16_t dissected = 0;        ///< packets given to the engine
  uint16_t detector_label = 0;   ///< our own detectors' label id (0 = none), see classify/labels
  uint8_t engine_confidence = 0;
  uint8_t detector_confidence = 0;
  uint8_t engine_list = 0;       ///< 0 none, 1 live, 2 parked
  bool engine_parked = false;    ///< engine_flow is the compact copy of an idle flow's state (NdpiEngine::park)
  bool final = false;            ///< the verdict will not change any more
  bool extra_dissection = false; ///< still feeding packets for extra metadata after detection
};
static_assert(sizeof(ClassState) == 64, "ClassState is packed by field size");

/// Per-flow metadata copied out of the engine once (host name, TLS handshake metadata); allocated only
/// for flows that have any, as one block: the fixed fields, then the strings back to back. As four
/// std::strings a TLS flow's metadata took up to five allocations and about 300 bytes; this is one of about
/// 130 (it is kept for every such flow until its record is written).
class FlowMeta {
 public:
  struct Fields {
    std::string_view server_name, alpn, ja3c, ja3s;
    bool has_tls = false;
    uint16_t tls_version = 0;
    uint64_t risk = 0;
  };
  /// One allocation holding `x`; each string is cut at 65535 bytes (nDPI's are far shorter).
  static std::unique_ptr<FlowMeta> make(const Fields& x);
  /// One allocation holding `primary`, each of its empty fields (empty string, version 0, risk 0) taken
  /// from `fallback`; has_tls when either has it. The two sources of a record's metadata (nDPI, and the
  /// QUIC ClientHellos sealscope decrypts itself) meet here, in whichever order they come.
  static std::unique_ptr<FlowMeta> merge(const Fields& primary, const Fields& fallback);
  /// This block's fields (views into it).
  Fields fields() const;
  static void operator delete(void* p) { ::operator delete(p); }
  FlowMeta(const FlowMeta&) = delete;
  FlowMeta& operator=(const FlowMeta&) = delete;

  std::string_view server_name() const { return str(0); }
  std::string_view alpn() const { return str(1); }
  std::string_view ja3c() const { return str(2); }
  std::string_view ja3s() const { return str(3); }
  bool has_tls() const { return has_tls_; }
  uint16_t tls_version() const { return tls_version_; }
  uint64_t risk() const { return risk_; }

 private:
  FlowMeta() = default;
  std::string_view str(int i) const {
    size_t off = 0;
    for (int j = 0; j < i; ++j) off += len_[j];
    return {reinterpret_cast<const char*>(this + 1) + off, len_[i]};
  }
  uint64_t risk_ = 0;
  uint16_t len_[4] = {};
  uint16_t tls_version_ = 0;
  bool has_tls_ = false;
};

/// Per-flow state of the classifier's own detectors, allocated only for flows that need it
/// (defined by the classify stage).
struct DetectorState {
  virtual ~DetectorState() = default;
};

/// What only some flows have, kept out of the slot and allocated on first need: the outermost tunnel
/// (tunnelled flows, at their creation) and the ICMP facts (ICMP flows, and flows an ICMP error quotes).
struct FlowExtra {
  decode::TunnelInfo tunnel;  ///< type None: not tunnelled
  /// ICMP and ICMPv6 errors (decode::is_icmp_error) that quote a packet of this flow: how many, the first
  /// one's type and code (icmp_error[0], [1]) and icmp_error_about (bit 0: the quoted packet went down;
  /// bit 1: the error came from the quoted packet's destination, the flow's other end, not from a router or
  /// middlebox on the path). The messages themselves count in their own ICMP flow.
  uint32_t icmp_errors = 0;
  uint8_t icmp_error[2] = {};
  uint8_t icmp_error_about = 0;
  /// ICMP and ICMPv6 flows: the type and code of the first message each way (icmp[d][0] type, [1] code),
  /// valid where bit d of icmp_seen is set. The key has no ports for ICMP, so one flow holds every
  /// message between two hosts; these say what it began with.
  uint8_t icmp_seen = 0;
  uint8_t icmp[2][2] = {};
};

/// One SPLT entry: IP length and milliseconds since the flow's previous packet, direction in the top bit.
struct SpltEntry {
  uint16_t ip_len;
  uint32_t dir_ms;  ///< bit 31: 1 = down; bits 0–30: ms since previous packet (saturating)
} __attribute__((packed));

/// A bidirectional flow: counters, statistics and the first packets' shape. Metadata only.
struct Flow {
  FlowKey key{};
  uint64_t id = 0;  ///< creation sequence number (deterministic)
  // The initiator's and responder's addresses and ports are the key's sides (see initiator()): not stored
  // twice. The tunnel header and the ICMP facts are kept apart, since few flows have either; together
  // 92 bytes off every flow slot.
  std::unique_ptr<FlowExtra> extra;  ///< null until the flow has a tunnel or an ICMP fact (extra_for_update)

  TimestampUs first_seen = 0, last_seen = 0;
  TimestampUs last_dir_ts[2] = {0, 0};
  uint64_t packets[2] = {0, 0};
  uint64_t bytes[2] = {0, 0};
  uint64_t payload[2] = {0, 0};
  // Counts: size_dir[d] has packets[d] values; each inter-arrival series one value fewer than its packets
  // (see size_count() and iat_count()). The sizes of both directions together are not kept: size_all()
  // combines the two (24 bytes off every slot, and one division less per packet). The inter-arrival
  // times of both directions together are a series of their own (the gaps between the directions).
  SizeStats size_dir[2];
  IatStats iat_all, iat_dir[2];
  uint32_t tcp_flag_counts[8] = {};
  bool a_is_initiator = true;  ///< the first packet came from side A of the key
  uint8_t fin_seen = 0;  ///< bit 0: FIN from initiator, bit 1: FIN from responder
  EndReason end = EndReason::None;
  EndReason closing = EndReason::None;  ///< Fin/Rst once the connection is closing (lingering)

  // The first packets' shape (SPLT): the first kSpltInline entries here, the rest in a slab the table
  // lends once a flow goes beyond them (most flows never do: half of the corpus' flows have at most
  // 8 packets). FlowTable::splt_entry() and FlowTable::splt_copy() hide the split.
  static constexpr uint16_t kSpltInline = 8;
  SpltEntry splt_head[kSpltInline];
  uint32_t splt_more = 0xFFFFFFFFu;  ///< the table's slab for entries kSpltInline..; none when all ones

  ClassState cls;
  std::unique_ptr<FlowMeta> meta;
  std::unique_ptr<DetectorState> det;

  // Intrusive LRU links (flow-table owned).
  uint32_t slot = 0;
  uint32_t prev = 0, next = 0;
  uint8_t list = 0;
  bool in_use = false;

  // The narrow fields last, where they fill what would be padding at the slot's end.
  uint16_t splt_len = 0;  ///< SPLT entries recorded

  IpAddr initiator() const { return side(a_is_initiator); }
  IpAddr responder() const { return side(!a_is_initiator); }
  uint16_t initiator_port() const { return a_is_initiator ? key.port_a : key.port_b; }
  uint16_t responder_port() const { return a_is_initiator ? key.port_b : key.port_a; }
  /// The tunnel header, or an empty one (type None) for an untunnelled flow.
  const decode::TunnelInfo& tunnel_info() const { return extra_info().tunnel; }
  /// The extra block, or an empty one (no tunnel, no ICMP message seen, no errors tied).
  const FlowExtra& extra_info() const {
    static const FlowExtra kNone{};
    return extra ? *extra : kNone;
  }
  /// The extra block to write to, allocated on first need (once per flow at most: rare flows only).
  FlowExtra& extra_for_update() {
    if (!extra) extra = std::make_unique<FlowExtra>();
    return *extra;
  }

  /// The sizes of the packets of both directions. The mean is the byte count over the packet count (the
  /// byte counters are the sums of the size series), so it is exact to the last bit.
  SizeStats size_all() const {
    SizeStats s = SizeStats::combine(size_dir[0], packets[0], size_dir[1], packets[1]);
    const uint64_t n = packets[0] + packets[1];
    if (n > 0) s.mean = static_cast<double>(bytes[0] + bytes[1]) / static_cast<double>(n);
    return s;
  }
  /// Values in the size series `s` (0 all, 1 up, 2 down) and in the inter-arrival series `s`.
  uint64_t size_count(int s) const { return s == 0 ? packets[0] + packets[1] : packets[s - 1]; }
  uint64_t iat_count(int s) const {
    const uint64_t n = size_count(s);
    return n > 0 ? n - 1 : 0;
  }
  /// Resets everything but the table links and the slot.
  void reset();

 private:
  IpAddr side(bool a) const {
    IpAddr r;
    std::memcpy(r.bytes, a ? key.addr_a : key.addr_b, 16);
    r.version = key.ip_version;
    return r;
  }
};
// Every concurrent flow costs a slot: a field added where padding was not keeps this; one that grows the
// slot should say so here (on 64-bit targets, where the pointers take 8 bytes). 496 until the ICMP errors
// tied to a flow took 8 more (their count had no room in the padding); 480 since the sizes of both
// directions together are combined from each direction's; 464 since the ICMP facts moved to FlowExtra.
static_assert(sizeof(void*) != 8 || sizeof(Flow) == 464, "Flow slot size changed");

}  // namespace sealscope::flow
