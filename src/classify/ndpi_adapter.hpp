#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "common/types.hpp"
#include "flow/flow.hpp"

struct ndpi_flow_struct;
struct ndpi_proto;

namespace sealscope::classify {

class StunCacheSync;
class TeamsCacheSync;

/// How far nDPI is driven per flow (ndpiReader's defaults: 80 TCP / 24 UDP packets before giving up).
struct EngineOptions {
  uint16_t max_tcp_packets = 80;
  uint16_t max_udp_packets = 24;
  uint16_t max_other_packets = 24;
  bool guess = true;  ///< on give-up, let nDPI guess by port/IP (reported as confidence port/ip-list)
};

/// The ONE place that talks to nDPI (GUIDE §2.1). One instance per worker thread: nDPI detection
/// modules are not thread-safe. nDPI per-flow state is freed as soon as a flow's verdict is final.
class NdpiEngine {
 public:
  explicit NdpiEngine(const EngineOptions& opts);
  ~NdpiEngine();
  NdpiEngine(const NdpiEngine&) = delete;
  NdpiEngine& operator=(const NdpiEngine&) = delete;

  /// Feeds one packet (IP header on, true captured length). Call only while !cls.final or
  /// cls.extra_dissection. Returns true when the label changed on this packet.
  bool process(flow::Flow& f, const uint8_t* l3, uint32_t l3_caplen, TimestampUs ts);

  /// Ends dissection (gives up with guessing if still undetected), copies metadata into f.meta and frees
  /// the nDPI flow state. Safe to call more than once.
  void finish(flow::Flow& f);

  /// Frees the engine state of a flow that will not be reported (teardown without finish()).
  void discard(flow::Flow& f);

  /// Whether park() is available: with the nDPI whose flow struct and reassembly buffers sealscope knows
  /// (4.2, the struct's size agreeing between header and library).
  bool can_park() const;
  /// Parks the nDPI state of a flow still classifying that has gone quiet: the flow struct (mostly zeros)
  /// and only the used bytes of its TLS and QUIC reassembly buffers go into one LZ4-compressed block, and
  /// the rest is freed (a QUIC flow holds a 4 KiB buffer for a few hundred bytes). process(), finish()
  /// and discard() restore the state byte for byte first, so labels and metadata are unchanged.
  /// Requires can_park() and live (unparked) state.
  void park(flow::Flow& f);
  /// Flows whose state is parked now; times state was parked and restored; bytes the parked blocks hold.
  uint64_t engine_flows_parked() const { return parked_; }
  uint64_t parks() const { return parks_; }
  uint64_t unparks() const { return unparks_; }
  uint64_t parked_bytes() const { return parked_bytes_; }

  /// nDPI's own name for a (master, app) pair, as ndpiReader prints it ("TLS.Google", "DNS", "Unknown").
  /// Kept per pair once asked (nDPI formats it with snprintf, about 800 instructions, and every record asks):
  /// the string lives as long as the engine. Not thread-safe, like the engine.
  const std::string& label(uint16_t master, uint16_t app) const;
  /// nDPI's name of a category id (e.g. "Chat", "VoIP"); the string lives as long as the engine.
  const char* category_name(uint16_t category) const;
  /// Name of one protocol id.
  std::string proto_name(uint16_t id) const;
  /// The service nDPI's built-in address lists (its per-protocol network/ASN tables, not ours) assign to
  /// an address, as a protocol name ("Google", "Azure", ...); "" when none or for IPv6 (4.2 has IPv4
  /// lists only). The string lives as long as the engine; no allocation.
  const char* network_owner(const IpAddr& a) const;
  /// True when the ids name STUN alone (no application on it): nDPI's label "STUN". No allocation.
  static bool bare_stun(uint16_t master, uint16_t app);
  /// Our confidence vocabulary for an nDPI confidence value: dpi, dpi-cache, ip-list, port, unknown.
  static const char* confidence_name(uint8_t engine_confidence);
  /// Version string of the linked nDPI library.
  static std::string version();
  /// Bytes of nDPI state held per flow until its verdict is final.
  static size_t flow_state_bytes();

  uint64_t engine_flows_live() const { return live_; }

  /// Uses `owner`'s copy of nDPI's IP lists (the Patricia tree behind labels by address: 4.7 MB of each
  /// 5.7 MB module, the same in every module) and frees this engine's own. After set-up nDPI only searches
  /// that tree, so engines on different threads can share it; `owner` must outlive this engine's use (it
  /// may be destroyed first: this engine never frees the borrowed tree). Call before any packet. Returns
  /// false, changing nothing, unless nDPI is 4.2 and its private module layout checks out at run time.
  bool share_ip_lists(NdpiEngine& owner);

  /// Keeps this engine's STUN cache and Teams cache, at every packet that may use them, as one module
  /// reading the whole capture would hold them (stun_sync.hpp, teams_sync.hpp), as worker `worker` of both,
  /// which must outlive this engine's use. Call before any packet; then give every packet a stamp
  /// (set_stamp). Returns false, changing nothing, unless nDPI is 4.2 and its private module layout checks
  /// out at run time.
  bool sync_caches(StunCacheSync& stun, TeamsCacheSync& teams, uint32_t worker);
  /// Undoes sync_caches (another worker's engine could not take part: none does).
  void unsync_caches();
  /// The stamp of the packet process() is given next: its sequence number in the capture, then for each
  /// worker the count of its frames sent before it (what a read of the Teams cache waits for), then, when
  /// `stun` (a packet classify::may_touch_stun_cache picks), for each worker the count of its frames that
  /// must be finished before nDPI sees it. Clock ticks and new timelines are stamped too (no STUN part):
  /// flows the worker ends there count as before the next packet. Kept, but the STUN part, until the next.
  void set_stamp(const uint64_t* stamp, bool stun);
  /// The packet given with set_stamp(.., true) has been processed: its STUN part is no longer valid.
  void end_stun_stamp() { stun_need_ = nullptr; }
  /// End of input: flows given up from now on are after every packet (TeamsCacheSync::kEnd).
  void stamp_end();

 private:
  void copy_meta(flow::Flow& f);
  /// Around the nDPI call for a stamped packet: before, the cache brought to the packet's place in the
  /// capture and the two slots its keys name noted; after, what nDPI wrote there published.
  void stun_before(const uint8_t* l3, uint32_t l3_caplen);
  void stun_after();
  /// Around every nDPI call on an IPv4 TCP or UDP flow while the Teams cache is kept as one module's
  /// (teams_sync.hpp): before, the slots the call could use are set so that any use shows (`l3` null for a
  /// give-up, which tracks no packet); after, a write is published and a read decided, `p` corrected.
  bool teams_before(const flow::Flow& f, const ndpi_flow_struct* nf, const uint8_t* l3, uint32_t l3_caplen,
                    TimestampUs ts);
  void teams_after(const ndpi_flow_struct* nf, ndpi_proto& p);
  /// Which other workers have finished every frame sent to them before the current packet (`caught_up` of
  /// StunCacheSync::publish and TeamsCacheSync::publish).
  uint64_t caught_up() const;
  /// nDPI's give-up on a flow still undetected (guessing as the options say), the Teams cache kept as one
  /// module's around it.
  ndpi_proto give_up(const flow::Flow& f, ndpi_flow_struct* nf);
  void release(void* engine_flow);
  void unpark(flow::Flow& f);
  uint16_t limit_for(uint8_t l4) const;

  EngineOptions opts_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t live_ = 0;  ///< flows holding engine state, parked or not
  uint64_t parked_ = 0, parks_ = 0, unparks_ = 0, parked_bytes_ = 0;
  StunCacheSync* stun_sync_ = nullptr;
  TeamsCacheSync* teams_sync_ = nullptr;
  uint32_t sync_worker_ = 0;               ///< this engine's worker number in both syncs
  uint64_t seq_ = 0;                        ///< the current packet's sequence number (set_stamp)
  std::unique_ptr<uint64_t[]> need_;        ///< and each worker's frames sent before it
  const uint64_t* stun_need_ = nullptr;     ///< the STUN part of its stamp, if it has one
  uint32_t stun_slots_[2] = {0, 0};      ///< the slots the current packet's two keys name
  uint64_t stun_entries_[2] = {0, 0};    ///< and their entries before nDPI saw it
  std::unique_ptr<uint64_t[]> stun_seq_;  ///< per slot: the packet that last wrote it (0: none)
};

}  // namespace sealscope::classify
