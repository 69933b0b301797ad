#include "audit/report.hpp"

#include <fmt/format.h>

#include <cmath>
#include <iterator>
#include <map>
#include <utility>

#include "common/display_text.hpp"
#include "report/html_page.hpp"
#include "report/summary_writer.hpp"

namespace sealscope::audit {

namespace {

using ojson = nlohmann::ordered_json;

const char* kDirName[2] = {"initiator", "responder"};

// JSON has no NaN or infinity: a p-value that underflowed is 0, which is what it means.
double finite(double x) { return std::isfinite(x) ? x : 0.0; }

ojson dir_json(const DirResult& d, uint8_t l4) {
  const Assessment& a = d.assessment;
  ojson j;
  j["framing"] = framing_name(d.framing);
  j["content_bytes"] = a.bytes;
  j["content_packets"] = a.packets;
  j["judgement"] = judgement_name(a.judgement);
  j["entropy"] = finite(a.entropy);
  j["expected_entropy"] = finite(a.expected_entropy);
  j["chi_square"] = finite(a.chi_square);
  j["chi_square_bins"] = a.chi_bins;
  j["p_value"] = finite(a.p_value);
  j["serial_correlation"] = finite(a.serial);
  j["printable_share"] = finite(a.printable);
  j["units"] = a.units;
  j["lead_p_value"] = finite(a.lead_p_value);
  j["lead_share"] = finite(a.lead_share);
  if (l4 == 6) {
    ojson t;
    t["delivered_bytes"] = d.tcp.delivered;
    t["duplicate_bytes"] = d.tcp.duplicate;
    t["out_of_order_segments"] = d.tcp.out_of_order;
    t["gaps"] = d.tcp.gaps;
    t["gap_bytes"] = d.tcp.gap_bytes;
    t["stream_cap_hits"] = d.tcp.stream_cap_hits;
    t["total_cap_hits"] = d.tcp.total_cap_hits;
    t["out_of_window_segments"] = d.tcp.out_of_window;
    t["mid_stream_start"] = d.tcp.mid_stream;
    t["framing_sync_lost"] = d.lost_sync;
    ojson g = ojson::array();
    for (const auto& [off, len] : d.gaps) g.push_back({{"offset", off}, {"length", len}});
    t["first_gaps"] = g;
    j["tcp"] = t;
  }
  return j;
}

std::string endpoint(const std::string& ip, uint16_t port, bool ports) {
  const bool v6 = ip.find(':') != std::string::npos;
  if (!ports) return ip;
  return v6 ? fmt::format("[{}]:{}", ip, port) : fmt::format("{}:{}", ip, port);
}

// Why the verdict is FAIL (empty for PASS): the JSON report's reasons and the page's.
std::vector<std::string> reasons(const Auditor& a) {
  std::vector<std::string> r;
  if (a.hits_total() > 0) r.push_back(fmt::format("{} canary occurrence(s) found", a.hits_total()));
  uint64_t msg_fail = 0;
  for (const auto& f : a.flows()) msg_fail += f.fails && f.messaging;
  if (msg_fail > 0) r.push_back(fmt::format("{} messaging flow(s) carry cleartext content", msg_fail));
  return r;
}

// Encodings with at least one occurrence, in the encodings' order, with their counts.
std::vector<std::pair<std::string, uint64_t>> encodings_found(const Auditor& a) {
  std::vector<std::pair<std::string, uint64_t>> found;
  for (size_t e = 0; e < a.hits_per_encoding().size(); ++e) {
    const uint64_t n = a.hits_per_encoding()[e];
    if (n > 0) found.emplace_back(encoding_name(static_cast<Encoding>(e)), n);
  }
  return found;
}

// The JSON key of a hit's offset: in the packet's payload, the direction's stream, the datagram's payload.
const char* offset_key(HitKind k) {
  switch (k) {
    case HitKind::Packet: return "payload_offset";
    case HitKind::Stream: return "stream_offset";
    case HitKind::Datagram: return "datagram_offset";
  }
  return "payload_offset";
}

// The totals line of the summary and the page.
std::string occurrences(const Auditor& a) {
  return fmt::format("{} ({} in packets, {} in reassembled streams, {} across the fragments of IP datagrams)",
                     a.hits_total(), a.hits_in_packets(), a.hits_in_streams(), a.hits_in_datagrams());
}

uint32_t canary_line(const ReportContext& ctx, size_t canary) {
  return ctx.canaries && canary < ctx.canaries->size() ? (*ctx.canaries)[canary].line : 0;
}

}  // namespace

namespace {
// Datagrams begun in fragments that were never searched whole, whatever the reason.
uint64_t datagrams_never_whole(const Auditor& a) {
  const DefragCounters& c = a.defrag().counters();
  return c.timed_out + c.ended_incomplete + c.dropped_at_cap + c.not_captured + c.invalid + a.defrag().incomplete_now();
}
}  // namespace

std::vector<std::string> warnings(const Auditor& a) {
  std::vector<std::string> w;
  if (a.flows_total() == 0) {
    w.push_back("no flow in the captures: nothing was searched or measured, so PASS says nothing about content");
  } else if (a.messaging_flows() == 0) {
    w.push_back("no flow was classified as messaging: only the canary search could fail, so PASS says nothing "
                "about the cleartext or randomness of a messenger that was not recognised");
  }
  if (const uint64_t n = datagrams_never_whole(a); n > 0) {
    w.push_back(fmt::format("{} fragmented IP datagram(s) were never reassembled (see defragmentation): their "
                            "fragments were searched one by one, so a canary split across two of them is not found",
                            n));
  }
  return w;
}

ojson report_json(const Auditor& a, const ReportContext& ctx) {
  ojson j;
  j["verdict"] = a.pass() ? "PASS" : "FAIL";
  j["reasons"] = reasons(a);
  j["warnings"] = warnings(a);
  j["inputs"] = ctx.inputs;
  if (ctx.summary) j["capture"] = report::capture_json(*ctx.summary);
  // Canaries: by number and line only.
  ojson can;
  can["file"] = ctx.canaries_file;
  can["count"] = ctx.canaries ? ctx.canaries->size() : 0;
  can["patterns"] = a.matcher().patterns().size();
  ojson enc = ojson::array();
  for (int e = 0; e < static_cast<int>(Encoding::Count); ++e) enc.push_back(encoding_name(static_cast<Encoding>(e)));
  can["encodings"] = enc;
  j["canaries"] = can;

  ojson hits;
  hits["total"] = a.hits_total();
  hits["in_packets"] = a.hits_in_packets();
  hits["in_streams"] = a.hits_in_streams();
  hits["in_datagrams"] = a.hits_in_datagrams();
  hits["in_fragments_without_flow"] = a.hits_without_flow();
  hits["fragments_without_flow_searched"] = a.fragments_without_flow();
  ojson per_canary = ojson::array();
  for (size_t i = 0; i < a.hits_per_canary().size(); ++i) {
    if (a.hits_per_canary()[i] == 0) continue;
    per_canary.push_back({{"canary", i + 1}, {"line", canary_line(ctx, i)}, {"hits", a.hits_per_canary()[i]}});
  }
  hits["per_canary"] = per_canary;
  ojson per_enc;
  for (const auto& [name, n] : encodings_found(a)) per_enc[name] = n;
  hits["per_encoding"] = per_enc.is_null() ? ojson::object() : per_enc;
  ojson list = ojson::array();
  for (const Hit& h : a.hits()) {
    const Pattern& p = a.matcher().patterns()[h.pattern];
    ojson x;
    x["canary"] = p.canary + 1;
    x["line"] = canary_line(ctx, p.canary);
    x["encoding"] = encoding_name(p.encoding);
    x["length"] = p.bytes.size();
    x["where"] = hit_kind_name(h.kind);
    x["input"] = h.file < ctx.inputs.size() ? ctx.inputs[h.file] : "";
    x["packet"] = h.frame_no;
    if (h.flow_id == Hit::kNoFlow) {
      x["flow"] = nullptr;  // a later fragment that reached no flow
      x["direction"] = nullptr;
    } else {
      x["flow"] = h.flow_id;
      x["direction"] = kDirName[h.dir];
    }
    x[offset_key(h.kind)] = h.offset;
    list.push_back(x);
  }
  hits["listed"] = list;
  hits["listed_truncated"] = a.hits_total() > a.hits().size();
  j["hits"] = hits;

  ojson flows;
  flows["total"] = a.flows_total();
  flows["messaging"] = a.messaging_flows();
  flows["failing"] = a.failing_flows();
  flows["other_flows_with_cleartext"] = a.other_cleartext_flows();
  ojson jd;
  for (const auto& [k, v] : a.judgements()) jd[k] = v;
  flows["directions_by_judgement"] = jd.is_null() ? ojson::object() : jd;
  j["flows"] = flows;

  ojson r;
  r["streams"] = a.tcp_streams();
  r["delivered_bytes"] = a.tcp_totals().delivered;
  r["duplicate_bytes"] = a.tcp_totals().duplicate;
  r["out_of_order_segments"] = a.tcp_totals().out_of_order;
  r["gaps"] = a.tcp_totals().gaps;
  r["gap_bytes"] = a.tcp_totals().gap_bytes;
  r["stream_cap_hits"] = a.budget().stream_cap_hits;
  r["total_cap_hits"] = a.budget().total_cap_hits;
  r["out_of_window_segments"] = a.tcp_totals().out_of_window;
  r["peak_buffered_bytes"] = a.budget().peak;
  r["limit_per_stream_bytes"] = a.budget().limits.per_stream;
  r["limit_total_bytes"] = a.budget().limits.total;
  j["reassembly"] = r;

  const DefragCounters& dc = a.defrag().counters();
  ojson df;
  df["fragments"] = dc.fragments;
  df["datagrams"] = dc.datagrams;
  df["reassembled"] = dc.reassembled;
  df["timed_out"] = dc.timed_out;
  df["incomplete_at_end"] = dc.ended_incomplete + a.defrag().incomplete_now();  // of the run, or of a timeline
  df["dropped_at_cap"] = dc.dropped_at_cap;
  df["not_captured_in_full"] = dc.not_captured;
  df["invalid"] = dc.invalid;
  df["late_fragments"] = dc.late_fragments;
  df["overlapping_fragments"] = dc.overlapping_fragments;
  df["conflicting_overlap_bytes"] = dc.conflicting_bytes;
  df["peak_held_bytes"] = dc.peak;
  df["limit_held_bytes"] = a.defrag().limits().held;
  df["timeout_s"] = a.defrag().limits().timeout_s;
  j["defragmentation"] = df;

  ojson fl = ojson::array();
  for (const auto& f : a.flows()) {
    const auto& rec = f.rec;
    ojson x;
    x["flow"] = rec.id;
    x["input"] = f.file < ctx.inputs.size() ? ctx.inputs[f.file] : "";
    x["l4"] = rec.l4;
    x["src"] = endpoint(rec.src_ip, rec.src_port, rec.has_ports);
    x["dst"] = endpoint(rec.dst_ip, rec.dst_port, rec.has_ports);
    x["label"] = rec.verdict.label;
    x["family"] = std::string(rec.verdict.family);
    x["activity"] = std::string(rec.verdict.activity);
    x["messaging"] = f.messaging;
    x["verdict"] = f.fails ? "FAIL" : "PASS";
    x["findings"] = f.findings;
    x["notes"] = f.notes;
    x["canary_hits"] = {{"packets", f.hits_packet}, {"streams", f.hits_stream}, {"datagrams", f.hits_datagram}};
    const uint8_t l4 = rec.l4 == "tcp" ? 6 : 17;
    x["directions"] = {{"from_initiator", dir_json(f.dir[0], l4)}, {"from_responder", dir_json(f.dir[1], l4)}};
    ojson vis;
    vis["server_name"] = rec.server_name;
    vis["packets"] = {rec.packets[0], rec.packets[1]};
    vis["bytes"] = {rec.bytes[0], rec.bytes[1]};
    vis["first_seen_us"] = rec.first_seen;
    vis["last_seen_us"] = rec.last_seen;
    vis["tls_version"] = rec.tls_version;
    x["visible"] = vis;
    fl.push_back(x);
  }
  j["listed_flows"] = fl;

  ojson vis;
  vis["summary"] =
      "An on-path observer still sees, for every flow: endpoints (addresses, ports), sizes and timing of "
      "every packet, and the names below (DNS queries, TLS SNI, HTTP hosts); see listed_flows[].visible.";
  vis["endpoints"] = a.endpoints();
  ojson names = ojson::array();
  for (const auto& [n, fam] : a.names()) names.push_back({{"name", n}, {"family", fam}});
  vis["names"] = names;
  j["visible_metadata"] = vis;
  return j;
}

std::string report_html(const Auditor& a, const ReportContext& ctx, const std::string& generator) {
  namespace html = report::html;
  using html::count_cell;
  using html::raw;
  using html::text;
  html::Buf b;
  auto out = std::back_inserter(b);
  const stats::Summary empty;
  const stats::Summary& summary = ctx.summary ? *ctx.summary : empty;
  const size_t n_canaries = ctx.canaries ? ctx.canaries->size() : a.hits_per_canary().size();

  html::begin(b, std::string("sealscope audit: ") + (a.pass() ? "PASS" : "FAIL"), "sealscope audit");
  raw(b, "<p id=\"inputs\">Canaries from <code>");
  text(b, ctx.canaries_file);
  fmt::format_to(out, "</code> ({} canar{}, {} patterns in {} encodings) searched in {} capture{}:", n_canaries,
                 n_canaries == 1 ? "y" : "ies", a.matcher().patterns().size(), static_cast<int>(Encoding::Count),
                 ctx.inputs.size(), ctx.inputs.size() == 1 ? "" : "s");
  html::code_list(b, ctx.inputs);
  raw(b, ".</p>\n");
  fmt::format_to(out, "<p id=\"verdict\" class=\"verdict {}\">{}</p>\n", a.pass() ? "pass" : "fail",
                 a.pass() ? "PASS" : "FAIL");
  const std::vector<std::string> why = reasons(a);
  if (!why.empty()) {
    raw(b, "<ul id=\"reasons\">\n");
    for (const auto& r : why) {
      raw(b, "<li>");
      text(b, r);
      raw(b, "</li>\n");
    }
    raw(b, "</ul>\n");
  } else {
    raw(b, "<p id=\"reasons\">No canary was found, in any encoding, in any packet, reassembled stream or reassembled "
           "IP datagram, and no messaging flow carries cleartext content.</p>\n");
  }
  // The verdict covers what was read: say first when that is not all of the captures.
  const std::vector<std::string> incomplete = report::incomplete_lines(summary);
  std::vector<std::string> notices = incomplete;
  for (const auto& w : warnings(a)) notices.push_back("WARNING: " + w);
  html::notices(b, notices, !incomplete.empty());

  raw(b, "<h2>Totals</h2>\n<table class=\"kv\" id=\"totals\"><tbody>\n");
  html::kv_row(b, "capture (UTC)",
               summary.timed ? html::utc(summary.first_ts) + " to " + html::utc(summary.last_ts) : "-", "span");
  html::kv_row(b, "frames", fmt::format("{}", summary.frames), "frames");
  html::kv_row(b, "flows", fmt::format("{} ({} messaging)", a.flows_total(), a.messaging_flows()), "flows");
  html::kv_row(b, "canary occurrences", occurrences(a), "hits");
  if (a.fragments_without_flow() > 0) {
    html::kv_row(b, "fragments that reached no flow, searched one by one",
                 fmt::format("{} ({} canary occurrences)", a.fragments_without_flow(), a.hits_without_flow()),
                 "fragments-without-flow");
  }
  html::kv_row(b, "flows failing", fmt::format("{}", a.failing_flows()), "failing");
  html::kv_row(b, "other flows with cleartext (not messaging, not counted)",
               fmt::format("{}", a.other_cleartext_flows()), "other-cleartext");
  raw(b, "</tbody></table>\n");

  raw(b, "<h2>Canaries</h2>\n<p>Each canary by its number and line in the canaries file: the page never holds "
         "its text.</p>\n<table id=\"canaries\" class=\"small\"><thead><tr><th>canary</th><th>line</th>"
         "<th>occurrences</th></tr></thead><tbody>\n");
  for (size_t i = 0; i < n_canaries; ++i) {
    const uint64_t n = i < a.hits_per_canary().size() ? a.hits_per_canary()[i] : 0;
    fmt::format_to(out, "<tr{}><td class=\"n\">{}</td><td class=\"n\">{}</td>", n > 0 ? " class=\"failrow\"" : "",
                   i + 1, canary_line(ctx, i));
    count_cell(b, n);
    raw(b, "</tr>\n");
  }
  if (n_canaries == 0) raw(b, "<tr><td colspan=\"3\" class=\"none\">none</td></tr>\n");
  raw(b, "</tbody></table>\n");
  const auto found = encodings_found(a);
  html::counts_table(b, "encodings", "encoding found", std::map<std::string, uint64_t>(found.begin(), found.end()));

  raw(b, "<h2>Where the canaries are</h2>\n");
  if (a.hits().empty()) {
    raw(b, "<p class=\"none\" id=\"hits\">Nowhere.</p>\n");
  } else {
    if (a.hits_total() > a.hits().size()) {
      fmt::format_to(out, "<p id=\"hits-truncated\">The first {} of {} occurrences (--max-hits); all are counted "
                          "above.</p>\n",
                     a.hits().size(), a.hits_total());
    }
    raw(b, "<div class=\"wide\"><table id=\"hits\"><thead><tr><th>canary</th><th>line</th><th>encoding</th>"
           "<th>length</th><th>where</th><th>offset</th><th>input</th><th>packet</th><th>flow</th>"
           "<th>direction</th></tr></thead><tbody>\n");
    for (const Hit& h : a.hits()) {
      const Pattern& pat = a.matcher().patterns()[h.pattern];
      fmt::format_to(out, "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td>"
                          "<td>{}</td><td class=\"n\">{}</td><td>",
                     pat.canary + 1, canary_line(ctx, pat.canary), encoding_name(pat.encoding), pat.bytes.size(),
                     hit_kind_name(h.kind), h.offset);
      text(b, h.file < ctx.inputs.size() ? ctx.inputs[h.file] : "");
      if (h.flow_id == Hit::kNoFlow) {
        fmt::format_to(out, "</td><td class=\"n\">{}</td><td>none (fragment)</td><td>-</td></tr>\n", h.frame_no);
      } else {
        fmt::format_to(out, "</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>\n", h.frame_no,
                       h.flow_id, kDirName[h.dir]);
      }
    }
    raw(b, "</tbody></table></div>\n");
  }

  // Failing flows first, then the others the JSON report lists, each group in the JSON report's order.
  raw(b, "<h2>Flows</h2>\n<p>Messaging flows and every flow with a canary. Content is judged per direction "
         "after the framing is stripped (up: from the initiator, down: from the responder; bytes: content bytes "
         "measured): <em>random-like</em> is what ciphertext looks like.</p>\n");
  std::vector<const FlowResult*> listed;
  for (const auto& f : a.flows()) {
    if (f.fails) listed.push_back(&f);
  }
  for (const auto& f : a.flows()) {
    if (!f.fails) listed.push_back(&f);
  }
  if (listed.empty()) {
    raw(b, "<p class=\"none\" id=\"flows\">No messaging flow, and no flow with a canary.</p>\n");
  } else {
    raw(b, "<div class=\"wide\"><table id=\"flows\"><thead><tr><th>flow</th><th>l4</th><th>initiator</th>"
           "<th>responder</th><th>label</th><th>family</th><th>verdict</th><th>hits in packets</th>"
           "<th>in streams</th><th>in datagrams</th><th>up framing</th><th>up bytes</th><th>up content</th><th>down framing</th>"
           "<th>down bytes</th><th>down content</th></tr></thead><tbody>\n");
    for (const FlowResult* f : listed) {
      const auto& rec = f->rec;
      fmt::format_to(out, "<tr{}><td class=\"n\">{}</td><td>", f->fails ? " class=\"failrow\"" : "", rec.id);
      text(b, rec.l4);
      raw(b, "</td><td>");
      text(b, endpoint(rec.src_ip, rec.src_port, rec.has_ports));
      raw(b, "</td><td>");
      text(b, endpoint(rec.dst_ip, rec.dst_port, rec.has_ports));
      raw(b, "</td><td>");
      text(b, rec.verdict.label);
      raw(b, "</td><td>");
      text(b, f->messaging ? std::string(rec.verdict.family) : "not messaging");
      fmt::format_to(out, "</td><td>{}</td>", f->fails ? "FAIL" : "PASS");
      count_cell(b, f->hits_packet);
      count_cell(b, f->hits_stream);
      count_cell(b, f->hits_datagram);
      for (const DirResult& d : f->dir) {
        const Assessment& as = d.assessment;
        fmt::format_to(out, "<td>{}{}</td>", framing_name(d.framing), d.lost_sync ? " (sync lost)" : "");
        count_cell(b, as.bytes);
        fmt::format_to(out, "<td title=\"entropy {:.3f} of {:.3f} bits/byte expected, chi-square p {:.3g}, "
                            "printable {:.0f} %\">{}</td>",
                       finite(as.entropy), finite(as.expected_entropy), finite(as.p_value), 100 * finite(as.printable),
                       judgement_name(as.judgement));
      }
      raw(b, "</tr>\n");
      if (!f->findings.empty() || !f->notes.empty()) {
        raw(b, "<tr class=\"findings\"><td></td><td colspan=\"15\" class=\"sub\">");
        bool first = true;
        for (const auto* list : {&f->findings, &f->notes}) {
          for (const auto& s : *list) {
            raw(b, first ? "" : "<br>");
            raw(b, list == &f->findings ? "finding: " : "note: ");
            text(b, s);
            first = false;
          }
        }
        raw(b, "</td></tr>\n");
      }
    }
    raw(b, "</tbody></table></div>\n");
  }
  html::counts_table(b, "judgements", "content directions judged", a.judgements());

  raw(b, "<h2>TCP reassembly</h2>\n<table class=\"kv\" id=\"reassembly\"><tbody>\n");
  const StreamCounters& t = a.tcp_totals();
  html::kv_row(b, "streams", fmt::format("{}", a.tcp_streams()));
  html::kv_row(b, "bytes delivered in order", fmt::format("{}", t.delivered));
  html::kv_row(b, "gaps", fmt::format("{} ({} bytes)", t.gaps, t.gap_bytes));
  html::kv_row(b, "duplicate bytes", fmt::format("{}", t.duplicate));
  html::kv_row(b, "out-of-order segments", fmt::format("{}", t.out_of_order));
  html::kv_row(b, "out-of-window segments", fmt::format("{}", t.out_of_window));
  html::kv_row(b, "caps hit (per stream / total)",
               fmt::format("{} / {} (caps {} / {} bytes)", a.budget().stream_cap_hits, a.budget().total_cap_hits,
                           a.budget().limits.per_stream, a.budget().limits.total));
  html::kv_row(b, "peak bytes held", fmt::format("{}", a.budget().peak));
  raw(b, "</tbody></table>\n");

  raw(b, "<h2>IP datagram reassembly</h2>\n<table class=\"kv\" id=\"defragmentation\"><tbody>\n");
  const DefragCounters& dc = a.defrag().counters();
  html::kv_row(b, "fragments", fmt::format("{}", dc.fragments));
  html::kv_row(b, "datagrams reassembled and searched", fmt::format("{} of {}", dc.reassembled, dc.datagrams));
  html::kv_row(b, "never reassembled",
               fmt::format("{} timed out, {} incomplete at the end, {} dropped at the cap, {} not captured in full, "
                           "{} invalid",
                           dc.timed_out, dc.ended_incomplete + a.defrag().incomplete_now(), dc.dropped_at_cap,
                           dc.not_captured, dc.invalid));
  html::kv_row(b, "fragments of datagrams given up", fmt::format("{}", dc.late_fragments));
  html::kv_row(b, "overlapping fragments (first copy kept)",
               fmt::format("{} ({} bytes differed)", dc.overlapping_fragments, dc.conflicting_bytes));
  html::kv_row(b, "peak bytes held", fmt::format("{} (cap {} bytes, timeout {} s)", dc.peak, a.defrag().limits().held,
                                                 a.defrag().limits().timeout_s));
  raw(b, "</tbody></table>\n");

  fmt::format_to(out, "<h2>What stays visible</h2>\n<p>An on-path observer still sees, for every flow, the "
                      "endpoints (<span id=\"endpoints\">{}</span> address and port pairs), the size and time of "
                      "every packet, and <span id=\"names-count\">{}</span> name{} (DNS queries, TLS server names, "
                      "HTTP hosts).</p>\n",
                 a.endpoints(), a.names().size(), a.names().size() == 1 ? "" : "s");
  if (!a.names().empty()) {
    raw(b, "<details><summary>names</summary>\n<table id=\"names\"><thead><tr><th>name</th><th>family</th></tr>"
           "</thead><tbody>\n");
    for (const auto& [n, fam] : a.names()) {
      raw(b, "<tr><td>");
      text(b, n);
      raw(b, "</td><td>");
      text(b, fam);
      raw(b, "</td></tr>\n");
    }
    raw(b, "</tbody></table></details>\n");
  }
  html::end(b, "This page holds positions, counts, statistics and names, never a canary's text or a byte of payload.",
            generator);
  return fmt::to_string(b);
}

void print_summary(const Auditor& a, const ReportContext& ctx, std::FILE* out) {
  print_text(out, "audit verdict: {}\n", a.pass() ? "PASS" : "FAIL");
  print_text(out, "  inputs: {}\n", fmt::format("{}", fmt::join(ctx.inputs, ", ")));
  if (ctx.summary) print_text(out, "  frames: {}, flows: {} ({} messaging)\n", ctx.summary->frames, a.flows_total(),
                              a.messaging_flows());
  print_text(out, "  canaries: {} from {} ({} patterns in {} encodings)\n", ctx.canaries ? ctx.canaries->size() : 0,
             ctx.canaries_file, a.matcher().patterns().size(), static_cast<int>(Encoding::Count));
  print_text(out, "  canary occurrences: {}\n", occurrences(a));
  for (size_t i = 0; i < a.hits_per_canary().size(); ++i) {
    if (a.hits_per_canary()[i] == 0) continue;
    print_text(out, "    canary {} (line {}): {}\n", i + 1, canary_line(ctx, i), a.hits_per_canary()[i]);
  }
  for (const auto& [name, n] : encodings_found(a)) print_text(out, "    encoding {}: {}\n", name, n);
  if (a.fragments_without_flow() > 0) {
    print_text(out, "  fragments that reached no flow (held for their first fragment, or orphaned), searched one by "
                    "one: {} ({} canary occurrences)\n",
               a.fragments_without_flow(), a.hits_without_flow());
  }
  print_text(out, "  flows failing: {}; other flows with cleartext (not messaging): {}\n", a.failing_flows(),
             a.other_cleartext_flows());
  int shown = 0;
  for (const auto& f : a.flows()) {
    if (!f.fails) continue;
    if (++shown > 20) {
      print_text(out, "    … {} more in the JSON report\n", a.failing_flows() - 20);
      break;
    }
    print_text(out, "    flow {} {} {} -> {} {} ({}):\n", f.rec.id, f.rec.l4,
               endpoint(f.rec.src_ip, f.rec.src_port, f.rec.has_ports),
               endpoint(f.rec.dst_ip, f.rec.dst_port, f.rec.has_ports), f.rec.verdict.label,
               f.messaging ? f.rec.verdict.family : "not messaging");
    for (const auto& s : f.findings) print_text(out, "      - {}\n", s);
  }
  print_text(out, "  content directions: ");
  bool first = true;
  for (const auto& [k, v] : a.judgements()) {
    print_text(out, "{}{} {}", first ? "" : ", ", v, k);
    first = false;
  }
  if (first) print_text(out, "none");
  print_text(out, "\n  tcp reassembly: {} streams, {} bytes in order, {} gaps ({} bytes), {} duplicate bytes, "
                  "{} out-of-order segments, caps hit {} (stream) / {} (total), peak held {} bytes\n",
             a.tcp_streams(), a.tcp_totals().delivered, a.tcp_totals().gaps, a.tcp_totals().gap_bytes,
             a.tcp_totals().duplicate, a.tcp_totals().out_of_order, a.budget().stream_cap_hits,
             a.budget().total_cap_hits, a.budget().peak);
  const DefragCounters& dc = a.defrag().counters();
  print_text(out, "  ip reassembly: {} fragments, {} of {} datagrams reassembled; never whole: {} timed out, {} "
                  "incomplete at the end, {} dropped at the cap, {} not captured in full, {} invalid; {} overlapping "
                  "fragments ({} bytes differed), peak held {} bytes\n",
             dc.fragments, dc.reassembled, dc.datagrams, dc.timed_out, dc.ended_incomplete + a.defrag().incomplete_now(),
             dc.dropped_at_cap, dc.not_captured, dc.invalid, dc.overlapping_fragments, dc.conflicting_bytes, dc.peak);
  print_text(out, "  visible to an observer: {} endpoints, {} names, sizes and timing of every packet\n",
             a.endpoints(), a.names().size());
  // The verdict covers what was read: say so when that is not all of the captures.
  if (ctx.summary) {
    for (const auto& l : report::incomplete_lines(*ctx.summary)) print_text(out, "  {}\n", l);
  }
  for (const auto& w : warnings(a)) print_text(out, "  WARNING: {}\n", w);
}

}  // namespace sealscope::audit
