#include "analyze/worker.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>

#include "decode/decoder.hpp"

namespace sealscope::analyze {

using flow::Dir;

Worker::Worker(const PipelineOptions& opts, stats::RecordSink& sink, uint64_t seed, uint32_t shard,
               uint32_t shards)
    : table_(opts.table, *this, seed),
      cls_(opts.engine),
      sink_(sink),
      active_us_(TimestampUs{opts.table.active_s} * 1000000),
      shared_timeline_(shards > 1),
      classify_idle_us_(TimestampUs{opts.table.classify_idle_s} * 1000000),
      park_idle_us_(cls_.engine().can_park() ? TimestampUs{opts.table.park_idle_s} * 1000000 : 0) {
  table_.number_flows(shard, shards);
}

namespace {
constexpr uint32_t kNil = 0xFFFFFFFFu;
constexpr uint8_t kLive = 1, kParked = 2;
}  // namespace

Worker::~Worker() {
  table_.for_each_live([this](flow::Flow& f) { cls_.discard(f); });
}

void Worker::engine_push(flow::Flow& f, uint8_t list) {
  EngineList& l = engine_[list - 1];
  f.cls.engine_list = list;
  f.cls.engine_next = kNil;
  f.cls.engine_prev = l.tail;
  if (l.tail != kNil) {
    table_.flow_at(l.tail).cls.engine_next = f.slot;
  } else {
    l.head = f.slot;
  }
  l.tail = f.slot;
}

void Worker::engine_link(flow::Flow& f) {
  if (f.cls.engine_list == kLive && f.cls.engine_next == kNil) return;  // already the most recent
  engine_unlink(f);
  engine_push(f, kLive);
}

void Worker::engine_unlink(flow::Flow& f) {
  if (f.cls.engine_list == 0) return;
  EngineList& l = engine_[f.cls.engine_list - 1];
  if (f.cls.engine_prev != kNil) {
    table_.flow_at(f.cls.engine_prev).cls.engine_next = f.cls.engine_next;
  } else {
    l.head = f.cls.engine_next;
  }
  if (f.cls.engine_next != kNil) {
    table_.flow_at(f.cls.engine_next).cls.engine_prev = f.cls.engine_prev;
  } else {
    l.tail = f.cls.engine_prev;
  }
  f.cls.engine_prev = f.cls.engine_next = kNil;
  f.cls.engine_list = 0;
}

void Worker::give_up_idle() {
  // nDPI state is the largest per-flow cost; a flow silent this long is decided with what was seen. Both
  // lists are ordered by last packet, parked flows being the older ones.
  for (EngineList& l : engine_) {
    while (l.head != kNil) {
      flow::Flow& f = table_.flow_at(l.head);
      if (f.last_seen + classify_idle_us_ > now_) break;
      engine_unlink(f);
      cls_.give_up_idle(f);
    }
  }
}

void Worker::park_idle() {
  // A flow still classifying that has gone quiet keeps its nDPI state compacted until its next packet.
  EngineList& live = engine_[kLive - 1];
  while (live.head != kNil) {
    flow::Flow& f = table_.flow_at(live.head);
    if (f.last_seen + park_idle_us_ > now_) break;
    engine_unlink(f);
    cls_.park(f);
    engine_push(f, f.cls.engine_parked ? kParked : kLive);
    if (!f.cls.engine_parked) break;  // could not park (out of memory): try again later
  }
}

void Worker::account(flow::Flow& f, TimestampUs ts, uint32_t ip_len, uint32_t payload_len, Dir d,
                     uint8_t tcp_flags) {
  const uint64_t before = f.packets[0] + f.packets[1];
  TimestampUs gap = 0;
  if (before > 0) {
    gap = ts > f.last_seen ? ts - f.last_seen : 0;
    f.iat_all.add(static_cast<double>(gap) / 1000.0, before);
  }
  if (f.packets[d] > 0) {
    const TimestampUs dg = ts > f.last_dir_ts[d] ? ts - f.last_dir_ts[d] : 0;
    f.iat_dir[d].add(static_cast<double>(dg) / 1000.0, f.packets[d]);
  }
  // The flow spans its packets' times: a later fragment held for its first fragment, or a frame older than
  // the one before it, can be older than the packet that created the flow.
  if (ts < f.first_seen) f.first_seen = ts;
  ++f.packets[d];
  f.bytes[d] += ip_len;
  f.payload[d] += payload_len;
  f.size_dir[d].add(ip_len, f.packets[d]);
  if (f.splt_len < table_.options().splt) {
    const uint64_t ms = static_cast<uint64_t>(gap / 1000);
    flow::SpltEntry& e = table_.splt_entry(f, f.splt_len++);
    e.ip_len = static_cast<uint16_t>(std::min<uint32_t>(ip_len, 0xFFFF));
    e.dir_ms = (d == flow::kDown ? 0x80000000u : 0u) | static_cast<uint32_t>(std::min<uint64_t>(ms, 0x7FFFFFFF));
  }
  for (unsigned b = tcp_flags; b != 0; b &= b - 1) ++f.tcp_flag_counts[std::countr_zero(b)];  // the flags set
  if (ts > f.last_dir_ts[d]) f.last_dir_ts[d] = ts;
  table_.touch(f, std::max(ts, f.last_seen));
}

void Worker::advance(TimestampUs t) {
  if (t > now_) now_ = t;
  table_.expire(now_);
  if (classify_idle_us_ > 0) give_up_idle();
  if (park_idle_us_ > 0) park_idle();
}

void Worker::restart_timeline(TimestampUs clock, TimestampUs first_ts) {
  // What one worker has done by then: every flow idle at the last clock of the old timeline has ended
  // idle (this worker's own clock may lag: it moves only with its shard's packets).
  if (clock > now_) advance(clock);
  table_.drain(flow::EndReason::Eof);
  now_ = first_ts;
}

void Worker::process(const decode::Packet& p) {
  if (!shared_timeline_ && p.file_index != file_index_) {
    file_index_ = p.file_index;
    if (new_timeline(p.ts, now_)) restart_timeline(now_, p.ts);
  }
  advance(p.ts);
  if (p.quote == decode::Packet::Quote::Only) {
    tie_icmp_error(p);
    return;
  }
  if (p.later_fragment) {
    process_later_fragment(p);
    return;
  }
  bool a_is_src = true;
  const flow::FlowKey key = flow::make_key(p, a_is_src);
  bool created = false;
  flow::Flow* f = &table_.lookup(key, now_, created);
  if (!created && f->closing != flow::EndReason::None && (p.tcp_flags & decode::tcp_flag::SYN) &&
      !(p.tcp_flags & decode::tcp_flag::ACK)) {
    // A new connection on a closed 5-tuple: end the old flow, start a new one.
    table_.end(*f, f->closing);
    f = &table_.lookup(key, now_, created);
  }
  if (created) {
    f->a_is_initiator = a_is_src;
    // Once per tunnelled flow, at its creation (never per packet).
    if (p.tunnel.type != decode::TunnelType::None) f->extra_for_update().tunnel = p.tunnel;
    f->first_seen = f->last_seen = p.ts;
  }
  const Dir d = a_is_src == f->a_is_initiator ? flow::kUp : flow::kDown;
  account(*f, p.ts, p.ip_len, p.payload_len, d, p.l4_proto == 6 ? p.tcp_flags : 0);
  if (p.l4_proto == 1 || p.l4_proto == 58) {
    if (!(f->extra_info().icmp_seen & (1u << d))) {
      // Here, not in account(): a later fragment (also counted there) carries no ICMP header.
      flow::FlowExtra& x = f->extra_for_update();
      x.icmp_seen |= static_cast<uint8_t>(1u << d);
      x.icmp[d][0] = p.icmp_type;
      x.icmp[d][1] = p.icmp_code;
    }
    if (p.quote == decode::Packet::Quote::Here) tie_icmp_error(p);
  }

  uint32_t held_counted = 0;
  if (p.fragmented) {
    uint64_t displaced = 0;
    bool fresh = false;
    flow::FragmentTable::Entry* e = frags_.upsert(p, now_, displaced, fresh);
    for (uint64_t i = 0; i < displaced; ++i) anomalies_.add(decode::Anomaly::FragmentOrphan);
    if (fresh) anomalies_.add(decode::Anomaly::FragmentTableFull);
    e->have_first = true;
    e->flow = key;
    for (int i = 0; i < e->npending; ++i) {
      const auto& q = e->pending[i];
      account(*f, q.ts, q.ip_len, q.payload_len, d, 0);
      ++fragments_attributed_;
    }
    held_counted = e->npending;
    e->npending = 0;
  }

  cls_.on_packet(*f, p, d);
  if (f->cls.engine_flow != nullptr) {
    if (!f->cls.engine_parked) engine_link(*f);  // parked: a later fragment, no engine work (still idle)
  } else {
    engine_unlink(*f);
  }
  for (PacketObserver* o : observers_) {
    if (held_counted > 0) o->on_held_counted(*f, p, d, held_counted, cls_);
    o->on_packet(*f, p, d, cls_);
  }

  if (p.l4_proto == 6) {
    if (p.tcp_flags & decode::tcp_flag::RST) {
      table_.mark_closing(*f, flow::EndReason::Rst);
    } else if (p.tcp_flags & decode::tcp_flag::FIN) {
      f->fin_seen |= d == flow::kUp ? 1 : 2;
      if (f->fin_seen == 3) table_.mark_closing(*f, flow::EndReason::Fin);
    }
  }
  if (active_us_ > 0 && now_ - f->first_seen >= active_us_) emit_active(*f);
}

void Worker::tie_icmp_error(const decode::Packet& p) {
  decode::Packet q;
  if (!decode::quoted_packet(p, q)) return;
  bool a_is_src = true;
  flow::Flow* f = table_.find(flow::make_key(q, a_is_src));
  if (f == nullptr) return;  // the quoted packet's flow has ended, or was never seen
  // Not a packet of that flow: its counters, times and classification stay as they are.
  flow::FlowExtra& x = f->extra_for_update();
  if (x.icmp_errors == 0) {
    x.icmp_error[0] = p.icmp_type;
    x.icmp_error[1] = p.icmp_code;
    x.icmp_error_about = static_cast<uint8_t>((a_is_src == f->a_is_initiator ? 0 : 1) | (p.src == q.dst ? 2 : 0));
  }
  if (x.icmp_errors != UINT32_MAX) ++x.icmp_errors;
}

void Worker::process_later_fragment(const decode::Packet& p) {
  flow::FragmentTable::Entry* e = frags_.find(p, now_);
  if (e != nullptr && e->have_first) {
    flow::Flow* f = table_.find(e->flow);
    if (f == nullptr) {
      anomalies_.add(decode::Anomaly::FragmentOrphan);
      for (PacketObserver* o : observers_) o->on_unattributed(p, false);
      return;
    }
    const Dir d = p.src == f->initiator() ? flow::kUp : flow::kDown;
    account(*f, p.ts, p.ip_len, p.payload_len, d, 0);
    ++fragments_attributed_;
    for (PacketObserver* o : observers_) o->on_packet(*f, p, d, cls_);
    return;
  }
  if (e == nullptr) {
    uint64_t displaced = 0;
    bool fresh = false;
    e = frags_.upsert(p, now_, displaced, fresh);
    for (uint64_t i = 0; i < displaced; ++i) anomalies_.add(decode::Anomaly::FragmentOrphan);
    if (fresh) anomalies_.add(decode::Anomaly::FragmentTableFull);
  }
  const bool held = e->npending < flow::FragmentTable::kMaxPending;
  if (held) {
    e->pending[e->npending++] = {p.ts, p.ip_len, p.payload_len};
  } else {
    anomalies_.add(decode::Anomaly::FragmentOrphan);
  }
  for (PacketObserver* o : observers_) o->on_unattributed(p, held);
}

void Worker::emit_active(flow::Flow& f) {
  // Active timeout: write what the flow did so far and go on counting afresh; the verdict is kept.
  f.end = flow::EndReason::Active;
  flow_ended(f);
  f.end = flow::EndReason::None;
  const TimestampUs ts = f.last_seen;
  for (int d = 0; d < 2; ++d) {
    f.packets[d] = f.bytes[d] = f.payload[d] = 0;
    f.size_dir[d] = {};
    f.iat_dir[d] = {};
    f.last_dir_ts[d] = 0;
  }
  f.iat_all = {};
  std::fill(std::begin(f.tcp_flag_counts), std::end(f.tcp_flag_counts), 0u);
  if (f.extra) {  // the tunnel stays: it is the flow's, not its packets'
    f.extra->icmp_seen = 0;
    f.extra->icmp_errors = 0;
  }
  table_.splt_clear(f);
  f.first_seen = ts;
}

void Worker::flow_ended(flow::Flow& f) {
  if (f.end != flow::EndReason::Active) {
    engine_unlink(f);
    cls_.on_end(f);
  }
  stats::fill_record(f, table_, cls_, rec_);
  sink_.write(rec_);
}

void Worker::finish(TimestampUs clock) {
  if (clock > now_) {
    now_ = clock;
    table_.expire(now_);
  }
  table_.drain(flow::EndReason::Eof);
  const uint64_t orphans = frags_.pending_total();
  for (uint64_t i = 0; i < orphans; ++i) anomalies_.add(decode::Anomaly::FragmentOrphan);
}

}  // namespace sealscope::analyze
