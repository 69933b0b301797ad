#include "policy/dry_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <exception>
#include <functional>
#include <string_view>

#include "classify/detectors.hpp"
#include "classify/labels.hpp"
#include "classify/tls_hello.hpp"
#include "common/errors.hpp"

namespace sealscope::policy {

// ---------------------------------------------------------------------------------------------- truth

namespace {
std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// The query name of a DNS query (metadata a middlebox reads), false when the payload is not one. Not
/// libresolv's ns_initparse/ns_parserr: they give the name in presentation form (\DDD and \. escapes),
/// while the SNI and the engine's host name, which fill the same field for the same server_name patterns,
/// are the bytes on the wire.
bool dns_query_name(const uint8_t* p, uint32_t n, std::string& out) {
  if (n < 17 || (p[2] & 0x80) != 0 || ((p[4] << 8) | p[5]) == 0) return false;
  std::string name;
  for (uint32_t i = 12; i < n;) {
    const uint8_t len = p[i++];
    if (len == 0) {
      out = std::move(name);
      return !out.empty();
    }
    if ((len & 0xC0) != 0 || i + len > n || name.size() + len > 253) return false;
    if (!name.empty()) name += '.';
    name.append(reinterpret_cast<const char*>(p + i), len);
    i += len;
  }
  return false;
}

}  // namespace

void TruthTable::load(const std::string& path, const std::vector<std::string>& captures) {
  std::vector<std::string> names;
  for (const auto& c : captures) names.push_back(base_name(c));
  // The rows are matched to flows as sealscope eval matches them (eval::match_key): transport, VLAN, unordered
  // endpoints in canonical form, any VLAN when no row has the flow's own; the file name is not in the key.
  for (const eval::LabelRow& r : eval::load_labels(path)) {
    if (!names.empty() && std::find(names.begin(), names.end(), base_name(r.file)) == names.end()) continue;
    std::vector<std::string> as = eval::endpoint_readings(r.endpoint_a), bs = eval::endpoint_readings(r.endpoint_b);
    if (as.empty()) as.push_back(r.endpoint_a);
    if (bs.empty()) bs.push_back(r.endpoint_b);
    const Row row{r.expected_label, r.family, r.activity, "labels"};
    for (const auto& a : as) {
      for (const auto& b : bs) eval::add_observed(rows_, {}, r.l4, r.vlan, a, b, row);
    }
  }
}

const TruthTable::Row* TruthTable::find(const stats::FlowRecord& r) const {
  return eval::find_observed(rows_, {}, eval::l4_upper(r.l4), r.vlan,
                             eval::endpoint_text(r.src_ip, r.src_port, r.has_ports),
                             eval::endpoint_text(r.dst_ip, r.dst_port, r.has_ports));
}

// ---------------------------------------------------------------------------------------------- dry-run

struct DryRun::FlowState {
  TimestampUs first_ts = 0;
  Placement where;
  std::vector<uint16_t> regions;
  bool decided = false;
  bool refining = false;  ///< the classifier may still revise the label (nDPI extra dissection, detectors)
  Candidates cand;
  int verdict_rule = -1;  ///< the rule the last decision chose (at the verdict, or at a label revision)
  TimestampUs decision_ts = 0;  ///< when that rule was first chosen
  Volume decision_passed;       ///< what had passed by then (the verdict's packets included)
  std::string label, category, server_name;
  std::string_view family, activity;
  Volume pre, passed;
  TokenBucket bucket;
  uint32_t bucket_rate = 0;
  static constexpr size_t kTouched = 8;
  std::array<int16_t, kTouched> touched{};
  std::array<bool, kTouched> touched_drop{};
  uint8_t ntouched = 0;
  bool any_drop = false;
  FlowFacts facts;

  void touch(int rule, bool dropped) {
    for (uint8_t i = 0; i < ntouched; ++i) {
      if (touched[i] == rule) {
        touched_drop[i] = touched_drop[i] || dropped;
        return;
      }
    }
    if (ntouched < kTouched) {
      touched[ntouched] = static_cast<int16_t>(rule);
      touched_drop[ntouched++] = dropped;
    }
  }
};

DryRun::DryRun(const Policy& p, size_t exact_times)
    : p_(p), decider_(p), rules_(p.rules.size() + 1), regions_(p.regions.size()), exact_times_(exact_times) {
  for (const auto& r : p.rules) {
    if (!r.server_names.empty()) wants_sni_ = true;
  }
}

DryRun::~DryRun() = default;

DryRun::FlowState& DryRun::state_for(const flow::Flow& f, TimestampUs ts) {
  auto it = flows_.find(f.id);
  if (it != flows_.end()) return *it->second;
  auto st = std::make_unique<FlowState>();
  st->first_ts = ts;
  FlowFacts& x = st->facts;
  x.initiator = f.initiator();
  x.responder = f.responder();
  x.initiator_port = f.initiator_port();
  x.responder_port = f.responder_port();
  x.has_ports = f.key.l4 == 6 || f.key.l4 == 17 || f.key.l4 == 132;
  x.l4 = f.key.l4;
  x.vlan = f.key.vlan;
  x.tunnel = f.tunnel_info();
  st->where = decider_.place(x);
  for (size_t i = 0; i < p_.regions.size(); ++i) {
    if (st->where.regions.test(i)) st->regions.push_back(static_cast<uint16_t>(i));
  }
  return *flows_.emplace(f.id, std::move(st)).first->second;
}

void DryRun::count(FlowState& st, int rule, uint32_t bytes, bool before, bool dropped, bool throttled) {
  auto one = [&](Tally& t) {
    t.all.add(bytes);
    if (before) t.before_verdict.add(bytes);
    if (dropped) {
      t.dropped.add(bytes);
      if (throttled) t.throttled.add(bytes);
    } else {
      t.passed.add(bytes);
    }
  };
  if (!before) {
    one(rule_tally(rule));
    st.touch(rule, dropped);
  }
  for (uint16_t r : st.regions) one(regions_[r]);
  one(total_);
  if (dropped) {
    st.any_drop = true;
  } else {
    st.passed.add(bytes);
  }
}

void DryRun::decide(FlowState& st, TimestampUs ts) {
  // The facts' names are views of the strings st holds (set by the caller from the verdict).
  FlowFacts& x = st.facts;
  x.label = st.label;
  x.family = st.family;
  x.activity = st.activity;
  x.category = st.category;
  x.server_name = st.server_name;
  decider_.candidates(x, st.where, st.cand);
  const int rule = decider_.acting(st.cand, ts);
  // At a label revision the candidates follow the new label from this packet on; the decision that time to
  // block measures moves only when the revision chose another rule.
  if (st.decided && rule == st.verdict_rule) return;
  st.verdict_rule = rule;
  st.decision_ts = ts;
  st.decision_passed = st.passed;  // at the verdict, what passed before it (its own packet included)
  if (st.decided) return;
  st.decided = true;
  Tally& t = rule_tally(st.verdict_rule);
  t.all.add(st.pre);
  t.passed.add(st.pre);
  t.before_verdict.add(st.pre);
  st.touch(st.verdict_rule, false);
}

bool DryRun::take_verdict(FlowState& st, const flow::Flow& f, const classify::Classifier& cls) {
  cls.verdict(f, verdict_);
  const std::string_view category = cls.engine().category_name(f.cls.category);
  const bool named = f.meta && !f.meta->server_name().empty();
  if (st.decided && verdict_.label == st.label && verdict_.family == st.family &&
      verdict_.activity == st.activity && category == st.category &&
      (!named || f.meta->server_name() == st.server_name)) {
    return false;  // nothing a rule reads has changed
  }
  st.label = verdict_.label;
  st.family = verdict_.family;
  st.activity = verdict_.activity;
  st.category = category;
  if (named) st.server_name = f.meta->server_name();
  return st.decided;
}

void DryRun::on_unattributed(const decode::Packet& p, bool held) {
  latest_ts_ = std::max(latest_ts_, p.ts);
  if (held) {
    const uint64_t serial = held_serial_++;
    held_by_datagram_[flow::FragmentTable::DatagramKey::of(p)].push_back(serial);
    Held& h = held_[serial];
    const uint32_t n = PcapOut::header_bytes(p);
    h.head.assign(p.frame, p.frame + n);
    h.p = p;
    h.p.frame = h.head.data();
    h.p.frame_caplen = n;
    h.p.l3 = p.l3 != nullptr && p.l3 >= p.frame && p.l3 <= p.frame + n ? h.head.data() + (p.l3 - p.frame) : nullptr;
    h.p.payload = h.head.data() + n;  // where the payload began; none of it is kept
    h.p.payload_caplen = 0;
    h.held_at = latest_ts_;
  }
  let_go_of_old();
}

void DryRun::on_held_counted(const flow::Flow& f, const decode::Packet& first, flow::Dir d, uint32_t n,
                             const classify::Classifier& cls) {
  const auto it = held_by_datagram_.find(flow::FragmentTable::DatagramKey::of(first));
  if (it == held_by_datagram_.end()) return;
  // The worker's held fragments of this datagram are the last n that came; any before them belong to an
  // earlier entry of the same datagram identity that the worker let go.
  const std::vector<uint64_t>& serials = it->second;
  const size_t from = serials.size() > n ? serials.size() - n : 0;
  for (size_t i = 0; i < serials.size(); ++i) {
    const auto h = held_.find(serials[i]);
    if (h == held_.end()) continue;
    // At its own time, with the first fragment and before it is classified, as the record counts it: the
    // verdict the first fragment may bring comes after them.
    if (i >= from) packet(f, h->second.p, d, cls, true);
    held_.erase(h);
  }
  held_by_datagram_.erase(it);
}

void DryRun::let_go_of_old() {
  while (!held_.empty()) {
    const auto oldest = held_.begin();
    if (held_.size() <= kMaxHeld && latest_ts_ - oldest->second.held_at < kLetGoUs) break;
    const auto it = held_by_datagram_.find(flow::FragmentTable::DatagramKey::of(oldest->second.p));
    if (it != held_by_datagram_.end()) {
      std::erase(it->second, oldest->first);
      if (it->second.empty()) held_by_datagram_.erase(it);
    }
    held_.erase(oldest);
  }
}

void DryRun::on_packet(const flow::Flow& f, const decode::Packet& p, flow::Dir d,
                       const classify::Classifier& cls) {
  latest_ts_ = std::max(latest_ts_, p.ts);
  gate_drop_ = packet(f, p, d, cls);
}

bool DryRun::packet(const flow::Flow& f, const decode::Packet& p, flow::Dir d, const classify::Classifier& cls,
                    bool held) {
  FlowState& st = state_for(f, p.ts);
  const uint32_t bytes = p.ip_len;
  if (!st.decided && f.cls.final && f.cls.after_packets < f.packets[0] + f.packets[1]) {
    // The verdict came between packets (nDPI given up on a flow gone quiet): at the last packet nDPI saw,
    // as the record's classified_after says; this packet is after it.
    take_verdict(st, f, cls);
    decide(st, f.first_seen + f.cls.after_us);
    st.refining = f.cls.extra_dissection || classify::Detectors::wants(f);
  }
  if (!st.decided) {
    if (wants_sni_ && st.server_name.empty() && d == flow::kUp && p.payload != nullptr) {
      // The name a middlebox would read (metadata), for server_name rules: the TLS ClientHello's SNI or
      // the DNS query name; the engine's host name replaces it when the engine has copied one out.
      if (f.key.l4 == 6 && p.payload_caplen > 5 && p.payload[0] == 0x16) {
        if (auto h = classify::parse_tls_records(p.payload, p.payload_caplen); h && h->is_client && h->sni_len > 0) {
          st.server_name.assign(h->sni.data());
        }
      } else if (f.key.l4 == 17 && (p.dport == 53 || p.dport == 5353)) {
        dns_query_name(p.payload, p.payload_caplen, st.server_name);
      }
    }
    st.pre.add(bytes);
    count(st, -1, bytes, true, false, false);
    if (pass_) pass_->write(p);
    if (f.cls.final && !held) {
      // The verdict: its strings and the flow's candidate rules.
      take_verdict(st, f, cls);
      decide(st, p.ts);
      st.refining = f.cls.extra_dissection || classify::Detectors::wants(f);
    }
    return false;
  }
  if (st.refining && !held) {
    // nDPI's extra dissection or sealscope's detectors may still revise the label (TLS.Azure -> TLS.Teams,
    // STUN -> STUN.SignalVoip): the rules follow the label the classifier gives at this packet.
    if (take_verdict(st, f, cls)) decide(st, p.ts);
    st.refining = f.cls.extra_dissection || classify::Detectors::wants(f);
  }
  const int rule = decider_.acting(st.cand, p.ts);
  const Action& a = p_.rule_action(rule);
  bool dropped = false, throttled = false;
  if (held) {
    // passed when it came
  } else if (a.kind == ActionKind::Block) {
    dropped = true;
  } else if (a.kind == ActionKind::Throttle) {
    if (st.bucket_rate != a.kbit_s) {
      st.bucket = TokenBucket(a.kbit_s);
      st.bucket_rate = a.kbit_s;
    }
    dropped = throttled = !st.bucket.admit(p.ts, bytes);
  }
  count(st, rule, bytes, false, dropped, throttled);
  if (dropped) {
    if (drop_) drop_->write(p);
  } else if (pass_) {
    pass_->write(p);
  }
  return dropped;
}

void DryRun::write(const stats::FlowRecord& r) {
  if (r.end == flow::EndReason::Active) return;  // the flow goes on: its account closes at its real end
  auto it = flows_.find(r.id);
  if (it == flows_.end()) return;  // no packet of it was seen (only attributed fragments)
  FlowState& st = *it->second;
  if (!st.decided) {
    // Classified only at its end (nDPI gave up): everything passed before the verdict.
    st.label = r.verdict.label;
    st.family = r.verdict.family;
    st.activity = r.verdict.activity;
    st.category = r.category;
    if (!r.server_name.empty()) st.server_name = r.server_name;
    decide(st, r.last_seen);
  }
  // Time to block and intent are told under the flow's own label (its record's): what the rules read last
  // may still have been revised after the flow's last packet (the call cache, a server name at the end).
  const ActionKind k = p_.rule_action(st.verdict_rule).kind;
  if (k == ActionKind::Block || k == ActionKind::Throttle) {
    auto leak = leaks_.find(r.verdict.label);
    if (leak == leaks_.end()) leak = leaks_.emplace(r.verdict.label, Leak{0, {}, TimeSample(exact_times_)}).first;
    Leak& l = leak->second;
    ++l.flows;
    l.before.add(st.decision_passed);
    l.ms.add(static_cast<double>(st.decision_ts - st.first_ts) / 1000.0);
  }
  const bool has_sub = st.where.subscriber_side >= 0;
  const uint32_t sub =
      has_sub ? subscriber_no_.try_emplace(st.where.subscriber, static_cast<uint32_t>(subscriber_no_.size()))
                    .first->second
              : 0;
  auto close = [&](Tally& t, bool dropped) {
    ++t.flows;
    if (dropped) ++t.dropped_flows;
    if (has_sub) t.subscribers.add(sub);
  };
  for (uint8_t i = 0; i < st.ntouched; ++i) {
    close(rule_tally(st.touched[i]), st.touched_drop[i]);
  }
  for (uint16_t g : st.regions) close(regions_[g], st.any_drop);
  if (st.regions.empty()) ++no_region_;
  close(total_, st.any_drop);

  if (st.verdict_rule >= 0) {
    const Rule& rule = p_.rules[static_cast<size_t>(st.verdict_rule)];
    const Intent& in = rule.intent;
    if (in.any()) {
      std::string label = r.verdict.label, family(r.verdict.family), activity(r.verdict.activity);
      if (truth_ != nullptr) {
        if (const TruthTable::Row* row = truth_->find(r)) {
          label = row->label;
          family = row->family;
          activity = row->activity;
        }
      }
      auto ok = [](const std::vector<std::string>& want, auto pred) {
        return want.empty() || std::any_of(want.begin(), want.end(), pred);
      };
      const bool intended =
          ok(in.labels, [&](const std::string& w) { return label_matches(w, label); }) &&
          ok(in.families, [&](const std::string& w) { return w == family; }) &&
          ok(in.activities, [&](const std::string& w) { return w == activity; }) &&
          ok(in.categories, [&](const std::string& w) { return w == r.category; });
      Tally& t = rule_tally(st.verdict_rule);
      if (intended) {
        ++t.intended;
      } else {
        ++t.collateral;
        ++t.collateral_labels[label];
      }
    }
  }
  flows_.erase(it);
}

size_t DryRun::AddrHash::operator()(const IpAddr& a) const {
  return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(a.bytes), sizeof a.bytes)) ^
         a.version;
}

void DryRun::finish() {
  // Both files are closed even when the first fails; the first failure is the one reported.
  std::exception_ptr first;
  for (PcapOut* out : {pass_.get(), drop_.get()}) {
    if (out == nullptr) continue;
    try {
      out->close();
    } catch (const Error&) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

}  // namespace sealscope::policy
