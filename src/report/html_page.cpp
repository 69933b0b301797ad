#include "report/html_page.hpp"

#include <iterator>

#include "common/types.hpp"
#include "report/text_escape.hpp"

namespace sealscope::report::html {

namespace {
constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1100px;padding:0 1em;color:#1a1a1a}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ccc}
code{font:12px ui-monospace,monospace;background:#f3f3f3;padding:0 .25em}
table{border-collapse:collapse;margin:.5em 0}th,td{padding:.2em .6em;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #999;white-space:nowrap}tbody tr:nth-child(even){background:#f6f6f6}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.kv th{font-weight:normal;color:#555}
.bar{display:inline-block;height:.8em;background:#1565c0;vertical-align:middle;margin-right:.4em}
.warn{background:#fff3e0;border-left:4px solid #ef6c00;padding:.5em 1em .5em 2em}
.fail{background:#ffebee;border-left-color:#c62828}.none{color:#777}.small{display:inline-table;margin-right:2em}
.key{display:inline-block;width:.9em;height:.9em;vertical-align:middle;margin:0 .3em 0 1em}
.wide{overflow-x:auto}.wide td{white-space:nowrap}.wide td.sub{white-space:normal}.sub{color:#555;font-size:.92em}
.verdict{display:inline-block;font-size:1.6em;font-weight:bold;padding:.1em .6em;margin:.3em 0}
.verdict.pass{background:#e8f5e9;color:#1b5e20}.verdict.fail{color:#b71c1c}tr.failrow td{background:#ffebee}
footer{margin-top:2.5em;color:#555;font-size:.9em}svg text{font:11px system-ui,sans-serif;fill:#444}
)";
}  // namespace

void begin(Buf& b, std::string_view title, std::string_view heading) {
  raw(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
  text(b, title);
  raw(b, "</title>\n<style>");
  raw(b, kStyle);
  raw(b, "</style></head>\n<body>\n<h1>");
  text(b, heading);
  raw(b, "</h1>\n");
}

void end(Buf& b, std::string_view holds, std::string_view generator) {
  raw(b, "<footer>");
  text(b, holds);
  raw(b, " Made by ");
  text(b, generator);
  raw(b, ".</footer>\n</body></html>\n");
}

void text(Buf& b, std::string_view s) { append_html_text(b, s); }

void code_list(Buf& b, const std::vector<std::string>& items) {
  for (const auto& i : items) {
    raw(b, " <code>");
    text(b, i);
    raw(b, "</code>");
  }
}

void bytes_cell(Buf& b, uint64_t n) {
  fmt::format_to(std::back_inserter(b), "<td class=\"n\" title=\"{} bytes\">{}</td>", n, human_bytes(n));
}

void count_cell(Buf& b, uint64_t n) { fmt::format_to(std::back_inserter(b), "<td class=\"n\">{}</td>", n); }

void kv_row(Buf& b, std::string_view key, std::string_view value, std::string_view id) {
  raw(b, "<tr><th>");
  text(b, key);
  raw(b, "</th><td");
  if (!id.empty()) fmt::format_to(std::back_inserter(b), " id=\"{}\"", id);
  raw(b, ">");
  text(b, value);
  raw(b, "</td></tr>\n");
}

void counts_table(Buf& b, std::string_view id, std::string_view what, const std::map<std::string, uint64_t>& m) {
  fmt::format_to(std::back_inserter(b), "<table id=\"{}\" class=\"small\"><thead><tr><th>", id);
  text(b, what);
  raw(b, "</th><th>count</th></tr></thead><tbody>\n");
  for (const auto& [k, v] : m) {
    raw(b, "<tr><td>");
    text(b, k);
    raw(b, "</td>");
    count_cell(b, v);
    raw(b, "</tr>\n");
  }
  if (m.empty()) raw(b, "<tr><td colspan=\"2\" class=\"none\">none</td></tr>\n");
  raw(b, "</tbody></table>\n");
}

void notices(Buf& b, const std::vector<std::string>& list, bool failed) {
  if (list.empty()) return;
  fmt::format_to(std::back_inserter(b), "<ul id=\"notices\" class=\"warn{}\">\n", failed ? " fail" : "");
  for (const auto& n : list) {
    raw(b, "<li>");
    text(b, n);
    raw(b, "</li>\n");
  }
  raw(b, "</ul>\n");
}

std::string duration(double s) {
  if (s < 1) return fmt::format("{:.0f} ms", s * 1000);
  if (s < 120) return fmt::format("{:.1f} s", s);
  if (s < 7200) return fmt::format("{:.1f} min", s / 60);
  if (s < 172800) return fmt::format("{:.1f} h", s / 3600);
  return fmt::format("{:.1f} days", s / 86400);
}

std::string utc(int64_t ts_us) {
  const std::string t = format_rfc3339_us(ts_us);  // 2024-03-01T12:00:00.000123Z
  return t.size() >= 19 ? t.substr(0, 10) + " " + t.substr(11, 8) : t;
}

}  // namespace sealscope::report::html
