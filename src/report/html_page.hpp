#pragma once
#include <fmt/format.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sealscope::report::html {

/// The pieces every sealscope report page is made of (analyze, policy test and audit --html): one
/// self-contained file with inline styles, no script, nothing fetched (a Content-Security-Policy of
/// default-src 'none'), every string from a capture or a rules file escaped.
using Buf = fmt::memory_buffer;

/// Doctype, head (CSP, the shared style sheet, `title`) and the page's <h1>.
void begin(Buf& b, std::string_view title, std::string_view heading);
/// The footer saying what the page holds (`holds`, a sentence) and which program made it, then the end.
void end(Buf& b, std::string_view holds, std::string_view generator);

/// Escaped text (element content or a quoted attribute value).
void text(Buf& b, std::string_view s);
/// Appends markup as is.
inline void raw(Buf& b, std::string_view s) { b.append(s.data(), s.data() + s.size()); }

/// Each item as " <code>item</code>" (file names, interfaces).
void code_list(Buf& b, const std::vector<std::string>& items);
/// A table cell with a byte count: "1.5 MB" to read, the exact count in its title ("1489120 bytes").
void bytes_cell(Buf& b, uint64_t n);
/// A right-aligned cell with a count.
void count_cell(Buf& b, uint64_t n);
/// A row of a two-column key/value table; `id`, when given, is the value cell's id.
void kv_row(Buf& b, std::string_view key, std::string_view value, std::string_view id = {});
/// A small table of name → count (flow ends, anomalies, …), "none" when empty.
void counts_table(Buf& b, std::string_view id, std::string_view what, const std::map<std::string, uint64_t>& m);
/// A warning list (id "notices") when `notices` is not empty; `failed` marks it as a failure (red).
void notices(Buf& b, const std::vector<std::string>& notices, bool failed);

/// "1.2 s", "3.4 min", … for a duration in seconds.
std::string duration(double seconds);
/// "2024-03-01 12:00:00" (UTC, the page's headings say so) for a timestamp in microseconds.
std::string utc(int64_t ts_us);

}  // namespace sealscope::report::html
