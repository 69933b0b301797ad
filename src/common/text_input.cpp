#include "common/text_input.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>

#include "common/errors.hpp"

namespace sealscope {

std::ifstream open_text_input(const std::string& path, const std::string& noun, const std::string& open_failure) {
  std::error_code ec;
  // A directory opens as a stream that reads nothing, which would pass for an empty file.
  if (std::filesystem::is_directory(path, ec)) throw InputError(path + ": is a directory, not a " + noun);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": " + open_failure + ": " + std::strerror(errno));
  return in;
}

int text_column(std::string_view line, std::size_t byte_offset) {
  // No packaged library at hand counts code points in a prefix (ICU would be a large dependency for one
  // loop): a UTF-8 character is one lead byte plus continuation bytes (10xxxxxx), so count the others.
  int col = 1;
  const std::size_t end = byte_offset < line.size() ? byte_offset : line.size();
  for (std::size_t i = 0; i < end; ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) ++col;
  }
  return col;
}

std::string_view text_line(std::string_view text, int line) {
  std::size_t start = 0;
  for (int n = 1; n < line; ++n) {
    const std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) return {};
    start = nl + 1;
  }
  std::size_t end = text.find('\n', start);
  if (end == std::string_view::npos) end = text.size();
  if (end > start && text[end - 1] == '\r') --end;
  return text.substr(start, end - start);
}

int character_column(std::string_view text, int line, int byte_column) {
  if (byte_column <= 1) return byte_column;
  std::string_view l = text_line(text, line);
  if (line == 1 && l.substr(0, 3) == "\xEF\xBB\xBF") l.remove_prefix(3);
  return text_column(l, static_cast<std::size_t>(byte_column - 1));
}

std::string read_text_input(const std::string& path, const std::string& noun, const std::string& open_failure) {
  std::ifstream in = open_text_input(path, noun, open_failure);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw InputError(path + ": " + open_failure + ": " + std::strerror(errno));
  return text;
}

}  // namespace sealscope
