#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sealscope::audit {

/// How a canary was written on the wire.
enum class Encoding : uint8_t {
  Raw,
  HexLower,
  HexUpper,
  Base64Align0,  ///< the canary starts a base64 quantum
  Base64Align1,  ///< one byte of the 3-byte quantum precedes it
  Base64Align2,  ///< two bytes precede it
  Utf16Le,
  Utf16Be,
  UrlUpper,      ///< RFC 3986 percent-encoding, %XX in upper case
  UrlLower,      ///< %xx in lower case
  UrlForm,       ///< application/x-www-form-urlencoded: '+' for space
  Count
};

/// Stable name of an encoding for reports ("raw", "hex-lower", "base64/1", …).
const char* encoding_name(Encoding e);

/// A canary: a string known to be in the plaintext (message, file content, file name).
struct Canary {
  uint32_t index = 0;  ///< 1-based, in file order; reports name canaries by this and `line`, never by text
  uint32_t line = 0;   ///< line in the canaries file
  std::string text;    ///< bytes as in the file (UTF-8 expected, not required)
};

/// One byte pattern to search for: a canary in one encoding.
struct Pattern {
  uint32_t canary = 0;  ///< index into the canary list (0-based)
  Encoding encoding = Encoding::Raw;
  std::string bytes;
};

/// Shortest canary accepted: shorter strings would turn up in ciphertext by chance (a 6-byte literal is
/// expected once per 2^48 random positions, per encoding).
inline constexpr std::size_t kMinCanaryBytes = 6;

/// Reads a canaries file: one canary per line (UTF-8), '#' at the start of a line makes a comment, blank
/// lines are skipped, a trailing CR is dropped. Throws ConfigError (file:line) for a canary shorter than
/// kMinCanaryBytes, a file without canaries, or an unreadable file.
std::vector<Canary> load_canaries(const std::string& path);

/// Every encoded form of every canary (duplicates of an earlier form of the same canary dropped: e.g. the
/// URL forms of a canary without reserved characters equal its raw form). UTF-16 forms are made from the
/// UTF-8 decoding; a canary that is not valid UTF-8 gets none.
std::vector<Pattern> encode_canaries(const std::vector<Canary>& canaries);

/// The single encodings (exposed for tests).
std::string to_hex(const std::string& s, bool upper);
/// The base64 characters that depend only on the canary's bytes when `align` bytes (0-2) precede it in its
/// 3-byte quantum (RFC 4648 alphabet, no padding).
std::string base64_core(const std::string& s, int align);
/// UTF-16 code units (little or big endian) of a UTF-8 string; false when `s` is not valid UTF-8.
bool to_utf16(const std::string& s, bool big_endian, std::string& out);
/// Percent-encoding of everything but RFC 3986 unreserved characters; form = '+' for space.
std::string url_encode(const std::string& s, bool upper, bool form);

}  // namespace sealscope::audit
