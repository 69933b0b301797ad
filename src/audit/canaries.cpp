#include "audit/canaries.hpp"

#include <fmt/format.h>
#include <iconv.h>
#include <sodium.h>

#include <algorithm>
#include <fstream>

#include "common/errors.hpp"
#include "common/text_input.hpp"

namespace sealscope::audit {

const char* encoding_name(Encoding e) {
  switch (e) {
    case Encoding::Raw: return "raw";
    case Encoding::HexLower: return "hex-lower";
    case Encoding::HexUpper: return "hex-upper";
    case Encoding::Base64Align0: return "base64/0";
    case Encoding::Base64Align1: return "base64/1";
    case Encoding::Base64Align2: return "base64/2";
    case Encoding::Utf16Le: return "utf-16le";
    case Encoding::Utf16Be: return "utf-16be";
    case Encoding::UrlUpper: return "url";
    case Encoding::UrlLower: return "url-lower";
    case Encoding::UrlForm: return "url-form";
    case Encoding::Count: break;
  }
  return "?";
}

std::vector<Canary> load_canaries(const std::string& path) {
  std::ifstream in = open_text_input(path, "canaries file", "cannot open the canaries file");
  std::vector<Canary> out;
  std::string line;
  uint32_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (n == 1) {
      // Editors on Windows save UTF-8 with a byte-order mark: kept, it would become part of the first
      // canary, which would then never match (a false PASS). UTF-16 text would never match at all.
      if (line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
      if (line.compare(0, 2, "\xFF\xFE") == 0 || line.compare(0, 2, "\xFE\xFF") == 0) {
        throw ConfigError(path, 1, 1, "the file is UTF-16 (byte-order mark); expected UTF-8 text, one canary per line");
      }
    }
    const size_t text_begin = line.find_first_not_of(" \t");
    if (text_begin == std::string::npos || line[0] == '#') continue;  // blank (spaces and tabs only) or comment
    // Spaces around a canary would be searched as part of it and it would never match: a false PASS.
    if (text_begin > 0 || line.back() == ' ' || line.back() == '\t') {
      const size_t col = text_begin > 0 ? 1 : line.find_last_not_of(" \t") + 2;
      throw ConfigError(path, static_cast<int>(n), text_column(line, col - 1),
                        fmt::format("canary {} with a space or tab, which would be searched as part of it; expected "
                                    "the canary alone on the line",
                                    text_begin > 0 ? "begins" : "ends"));
    }
    if (const size_t nul = line.find('\0'); nul != std::string::npos) {
      throw ConfigError(path, static_cast<int>(n), text_column(line, nul),
                        "NUL byte in a canary (is the file UTF-16?); expected UTF-8 text, one canary per line");
    }
    if (line.size() < kMinCanaryBytes) {
      throw ConfigError(path, static_cast<int>(n), 1,
                        fmt::format("canary of {} bytes; expected at least {} (shorter strings match ciphertext "
                                    "by chance)",
                                    line.size(), kMinCanaryBytes));
    }
    out.push_back({static_cast<uint32_t>(out.size() + 1), n, line});
  }
  if (in.bad()) throw InputError(path + ": read error");
  if (out.empty()) {
    throw ConfigError(path, static_cast<int>(std::max<uint32_t>(n, 1)), 1, "no canary in the file; expected one per line");
  }
  return out;
}

std::string to_hex(const std::string& s, bool upper) {
  std::string out(s.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(s.data()), s.size());
  out.pop_back();
  if (upper) {
    for (char& c : out) {
      if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return out;
}

std::string base64_core(const std::string& s, int align) {
  std::string in(static_cast<size_t>(align), '\0');
  in += s;
  std::string enc(sodium_base64_ENCODED_LEN(in.size(), sodium_base64_VARIANT_ORIGINAL_NO_PADDING), '\0');
  sodium_bin2base64(enc.data(), enc.size(), reinterpret_cast<const unsigned char*>(in.data()), in.size(),
                    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
  enc.resize(std::char_traits<char>::length(enc.c_str()));
  // Character i covers bits [6i, 6i+6) of the input; keep those wholly inside the canary's bits.
  const size_t first = (8 * static_cast<size_t>(align) + 5) / 6;
  const size_t end = 8 * in.size() / 6;  // one past the last whole character
  if (end <= first || end > enc.size()) return {};
  return enc.substr(first, end - first);
}

// glibc's iconv(3) converts: it refuses overlong forms, encoded surrogates, values above U+10FFFF and a
// truncated last sequence, and its "UTF-16LE"/"UTF-16BE" targets write no byte-order mark.
bool to_utf16(const std::string& s, bool big_endian, std::string& out) {
  out.clear();
  const iconv_t cd = iconv_open(big_endian ? "UTF-16BE" : "UTF-16LE", "UTF-8");
  if (cd == reinterpret_cast<iconv_t>(-1)) return false;
  out.resize(2 * s.size());  // UTF-16 takes at most two bytes per byte of UTF-8
  char* in = const_cast<char*>(s.data());  // iconv's signature; the input is not written
  size_t in_left = s.size();
  char* o = out.data();
  size_t out_left = out.size();
  const bool ok = iconv(cd, &in, &in_left, &o, &out_left) != static_cast<size_t>(-1) && in_left == 0;
  iconv_close(cd);
  out.resize(ok ? out.size() - out_left : 0);
  return ok;
}

// Hand-written: percent-encoding is a loop over a fixed character class.
std::string url_encode(const std::string& s, bool upper, bool form) {
  static constexpr char kUp[] = "0123456789ABCDEF", kLow[] = "0123456789abcdef";
  const char* digits = upper ? kUp : kLow;
  std::string out;
  for (unsigned char c : s) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else if (form && c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xF]);
    }
  }
  return out;
}

std::vector<Pattern> encode_canaries(const std::vector<Canary>& canaries) {
  std::vector<Pattern> out;
  for (uint32_t i = 0; i < canaries.size(); ++i) {
    const std::string& t = canaries[i].text;
    const size_t first = out.size();
    auto add = [&](Encoding e, std::string bytes) {
      if (bytes.empty()) return;
      for (size_t k = first; k < out.size(); ++k) {
        if (out[k].bytes == bytes) return;
      }
      out.push_back({i, e, std::move(bytes)});
    };
    add(Encoding::Raw, t);
    add(Encoding::HexLower, to_hex(t, false));
    add(Encoding::HexUpper, to_hex(t, true));
    add(Encoding::Base64Align0, base64_core(t, 0));
    add(Encoding::Base64Align1, base64_core(t, 1));
    add(Encoding::Base64Align2, base64_core(t, 2));
    std::string u;
    if (to_utf16(t, false, u)) add(Encoding::Utf16Le, u);
    if (to_utf16(t, true, u)) add(Encoding::Utf16Be, u);
    add(Encoding::UrlUpper, url_encode(t, true, false));
    add(Encoding::UrlLower, url_encode(t, false, false));
    add(Encoding::UrlForm, url_encode(t, true, true));
  }
  return out;
}

}  // namespace sealscope::audit
