#pragma once
#include <fmt/format.h>

#include <string_view>

namespace sealscope::report {

/// Appends `s` as a JSON string literal. Bytes outside printable ASCII are written as \u00XX, so the
/// output is valid JSON (and ASCII) whatever a capture put into a name. Hand-written because the flow
/// writer formats every record with fmt into one buffer, without building a DOM per flow.
void append_json_string(fmt::memory_buffer& out, std::string_view s);

/// Appends `s` as one RFC 4180 CSV field (quoted when needed); control bytes become \xNN.
void append_csv_field(fmt::memory_buffer& out, std::string_view s);

}  // namespace sealscope::report
