#pragma once
// Opening the text files the commands read (rules, canaries, labels), with the same errors for each.
#include <cstddef>
#include <fstream>
#include <string>
#include <string_view>

namespace sealscope {

/// Opens `path` for reading; throws InputError "PATH: is a directory, not a NOUN" or
/// "PATH: OPEN_FAILURE: <the system's reason>". NOUN names the kind of file ("rules file"), OPEN_FAILURE
/// says what could not be done ("cannot read the rules file").
std::ifstream open_text_input(const std::string& path, const std::string& noun, const std::string& open_failure);

/// The 1-based column, in characters, of the byte at `byte_offset` in `line` (UTF-8): what an editor shows
/// for "file:line:column" on a line with "Köln" or "straße" before the spot, where a byte count would point
/// past it. Bytes of a broken sequence count one each.
int text_column(std::string_view line, std::size_t byte_offset);

/// Line `line` (1-based) of `text`, without its line break; empty past the end.
std::string_view text_line(std::string_view text, int line);

/// A parser's position (1-based line, 1-based column counted in bytes, as yaml-cpp's marks count them:
/// from after a leading UTF-8 byte-order mark) turned into the column in characters on that line of
/// `text`. Every command that reports FILE:LINE:COLUMN for a YAML file goes through this.
int character_column(std::string_view text, int line, int byte_column);

/// The whole of `path` as text; throws InputError like open_text_input, and also when reading fails.
std::string read_text_input(const std::string& path, const std::string& noun, const std::string& open_failure);

}  // namespace sealscope
