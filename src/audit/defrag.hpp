#pragma once
#include <cstdint>
#include <list>
#include <map>
#include <vector>

#include "common/types.hpp"
#include "decode/decoder.hpp"
#include "flow/fragments.hpp"

namespace sealscope::audit {

/// Bounds on the bytes held for IP datagrams whose fragments have not all come.
struct DefragLimits {
  uint64_t held = 16u << 20;  ///< all incomplete datagrams together: buffers plus bookkeeping
  uint32_t timeout_s = 30;    ///< an incomplete datagram is given up this long after its first fragment came
};

/// Run-wide counters. Every datagram begun ends under exactly one of reassembled, timed_out, ended_incomplete,
/// dropped_at_cap, not_captured and invalid, or is still incomplete (Defragmenter::incomplete_now()).
struct DefragCounters {
  uint64_t fragments = 0;     ///< fragments taken in
  uint64_t datagrams = 0;     ///< datagrams begun (a fragment whose datagram had no state yet)
  uint64_t reassembled = 0;   ///< every byte from offset 0 to the end that the last fragment sets
  uint64_t timed_out = 0;     ///< incomplete when their timeout passed
  uint64_t ended_incomplete = 0;  ///< incomplete when their input ended (a later input on another timeline)
  uint64_t dropped_at_cap = 0;    ///< incomplete, given up (oldest first) to stay within DefragLimits::held; its
                                  ///< state is freed, so its later fragments begin a datagram of their own
  uint64_t not_captured = 0;  ///< a fragment cut short by the capture's snap length: the datagram cannot be whole
  uint64_t invalid = 0;       ///< beyond 65535 bytes, or two different ends: not reassembled (as a host would not)
  uint64_t late_fragments = 0;  ///< fragments of a datagram given up as not_captured or invalid (until its timeout)
  uint64_t overlapping_fragments = 0;   ///< fragments that overlapped bytes already held: the first copy is kept
  uint64_t conflicting_bytes = 0;       ///< overlapping bytes whose value differed from the copy kept
  uint64_t held = 0, peak = 0;          ///< bytes charged against DefragLimits::held now, and at most
};

/// What the audit remembers of the fragment at offset 0 (the one with the transport header).
struct FirstFragment {
  uint32_t transport_payload = 0;  ///< where the transport payload starts in the datagram (after TCP/UDP/ICMP)
  uint64_t flow_id = 0;
  uint8_t dir = 0;
  bool tcp = false;
  bool syn = false;
  uint32_t tcp_seq = 0;
  uint32_t stream_fed = 0;  ///< TCP payload bytes of the first fragment already given to the stream reassembler
};

/// One datagram: its fragmentable part in datagram coordinates, and which fragment each byte came from.
struct Datagram {
  std::vector<uint8_t> bytes;  ///< grows to the highest end seen; complete: exactly `total` bytes
  uint32_t total = 0;          ///< set by the last fragment (MF clear)
  bool have_first = false, have_last = false, dead = false;
  uint32_t fragments = 0;
  uint32_t covered = 0;  ///< bytes held (the runs' lengths)
  FirstFragment first;
  TimestampUs created = 0;
  uint64_t charge = 0;

  /// Bytes [start, end) came from fragment `fragment` (the first copy of those bytes to arrive).
  struct Run {
    uint32_t end;
    uint32_t fragment;
  };
  std::map<uint32_t, Run> runs;  ///< by start; disjoint
  /// Whole ranges of fragments that overlapped bytes already held and agreed with every one of them (a
  /// fragment that overlapped nothing is one run already).
  std::vector<std::pair<uint32_t, uint32_t>> agreeing;

  /// True when one fragment's own payload holds the bytes [start, end) as they are here (a run, or the range of
  /// an agreeing fragment), so the search of that packet on its own already saw them.
  bool one_fragment_holds(uint32_t start, uint32_t end) const;
};

/// IPv4 and IPv6 datagram reassembly for the audit (RFC 791, RFC 8200 §4.5; RFC 815's hole idea as a map of
/// runs). Keyed as the flow stage keys fragments (flow::FragmentTable::DatagramKey): source, destination, IP
/// identification, VLAN, and the protocol for IPv4 only (RFC 8200 §4.5). Overlaps: the first copy of a byte wins, as in the TCP
/// reassembler, and differing copies are counted. Memory: bounded by DefragLimits::held (oldest datagrams given
/// up first) and the timeout; every datagram given up is counted under its reason, never silently.
/// Hand-written: Debian packages no IP reassembler usable on its own here — libnids reassembles only inside its
/// own capture loop and global state (nids_run / nids_pcap_handler, nids_params) and only IPv4; libtins'
/// IPv4Reassembler works on heap-built PDU objects, has no IPv6 counterpart, no timeout and no byte bound;
/// PcapPlusPlus' IPReassembly (IPv4 and IPv6) is not in Debian 12.
class Defragmenter {
 public:
  explicit Defragmenter(const DefragLimits& limits = {}) : limits_(limits) {}

  using Key = flow::FragmentTable::DatagramKey;
  /// One fragment as the audit sees it.
  struct Fragment {
    Key key;
    uint32_t offset = 0;  ///< in bytes
    bool more = false;
    const uint8_t* data = nullptr;
    uint32_t caplen = 0, len = 0;     ///< captured and on-the-wire bytes at `data`
    const FirstFragment* first = nullptr;  ///< set for the fragment at offset 0

    /// The fragment `p` is, from its fields as decode::fragment_fields() read them (`first` left unset).
    static Fragment of(const decode::Packet& p, const decode::FragmentFields& ff) {
      Fragment f;
      f.key = Key::of(p);
      f.offset = ff.offset;
      f.more = ff.more;
      f.data = ff.data;
      f.caplen = ff.caplen;
      f.len = ff.len;
      return f;
    }
  };

  /// Takes one fragment at time `now` (the latest packet time). Returns true when it completed its datagram,
  /// which is then moved into `done` and forgotten here.
  bool add(const Fragment& f, TimestampUs now, Datagram& done);
  /// Gives up, as timed out, every incomplete datagram whose first fragment came more than the timeout before
  /// `now`. Cheap when there is nothing to do (one look at the oldest datagram).
  void expire(TimestampUs now);
  /// The input's timeline ended (a later input goes back in time): every incomplete datagram is given up as
  /// ended_incomplete, so no fragment of one capture completes a datagram of another.
  void end_timeline();

  const DefragCounters& counters() const { return c_; }
  /// Datagrams begun and not yet ended: still waiting for a fragment (at the end of a run: never completed).
  uint64_t incomplete_now() const { return live_; }
  const DefragLimits& limits() const { return limits_; }

  /// Bytes charged per datagram and per run beside the bytes themselves (map and list nodes, the struct).
  static constexpr uint64_t kDatagramOverhead = 256, kRunOverhead = 64;
  /// The largest datagram: an IPv4 total length, or an IPv6 payload length, is 16 bits.
  static constexpr uint32_t kMaxDatagram = 65535;

 private:
  struct Entry {
    Datagram d;
    std::list<Key>::iterator pos;  ///< in order_
  };
  using Map = std::map<Key, Entry>;
  enum class Drop { TimedOut, EndedIncomplete, Cap, NotCaptured, Invalid };
  void give_up(Entry& e, Drop why);  ///< counts it and keeps a tombstone (until its timeout) for later fragments
  void erase(Map::iterator it);
  void recharge(Datagram& d);
  /// Gives up the oldest datagrams other than `current` until what is held fits the limit, then `current` too
  /// when it alone does not fit (false: `current` is gone).
  bool fit(Map::iterator current);

  DefragLimits limits_;
  DefragCounters c_;
  Map map_;
  std::list<Key> order_;  ///< by creation time, oldest first (creation times never go back)
  uint64_t live_ = 0;     ///< datagrams in map_ that are not tombstones
};

}  // namespace sealscope::audit
