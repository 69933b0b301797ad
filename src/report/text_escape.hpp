#pragma once
#include <fmt/format.h>

#include <string_view>

namespace sealscope::report {

/// Appends `s` as a JSON string literal. Bytes outside printable ASCII are written as \u00XX, so the
/// output is valid JSON (and ASCII) whatever a capture put into a name. Hand-written because the flow
/// writer formats every record with fmt into one buffer, without building a DOM per flow.
void append_json_string(fmt::memory_buffer& out, std::string_view s);

/// Appends `s` as HTML text or a quoted attribute value: & < > " ' become character references, and bytes
/// outside printable ASCII become the text \xNN, as in CSV (a name from a capture need not be UTF-8).
void append_html_text(fmt::memory_buffer& out, std::string_view s);

/// Appends `s` as one RFC 4180 CSV field (quoted when needed); control bytes become \xNN.
void append_csv_field(fmt::memory_buffer& out, std::string_view s);

}  // namespace sealscope::report
