// With ndpi_private.cpp (nDPI 4.2's private module layout), the only translation unit that includes nDPI
// headers. Guarded on NDPI_MAJOR/NDPI_MINOR: designed for
// Debian 12's nDPI 4.2; 4.6 added an input-info argument to ndpi_detection_process_packet, 4.10 replaced
// the init preferences with a global context and the JA3 fields with JA4.
#include "classify/ndpi_adapter.hpp"

#include "classify/ndpi_private.hpp"
#include "classify/stun_sync.hpp"
#include "classify/teams_sync.hpp"
#include "common/zero_pack.hpp"

#include <ndpi/ndpi_api.h>

#include <boost/pool/pool.hpp>
#include <lz4.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace sealscope::classify {

#if NDPI_MAJOR > 4 || (NDPI_MAJOR == 4 && NDPI_MINOR >= 10)
#define SEALSCOPE_NDPI_410 1
#endif
#if NDPI_MAJOR > 4 || (NDPI_MAJOR == 4 && NDPI_MINOR >= 6)
#define SEALSCOPE_NDPI_46 1
#endif
// Parking relies on how 4.2 uses its reassembly buffers (read from its source, protocols/tls.c and quic.c):
// the TLS message buffer holds buffer_used meaningful bytes of buffer_len allocated; the QUIC CRYPTO buffer
// is a 4096-byte append-only buffer with quic_reasm_buf_len bytes filled. Later versions changed both.
#if NDPI_MAJOR == 4 && NDPI_MINOR == 2
#define SEALSCOPE_NDPI_PARK 1
#endif

struct NdpiEngine::Impl {
  ndpi_detection_module_struct* mod = nullptr;
  size_t flow_size = 0;
  bool layout_ok = false;  // header and library agree on the flow struct: its fields may be read
  // Flow structs come from a per-engine pool (one thread): no per-block malloc header, and no heap growth
  // one page at a time (a thread's malloc arena grows by mprotect: 11,700 calls on the bench capture).
  // nDPI's own buffers inside the struct are released by ndpi_free_flow_data.
  std::unique_ptr<boost::pool<>> flows;
  std::vector<char> raw, packed;  // parking scratch, grown once to the largest state seen
  // LZ4's compression state, set up once. LZ4_compress_default builds one per call and clears its 16 KiB
  // hash table each time (36 M instructions of memset for 2 203 parks on the bench sample, more than the
  // compression); LZ4_resetStream_fast before each block starts it afresh without the clearing.
  LZ4_stream_t lz4;
  std::unordered_map<uint32_t, std::string> labels;  // label(): (master << 16 | app) → nDPI's name
  bool borrowed_ip_lists = false;  // the module's IP-list tree is another engine's (share_ip_lists)

  Impl() { LZ4_initStream(&lz4, sizeof lz4); }
};

namespace {
/// A parked state block: this header, the flow struct zero-packed (see common/zero_pack.hpp: it is mostly
/// zeros; what is left LZ4 does not shrink), then the used bytes of the TLS message buffer and of the QUIC
/// CRYPTO buffer, LZ4-compressed when there are at least kCompressFrom of them and LZ4 makes them smaller.
/// On the bench capture 18 000 of 29 700 parks had no such bytes and 6 800 fewer than 256, where LZ4
/// gained nothing; the 1 800 with 1 KiB or more gave nearly all it saved (15 %). Compressing every block had
/// cost 2-6 % of a one-worker run's CPU.
struct ParkHeader {
  static constexpr uint32_t kCompressFrom = 1024;
  uint32_t packed = 0;      ///< bytes the TLS and QUIC data take in the block (compressed or not)
  uint32_t head = 0;        ///< bytes of the zero-packed flow struct
  uint32_t tls_alloc = 0;   ///< TLS message buffer: allocated bytes (0: none)
  uint32_t tls_used = 0;    ///< and used bytes
  uint32_t quic_used = 0;   ///< QUIC CRYPTO buffer: used bytes
  bool has_quic = false;    ///< the flow had a QUIC CRYPTO buffer
  bool compressed = false;  ///< the TLS and QUIC data are LZ4-compressed
  uint32_t data() const { return tls_used + quic_used; }  ///< TLS and QUIC bytes, uncompressed
  size_t block(size_t header) const { return header + head + packed; }

  // Stored as base-128 varints (7 bits a byte, low first), not as 4-byte words: typically 7 bytes instead
  // of 28, on blocks of about 360 (20 000 parked at the bench capture's peak). Written by hand: no
  // packaged library among the dependencies offers a bare varint.
  static constexpr size_t kMaxBytes = 5 * 5;
  size_t store(uint8_t* out) const {
    uint8_t* p = out;
    const uint32_t last = quic_used << 2 | uint32_t{compressed} << 1 | uint32_t{has_quic};
    for (uint32_t v : {packed, head, tls_alloc, tls_used, last}) {
      while (v >= 0x80) {
        *p++ = static_cast<uint8_t>(v | 0x80);
        v >>= 7;
      }
      *p++ = static_cast<uint8_t>(v);
    }
    return static_cast<size_t>(p - out);
  }
  /// Reads a header store() wrote at `in`; returns its length.
  size_t load(const uint8_t* in) {
    const uint8_t* p = in;
    uint32_t v[5];
    for (uint32_t& x : v) {
      x = 0;
      for (int shift = 0;; shift += 7) {
        const uint8_t b = *p++;
        x |= static_cast<uint32_t>(b & 0x7F) << shift;
        if (!(b & 0x80)) break;
      }
    }
    packed = v[0];
    head = v[1];
    tls_alloc = v[2];
    tls_used = v[3];
    quic_used = v[4] >> 2;
    compressed = (v[4] >> 1) & 1;
    has_quic = v[4] & 1;
    return static_cast<size_t>(p - in);
  }
};
constexpr uint32_t kQuicReasmBytes = 4096;  // nDPI 4.2 quic.c: max_quic_reasm_buffer_len
}  // namespace

namespace {
ndpi_protocol make_proto(uint16_t master, uint16_t app) {
  ndpi_protocol p;
  std::memset(&p, 0, sizeof p);
  p.master_protocol = master;
  p.app_protocol = app;
  return p;
}
}  // namespace

NdpiEngine::NdpiEngine(const EngineOptions& opts) : opts_(opts), impl_(std::make_unique<Impl>()) {
#ifdef SEALSCOPE_NDPI_410
  impl_->mod = ndpi_init_detection_module(nullptr);
#else
  impl_->mod = ndpi_init_detection_module(ndpi_no_prefs);
#endif
  if (impl_->mod == nullptr) throw std::runtime_error("nDPI: cannot initialise the detection module");
  NDPI_PROTOCOL_BITMASK all;
  NDPI_BITMASK_SET_ALL(all);
  ndpi_set_protocol_detection_bitmask2(impl_->mod, &all);
  ndpi_finalize_initialization(impl_->mod);
  const size_t lib = ndpi_detection_get_sizeof_ndpi_flow_struct();
  impl_->layout_ok = lib == sizeof(ndpi_flow_struct);
  impl_->flow_size = std::max(lib, sizeof(ndpi_flow_struct));
  impl_->flows = std::make_unique<boost::pool<>>(impl_->flow_size, 256, 256);  // 256 structs per chunk, no doubling
}

NdpiEngine::~NdpiEngine() {
  // Flows still holding state were discarded by their owner (worker teardown) before this runs; the pool
  // returns its chunks when it is destroyed.
  if (!impl_ || impl_->mod == nullptr) return;
  // A borrowed IP-list tree is its owner's to free: the module gets an empty one of its own to free.
  if (impl_->borrowed_ip_lists) ndpi_private::unshare_ip_list_tree(impl_->mod);
  ndpi_exit_detection_module(impl_->mod);
}

bool NdpiEngine::sync_caches(StunCacheSync& stun, TeamsCacheSync& teams, uint32_t worker) {
  if (!ndpi_private::stun_cache_usable(impl_->mod) || worker >= stun.workers() || stun.workers() != teams.workers() ||
      !ndpi_private::teams_cache_ready(impl_->mod)) {
    return false;
  }
  stun_sync_ = &stun;
  teams_sync_ = &teams;
  sync_worker_ = worker;
  stun_seq_ = std::make_unique<uint64_t[]>(StunCacheSync::kSlots);  // zeros: no slot written yet
  need_ = std::make_unique<uint64_t[]>(stun.workers());           // before any packet: nothing to wait for
  return true;
}

void NdpiEngine::unsync_caches() {
  stun_sync_ = nullptr;
  teams_sync_ = nullptr;
  stun_need_ = nullptr;
}

void NdpiEngine::set_stamp(const uint64_t* stamp, bool stun) {
  if (teams_sync_ == nullptr) return;
  const uint32_t n = stun_sync_->workers();
  seq_ = stamp[0];
  std::memcpy(need_.get(), stamp + 1, n * sizeof(uint64_t));
  stun_need_ = stun ? stamp + 1 + n : nullptr;
  teams_sync_->at(sync_worker_, seq_);
}

void NdpiEngine::stamp_end() {
  if (teams_sync_ == nullptr) return;
  seq_ = TeamsCacheSync::kEnd;
  stun_need_ = nullptr;
  teams_sync_->at(sync_worker_, seq_);
}

void NdpiEngine::stun_before(const uint8_t* l3, uint32_t l3_caplen) {
  const uint64_t seq = seq_;
  stun_sync_->wait(sync_worker_, stun_need_);
  // The other workers' writes from before this packet, each unless this module has a later one in the slot.
  stun_sync_->take(sync_worker_, seq, [this](const StunCacheSync::Write& x) {
    if (x.seq > stun_seq_[x.slot] && ndpi_private::set_stun_cache_entry(impl_->mod, x.slot, x.entry)) {
      stun_seq_[x.slot] = x.seq;
    }
  });
  if (!StunCacheSync::key_slots(l3, l3_caplen, stun_slots_)) {
    stun_slots_[0] = stun_slots_[1] = StunCacheSync::kSlots;  // nothing nDPI could key on
    return;
  }
  for (int i = 0; i < 2; ++i) stun_entries_[i] = ndpi_private::stun_cache_entry(impl_->mod, stun_slots_[i]);
}

namespace {
uint16_t teams_seconds(uint64_t ms) { return static_cast<uint16_t>((ms / 1000) & 0xFFFF); }  // as nDPI keeps it
}  // namespace

bool NdpiEngine::teams_before(const flow::Flow& f, const ndpi_flow_struct* nf, const uint8_t* l3, uint32_t l3_caplen,
                              TimestampUs ts) {
  if (teams_sync_ == nullptr || (f.key.l4 != IPPROTO_TCP && f.key.l4 != IPPROTO_UDP)) return false;
  // nDPI keys the entry by the flow's saddr and times it by its last_packet_time_ms, both set by the last
  // packet it tracked: this one if the flow is still undetected (and nDPI gets past its early returns,
  // which skip the cache too), else the earlier one. A give-up (no l3) tracks nothing.
  const bool v4 = l3 != nullptr ? l3_caplen >= 20 && (l3[0] >> 4) == 4 : nf->is_ipv6 == 0;
  if (!v4) return false;
  const bool tracks = l3 != nullptr && nf->detected_protocol_stack[0] == NDPI_PROTOCOL_UNKNOWN;
  ndpi_private::TeamsEntry old{true, ntohl(nf->saddr), teams_seconds(nf->last_packet_time_ms)};
  ndpi_private::TeamsEntry now = old;
  if (l3 != nullptr) {
    uint32_t src = 0;
    std::memcpy(&src, l3 + 12, 4);
    now = {true, ntohl(src), teams_seconds(static_cast<uint64_t>(ts / 1000))};
  }
  const ndpi_private::TeamsEntry& used = tracks ? now : old;
  const ndpi_private::TeamsEntry& other = tracks ? old : now;
  if (f.key.l4 == IPPROTO_TCP) {
    // Only writes: an empty slot shows one.
    ndpi_private::set_teams_cache_entry(impl_->mod, other.key % TeamsCacheSync::kSlots, {});
    ndpi_private::set_teams_cache_entry(impl_->mod, used.key % TeamsCacheSync::kSlots, {});
  } else {
    // Only reads: the key with its own time (0 s old) hits, so a read shows as Teams over a Skype label.
    // The entry nDPI is expected to use goes in last, in case both share a slot.
    ndpi_private::set_teams_cache_entry(impl_->mod, other.key % TeamsCacheSync::kSlots, other);
    ndpi_private::set_teams_cache_entry(impl_->mod, used.key % TeamsCacheSync::kSlots, used);
  }
  return true;
}

uint64_t NdpiEngine::caught_up() const {
  if (seq_ == TeamsCacheSync::kEnd) return 0;  // no stamp to compare with (the Teams cache's at() says it all)
  uint64_t mask = 0;
  for (uint32_t l = 0; l < stun_sync_->workers() && l < 64; ++l) {
    if (l != sync_worker_ && stun_sync_->frames_done(l) >= need_[l]) mask |= uint64_t{1} << l;
  }
  return mask;
}

void NdpiEngine::teams_after(const ndpi_flow_struct* nf, ndpi_protocol& p) {
  if (nf->is_ipv6 != 0) return;
  const uint32_t key = ntohl(nf->saddr);
  const uint32_t slot = key % TeamsCacheSync::kSlots;
  if (nf->l4_proto == IPPROTO_TCP) {
    const ndpi_private::TeamsEntry e = ndpi_private::teams_cache_entry(impl_->mod, slot);
    if (e.full && e.key == key) teams_sync_->publish(sync_worker_, seq_, key, e.seconds, caught_up());
    return;
  }
  const uint16_t app = nf->detected_protocol_stack[0];
  if (nf->l4_proto != IPPROTO_UDP || p.app_protocol != NDPI_PROTOCOL_MSTEAMS ||
      (app != NDPI_PROTOCOL_SKYPE_TEAMS && app != NDPI_PROTOCOL_SKYPE_CALL)) {
    return;
  }
  // A read, made to hit: decided as one module would, once the other workers have passed this packet.
  const uint16_t seconds = teams_seconds(nf->last_packet_time_ms);
  if (seq_ != TeamsCacheSync::kEnd) stun_sync_->wait(sync_worker_, need_.get());
  if (teams_sync_->hit(sync_worker_, seq_, key, seconds)) {
    teams_sync_->publish(sync_worker_, seq_, key, seconds, caught_up());  // nDPI refreshes the entry
  } else {
    p.app_protocol = app;  // a miss leaves the label nDPI made before it looked
  }
}

void NdpiEngine::stun_after() {
  const uint64_t seq = seq_;
  for (int i = 0; i < 2; ++i) {
    const uint32_t slot = stun_slots_[i];
    if (slot >= StunCacheSync::kSlots || (i == 1 && slot == stun_slots_[0])) continue;
    const uint64_t now = ndpi_private::stun_cache_entry(impl_->mod, slot);
    if (now == stun_entries_[i]) continue;
    stun_seq_[slot] = seq;
    stun_sync_->publish(sync_worker_, {seq, slot, now}, caught_up());
  }
}

bool NdpiEngine::share_ip_lists(NdpiEngine& owner) {
  if (&owner == this || impl_->borrowed_ip_lists || owner.impl_->borrowed_ip_lists) return false;
  impl_->borrowed_ip_lists = ndpi_private::share_ip_list_tree(impl_->mod, owner.impl_->mod);
  return impl_->borrowed_ip_lists;
}

std::string NdpiEngine::version() { return ndpi_revision(); }

size_t NdpiEngine::flow_state_bytes() {
  return std::max<size_t>(ndpi_detection_get_sizeof_ndpi_flow_struct(), sizeof(ndpi_flow_struct));
}

uint16_t NdpiEngine::limit_for(uint8_t l4) const {
  if (l4 == 6) return opts_.max_tcp_packets;
  if (l4 == 17) return opts_.max_udp_packets;
  return opts_.max_other_packets;
}

bool NdpiEngine::can_park() const {
#ifdef SEALSCOPE_NDPI_PARK
  return impl_->layout_ok;
#else
  return false;
#endif
}

void NdpiEngine::park(flow::Flow& f) {
#ifdef SEALSCOPE_NDPI_PARK
  flow::ClassState& c = f.cls;
  if (!impl_->layout_ok || c.engine_flow == nullptr || c.engine_parked) return;
  auto* nf = static_cast<ndpi_flow_struct*>(c.engine_flow);
  ParkHeader h{};
  const uint8_t* tls = nullptr;
  const uint8_t* quic = nullptr;
  // The l4 union's TLS and QUIC members overlap: nDPI tells them apart by l4_proto, and so do we.
  if (nf->l4_proto == IPPROTO_TCP && nf->l4.tcp.tls.message.buffer != nullptr) {
    tls = nf->l4.tcp.tls.message.buffer;
    h.tls_alloc = nf->l4.tcp.tls.message.buffer_len;
    h.tls_used = std::min(nf->l4.tcp.tls.message.buffer_used, nf->l4.tcp.tls.message.buffer_len);
  }
  if (nf->l4_proto == IPPROTO_UDP && nf->l4.udp.quic_reasm_buf != nullptr) {
    quic = nf->l4.udp.quic_reasm_buf;
    h.has_quic = 1;
    h.quic_used = std::min(nf->l4.udp.quic_reasm_buf_len, kQuicReasmBytes);
  }
  const size_t fs = sizeof(ndpi_flow_struct);
  const size_t most = zero_pack::bound(fs);
  if (impl_->raw.size() < most) impl_->raw.resize(most);
  char* raw = impl_->raw.data();
  h.head = static_cast<uint32_t>(
      zero_pack::pack(reinterpret_cast<const uint8_t*>(nf), fs, reinterpret_cast<uint8_t*>(raw)));
  // A flow has TLS bytes (TCP) or QUIC bytes (UDP), never both: they go into the block from where they are.
  const char* data = reinterpret_cast<const char*>(tls != nullptr ? tls : quic);
  h.packed = h.data();
  if (h.data() >= ParkHeader::kCompressFrom) {
    const int bound = LZ4_compressBound(static_cast<int>(h.data()));
    if (impl_->packed.size() < static_cast<size_t>(bound)) impl_->packed.resize(static_cast<size_t>(bound));
    LZ4_resetStream_fast(&impl_->lz4);  // an independent block: no earlier state as its dictionary
    const int n = LZ4_compress_fast_continue(&impl_->lz4, data, impl_->packed.data(),
                                             static_cast<int>(h.data()), bound, 1);
    if (n > 0 && static_cast<uint32_t>(n) < h.data()) {  // else kept as it is
      data = impl_->packed.data();
      h.packed = static_cast<uint32_t>(n);
      h.compressed = true;
    }
  }
  uint8_t header[ParkHeader::kMaxBytes];
  const size_t hl = h.store(header);
  auto* blob = static_cast<char*>(std::malloc(h.block(hl)));
  if (blob == nullptr) return;  // out of memory: stays live, nothing lost
  std::memcpy(blob, header, hl);
  std::memcpy(blob + hl, raw, h.head);
  if (h.packed > 0) std::memcpy(blob + hl + h.head, data, h.packed);
  if (tls != nullptr) ndpi_free(nf->l4.tcp.tls.message.buffer);
  if (quic != nullptr) ndpi_free(nf->l4.udp.quic_reasm_buf);
  impl_->flows->free(nf);
  c.engine_flow = blob;
  c.engine_parked = true;
  ++parked_;
  ++parks_;
  parked_bytes_ += h.block(hl);
#else
  (void)f;
#endif
}

void NdpiEngine::unpark(flow::Flow& f) {
#ifdef SEALSCOPE_NDPI_PARK
  flow::ClassState& c = f.cls;
  if (!c.engine_parked) return;
  auto* blob = static_cast<char*>(c.engine_flow);
  ParkHeader h;
  const size_t hl = h.load(reinterpret_cast<const uint8_t*>(blob));
  if (h.tls_used > h.tls_alloc || h.quic_used > kQuicReasmBytes || (!h.compressed && h.packed != h.data())) {
    throw std::runtime_error("nDPI state: a parked flow state's header is wrong (memory corruption?)");
  }
  const char* head = blob + hl;
  const char* data = head + h.head;
  if (h.compressed) {
    if (impl_->raw.size() < h.data()) impl_->raw.resize(h.data());
    if (LZ4_decompress_safe(data, impl_->raw.data(), static_cast<int>(h.packed), static_cast<int>(h.data())) !=
        static_cast<int>(h.data())) {
      throw std::runtime_error("nDPI state: a parked flow state does not decompress (memory corruption?)");
    }
    data = impl_->raw.data();
  }
  void* mem = impl_->flows->malloc();
  uint8_t* tls = h.tls_alloc > 0 ? static_cast<uint8_t*>(ndpi_malloc(h.tls_alloc)) : nullptr;
  uint8_t* quic = h.has_quic ? static_cast<uint8_t*>(ndpi_malloc(kQuicReasmBytes)) : nullptr;
  if (mem == nullptr || (h.tls_alloc > 0 && tls == nullptr) || (h.has_quic && quic == nullptr)) {
    if (mem != nullptr) impl_->flows->free(mem);
    if (tls != nullptr) ndpi_free(tls);
    if (quic != nullptr) ndpi_free(quic);
    throw std::bad_alloc();
  }
  const size_t fs = sizeof(ndpi_flow_struct);
  std::memset(mem, 0, impl_->flow_size);
  if (!zero_pack::unpack(reinterpret_cast<const uint8_t*>(head), h.head, static_cast<uint8_t*>(mem), fs)) {
    impl_->flows->free(mem);
    if (tls != nullptr) ndpi_free(tls);
    if (quic != nullptr) ndpi_free(quic);
    throw std::runtime_error("nDPI state: a parked flow state does not unpack (memory corruption?)");
  }
  auto* nf = static_cast<ndpi_flow_struct*>(mem);
  if (tls != nullptr) {
    std::memcpy(tls, data, h.tls_used);
    nf->l4.tcp.tls.message.buffer = tls;
  }
  if (quic != nullptr) {
    std::memcpy(quic, data + h.tls_used, h.quic_used);
    nf->l4.udp.quic_reasm_buf = quic;
  }
  parked_bytes_ -= h.block(hl);
  std::free(blob);
  c.engine_flow = mem;
  c.engine_parked = false;
  --parked_;
  ++unparks_;
#else
  (void)f;
#endif
}

bool NdpiEngine::process(flow::Flow& f, const uint8_t* l3, uint32_t l3_caplen, TimestampUs ts) {
  flow::ClassState& c = f.cls;
  if (c.final && !c.extra_dissection) return false;
  unpark(f);
  if (c.engine_flow == nullptr) {
    if (c.final) return false;
    c.engine_flow = impl_->flows->malloc();
    if (c.engine_flow == nullptr) return false;  // out of memory: the flow stays unclassified, not fatal
    std::memset(c.engine_flow, 0, impl_->flow_size);
    ++live_;
  }
  auto* nf = static_cast<ndpi_flow_struct*>(c.engine_flow);
  const uint16_t len = static_cast<uint16_t>(std::min<uint32_t>(l3_caplen, 0xFFFF));
  const uint64_t ms = static_cast<uint64_t>(ts / 1000);
  const bool stun_sync = stun_need_ != nullptr;
  if (stun_sync) stun_before(l3, len);
  const bool teams = teams_before(f, nf, l3, len, ts);
#ifdef SEALSCOPE_NDPI_46
  ndpi_protocol p = ndpi_detection_process_packet(impl_->mod, nf, l3, len, ms, nullptr);
#else
  ndpi_protocol p = ndpi_detection_process_packet(impl_->mod, nf, l3, len, ms);
#endif
  if (teams) teams_after(nf, p);
  if (stun_sync) stun_after();
  ++c.dissected;
  const uint64_t pkts = f.packets[0] + f.packets[1];
  bool changed = false;
  if (!c.final) {
    // ndpiReader's rule: detected once the app is known, or give up past the per-transport packet limit.
    if (p.app_protocol != NDPI_PROTOCOL_UNKNOWN || pkts > limit_for(f.key.l4)) {
      if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN) {
        p = give_up(f, nf);
        c.extra_dissection = false;
      } else {
        c.extra_dissection = ndpi_extra_dissection_possible(impl_->mod, nf) != 0;
      }
      c.final = true;
      c.master = p.master_protocol;
      c.app = p.app_protocol;
      c.category = static_cast<uint16_t>(ndpi_get_proto_category(impl_->mod, p));
      changed = true;
    }
  } else {
    if (p.app_protocol != NDPI_PROTOCOL_UNKNOWN && (p.app_protocol != c.app || p.master_protocol != c.master)) {
      c.master = p.master_protocol;
      c.app = p.app_protocol;
      c.category = static_cast<uint16_t>(ndpi_get_proto_category(impl_->mod, p));
      changed = true;
    }
    if (ndpi_extra_dissection_possible(impl_->mod, nf) == 0 || pkts > 2u * limit_for(f.key.l4)) {
      c.extra_dissection = false;
    }
  }
  if (impl_->layout_ok) c.engine_confidence = static_cast<uint8_t>(nf->confidence);
  if (c.final && !c.extra_dissection) finish(f);
  return changed;
}

ndpi_protocol NdpiEngine::give_up(const flow::Flow& f, ndpi_flow_struct* nf) {
  uint8_t guessed = 0;
  const bool teams = teams_before(f, nf, nullptr, 0, 0);
  ndpi_protocol p = ndpi_detection_giveup(impl_->mod, nf, opts_.guess ? 1 : 0, &guessed);
  if (teams) teams_after(nf, p);
  return p;
}

void NdpiEngine::finish(flow::Flow& f) {
  flow::ClassState& c = f.cls;
  if (c.engine_flow == nullptr) {
    c.final = true;
    c.extra_dissection = false;
    return;
  }
  unpark(f);
  auto* nf = static_cast<ndpi_flow_struct*>(c.engine_flow);
  if (!c.final) {
    const ndpi_protocol p = give_up(f, nf);
    c.master = p.master_protocol;
    c.app = p.app_protocol;
    c.category = static_cast<uint16_t>(ndpi_get_proto_category(impl_->mod, p));
    c.final = true;
  }
  c.extra_dissection = false;
  if (impl_->layout_ok) c.engine_confidence = static_cast<uint8_t>(nf->confidence);
  copy_meta(f);
  release(nf);
  c.engine_flow = nullptr;
  --live_;
}

void NdpiEngine::release(void* engine_flow) {
  ndpi_free_flow_data(static_cast<ndpi_flow_struct*>(engine_flow));
  impl_->flows->free(engine_flow);
}

void NdpiEngine::copy_meta(flow::Flow& f) {
  if (!impl_->layout_ok) return;
  const auto* nf = static_cast<const ndpi_flow_struct*>(f.cls.engine_flow);
  const size_t n = strnlen(nf->host_server_name, sizeof nf->host_server_name);
  const uint16_t tls_like[] = {NDPI_PROTOCOL_TLS, NDPI_PROTOCOL_QUIC, NDPI_PROTOCOL_DTLS};
  const bool is_tls = std::find(std::begin(tls_like), std::end(tls_like), f.cls.master) != std::end(tls_like) ||
                      std::find(std::begin(tls_like), std::end(tls_like), f.cls.app) != std::end(tls_like);
  if (n == 0 && !is_tls && nf->risk == 0) return;  // nothing to keep: no allocation
  flow::FlowMeta::Fields x;
  x.server_name = std::string_view(nf->host_server_name, n);
  x.risk = nf->risk;
  if (is_tls) {
    const auto& t = nf->protos.tls_quic;
    x.has_tls = true;
    x.tls_version = t.ssl_version;
#ifndef SEALSCOPE_NDPI_410
    x.ja3c = std::string_view(t.ja3_client, strnlen(t.ja3_client, sizeof t.ja3_client));
    x.ja3s = std::string_view(t.ja3_server, strnlen(t.ja3_server, sizeof t.ja3_server));
#endif
    if (t.alpn != nullptr) x.alpn = std::string_view(t.alpn, strnlen(t.alpn, 256));
  }
  // nDPI's values first; what the detectors already kept (a QUIC ClientHello they decrypted) fills the
  // rest. The fallback views the old block, which is freed only after the copy.
  f.meta = flow::FlowMeta::merge(x, f.meta ? f.meta->fields() : flow::FlowMeta::Fields{});
}

void NdpiEngine::discard(flow::Flow& f) {
  if (f.cls.engine_flow == nullptr) return;
  if (f.cls.engine_parked) {
    // The parked struct still owns nDPI's strings (HTTP, TLS names): restored, then freed. Out of memory
    // here (teardown) leaks those strings rather than throwing from a destructor's path.
    try {
      unpark(f);
    } catch (...) {
      ParkHeader h;
      const size_t hl = h.load(static_cast<const uint8_t*>(f.cls.engine_flow));
      parked_bytes_ -= h.block(hl);
      std::free(f.cls.engine_flow);
      f.cls.engine_flow = nullptr;
      f.cls.engine_parked = false;
      --parked_;
      --live_;
      return;
    }
  }
  release(f.cls.engine_flow);
  f.cls.engine_flow = nullptr;
  --live_;
}

bool NdpiEngine::bare_stun(uint16_t master, uint16_t app) {
  return (master == NDPI_PROTOCOL_STUN && (app == 0 || app == NDPI_PROTOCOL_STUN)) ||
         (master == 0 && app == NDPI_PROTOCOL_STUN);
}

const std::string& NdpiEngine::label(uint16_t master, uint16_t app) const {
  auto [it, added] = impl_->labels.try_emplace(static_cast<uint32_t>(master) << 16 | app);
  if (added) {
    char buf[128] = {};
    ndpi_protocol2name(impl_->mod, make_proto(master, app), buf, sizeof buf);
    it->second = buf;
  }
  return it->second;
}

const char* NdpiEngine::category_name(uint16_t category) const {
  const char* n = ndpi_category_get_name(impl_->mod, static_cast<ndpi_protocol_category_t>(category));
  return n != nullptr ? n : "Unspecified";
}

const char* NdpiEngine::network_owner(const IpAddr& a) const {
  if (a.version != 4) return "";
  struct in_addr in;
  std::memcpy(&in.s_addr, a.bytes, 4);  // already network byte order
  const uint16_t id = ndpi_network_ptree_match(impl_->mod, &in);
  if (id == NDPI_PROTOCOL_UNKNOWN) return "";
  const char* n = ndpi_get_proto_name(impl_->mod, id);
  return n != nullptr ? n : "";
}

std::string NdpiEngine::proto_name(uint16_t id) const {
  const char* n = ndpi_get_proto_name(impl_->mod, id);
  return n != nullptr ? n : "Unknown";
}

const char* NdpiEngine::confidence_name(uint8_t engine_confidence) {
  switch (static_cast<ndpi_confidence_t>(engine_confidence)) {
    case NDPI_CONFIDENCE_DPI: return "dpi";
    case NDPI_CONFIDENCE_DPI_CACHE: return "dpi-cache";
    case NDPI_CONFIDENCE_MATCH_BY_IP: return "ip-list";
    case NDPI_CONFIDENCE_MATCH_BY_PORT: return "port";
    default: return "unknown";
  }
}

}  // namespace sealscope::classify
