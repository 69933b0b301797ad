#include "common/text_input.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

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

}  // namespace sealscope
