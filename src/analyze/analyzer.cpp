#include "analyze/analyzer.hpp"

#include <malloc.h>
#include <unistd.h>
#include <pcap/dlt.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <new>
#include <type_traits>

#include "common/display_text.hpp"
#include "common/errors.hpp"

namespace sealscope::analyze {

/// Addresses of a subscriber or LAN side: RFC 1918, 100.64/10 (carrier-grade NAT), 169.254/16, fc00::/7,
/// fe80::/10.
bool private_side(const IpAddr& a) {
  const uint8_t* b = a.bytes;
  if (a.version == 4) {
    return b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168) ||
           (b[0] == 100 && (b[1] & 0xC0) == 64) || (b[0] == 169 && b[1] == 254);
  }
  return (b[0] & 0xFE) == 0xFC || (b[0] == 0xFE && (b[1] & 0xC0) == 0x80);
}

uint64_t shard_hash(const decode::Packet& p) {
  // Symmetric either way, and every fragment of a datagram (later fragments carry no ports) lands with its
  // flow. Keeping all of a subscriber's flows in one shard keeps nDPI's per-host caches (STUN and others,
  // keyed by one endpoint) whole.
  struct {
    uint8_t lo[16], hi[16];
    uint16_t vlan;
  } k{};
  const bool sp = private_side(p.src), dp = private_side(p.dst);
  if (sp != dp) {
    std::memcpy(k.lo, sp ? p.src.bytes : p.dst.bytes, 16);
  } else {
    const bool src_low = std::memcmp(p.src.bytes, p.dst.bytes, 16) <= 0;
    std::memcpy(k.lo, src_low ? p.src.bytes : p.dst.bytes, 16);
    std::memcpy(k.hi, src_low ? p.dst.bytes : p.src.bytes, 16);
  }
  k.vlan = p.vlan;
  return XXH3_64bits(&k, sizeof k);
}

namespace {

std::atomic<bool> g_stop{false};
capture::PcapSource* volatile g_source = nullptr;  // the input being read, for request_stop()

/// A message on standard error, made by format_text() (names as display text). Never throws: a message
/// that cannot be written is lost, the run goes on.
void warn(const std::string& line) { std::fwrite(line.data(), 1, line.size(), stderr); }

/// A one-line progress bar on stderr: bytes read of the file, packets/s.
class Progress {
 public:
  // The name as display text, made once: a file name cannot put a control sequence on the terminal.
  Progress(bool on, const std::string& name, uint64_t size) : on_(on), name_(display_text(name)), size_(size) {
    start_ = last_ = std::chrono::steady_clock::now();
  }
  void update(uint64_t pos, uint64_t packets, bool force = false) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double rate = secs > 0 ? static_cast<double>(packets) / secs : 0.0;
    if (size_ == 0) {  // a pipe: no size to measure against
      std::fprintf(stderr, "\r%s %.1f MB read %.0f pkt/s ", name_.c_str(), static_cast<double>(pos) / 1e6, rate);
      std::fflush(stderr);
      return;
    }
    const double frac = static_cast<double>(pos) / static_cast<double>(size_);
    const int width = 30;
    const int filled = static_cast<int>(frac * width);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r%s [%s] %5.1f%% %.1f/%.1f MB %.0f pkt/s ", name_.c_str(), bar.c_str(), frac * 100,
                 static_cast<double>(pos) / 1e6, static_cast<double>(size_) / 1e6, rate);
    std::fflush(stderr);
  }
  void done() {
    if (on_) std::fprintf(stderr, "\n");
  }

 private:
  bool on_;
  std::string name_;
  uint64_t size_;
  std::chrono::steady_clock::time_point start_, last_;
};
}  // namespace

void Analyzer::request_stop() {
  g_stop.store(true);
  if (g_source != nullptr) g_source->break_loop();
}

bool Analyzer::stop_requested() { return g_stop.load(); }

Analyzer::Analyzer(const AnalyzeOptions& opts, stats::RecordSink& sink, stats::Summary& summary)
    : opts_(opts), summary_(summary), decoder_(opts.decoder) {
  if (opts_.workers == 0 || opts_.queue) opts_.workers = 1;  // inline: one worker, on the calling thread
  stats::RecordSink* target = &sink;
  if (opts_.workers > 1) {
    locked_ = std::make_unique<LockedSink>(sink);
    target = locked_.get();
  }
  end_clock_ = std::make_unique<EndClock>(opts_.workers);
  for (uint32_t i = 0; i < opts_.workers; ++i) {
    lanes_.push_back(std::make_unique<Lane>(opts_, *target, opts_.seed + i, i));
    lanes_.back()->failed = &failed_;
    lanes_.back()->end_clock = end_clock_.get();
    // Every nDPI module builds the same 4.7 MB tree of IP lists, then only searches it: one copy serves
    // all workers (nDPI 4.2; otherwise each keeps its own). Shared as soon as each module is built, so that
    // at most two copies ever exist; the modules are built on this thread, so the freed copy is in this
    // thread's heap, and malloc_trim hands its pages back to the system (nothing else here would reuse them).
    if (i > 0 && lanes_.back()->worker.classifier().engine().share_ip_lists(lanes_[0]->worker.classifier().engine())) {
      malloc_trim(0);
    }
  }
  if (opts_.workers > 1) {
    stun_sync_ = std::make_unique<classify::StunCacheSync>(opts_.workers);
    teams_sync_ = std::make_unique<classify::TeamsCacheSync>(opts_.workers);
    stamps_ = true;
    for (uint32_t i = 0; i < opts_.workers && stamps_; ++i) {
      stamps_ = lanes_[i]->worker.classifier().engine().sync_caches(*stun_sync_, *teams_sync_, i);
    }
    // All or none (the same library behind every engine): without stamps no engine waits or writes.
    if (!stamps_) {
      for (auto& l : lanes_) l->worker.classifier().engine().unsync_caches();
    }
    lane_frames_.assign(opts_.workers, 0);
    stun_touch_.assign(size_t{classify::StunCacheSync::kSlots} * opts_.workers, 0);
    stamp_.assign(1 + size_t{opts_.workers} * 2, 0);
    // The frames a stamped packet's worker waits for reach their workers in the rings' batches of 64: by the
    // time a worker gets to the packet, the capture thread (hundreds of frames ahead) has published them,
    // unless it stopped on a full ring, so then it publishes every lane first.
    if (stamps_) {
      for (auto& l : lanes_) {
        l->stun_sync = stun_sync_.get();
        l->ring.on_full([](void* a) { for (auto& x : static_cast<Analyzer*>(a)->lanes_) x->ring.flush(); }, this);
      }
    }
  }
}

Analyzer::~Analyzer() {
  for (auto& l : lanes_) {
    if (l->thread.joinable()) {
      l->ring.push_end();
      l->thread.join();
    }
  }
}

void Analyzer::check_inputs() {
  if (std::count(opts_.files.begin(), opts_.files.end(), "-") > 1) {
    throw InputError("-: standard input can be read only once; give - once");
  }
  if (!opts_.interface.empty() && !live_) {
    live_.emplace(capture::PcapSource::open_live(opts_.interface, opts_.bpf, opts_.live));
  }
  if (opts_.queue && !queue_) queue_ = capture::NfQueue::open(*opts_.queue);
}

void Analyzer::Lane::run() {
  try {
    consume();
    return;
  } catch (...) {
    // Not fatal to the process: the error goes back to the capture thread, which stops reading and rethrows
    // it (before this, a write error in a worker thread ended the process in std::terminate).
    error = std::current_exception();
    failed->store(true);
    if (stun_sync != nullptr) stun_sync->abandon();  // the frames left are not processed: nobody waits for them
  }
  if (ended) return;  // thrown while draining: the end record is already consumed
  for (;;) {  // keep the capture thread from blocking on a full ring until it sees the flag
    const FrameRing::Header* h = ring.peek();
    const bool end = h->caplen == FrameRing::kEnd;
    const bool drain = FrameRing::drains(h);
    ring.pop(h);
    if (drain) end_clock->meet(0);  // the other lanes wait for this one
    if (end) return;
  }
}

TimestampUs Analyzer::EndClock::meet(TimestampUs own) {
  std::unique_lock<std::mutex> lock(m_);
  latest_ = std::max(latest_, own);
  if (--pending_ == 0) {
    cv_.notify_all();
  } else {
    cv_.wait(lock, [this] { return pending_ == 0; });
  }
  return latest_;
}

void Analyzer::Lane::consume() {
  for (;;) {
    const FrameRing::Header* h = ring.peek();
    if (h->caplen >= FrameRing::kTick) {  // a record without a frame
      if (h->caplen == FrameRing::kTick || h->caplen == FrameRing::kTimeline) {
        // Stamped like a packet when the caches are kept across workers (push_records), and counted as a frame.
        if (stun_sync != nullptr) {
          worker.classifier().engine().set_stamp(reinterpret_cast<const uint64_t*>(h->meta()), false);
        }
        if (h->caplen == FrameRing::kTick) {
          worker.tick(h->ts);
        } else {
          worker.restart_timeline(FrameRing::timeline_clock(h), h->ts);
        }
        ring.pop(h);
        if (stun_sync != nullptr) stun_sync->frame_done(number);
        continue;
      }
      const bool drain = FrameRing::drains(h);
      ring.pop(h);
      ended = true;
      if (stun_sync != nullptr) worker.classifier().engine().stamp_end();
      // End of input: each worker ends its own flows, so with several workers the records of the remaining
      // flows (in parity mode, all of them) are built in parallel rather than one worker after another on
      // the capture thread.
      if (drain) worker.finish(end_clock->meet(worker.clock()));
      return;
    }
    // The capture thread decoded the frame; the packet's views point into the frame's copy here.
    const auto& packet = *reinterpret_cast<const decode::Packet*>(h->meta());
    if (stun_sync == nullptr) {
      worker.process(packet);
      ring.pop(h);
      continue;
    }
    classify::NdpiEngine& engine = worker.classifier().engine();
    // Every frame has its stamp (push_stamped), with a STUN part when it is longer.
    const uint32_t n = stun_sync->workers();
    const size_t stamped = h->meta_len - sizeof(decode::Packet);
    engine.set_stamp(reinterpret_cast<const uint64_t*>(h->meta() + sizeof(decode::Packet)),
                     stamped > (1 + size_t{n}) * sizeof(uint64_t));
    worker.process(packet);
    engine.end_stun_stamp();
    ring.pop(h);
    stun_sync->frame_done(number);
  }
}

// Inlined into both callers: a call here cost the file path 23 instructions per packet (callgrind).
[[gnu::always_inline]] inline bool Analyzer::admit(const capture::RawPacket& pkt, int linktype, uint32_t frame_no,
                                                  decode::Packet& p) {
  const uint8_t* data = pkt.data;
  const uint32_t caplen = pkt.caplen, wirelen = pkt.wirelen;
  const TimestampUs ts = pkt.ts;
  ++summary_.frames;
  summary_.frames_bytes += caplen;
  if (caplen < wirelen) ++summary_.frames_cut;
  if (!pkt.ts_in_range) {  // no time a flow could hold: counted, dropped
    anomalies_.add(decode::Anomaly::TimestampOutOfRange);
    ++summary_.malformed;
    return false;
  }
  if (ts < last_ts_in_file_) anomalies_.add(decode::Anomaly::TimestampBackwards);
  last_ts_in_file_ = ts;
  if (!summary_.timed) {
    summary_.timed = true;
    summary_.first_ts = summary_.last_ts = ts;
  }
  if (ts < summary_.first_ts) summary_.first_ts = ts;
  if (ts > summary_.last_ts) summary_.last_ts = ts;
  // Decoded here, once: frames that carry no IP packet stop here, counted; the packet's description goes
  // into the ring in front of the frame, so the worker (the busier thread) does not decode.
  const decode::DecodeResult r = decoder_.decode(linktype, data, caplen, wirelen, p, anomalies_);
  if (r != decode::DecodeResult::Ok) {
    ++(r == decode::DecodeResult::NotIp ? summary_.not_ip : summary_.malformed);
    return false;
  }
  p.ts = ts;
  p.frame_no = frame_no;
  p.file_index = file_index_;
  return true;
}

namespace {
/// The frame into a lane's ring, with its decoded description in front (views moved to the copy).
[[gnu::always_inline]] inline void push_packet(FrameRing& ring, const decode::Packet& p, const capture::RawPacket& pkt,
                                               int linktype, uint32_t frame_no, uint16_t file_index) {
  static_assert(std::is_trivially_copyable_v<decode::Packet> && std::is_trivially_destructible_v<decode::Packet>);
  static_assert(sizeof(decode::Packet) % 8 == 0 && alignof(decode::Packet) <= 8);
  ring.push_with(pkt.ts, pkt.data, pkt.caplen, pkt.wirelen, linktype, frame_no, file_index, sizeof(decode::Packet),
                 [&](uint8_t* meta, const uint8_t* copy) {
                   auto* q = new (meta) decode::Packet(p);
                   q->rebase(pkt.data, copy);
                 });
}
}  // namespace

void Analyzer::dispatch(const capture::RawPacket& pkt, int linktype, uint32_t frame_no) {
  const TimestampUs ts = pkt.ts;
  decode::Packet p;
  if (!admit(pkt, linktype, frame_no, p)) return;
  size_t lane = 0, quote_lane = 0;
  if (lanes_.size() > 1) {
    lane = shard_hash(p) % lanes_.size();
    // The timeline is decided here, where every packet passes, by the rule one worker applies to its own
    // clock (Worker::new_timeline, at the first IP packet of each input), and told to every lane.
    if (file_index_ != clock_file_) {
      clock_file_ = file_index_;
      if (Worker::new_timeline(ts, clock_)) {
        push_records(FrameRing::kTimeline, ts);
        clock_ = ts;
      }
    }
    if (ts > clock_) clock_ = ts;
    // An ICMP error whose quoted packet's flow is in another shard (a router's message about a flow between
    // two hosts it is neither of): that shard's worker gets a copy to tie it to the flow, in the same place
    // of its packet sequence as one worker would.
    quote_lane = lane;
    if (decode::is_icmp_error(p.l4_proto, p.icmp_type)) quote_lane = quoted_lane(p, lane);
  }
  if (stamps_) {
    push_stamped(lane, p, pkt, linktype, frame_no, classify::may_touch_stun_cache(p));
  } else {
    push_packet(lanes_[lane]->ring, p, pkt, linktype, frame_no, file_index_);
  }
  if (quote_lane != lane) {
    p.quote = decode::Packet::Quote::Only;
    if (stamps_) {
      push_stamped(quote_lane, p, pkt, linktype, frame_no, false);  // it reaches no nDPI call, but may end flows
    } else {
      push_packet(lanes_[quote_lane]->ring, p, pkt, linktype, frame_no, file_index_);
    }
  }
  if (stamps_) {
    ++packet_seq_;
    ++lane_frames_[lane];
    if (quote_lane != lane) ++lane_frames_[quote_lane];
  }
}

void Analyzer::push_stamped(size_t lane, const decode::Packet& p, const capture::RawPacket& pkt, int linktype,
                            uint32_t frame_no, bool stun) {
  const size_t n = lanes_.size();
  size_t words = begin_stamp();
  if (stun) {
    // nDPI can touch only the two STUN slots the packet's keys name (stun.c: source address + port,
    // destination address + port), and every write to a slot comes from a stamped packet naming it. So the
    // worker waits, in each other lane, only for the last such packet sent there that named one of the two:
    // usually long done, so it rarely waits at all. Waiting for every frame sent before made two workers
    // 23 % slower.
    uint32_t slots[2];
    const bool keyed = classify::StunCacheSync::key_slots(p.l3, p.l3_caplen, slots);  // else nDPI keys nothing
    for (size_t l = 0; l < n; ++l) {
      stamp_[words + l] =
          l == lane || !keyed ? 0 : std::max(stun_touch_[slots[0] * n + l], stun_touch_[slots[1] * n + l]);
    }
    if (keyed) {
      for (uint32_t slot : slots) stun_touch_[slot * n + lane] = lane_frames_[lane] + 1;  // this frame, counted
    }
    words += n;
  }
  const size_t stamp_bytes = words * sizeof(uint64_t);
  lanes_[lane]->ring.push_with(pkt.ts, pkt.data, pkt.caplen, pkt.wirelen, linktype, frame_no, file_index_,
                               static_cast<uint16_t>(sizeof(decode::Packet) + stamp_bytes),
                               [&](uint8_t* meta, const uint8_t* copy) {
                                 auto* q = new (meta) decode::Packet(p);
                                 q->rebase(pkt.data, copy);
                                 std::memcpy(meta + sizeof(decode::Packet), stamp_.data(), stamp_bytes);
                               });
}

size_t Analyzer::begin_stamp() {
  stamp_[0] = packet_seq_ + 1;  // sequence numbers start at 1: a slot's 0 means never written
  // The frames each lane has had before this one: a read of the Teams cache waits for them.
  std::copy(lane_frames_.begin(), lane_frames_.end(), stamp_.begin() + 1);
  return 1 + lanes_.size();
}

void Analyzer::push_records(uint32_t kind, TimestampUs ts) {
  // With stamps, what a worker does at such a record (flows it ends) counts as before the next packet, and
  // the record as one of its lane's frames: a worker that has finished every frame another had before a
  // packet will see only later records (TeamsCacheSync's trimming relies on that).
  const auto bytes = static_cast<uint16_t>(stamps_ ? begin_stamp() * sizeof(uint64_t) : 0);
  auto fill = [&](uint8_t* meta, const uint8_t*) {
    if (bytes > 0) std::memcpy(meta, stamp_.data(), bytes);
  };
  for (auto& l : lanes_) {
    if (kind == FrameRing::kTick) {
      l->ring.push_tick_with(ts, bytes, fill);
    } else {
      l->ring.push_timeline_with(clock_, ts, bytes, fill);
    }
  }
  if (stamps_) {
    for (uint64_t& frames : lane_frames_) ++frames;
  }
}

size_t Analyzer::quoted_lane(decode::Packet& p, size_t lane) const {
  decode::Packet quoted;
  if (!decode::quoted_packet(p, quoted)) return lane;
  const size_t to = shard_hash(quoted) % lanes_.size();
  if (to != lane) p.quote = decode::Packet::Quote::Elsewhere;
  return to;
}

namespace {
/// Said once per input, when it opens: otherwise its frames only show as unknown_link_type in the summary.
void warn_unless_decoded(const std::string& input, int linktype) {
  if (decode::Decoder::supports(linktype)) return;
  warn(format_text("sealscope: {}: link type {} is not one sealscope decodes (sealscope(1) lists those it does): "
                   "its frames are counted as unknown_link_type\n",
                   input, capture::link_type_name(linktype)));
}
}  // namespace

bool Analyzer::run_file(const std::string& path) {
  std::optional<capture::PcapSource> opened;
  try {
    opened.emplace(capture::PcapSource::open_file(path, opts_.bpf));
  } catch (const InputError& e) {
    // Reported like a file cut short (at byte 0, no packet read); the other inputs are still read.
    std::string why = e.what();
    if (why.rfind(path + ": ", 0) == 0) why.erase(0, path.size() + 2);
    summary_.problems.push_back({path, why, 0, 0});
    return false;
  }
  capture::PcapSource& src = *opened;
  warn_unless_decoded(path, src.linktype());
  g_source = &src;
  summary_.inputs.push_back(path);
  Progress progress(opts_.progress, path, src.file_size());
  last_ts_in_file_ = 0;
  // Inputs are read one after the other, not merged: one that begins before the inputs before it end cuts
  // the flows they share (the CLI has put them in the order of their first packets already).
  const TimestampUs before = summary_.last_ts;
  bool check_overlap = summary_.frames > 0;
  capture::RawPacket pkt;
  const int lt = src.linktype();
  bool ok = true;
  for (;;) {
    if (failed_.load(std::memory_order_relaxed)) break;
    if (g_stop.load(std::memory_order_relaxed)) {
      summary_.interrupted = true;
      break;
    }
    const capture::ReadStatus st = src.next(pkt);
    if (st == capture::ReadStatus::Packet) {
      if (check_overlap && pkt.ts_in_range) {
        check_overlap = false;
        if (pkt.ts < before) ++summary_.inputs_overlapping;
      }
      dispatch(pkt, lt, static_cast<uint32_t>(src.packets()));
      if ((src.packets() & 0x3FFF) == 0) progress.update(src.position(), src.packets());
      continue;
    }
    if (st == capture::ReadStatus::Error) {
      if (g_stop.load(std::memory_order_relaxed)) {
        summary_.interrupted = true;  // a wait for standard input cut short by the stop request
      } else {
        summary_.problems.push_back({path, src.error(), src.good_offset(), src.packets()});
        ok = false;
      }
    }
    break;
  }
  g_source = nullptr;
  progress.update(src.position(), src.packets(), true);
  progress.done();
  return ok;
}

namespace {
/// Live capture: how often the workers are told the time, and how far behind the wall clock that time is.
constexpr auto kTickEvery = std::chrono::milliseconds(250);
constexpr TimestampUs kTickSlackUs = 1000000;
}  // namespace

bool Analyzer::run_live() {
  if (!live_) live_.emplace(capture::PcapSource::open_live(opts_.interface, opts_.bpf, opts_.live));
  capture::PcapSource& src = *live_;
  warn_unless_decoded(opts_.interface, src.linktype());
  if (!src.warning().empty()) {
    warn(format_text("sealscope: {}: warning: {}\n", opts_.interface, src.warning()));
  }
  summary_.inputs.push_back(opts_.interface);
  summary_.live = true;
  g_source = &src;
  const auto start = std::chrono::steady_clock::now();
  auto last_tick = start;
  TimestampUs net_time = 0;  // the latest packet's time
  capture::RawPacket pkt;
  const int lt = src.linktype();
  bool ok = true;
  for (;;) {
    if (g_stop.load(std::memory_order_relaxed) || failed_.load(std::memory_order_relaxed)) break;
    const auto now = std::chrono::steady_clock::now();
    if (opts_.duration_s > 0 && std::chrono::duration<double>(now - start).count() >= opts_.duration_s) {
      break;
    }
    const capture::ReadStatus st = src.next(pkt);
    if (now - last_tick >= kTickEvery && st != capture::ReadStatus::Error) {
      // A worker's clock moves with its own packets only: on a quiet link (or in a shard without traffic)
      // an idle flow would wait for the end of the capture. Tell every worker the time instead: the latest
      // packet's, or, once the kernel has no packet waiting (caught up), the wall clock less a slack for
      // packets stamped but not yet handed over (libpcap holds a block up to its 100 ms timeout).
      last_tick = now;
      TimestampUs t = net_time;
      if (st == capture::ReadStatus::Timeout) t = std::max(t, wall_clock_us() - kTickSlackUs);
      if (t > 0) push_records(FrameRing::kTick, t);
    }
    if (st == capture::ReadStatus::Packet) {
      if (pkt.ts_in_range && pkt.ts > net_time) net_time = pkt.ts;
      dispatch(pkt, lt, static_cast<uint32_t>(src.packets()));
      for (auto& l : lanes_) l->ring.flush();  // no batching live: a record must not wait for traffic
    } else if (st == capture::ReadStatus::Error) {
      summary_.problems.push_back({opts_.interface, src.error(), 0, src.packets(), true});
      ok = false;
      break;
    } else if (st == capture::ReadStatus::End) {
      break;
    }
  }
  // Read before the handle closes; after an interface error there are no counters to read.
  const capture::PcapSource::Drops drops = src.drops();
  summary_.kernel_drops = drops.kernel;
  summary_.interface_drops = drops.interface;
  if (!drops.known && ok) {
    warn(format_text("sealscope: {}: warning: the drop counters could not be read ({}): drops are unknown\n",
                     opts_.interface, src.error()));
  }
  g_source = nullptr;
  live_.reset();  // stop capturing: the kernel would go on buffering the link's packets until exit
  return ok;
}

bool Analyzer::judge(const capture::RawPacket& pkt) {
  Lane& lane = *lanes_[0];
  if (lane.error) return true;  // the run is ending: let the rest through, as the queue does once unbound
  decode::Packet p;
  if (!admit(pkt, DLT_RAW, static_cast<uint32_t>(summary_.frames + 1), p)) return true;  // counted; no flow to judge
  try {
    gate_->arm();
    lane.worker.process(p);
    return !gate_->drop();
  } catch (...) {
    // Out of memory, a record that cannot be written: stop reading; finish() rethrows it.
    lane.error = std::current_exception();
    failed_.store(true);
    return true;
  }
}

bool Analyzer::run_queue() {
  if (!queue_) queue_ = capture::NfQueue::open(*opts_.queue);
  capture::NfQueue& q = *queue_;
  summary_.inputs.push_back(q.name());
  stats::QueueTotals totals;
  totals.name = q.name();
  totals.fail_open = opts_.queue->fail_open;
  QueueJudge judge;
  judge.a = this;
  const auto start = std::chrono::steady_clock::now();
  auto last_tick = start;
  bool ok = true;
  for (;;) {
    if (g_stop.load(std::memory_order_relaxed) || failed_.load(std::memory_order_relaxed)) break;
    const auto now = std::chrono::steady_clock::now();
    if (opts_.duration_s > 0 && std::chrono::duration<double>(now - start).count() >= opts_.duration_s) break;
    // A short wait, so that a stop request, the duration and the idle clock are looked at often.
    const capture::ReadStatus st = q.next(judge, 100);
    if (st == capture::ReadStatus::Error) {
      summary_.problems.push_back({q.name(), q.error(), 0, q.packets(), true});
      ok = false;
      break;
    }
    if (now - last_tick >= kTickEvery) {
      // Packets are stamped with the wall clock when read: the worker's flows go idle by it too.
      last_tick = now;
      lanes_[0]->worker.tick(wall_clock_us());
    }
  }
  // Packets already handed over but not yet read would be dropped when the queue is unbound (the kernel
  // flushes what awaits a verdict): judge them first. Bounded, as traffic may keep coming.
  for (int i = 0; i < 64 && ok && q.next(judge, 0) == capture::ReadStatus::Packet; ++i) {
  }
  totals.packets = q.packets();
  totals.accepted = q.accepted();
  totals.dropped = q.dropped();
  totals.verdict_errors = q.verdict_errors();
  totals.lost_messages = q.lost_messages();
  const capture::NfQueue::KernelCounts k = q.kernel_counts();
  totals.kernel_known = k.known;
  totals.overflow = k.overflow;
  totals.undelivered = k.undelivered;
  summary_.queue = totals;
  // Unbind: packets the rules send to the queue from now on meet no program (the firewall rule's
  // --queue-bypass lets them through; without it the kernel drops them).
  queue_.reset();
  return ok;
}

void Analyzer::finish() {
  for (auto& l : lanes_) {
    if (l->thread.joinable()) l->ring.push_end(true);
  }
  for (auto& l : lanes_) {
    if (l->thread.joinable()) l->thread.join();
  }
  if (opts_.queue && !lanes_[0]->error) {
    // Inline: the worker is this thread's; it ends its flows here (their records, the last tallies).
    try {
      lanes_[0]->worker.finish();
    } catch (...) {
      lanes_[0]->error = std::current_exception();
    }
  }
  for (auto& l : lanes_) {
    if (l->error) std::rethrow_exception(l->error);
  }
  for (auto& l : lanes_) {
    anomalies_.merge(l->worker.anomalies());
    summary_.fragments_attributed += l->worker.fragments_attributed();
    summary_.evictions += l->worker.table().evictions();
    summary_.ndpi_parked += l->worker.classifier().engine().parks();
    summary_.ndpi_restored += l->worker.classifier().engine().unparks();
    summary_.peak_flows += l->worker.table().peak();
  }
  summary_.anomalies.merge(anomalies_);
}

bool Analyzer::run() {
  const auto t0 = std::chrono::steady_clock::now();
  if (!opts_.queue) {
    for (auto& l : lanes_) {
      Lane* lane = l.get();
      lane->thread = std::thread([lane] { lane->run(); });
    }
  }
  bool ok = true;
  if (opts_.queue) {
    ok = run_queue();
  } else if (!opts_.interface.empty()) {
    ok = run_live();
  } else {
    for (const auto& f : opts_.files) {
      if (!run_file(f)) ok = false;
      ++file_index_;
      if (failed_.load()) break;
      if (g_stop.load()) {
        summary_.interrupted = true;
        break;
      }
    }
  }
  finish();
  summary_.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return ok;
}

}  // namespace sealscope::analyze
