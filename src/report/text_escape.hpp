#pragma once
#include <fmt/format.h>

#include <string_view>

namespace sealscope::report {

/// Appends `s` as a JSON string literal: " and \ get a backslash, and every byte outside printable ASCII
/// (controls, 0x7F, each byte >= 0x80) is written as \u00XX, so the output is valid JSON (and ASCII)
/// whatever a capture put into a name; a UTF-8 name reads back as its bytes taken as Latin-1.
/// Hand-written: nlohmann::json (linked) needs a json value per string and, like rapidjson's Writer and
/// yajl_gen, takes the input as UTF-8: bytes >= 0x80 are copied through (invalid UTF-8 then makes invalid
/// JSON), replaced by U+FFFD, or refused.
void append_json_string(fmt::memory_buffer& out, std::string_view s);

/// Appends `s` as HTML text or a quoted attribute value: & < > " ' become character references, and bytes
/// outside printable ASCII become the text \xNN, as in CSV (a name from a capture need not be UTF-8).
/// Hand-written: glib's g_markup_escape_text returns a newly allocated string per call and expects valid
/// UTF-8 input.
void append_html_text(fmt::memory_buffer& out, std::string_view s);

/// Appends `s` as one RFC 4180 CSV field (quoted when needed); bytes outside printable ASCII become \xNN.
/// Hand-written: libcsv's csv_write always quotes the field and copies control and non-ASCII bytes as
/// they are.
void append_csv_field(fmt::memory_buffer& out, std::string_view s);

}  // namespace sealscope::report
