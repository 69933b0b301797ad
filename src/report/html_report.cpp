#include "report/html_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <utility>

#include "common/local_time.hpp"
#include "report/flow_writers.hpp"
#include "report/html_page.hpp"
#include "report/summary_writer.hpp"

namespace sealscope::report {

namespace {

using html::Buf;
using html::bytes_cell;
using html::count_cell;
using html::duration;
using html::kv_row;
using html::raw;
using html::text;
using html::utc;

/// A tunnel's name as a person reads it, and what its identifier is called ("" when it has none).
std::pair<const char*, const char*> tunnel_display(decode::TunnelType t) {
  switch (t) {
    case decode::TunnelType::GtpU: return {"GTP-U", "TEID"};
    case decode::TunnelType::Vxlan: return {"VXLAN", "VNI"};
    case decode::TunnelType::Geneve: return {"Geneve", "VNI"};
    case decode::TunnelType::Gre: return {"GRE", "key"};
    case decode::TunnelType::Erspan: return {"ERSPAN", "session"};
    case decode::TunnelType::Tzsp: return {"TZSP", ""};
    case decode::TunnelType::Capwap: return {"CAPWAP", ""};
    case decode::TunnelType::IpInIp: return {"IP-in-IP", ""};
    case decode::TunnelType::None: break;
  }
  return {"", ""};
}

// The interval widths of the time line, each a multiple of the one before, so intervals only ever merge
// (a flow's interval of one width lies inside exactly one of the next). Past the last, widths double.
constexpr int64_t kBinWidths[] = {1,    2,     10,    20,    60,     120,    600,     1200,
                                  3600, 7200,  21600, 43200, 86400,  604800, 1209600, 2419200};
constexpr bool each_a_multiple() {
  for (size_t i = 1; i < std::size(kBinWidths); ++i) {
    if (kBinWidths[i] % kBinWidths[i - 1] != 0) return false;
  }
  return true;
}
static_assert(each_a_multiple(), "a time-line interval would be split between two wider ones");

// Colours of the activities, in kActivities order: calls stand out, chat is the calm default.
constexpr const char* kColours[] = {"#c62828", "#1565c0", "#6a1b9a", "#ef6c00", "#6d4c41", "#9e9e9e"};
static_assert(std::size(kColours) == HtmlReport::kActivities.size());

size_t activity_index(std::string_view a) {
  for (size_t i = 0; i < HtmlReport::kActivities.size(); ++i) {
    if (a == HtmlReport::kActivities[i]) return i;
  }
  return HtmlReport::kActivities.size() - 1;  // "other"
}

std::string endpoint(const std::string& ip, uint16_t port, bool has_ports) {
  if (!has_ports) return ip;
  return ip.find(':') != std::string::npos ? fmt::format("[{}]:{}", ip, port) : fmt::format("{}:{}", ip, port);
}

std::string width_name(int64_t s) {
  if (s % 86400 == 0) return fmt::format("{} day{}", s / 86400, s == 86400 ? "" : "s");
  if (s % 3600 == 0) return fmt::format("{} h", s / 3600);
  if (s % 60 == 0) return fmt::format("{} min", s / 60);
  return fmt::format("{} s", s);
}

double share(uint64_t part, uint64_t whole) { return whole ? 100.0 * part / whole : 0.0; }

/// The flows, packets and bytes cells of a row of totals.
void totals_cells(Buf& b, const stats::Totals& t) {
  count_cell(b, t.flows);
  count_cell(b, t.packets);
  bytes_cell(b, t.bytes);
}

}  // namespace

bool HtmlReport::bigger(const TopFlow& a, const TopFlow& b) {
  return a.bytes != b.bytes ? a.bytes > b.bytes : a.id < b.id;
}

void HtmlReport::set_zone(const date::time_zone* tz, std::string name) {
  tz_ = tz;
  zone_name_ = std::move(name);
}

void HtmlReport::write(const stats::FlowRecord& r) {
  const uint64_t bytes = r.bytes[0] + r.bytes[1];
  // Top flows: a heap of kTopFlows whose front is the smallest kept; strings are copied only on entry.
  const auto cmp = [](const TopFlow& a, const TopFlow& b) { return bigger(a, b); };
  if (top_.size() < kTopFlows || bytes > top_.front().bytes || (bytes == top_.front().bytes && r.id < top_.front().id)) {
    TopFlow t;
    t.bytes = bytes;
    t.packets = r.packets[0] + r.packets[1];
    t.id = r.id;
    t.src = r.src_ip;
    t.dst = r.dst_ip;
    t.sport = r.src_port;
    t.dport = r.dst_port;
    t.has_ports = r.has_ports;
    t.l4 = r.l4;
    t.label = r.verdict.label;
    t.family = std::string(r.verdict.family);
    t.activity = std::string(r.verdict.activity);
    t.server = r.server_name;
    t.vlan = r.vlan;
    t.tunnel = r.tunnel.type;
    t.has_tunnel_id = r.tunnel.has_id;
    t.tunnel_id = r.tunnel.id;
    t.outer_src = r.tunnel_outer_src;
    t.outer_dst = r.tunnel_outer_dst;
    t.first = r.first_seen;
    t.last = r.last_seen;
    if (top_.size() == kTopFlows) {
      std::pop_heap(top_.begin(), top_.end(), cmp);
      top_.back() = std::move(t);
    } else {
      top_.push_back(std::move(t));
    }
    std::push_heap(top_.begin(), top_.end(), cmp);
  }
  // Time line: the flow counts where it began.
  const int64_t sec = r.first_seen >= 0 ? r.first_seen / 1000000 : 0;
  const size_t act = activity_index(r.verdict.activity);
  bins_[sec / bin_s_][act] += 1;
  hours_[local_clock(tz_, r.first_seen).minute / 60][act] += 1;
  while (bins_.rbegin()->first - bins_.begin()->first + 1 > static_cast<int64_t>(kMaxBins)) widen();
}

void HtmlReport::widen() {
  const int64_t* next = std::upper_bound(std::begin(kBinWidths), std::end(kBinWidths), bin_s_);
  const int64_t w = next != std::end(kBinWidths) ? *next : bin_s_ * 2;
  std::map<int64_t, std::array<uint64_t, kActivities.size()>> merged;
  for (const auto& [k, counts] : bins_) {
    auto& m = merged[k * bin_s_ / w];
    for (size_t i = 0; i < counts.size(); ++i) m[i] += counts[i];
  }
  bins_ = std::move(merged);
  bin_s_ = w;
}

std::string HtmlReport::render(const stats::Summary& s, const std::string& generator) const {
  Buf b;
  auto out = std::back_inserter(b);
  std::string title = "sealscope analyze: ";
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    if (i == 3) {
      title += fmt::format(" and {} more", s.inputs.size() - 3);
      break;
    }
    if (i > 0) title += ", ";
    const size_t slash = s.inputs[i].rfind('/');
    title += slash == std::string::npos ? s.inputs[i] : s.inputs[i].substr(slash + 1);
  }
  html::begin(b, title, "sealscope analyze");
  raw(b, "<p id=\"inputs\">");
  fmt::format_to(out, "{} input{}:", s.inputs.size(), s.inputs.size() == 1 ? "" : "s");
  html::code_list(b, s.inputs);
  raw(b, "</p>\n");

  // ---- the run in figures
  raw(b, "<h2>Capture</h2>\n<table class=\"kv\" id=\"capture\"><tbody>\n");
  kv_row(b, "first packet (UTC)", s.timed ? utc(s.first_ts) : "-", "first-seen");
  kv_row(b, "last packet (UTC)", s.timed ? utc(s.last_ts) : "-", "last-seen");
  kv_row(b, "capture span", duration(capture_seconds(s)), "span");
  kv_row(b, "frames read", fmt::format("{} ({} captured)", s.frames, human_bytes(s.frames_bytes)), "frames");
  kv_row(b, "flows", fmt::format("{}", s.all.flows), "flows");
  kv_row(b, "packets in flows", fmt::format("{}", s.all.packets), "packets");
  kv_row(b, "bytes in flows (IP)", human_bytes(s.all.bytes), "bytes");
  kv_row(b, "unknown", fmt::format("{} flows ({:.1f}%), {} ({:.1f}% of bytes)", s.unknown.flows,
                                   share(s.unknown.flows, s.all.flows), human_bytes(s.unknown.bytes),
                                   share(s.unknown.bytes, s.all.bytes)),
         "unknown");
  kv_row(b, "peak concurrent flows", fmt::format("{}", s.peak_flows), "peak-flows");
  kv_row(b, "not-IP frames / malformed frames", fmt::format("{} / {}", s.not_ip, s.malformed), "not-ip");
  kv_row(b, "ICMP errors about flows", fmt::format("{} messages about {} flows", s.icmp_errors, s.icmp_error_flows),
         "icmp-errors");
  raw(b, "</tbody></table>\n");

  // ---- what the reader must know before trusting the figures
  std::vector<std::string> notices = incomplete_lines(s);
  const bool failed = !notices.empty();
  if (s.evictions > 0) {
    notices.push_back(fmt::format("{} flows were written early because the flow table was full (--max-flows): "
                                  "a flow evicted and seen again counts twice",
                                  s.evictions));
  }
  if (s.frames_cut > 0) {
    notices.push_back(fmt::format("{} frames ({:.1f}%) were cut short by the capture's snap length: labels may be "
                                  "missing for their flows",
                                  s.frames_cut, share(s.frames_cut, s.frames)));
  }
  if (s.inputs_overlapping > 0) {
    notices.push_back(fmt::format("{} input(s) overlap in time with the ones before; they were read one after "
                                  "the other, not merged, so flows they share may be cut in two",
                                  s.inputs_overlapping));
  }
  if (s.kernel_drops > 0) {
    notices.push_back(fmt::format("the kernel dropped {} packets for want of room in the capture buffer "
                                  "(sealscope fell behind): their flows are missing or incomplete",
                                  s.kernel_drops));
  }
  if (s.interface_drops > 0) {
    notices.push_back(fmt::format("the interface dropped {} packets before capture", s.interface_drops));
  }
  html::notices(b, notices, failed);

  // ---- family × activity
  raw(b, "<h2>Flows by service family and activity</h2>\n<table id=\"family-activity\"><thead><tr><th>family</th>"
         "<th>activity</th><th>flows</th><th>packets</th><th>bytes</th><th>share of bytes</th></tr></thead><tbody>\n");
  const auto fa_rows = family_activity_rows(s);
  if (fa_rows.empty()) raw(b, "<tr><td colspan=\"6\" class=\"none\">none</td></tr>\n");
  for (const auto& [k, t] : fa_rows) {
    raw(b, "<tr><td>");
    text(b, k.first.empty() ? "-" : k.first);
    raw(b, "</td><td>");
    text(b, k.second);
    raw(b, "</td>");
    totals_cells(b, t);
    const double pc = share(t.bytes, s.all.bytes);
    fmt::format_to(out, "<td><span class=\"bar\" style=\"width:{:.1f}px\"></span>{:.1f}%</td></tr>\n", pc * 2, pc);
  }
  raw(b, "</tbody></table>\n");

  // ---- activity totals
  std::array<stats::Totals, kActivities.size()> acts{};
  for (const auto& [k, t] : s.by_family_activity) {
    acts[activity_index(k.second)].add(t);
  }
  raw(b, "<h2>By activity</h2>\n<table id=\"activity\"><thead><tr><th>activity</th><th>flows</th><th>packets</th>"
         "<th>bytes</th></tr></thead><tbody>\n");
  for (size_t i = 0; i < acts.size(); ++i) {
    if (acts[i].flows == 0) continue;
    fmt::format_to(out, "<tr><td><span class=\"key\" style=\"background:{}\"></span>{}</td>", kColours[i],
                   kActivities[i]);
    totals_cells(b, acts[i]);
    raw(b, "</tr>\n");
  }
  if (s.by_family_activity.empty()) raw(b, "<tr><td colspan=\"4\" class=\"none\">none</td></tr>\n");
  raw(b, "</tbody></table>\n");

  // ---- time line: new flows per interval, stacked by activity (inline SVG: no script, nothing fetched)
  if (!bins_.empty()) {
    const int64_t k0 = bins_.begin()->first, k1 = bins_.rbegin()->first;
    const int64_t n = k1 - k0 + 1;
    uint64_t peak = 1;
    for (const auto& [k, c] : bins_) {
      uint64_t sum = 0;
      for (uint64_t v : c) sum += v;
      peak = std::max(peak, sum);
    }
    constexpr int kW = 960, kH = 180, kLeft = 48, kBottom = 20;
    const double bw = static_cast<double>(kW - kLeft) / static_cast<double>(n);
    fmt::format_to(out, "<h2>New flows over time (UTC), per {} interval, by activity</h2>\n<p>", width_name(bin_s_));
    for (size_t i = 0; i < kActivities.size(); ++i) {
      if (acts[i].flows > 0) fmt::format_to(out, "<span class=\"key\" style=\"background:{}\"></span>{}", kColours[i], kActivities[i]);
    }
    raw(b, "</p>\n");
    fmt::format_to(out, "<svg id=\"timeline\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\">\n", kW,
                   kH + kBottom, kW, kH + kBottom);
    fmt::format_to(out, "<text x=\"{}\" y=\"12\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>\n",
                   kLeft - 6, peak, kLeft - 6, kH);
    fmt::format_to(out, "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>\n", kLeft, kH, kW, kH);
    for (const auto& [k, c] : bins_) {
      const double x = kLeft + static_cast<double>(k - k0) * bw;
      raw(b, "<g><title>");
      text(b, utc((k * bin_s_) * 1000000));
      fmt::format_to(out, " + {}:", width_name(bin_s_));
      for (size_t i = 0; i < c.size(); ++i) {
        if (c[i] > 0) fmt::format_to(out, " {} {}", kActivities[i], c[i]);
      }
      raw(b, "</title>");
      double y = kH;
      for (size_t i = 0; i < c.size(); ++i) {
        if (c[i] == 0) continue;
        const double h = static_cast<double>(kH - 16) * static_cast<double>(c[i]) / static_cast<double>(peak);
        y -= h;
        fmt::format_to(out, "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"{}\"/>", x, y,
                       std::max(bw - 1, 0.5), h, kColours[i]);
      }
      raw(b, "</g>\n");
    }
    raw(b, "<text x=\"");
    fmt::format_to(out, "{}\" y=\"{}\">", kLeft, kH + 15);
    text(b, utc(k0 * bin_s_ * 1000000));
    fmt::format_to(out, "</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">", kW, kH + 15);
    text(b, utc((k1 + 1) * bin_s_ * 1000000));
    raw(b, "</text>\n</svg>\n");

    // ---- hour of day: when flows begin, in the zone the user plans in (policy windows are local time)
    raw(b, "<h2>New flows by hour of day (");
    text(b, zone_name_);
    raw(b, "), by activity</h2>\n<p>Each flow counts at the local hour of its first packet, summed over every "
           "day of the capture.</p>\n<table id=\"hour-of-day\"><thead><tr><th>hour</th>");
    std::array<uint64_t, kActivities.size()> used{};
    for (const auto& h : hours_) {
      for (size_t i = 0; i < h.size(); ++i) used[i] += h[i];
    }
    for (size_t i = 0; i < kActivities.size(); ++i) {
      if (used[i] > 0) fmt::format_to(out, "<th>{}</th>", kActivities[i]);
    }
    raw(b, "<th>all</th></tr></thead><tbody>\n");
    for (size_t hour = 0; hour < hours_.size(); ++hour) {
      fmt::format_to(out, "<tr><td>{:02}:00\u2013{:02}:00</td>", hour, hour + 1);
      uint64_t all = 0;
      for (size_t i = 0; i < kActivities.size(); ++i) {
        all += hours_[hour][i];
        if (used[i] > 0) count_cell(b, hours_[hour][i]);
      }
      count_cell(b, all);
      raw(b, "</tr>\n");
    }
    raw(b, "</tbody></table>\n");
  }

  // ---- the biggest flows
  std::vector<TopFlow> top = top_;
  std::sort(top.begin(), top.end(), bigger);
  if (top.empty()) {
    raw(b, "<h2>Flows with the most bytes</h2>\n<p class=\"none\" id=\"no-flows\">No flows: no frame read carried "
           "an IP packet that could be decoded (see the figures above; frames a --bpf filter left out are not "
           "read).</p>\n");
  } else if (top.size() == 1) {
    raw(b, "<h2>The one flow</h2>\n");
  } else {
    fmt::format_to(out, "<h2>The {} flows with the most bytes</h2>\n", top.size());
  }
  if (!top.empty()) raw(b, "<div class=\"wide\"><table id=\"top-flows\"><thead><tr><th>#</th><th>initiator</th><th>responder</th><th>l4</th><th>label</th>"
         "<th>family</th><th>activity</th><th>packets</th><th>bytes</th><th>duration</th><th>first seen (UTC)</th>"
         "<th>server name</th><th>via</th></tr></thead><tbody>\n");
  for (size_t i = 0; i < top.size(); ++i) {
    const TopFlow& t = top[i];
    fmt::format_to(out, "<tr><td class=\"n\">{}</td><td><code>", i + 1);
    text(b, endpoint(t.src, t.sport, t.has_ports));
    raw(b, "</code></td><td><code>");
    text(b, endpoint(t.dst, t.dport, t.has_ports));
    raw(b, "</code></td><td>");
    text(b, t.l4);
    raw(b, "</td><td>");
    text(b, t.label);
    raw(b, "</td><td>");
    text(b, t.family.empty() ? "-" : t.family);
    raw(b, "</td><td>");
    text(b, t.activity);
    raw(b, "</td>");
    count_cell(b, t.packets);
    bytes_cell(b, t.bytes);
    fmt::format_to(out, "<td class=\"n\">{}</td><td>{}</td><td>", duration(static_cast<double>(t.last - t.first) / 1e6),
                   utc(t.first));
    text(b, t.server);
    raw(b, "</td><td>");
    const bool tunnelled = t.tunnel != decode::TunnelType::None;
    if (t.vlan >= 0) fmt::format_to(out, "VLAN {}{}", t.vlan, tunnelled ? ", " : "");
    if (tunnelled) {
      // The tunnel's name and its identifier (decimal as in the records), then its outer endpoints.
      const auto [name, id] = tunnel_display(t.tunnel);
      if (t.tunnel == decode::TunnelType::GtpU) {
        fmt::format_to(out, "{} {} {} ({:#010x}) ", name, id, t.tunnel_id, t.tunnel_id);
      } else if (t.has_tunnel_id) {
        fmt::format_to(out, "{} {} {} ", name, id, t.tunnel_id);
      } else {
        fmt::format_to(out, "{} ", name);
      }
      text(b, t.outer_src);
      raw(b, " &#8594; ");  // outer source to outer destination of the flow's first packet
      text(b, t.outer_dst);
    }
    raw(b, "</td></tr>\n");
  }
  if (!top.empty()) raw(b, "</tbody></table></div>\n");

  // ---- every label
  fmt::format_to(out, "<h2>Labels</h2>\n<details><summary>{} label{}, by flows</summary>\n", s.by_label.size(),
                 s.by_label.size() == 1 ? "" : "s");
  std::vector<std::pair<std::string, stats::Totals>> labels(s.by_label.begin(), s.by_label.end());
  std::stable_sort(labels.begin(), labels.end(),
                   [](const auto& x, const auto& y) { return x.second.flows > y.second.flows; });
  raw(b, "<table id=\"labels\"><thead><tr><th>label</th><th>flows</th><th>packets</th><th>bytes</th></tr></thead><tbody>\n");
  for (const auto& [l, t] : labels) {
    raw(b, "<tr><td>");
    text(b, l);
    raw(b, "</td>");
    totals_cells(b, t);
    raw(b, "</tr>\n");
  }
  if (labels.empty()) raw(b, "<tr><td colspan=\"4\" class=\"none\">none</td></tr>\n");
  raw(b, "</tbody></table>\n</details>\n");

  // ---- how flows ended, how sure the labels are, what was malformed
  raw(b, "<h2>Flow ends, confidence and anomalies</h2>\n");
  html::counts_table(b, "ends", "flow end", s.by_end);
  html::counts_table(b, "confidence", "confidence", s.by_confidence);
  std::map<std::string, uint64_t> anomalies;
  for (int i = 0; i < static_cast<int>(decode::Anomaly::Count); ++i) {
    const auto a = static_cast<decode::Anomaly>(i);
    if (s.anomalies.get(a) > 0) anomalies[decode::anomaly_name(a)] = s.anomalies.get(a);
  }
  html::counts_table(b, "anomalies", "anomaly", anomalies);

  html::end(b, "Metadata only: this page holds counts, addresses, ports, labels and server names, never a byte of "
              "payload. Field meanings: sealscope-flows(5).",
            generator);
  return fmt::to_string(b);
}

void HtmlReport::write_file(const stats::Summary& s, const std::string& path, const std::string& generator) const {
  const std::string page = render(s, generator);
  OutputFile f(path);
  f.write(page.data(), page.size());
  f.close();
}

}  // namespace sealscope::report
