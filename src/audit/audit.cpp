#include "audit/audit.hpp"

#include <fmt/format.h>

#include "decode/decoder.hpp"

namespace sealscope::audit {

namespace {
constexpr size_t kGapsListed = 8;
}

const char* hit_kind_name(HitKind k) {
  switch (k) {
    case HitKind::Packet: return "packet";
    case HitKind::Stream: return "stream";
    case HitKind::Datagram: return "datagram";
  }
  return "packet";
}

/// One direction: reassembly, the stream matcher, framing and byte statistics; it is the reassembler's sink.
struct Auditor::DirSink final : StreamSink {
  Auditor* a = nullptr;
  FlowState* fs = nullptr;
  uint8_t dir = 0;
  TcpReassembler reasm;
  Matcher::Stream stream;
  uint64_t stream_base = 0;  ///< stream offset where the matcher's stream (re)started
  uint32_t cur_frame = 0;
  TcpFramer framer;
  DatagramState dgram;
  Framing dgram_framing = Framing::Unknown;
  ByteStats stats;
  std::vector<std::pair<uint64_t, uint64_t>> gaps;

  void stream_data(uint64_t off, const uint8_t* data, std::size_t len, uint32_t frame_no) override;
  void stream_gap(uint64_t off, uint64_t len) override;
};

struct Auditor::FlowState {
  uint64_t id = 0;
  uint16_t file = 0;
  uint8_t l4 = 0;
  uint64_t hits_packet = 0, hits_stream = 0, hits_datagram = 0;
  DirSink dir[2];
};

namespace {
struct MatchCtx {
  Auditor* a;
  Hit proto;
  uint64_t base;  ///< added to the match's start (stream offset of the matcher's origin)
};
struct DatagramCtx {
  Auditor* a;
  Hit proto;
  const Datagram* dg;
  uint32_t transport;  ///< where the searched transport payload starts in the datagram
};
}  // namespace

void Auditor::on_match(void* ctx, uint32_t pattern, uint64_t end) {
  auto* c = static_cast<MatchCtx*>(ctx);
  Hit h = c->proto;
  h.pattern = pattern;
  const uint64_t len = c->a->m_.patterns()[pattern].bytes.size();
  h.offset = c->base + (end >= len ? end - len : 0);
  c->a->record_hit(h);
}

void Auditor::on_datagram_match(void* ctx, uint32_t pattern, uint64_t end) {
  auto* c = static_cast<DatagramCtx*>(ctx);
  const uint64_t len = c->a->m_.patterns()[pattern].bytes.size();
  const uint64_t start = end >= len ? end - len : 0;
  // Wholly inside the bytes of one fragment: that fragment's own search reported it as a packet hit already.
  if (c->dg->one_fragment_holds(static_cast<uint32_t>(c->transport + start), static_cast<uint32_t>(c->transport + end))) {
    return;
  }
  Hit h = c->proto;
  h.pattern = pattern;
  h.offset = start;
  c->a->record_hit(h);
}

void Auditor::record_hit(const Hit& h) {
  ++hits_total_;
  const Pattern& p = m_.patterns()[h.pattern];
  ++per_canary_[p.canary];
  ++per_encoding_[static_cast<size_t>(p.encoding)];
  if (h.flow_id == Hit::kNoFlow) ++hits_no_flow_;
  auto it = live_.find(h.flow_id);
  FlowState* fs = it != live_.end() ? it->second.get() : nullptr;
  switch (h.kind) {
    case HitKind::Packet:
      ++hits_packet_;
      if (fs) ++fs->hits_packet;
      break;
    case HitKind::Stream:
      ++hits_stream_;
      if (fs) ++fs->hits_stream;
      break;
    case HitKind::Datagram:
      ++hits_datagram_;
      if (fs) ++fs->hits_datagram;
      break;
  }
  if (hits_.size() < o_.max_hits_listed) hits_.push_back(h);
}

void Auditor::DirSink::stream_data(uint64_t off, const uint8_t* data, std::size_t len, uint32_t frame_no) {
  if (frame_no != cur_frame || stats.packets == 0) ++stats.packets;
  cur_frame = frame_no;
  MatchCtx ctx{a, Hit{0, HitKind::Stream, fs->file, frame_no, fs->id, dir, 0}, stream_base};
  stream.feed(a->m_, data, len, &Auditor::on_match, &ctx);
  (void)off;
  const Framing peer = fs->dir[dir ^ 1].framer.framing();
  framer.feed(data, len, peer, dir == 0, stats);
}

void Auditor::DirSink::stream_gap(uint64_t off, uint64_t len) {
  // Nothing may match across a hole: the matcher's stream restarts after it.
  MatchCtx ctx{a, Hit{0, HitKind::Stream, fs->file, cur_frame, fs->id, dir, 0}, stream_base};
  stream.reset(&Auditor::on_match, &ctx);
  stream_base = off + len;
  framer.gap(stats);
  if (gaps.size() < kGapsListed) gaps.emplace_back(off, len);
}

Auditor::Auditor(const Matcher& m, const AuditOptions& o) : m_(m), o_(o), defrag_(o.defrag) {
  budget_.limits = o.reassembly;
  uint32_t canaries = 0;
  for (const auto& p : m.patterns()) canaries = std::max(canaries, p.canary + 1);
  per_canary_.assign(canaries, 0);
  per_encoding_.assign(static_cast<size_t>(Encoding::Count), 0);
}

Auditor::~Auditor() = default;

void Auditor::advance(const decode::Packet& p) {
  if (p.file_index != clock_file_) {
    clock_file_ = p.file_index;
    // Another timeline (the worker's rule): no fragment of it may complete a datagram of the one before.
    if (analyze::Worker::new_timeline(p.ts, clock_)) {
      defrag_.end_timeline();
      clock_ = p.ts;
    }
  }
  if (p.ts > clock_) clock_ = p.ts;
  defrag_.expire(clock_);
}

void Auditor::on_packet(const flow::Flow& f, const decode::Packet& p, flow::Dir d, const classify::Classifier&) {
  advance(p);
  const bool tcp = p.l4_proto == 6 && p.has_ports;
  const bool syn = tcp && (p.tcp_flags & decode::tcp_flag::SYN) != 0;
  if (p.payload_caplen == 0 && !syn && !(tcp && p.payload_len > 0) && !p.fragmented) return;
  auto& slot = live_[f.id];
  if (!slot) {
    slot = std::make_unique<FlowState>();
    slot->id = f.id;
    slot->file = p.file_index;
    slot->l4 = p.l4_proto;
    for (uint8_t i = 0; i < 2; ++i) {
      slot->dir[i].a = this;
      slot->dir[i].fs = slot.get();
      slot->dir[i].dir = i;
    }
  }
  FlowState& fs = *slot;
  DirSink& ds = fs.dir[d];
  // 1. Every packet's payload on its own (also catches bytes a stream would see only once, e.g. a
  //    retransmission whose content differs).
  if (p.payload_caplen > 0) {
    MatchCtx ctx{this, Hit{0, HitKind::Packet, p.file_index, p.frame_no, f.id, static_cast<uint8_t>(d), 0}, 0};
    m_.scan(p.payload, p.payload_caplen, &Auditor::on_match, &ctx);
  }
  // 2. TCP: the reassembled stream; UDP: the datagram's content after its framing. A fragmented segment's
  //    first fragment goes to the stream here, the rest of it when its datagram is whole (3).
  if (tcp) {
    if (!p.later_fragment) {
      const uint32_t uncaptured = p.payload_len > p.payload_caplen ? p.payload_len - p.payload_caplen : 0;
      ds.reasm.segment(p.tcp_seq, syn, p.payload, p.payload_caplen, uncaptured, p.frame_no, budget_, ds);
    }
  } else if (p.l4_proto == 17 && p.has_ports && !p.later_fragment && p.payload_caplen > 0) {
    const uint64_t before = ds.stats.n;
    const Framing fr = strip_datagram(p.payload, p.payload_caplen, p.sport, p.dport, ds.dgram,
                                      fs.dir[d ^ 1].dgram, ds.stats);
    if (ds.stats.n > before) ++ds.stats.packets;
    if (fr != Framing::Metadata || ds.dgram_framing == Framing::Unknown) ds.dgram_framing = fr;
  }
  // 3. A fragment: into its datagram; a datagram made whole is searched as one payload.
  if (p.fragmented) fragment(p, &f, d);
}

void Auditor::on_unattributed(const decode::Packet& p, bool /*held*/) {
  advance(p);
  ++fragments_no_flow_;
  if (p.payload_caplen > 0) {
    MatchCtx ctx{this, Hit{0, HitKind::Packet, p.file_index, p.frame_no, Hit::kNoFlow, 0, 0}, 0};
    m_.scan(p.payload, p.payload_caplen, &Auditor::on_match, &ctx);
  }
  fragment(p, nullptr, flow::kUp);
}

void Auditor::fragment(const decode::Packet& p, const flow::Flow* f, flow::Dir d) {
  decode::FragmentFields ff;
  if (!decode::fragment_fields(p, ff)) return;
  // An IPv6 atomic fragment (offset 0, M clear; RFC 6946) is a whole datagram: its packet search covers it.
  if (ff.offset == 0 && !ff.more) return;
  Defragmenter::Fragment in = Defragmenter::Fragment::of(p, ff);
  FirstFragment first;
  if (!p.later_fragment && f != nullptr && p.payload >= ff.data) {
    first.transport_payload = static_cast<uint32_t>(p.payload - ff.data);
    first.flow_id = f->id;
    first.dir = static_cast<uint8_t>(d);
    first.tcp = p.l4_proto == 6 && p.has_ports;
    first.syn = first.tcp && (p.tcp_flags & decode::tcp_flag::SYN) != 0;
    first.tcp_seq = p.tcp_seq;
    first.stream_fed = p.payload_caplen;
    in.first = &first;
  }
  Datagram dg;
  if (defrag_.add(in, clock_, dg)) search_datagram(dg, p);
}

void Auditor::search_datagram(const Datagram& dg, const decode::Packet& completing) {
  const uint32_t from = dg.first.transport_payload;
  if (from >= dg.total) return;
  const uint8_t* payload = dg.bytes.data() + from;
  const uint32_t len = dg.total - from;
  DatagramCtx ctx{this,
                  Hit{0, HitKind::Datagram, completing.file_index, completing.frame_no, dg.first.flow_id, dg.first.dir, 0},
                  &dg, from};
  m_.scan(payload, len, &Auditor::on_datagram_match, &ctx);
  // TCP: the segment's bytes after the first fragment's go to the stream, as if they had come in one packet.
  if (dg.first.tcp && len > dg.first.stream_fed) {
    auto it = live_.find(dg.first.flow_id);
    if (it != live_.end()) {
      DirSink& ds = it->second->dir[dg.first.dir];
      const uint32_t seq = dg.first.tcp_seq + (dg.first.syn ? 1u : 0u) + dg.first.stream_fed;
      ds.reasm.segment(seq, false, payload + dg.first.stream_fed, len - dg.first.stream_fed, 0, completing.frame_no,
                       budget_, ds);
    }
  }
}

void Auditor::write(const stats::FlowRecord& r) {
  ++flows_total_;
  if (r.has_ports) {
    endpoints_.insert(fmt::format("{}|{}", r.src_ip, r.src_port));
    endpoints_.insert(fmt::format("{}|{}", r.dst_ip, r.dst_port));
  }
  if (!r.server_name.empty()) {
    auto& fam = names_[r.server_name];
    if (fam.empty()) fam = std::string(r.verdict.family);
  }
  FlowResult res;
  res.messaging = !r.verdict.family.empty() && r.verdict.activity != "dns";
  auto it = live_.find(r.id);
  if (it != live_.end()) {
    FlowState& fs = *it->second;
    res.file = fs.file;
    for (uint8_t i = 0; i < 2; ++i) {
      DirSink& ds = fs.dir[i];
      DirResult& dr = res.dir[i];
      if (fs.l4 == 6) {
        ds.reasm.finish(budget_, ds);
        MatchCtx ctx{this, Hit{0, HitKind::Stream, fs.file, ds.cur_frame, fs.id, i, 0}, ds.stream_base};
        ds.stream.close(&Auditor::on_match, &ctx);
        ds.framer.finish(ds.stats);
        dr.framing = ds.framer.framing();
        dr.lost_sync = ds.framer.lost_sync();
        dr.tcp = ds.reasm.counters();
        dr.gaps = ds.gaps;
        if (dr.tcp.delivered + dr.tcp.gap_bytes > 0) ++tcp_streams_;
        tcp_totals_.add(dr.tcp);
      } else {
        dr.framing = ds.dgram_framing;
      }
      dr.assessment = assess(ds.stats);
      ++judgements_[judgement_name(dr.assessment.judgement)];
    }
    res.hits_packet = fs.hits_packet;
    res.hits_stream = fs.hits_stream;
    res.hits_datagram = fs.hits_datagram;
    live_.erase(it);
  }
  // Findings.
  if (res.hits_packet + res.hits_stream + res.hits_datagram > 0) {
    res.findings.push_back(fmt::format(
        "{} canary occurrence(s) in packets, {} in reassembled streams, {} across the fragments of IP datagrams",
        res.hits_packet, res.hits_stream, res.hits_datagram));
  }
  static const char* kDir[2] = {"from the initiator", "from the responder"};
  for (int i = 0; i < 2; ++i) {
    const DirResult& dr = res.dir[i];
    const Assessment& a = dr.assessment;
    if (dr.framing == Framing::Http || dr.framing == Framing::Sip) {
      res.findings.push_back(fmt::format("cleartext protocol {} {}", dr.framing == Framing::Http ? "HTTP" : "SIP",
                                         kDir[i]));
    }
    if (a.judgement == Judgement::CleartextLike) {
      res.findings.push_back(fmt::format(
          "content {} looks like cleartext text: {:.0f}% printable, entropy {:.2f} bits/byte where random bytes "
          "give {:.2f}, chi-square p = {:.2g} over {} bytes",
          kDir[i], 100 * a.printable, a.entropy, a.expected_entropy, a.p_value, a.bytes));
    } else if (a.judgement == Judgement::Structured) {
      res.notes.push_back(fmt::format(
          "content {} is non-random binary (entropy {:.2f} of {:.2f}, {:.0f}% printable): padding, probes or "
          "binary control in the clear; not counted as cleartext content",
          kDir[i], a.entropy, a.expected_entropy, 100 * a.printable));
    } else if (a.judgement == Judgement::FixedLead) {
      res.findings.push_back(fmt::format(
          "{} of {} {} units {} start with the same high nibble (chi-square p = {:.2g}): an unencrypted "
          "codec or protocol header",
          static_cast<uint64_t>(a.lead_share * a.units + 0.5), a.units, framing_name(dr.framing), kDir[i],
          a.lead_p_value));
    }
  }
  const bool has_hits = res.hits_packet + res.hits_stream + res.hits_datagram > 0;
  res.fails = has_hits || (res.messaging && !res.findings.empty());
  if (res.messaging) ++messaging_flows_;
  if (res.fails) ++failing_flows_;
  if (!res.messaging && !res.findings.empty() && !has_hits) ++other_cleartext_;
  if (res.messaging || has_hits) {
    res.rec = r;
    flows_.push_back(std::move(res));
  }
}

}  // namespace sealscope::audit
