// The --html report's own logic (report/html_report): which flows it keeps as the biggest, how the time line
// widens its intervals, how strings from captures are escaped, and which notices a reader gets. What a
// browser makes of the page is checked by tests/report/check_html.py with Chromium.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <limits>
#include <regex>
#include <string>

#include "common/local_time.hpp"
#include "report/html_report.hpp"
#include "report/text_escape.hpp"

using namespace sealscope;

namespace {

constexpr TimestampUs kT0 = 1709294400ll * 1000000;  // 2024-03-01 12:00:00 UTC

stats::FlowRecord record(uint64_t id, uint64_t bytes, TimestampUs first, std::string_view activity = "chat") {
  stats::FlowRecord r;
  r.id = id;
  r.src_ip = "192.0.2.1";
  r.dst_ip = "2001:db8::1";
  r.src_port = static_cast<uint16_t>(1000 + id);
  r.dst_port = 443;
  r.has_ports = true;
  r.l4 = "tcp";
  r.bytes[0] = bytes;
  r.packets[0] = 1;
  r.first_seen = first;
  r.last_seen = first + 1000;
  r.verdict.label = "TLS.WhatsApp";
  r.verdict.family = "WhatsApp";
  r.verdict.activity = activity;
  return r;
}

/// The exact byte counts of the biggest-flows table, in page order.
std::vector<uint64_t> top_bytes(const std::string& page) {
  const size_t from = page.find("<table id=\"top-flows\">");
  const size_t to = page.find("</table>", from);
  REQUIRE(from != std::string::npos);
  std::vector<uint64_t> out;
  const std::regex cell("title=\"([0-9]+) bytes\"");
  const std::string part = page.substr(from, to - from);
  for (std::sregex_iterator it(part.begin(), part.end(), cell), end; it != end; ++it) {
    out.push_back(std::stoull((*it)[1].str()));
  }
  return out;
}

/// The hour-of-day table as rows of cells: {"00:00–01:00", "0", "1", …}, in page order.
std::vector<std::vector<std::string>> hour_rows(const std::string& page) {
  const size_t from = page.find("<table id=\"hour-of-day\">");
  REQUIRE(from != std::string::npos);
  const std::string part = page.substr(from, page.find("</table>", from) - from);
  std::vector<std::vector<std::string>> rows;
  const std::regex row("<tr>(.*?)</tr>"), cell("<t[dh][^>]*>([^<]*)</t[dh]>");
  for (std::sregex_iterator it(part.begin(), part.end(), row), end; it != end; ++it) {
    const std::string r = (*it)[1].str();
    std::vector<std::string> cells;
    for (std::sregex_iterator c(r.begin(), r.end(), cell); c != end; ++c) cells.push_back((*c)[1].str());
    rows.push_back(cells);
  }
  return rows;
}

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("html: text from a capture is escaped for element text and attribute values", "[report]") {
  fmt::memory_buffer b;
  report::append_html_text(b, std::string_view("a&b<c>d\"e'f\x01g\xffh", 15));
  CHECK(fmt::to_string(b) == "a&amp;b&lt;c&gt;d&quot;e&#39;f\\x01g\\xffh");
}

TEST_CASE("html: the biggest flows are the 25 with the most bytes, ties to the older flow", "[report]") {
  report::HtmlReport h;
  stats::Summary s;
  // 100 flows of 10..1000 bytes, given in a scrambled order, plus two ties at the top.
  for (uint64_t i = 0; i < 100; ++i) {
    const uint64_t k = (i * 37) % 100;
    const stats::FlowRecord r = record(k + 10, (k + 1) * 10, kT0 + static_cast<TimestampUs>(k) * 1000000);
    h.write(r);
    s.write(r);
  }
  h.write(record(500, 1000, kT0));
  h.write(record(5, 1000, kT0));
  const std::string page = h.render(s, "sealscope test");
  const std::vector<uint64_t> got = top_bytes(page);
  REQUIRE(got.size() == report::HtmlReport::kTopFlows);
  CHECK(got[0] == 1000);
  CHECK(got[1] == 1000);
  CHECK(got[2] == 1000);
  CHECK(got[3] == 990);
  CHECK(got.back() == 1000 - 22 * 10);
  // Ties: flow 5 before 109 (the 1000-byte flow of the series) before 500.
  const size_t p5 = page.find("192.0.2.1:1005<"), p109 = page.find("192.0.2.1:1109<"), p500 = page.find("192.0.2.1:1500<");
  REQUIRE(p5 != std::string::npos);
  REQUIRE(p109 != std::string::npos);
  REQUIRE(p500 != std::string::npos);
  CHECK(p5 < p109);
  CHECK(p109 < p500);
  CHECK(page.find("[2001:db8::1]:443") != std::string::npos);  // IPv6 endpoints bracketed
  CHECK(page.find("The 25 flows with the most bytes") != std::string::npos);
}

TEST_CASE("html: the time line widens its interval to fit at most 96 of them, counting each flow once", "[report]") {
  struct Case {
    int64_t span_s, want_width_s;
  };
  for (const Case c : {Case{10, 1}, Case{95, 1}, Case{96, 2}, Case{3600, 60}, Case{86400, 1200}, Case{30 * 86400, 43200}}) {
    report::HtmlReport h;
    stats::Summary s;
    // Flows at both ends and in the middle, given latest first (records come at flow end, in any order).
    for (int64_t at : {c.span_s, c.span_s / 2, int64_t{0}}) {
      const stats::FlowRecord r = record(static_cast<uint64_t>(at), 100, kT0 + at * 1000000, at == 0 ? "call" : "chat");
      h.write(r);
      s.write(r);
    }
    INFO("span " << c.span_s << " s");
    CHECK(h.bin_seconds() == c.want_width_s);
    const std::string page = h.render(s, "sealscope test");
    // One <g><title> per interval that holds flows; their counts add up to the flows given.
    const std::regex title("<g><title>[^<]*</title>");
    size_t groups = 0, calls = 0, chats = 0;
    for (std::sregex_iterator it(page.begin(), page.end(), title), end; it != end; ++it) {
      ++groups;
      std::smatch m;
      const std::string t = it->str();
      if (std::regex_search(t, m, std::regex(" call ([0-9]+)"))) calls += std::stoul(m[1]);
      if (std::regex_search(t, m, std::regex(" chat ([0-9]+)"))) chats += std::stoul(m[1]);
    }
    CHECK(groups >= 1);
    CHECK(groups <= 3);
    CHECK(calls == 1);
    CHECK(chats == 2);
  }
}

TEST_CASE("html: every flow lies inside the time-line interval that counts it, at every width", "[report]") {
  // Flows spread over up to four years at odd times, so the interval widens through every width (days to
  // weeks was once not a multiple: a flow two days before a week's end was counted in the week before).
  for (int64_t span_days : {1, 9, 40, 400, 1500}) {
    report::HtmlReport h;
    stats::Summary s;
    std::vector<int64_t> starts;
    for (int64_t i = 0; i < 50; ++i) {
      const int64_t at = (span_days * 86400 * i) / 49 + (i * 7919) % 86400;
      const stats::FlowRecord r = record(static_cast<uint64_t>(i), 100, kT0 + at * 1000000);
      h.write(r);
      s.write(r);
      starts.push_back(kT0 / 1000000 + at);
    }
    INFO("span " << span_days << " days, width " << h.bin_seconds() << " s");
    const std::string page = h.render(s, "sealscope test");
    // Each interval's title: its start in UTC and its count of chat flows.
    const std::regex title("<g><title>([0-9-]+) ([0-9:]+) [^:]*: chat ([0-9]+)</title>");
    std::vector<std::pair<int64_t, uint64_t>> bins;
    for (std::sregex_iterator it(page.begin(), page.end(), title), end; it != end; ++it) {
      int y = 0, mo = 0, d = 0, hh = 0, mi = 0, ss = 0;
      REQUIRE(std::sscanf((*it)[1].str().c_str(), "%d-%d-%d", &y, &mo, &d) == 3);
      REQUIRE(std::sscanf((*it)[2].str().c_str(), "%d:%d:%d", &hh, &mi, &ss) == 3);
      std::tm tm{};
      tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d, tm.tm_hour = hh, tm.tm_min = mi, tm.tm_sec = ss;
      bins.emplace_back(static_cast<int64_t>(timegm(&tm)), std::stoull((*it)[3].str()));
    }
    REQUIRE(!bins.empty());
    for (const auto& [from, n] : bins) {
      const uint64_t inside = static_cast<uint64_t>(std::count_if(
          starts.begin(), starts.end(), [&, from = from](int64_t t) { return t >= from && t < from + h.bin_seconds(); }));
      INFO("interval from " << from);
      CHECK(n == inside);
    }
  }
}

TEST_CASE("html: markup in inputs, labels and server names stays text, notices say what went wrong", "[report]") {
  report::HtmlReport h;
  stats::Summary s;
  stats::FlowRecord r = record(1, 100, kT0);
  r.server_name = "<script>alert(1)</script>";
  r.verdict.label = "TLS.<b>";
  h.write(r);
  s.write(r);
  s.inputs = {"/tmp/<img src=x>.pcap"};
  s.timed = true;
  s.first_ts = kT0;
  s.last_ts = kT0 + 1000;
  SECTION("a clean run: no notices") {
    const std::string page = h.render(s, "sealscope <test>");
    CHECK(page.find("<script") == std::string::npos);
    CHECK(page.find("<img") == std::string::npos);
    CHECK(page.find("<b>") == std::string::npos);
    CHECK(page.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
    CHECK(page.find("sealscope &lt;test&gt;") != std::string::npos);
    CHECK(page.find("id=\"notices\"") == std::string::npos);
    CHECK(page.find("default-src 'none'") != std::string::npos);
  }
  SECTION("a cut-short input, an interruption and evictions are listed first") {
    s.problems.push_back({"/tmp/a.pcap", "truncated record", 4096, 12});
    s.interrupted = true;
    s.evictions = 3;
    const std::string page = h.render(s, "sealscope test");
    CHECK(page.find("<ul id=\"notices\" class=\"warn fail\">") != std::string::npos);
    CHECK(page.find("INCOMPLETE: /tmp/a.pcap: truncated record (stopped at byte 4096 after 12 packets)") !=
          std::string::npos);
    CHECK(page.find("INTERRUPTED") != std::string::npos);
    CHECK(page.find("3 flows were written early") != std::string::npos);
    CHECK(page.find("id=\"notices\"") < page.find("id=\"family-activity\""));
    CHECK(count(page, "<li>") == 3);
  }
  SECTION("an interface gone during a live capture: no byte offset, the packets captured") {
    s.problems.push_back({"veth0", "The interface disappeared", 0, 3, true});
    const std::string page = h.render(s, "sealscope test");
    CHECK(page.find("INCOMPLETE: veth0: The interface disappeared (capture stopped after 3 packets)") !=
          std::string::npos);
    CHECK(page.find("stopped at byte") == std::string::npos);
  }
}

TEST_CASE("html: a run without flows says so instead of drawing empty tables", "[report]") {
  report::HtmlReport h;
  stats::Summary s;
  s.inputs = {"arp-only.pcap"};
  s.frames = 3;
  s.not_ip = 3;
  const std::string page = h.render(s, "sealscope test");
  CHECK(page.find("id=\"no-flows\"") != std::string::npos);
  CHECK(page.find("id=\"top-flows\"") == std::string::npos);
  CHECK(page.find("id=\"timeline\"") == std::string::npos);
  CHECK(page.find("3 / 0") != std::string::npos);  // not-IP frames / malformed frames
  // The family, activity and label tables (and the three count tables) say "none", not an empty body.
  CHECK(count(page, "class=\"none\">none</td>") == 6);
  CHECK(page.find("0 labels, by flows") != std::string::npos);
  report::HtmlReport one;
  one.write(record(7, 100, kT0));
  stats::Summary s1;
  s1.write(record(7, 100, kT0));
  const std::string page1 = one.render(s1, "sealscope test");
  CHECK(page1.find("<h2>The one flow</h2>") != std::string::npos);
  CHECK(page1.find("1 label, by flows") != std::string::npos);
  CHECK(count(page1, "class=\"none\">none</td>") == 1);  // only the anomalies table is empty
}

TEST_CASE("html: new flows by local hour of day, in the zone given, daylight saving time honoured", "[report]") {
  // kT0 is 12:00 UTC. Kolkata is UTC+5:30 all year: 12:29 UTC is 17:59 there, 12:30 UTC is 18:00.
  // New York is UTC-5 in March before 2024-03-10 and UTC-4 after it.
  constexpr TimestampUs kMin = 60ll * 1000000;
  const TimestampUs summer = kT0 + 14ll * 86400 * 1000000;  // 2024-03-15 12:00 UTC: 08:00 EDT
  struct Case {
    const char* zone;
    std::vector<std::pair<int, std::vector<std::string>>> want;  // row index → cells after the hour
  };
  const Case cases[] = {
      {"UTC", {{12, {"1", "2", "3"}}, {13, {"0", "0", "0"}}}},
      {"Asia/Kolkata", {{17, {"1", "0", "1"}}, {18, {"0", "2", "2"}}}},
      {"America/New_York", {{7, {"1", "2", "3"}}, {8, {"0", "0", "0"}}}},
  };
  for (const Case& c : cases) {
    INFO(c.zone);
    report::HtmlReport h;
    const date::time_zone* tz = find_zone(c.zone);
    REQUIRE(tz != nullptr);
    h.set_zone(c.zone == std::string("UTC") ? nullptr : tz, c.zone);
    stats::Summary s;
    for (const stats::FlowRecord& r : {record(1, 100, kT0 + 29 * kMin, "call"), record(2, 100, kT0 + 30 * kMin),
                                       record(3, 100, kT0 + 59 * kMin + 59999999)}) {
      h.write(r);
      s.write(r);
    }
    const std::string page = h.render(s, "sealscope test");
    CHECK(page.find(std::string("<h2>New flows by hour of day (") + c.zone + "), by activity</h2>") !=
          std::string::npos);
    const auto rows = hour_rows(page);
    REQUIRE(rows.size() == 25);  // the header and 24 hours
    CHECK(rows[0] == std::vector<std::string>{"hour", "call", "chat", "all"});  // only activities that occur
    CHECK(rows[1][0] == "00:00\u201301:00");
    CHECK(rows[24][0] == "23:00\u201324:00");
    uint64_t all = 0;
    for (size_t i = 1; i < rows.size(); ++i) all += std::stoull(rows[i].back());
    CHECK(all == 3);
    for (const auto& [hour, cells] : c.want) {
      INFO("hour " << hour);
      CHECK(std::vector<std::string>(rows[static_cast<size_t>(hour) + 1].begin() + 1,
                                     rows[static_cast<size_t>(hour) + 1].end()) == cells);
    }
  }
  // After the spring change New York is UTC-4: 12:00 UTC is 08:00, not 07:00.
  report::HtmlReport ny;
  ny.set_zone(find_zone("America/New_York"), "America/New_York");
  stats::Summary s;
  ny.write(record(1, 100, summer));
  s.write(record(1, 100, summer));
  const auto rows = hour_rows(ny.render(s, "sealscope test"));
  REQUIRE(rows.size() == 25);
  CHECK(rows[8 + 1] == std::vector<std::string>{"08:00\u201309:00", "1", "1"});
  CHECK(rows[7 + 1] == std::vector<std::string>{"07:00\u201308:00", "0", "0"});
}

TEST_CASE("html: local_clock takes any 64-bit time (the sanitizer build aborts on overflow)", "[report]") {
  // Capture files can claim any time; local_clock() must not overflow adding a zone's offset.
  const date::time_zone* tz = find_zone("Asia/Kolkata");
  REQUIRE(tz != nullptr);
  for (const TimestampUs ts : {std::numeric_limits<TimestampUs>::max(), std::numeric_limits<TimestampUs>::min(),
                               TimestampUs{-1}, TimestampUs{0}}) {
    INFO(ts);
    CHECK(local_clock(tz, ts).minute < 1440);
    CHECK(local_clock(nullptr, ts).minute < 1440);
  }
  CHECK(local_clock(tz, 0).minute == 5 * 60 + 30);  // 1970-01-01 05:30 in Kolkata
  CHECK(local_clock(nullptr, -1).minute == 1439);   // a microsecond before the epoch: 23:59 the day before
  // Records are bounded to 9999-12-31T23:59:59.999999Z (timestamp_out_of_range beyond): the last
  // microsecond of 9999 is 05:29 on 1 January 10000 in Kolkata.
  constexpr TimestampUs kLast = 253402300800ll * 1000000 - 1;
  report::HtmlReport h;
  h.set_zone(tz, "Asia/Kolkata");
  stats::Summary s;
  h.write(record(1, 100, kLast));
  s.write(record(1, 100, kLast));
  const auto rows = hour_rows(h.render(s, "sealscope test"));
  REQUIRE(rows.size() == 25);
  CHECK(rows[5 + 1].back() == "1");
}
