#include "audit/report.hpp"

#include <fmt/format.h>

#include <cmath>

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

}  // namespace

ojson report_json(const Auditor& a, const ReportContext& ctx) {
  ojson j;
  j["verdict"] = a.pass() ? "PASS" : "FAIL";
  ojson reasons = ojson::array();
  if (a.hits_total() > 0) reasons.push_back(fmt::format("{} canary occurrence(s) found", a.hits_total()));
  uint64_t msg_fail = 0;
  for (const auto& f : a.flows()) msg_fail += f.fails && f.messaging;
  if (msg_fail > 0) reasons.push_back(fmt::format("{} messaging flow(s) carry cleartext content", msg_fail));
  j["reasons"] = reasons;
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
  ojson per_canary = ojson::array();
  for (size_t i = 0; i < a.hits_per_canary().size(); ++i) {
    if (a.hits_per_canary()[i] == 0) continue;
    const uint32_t line = ctx.canaries ? (*ctx.canaries)[i].line : 0;
    per_canary.push_back({{"canary", i + 1}, {"line", line}, {"hits", a.hits_per_canary()[i]}});
  }
  hits["per_canary"] = per_canary;
  ojson per_enc;
  for (size_t e = 0; e < a.hits_per_encoding().size(); ++e) {
    if (a.hits_per_encoding()[e] > 0) per_enc[encoding_name(static_cast<Encoding>(e))] = a.hits_per_encoding()[e];
  }
  hits["per_encoding"] = per_enc.is_null() ? ojson::object() : per_enc;
  ojson list = ojson::array();
  for (const Hit& h : a.hits()) {
    const Pattern& p = a.matcher().patterns()[h.pattern];
    ojson x;
    x["canary"] = p.canary + 1;
    x["line"] = ctx.canaries ? (*ctx.canaries)[p.canary].line : 0;
    x["encoding"] = encoding_name(p.encoding);
    x["length"] = p.bytes.size();
    x["where"] = h.stream ? "stream" : "packet";
    x["input"] = h.file < ctx.inputs.size() ? ctx.inputs[h.file] : "";
    x["packet"] = h.frame_no;
    x["flow"] = h.flow_id;
    x["direction"] = kDirName[h.dir];
    x[h.stream ? "stream_offset" : "payload_offset"] = h.offset;
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
    x["canary_hits"] = {{"packets", f.hits_packet}, {"streams", f.hits_stream}};
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

void print_summary(const Auditor& a, const ReportContext& ctx, std::FILE* out) {
  fmt::print(out, "audit verdict: {}\n", a.pass() ? "PASS" : "FAIL");
  fmt::print(out, "  inputs: {}\n", fmt::join(ctx.inputs, ", "));
  if (ctx.summary) fmt::print(out, "  frames: {}, flows: {} ({} messaging)\n", ctx.summary->frames, a.flows_total(),
                              a.messaging_flows());
  fmt::print(out, "  canaries: {} from {} ({} patterns in {} encodings)\n", ctx.canaries ? ctx.canaries->size() : 0,
             ctx.canaries_file, a.matcher().patterns().size(), static_cast<int>(Encoding::Count));
  fmt::print(out, "  canary occurrences: {} ({} in packets, {} in reassembled streams)\n", a.hits_total(),
             a.hits_in_packets(), a.hits_in_streams());
  for (size_t i = 0; i < a.hits_per_canary().size(); ++i) {
    if (a.hits_per_canary()[i] == 0) continue;
    fmt::print(out, "    canary {} (line {}): {}\n", i + 1, ctx.canaries ? (*ctx.canaries)[i].line : 0,
               a.hits_per_canary()[i]);
  }
  for (size_t e = 0; e < a.hits_per_encoding().size(); ++e) {
    if (a.hits_per_encoding()[e] > 0) {
      fmt::print(out, "    encoding {}: {}\n", encoding_name(static_cast<Encoding>(e)), a.hits_per_encoding()[e]);
    }
  }
  fmt::print(out, "  flows failing: {}; other flows with cleartext (not messaging): {}\n", a.failing_flows(),
             a.other_cleartext_flows());
  int shown = 0;
  for (const auto& f : a.flows()) {
    if (!f.fails) continue;
    if (++shown > 20) {
      fmt::print(out, "    … {} more in the JSON report\n", a.failing_flows() - 20);
      break;
    }
    fmt::print(out, "    flow {} {} {} -> {} {} ({}):\n", f.rec.id, f.rec.l4,
               endpoint(f.rec.src_ip, f.rec.src_port, f.rec.has_ports),
               endpoint(f.rec.dst_ip, f.rec.dst_port, f.rec.has_ports), f.rec.verdict.label,
               f.messaging ? f.rec.verdict.family : "not messaging");
    for (const auto& s : f.findings) fmt::print(out, "      - {}\n", s);
  }
  fmt::print(out, "  content directions: ");
  bool first = true;
  for (const auto& [k, v] : a.judgements()) {
    fmt::print(out, "{}{} {}", first ? "" : ", ", v, k);
    first = false;
  }
  fmt::print(out, "\n  tcp reassembly: {} streams, {} bytes in order, {} gaps ({} bytes), {} duplicate bytes, "
                  "{} out-of-order segments, caps hit {} (stream) / {} (total), peak held {} bytes\n",
             a.tcp_streams(), a.tcp_totals().delivered, a.tcp_totals().gaps, a.tcp_totals().gap_bytes,
             a.tcp_totals().duplicate, a.tcp_totals().out_of_order, a.budget().stream_cap_hits,
             a.budget().total_cap_hits, a.budget().peak);
  fmt::print(out, "  visible to an observer: {} endpoints, {} names, sizes and timing of every packet\n",
             a.endpoints(), a.names().size());
  // The verdict covers what was read: say so when that is not all of the captures.
  if (ctx.summary) {
    for (const auto& l : report::incomplete_lines(*ctx.summary)) fmt::print(out, "  {}\n", l);
  }
}

}  // namespace sealscope::audit
