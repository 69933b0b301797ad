// The format tokens of fuzz_simple_printf (and of its seeds, made by mkseeds): literal text, the
// conversions simple_vsnprintf takes, and ones it must leave to glibc.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace sealscope::fuzz {

enum class PrintfArg : uint8_t { None, Str, Num };
struct PrintfToken {
  const char* text;
  PrintfArg arg;  // what glibc reads for it (a number: an unsigned value, which int and char conversions
                  // may read too, as C allows for values both types hold; a string: any char or void pointer)
};
inline constexpr PrintfToken kPrintfTokens[] = {
    // taken: literal text and %s %u %x %X with an optional 0 flag and one-digit width
    {"%s", PrintfArg::Str}, {"%u", PrintfArg::Num}, {"%x", PrintfArg::Num}, {"%X", PrintfArg::Num},
    {"%02x", PrintfArg::Num}, {"%02X", PrintfArg::Num}, {"%04X", PrintfArg::Num}, {"%9u", PrintfArg::Num},
    {"%0u", PrintfArg::Num}, {"%1x", PrintfArg::Num}, {", ", PrintfArg::None}, {"=", PrintfArg::None},
    {"-", PrintfArg::None}, {"TLS (", PrintfArg::None}, {")", PrintfArg::None},
    // refused
    {"%d", PrintfArg::Num}, {"%c", PrintfArg::Num}, {"%5s", PrintfArg::Str}, {"%.1s", PrintfArg::Str},
    {"%p", PrintfArg::Str}, {"%%", PrintfArg::None}, {"%-3u", PrintfArg::Num}, {"%hhu", PrintfArg::Num},
    {"%#x", PrintfArg::Num}, {"%10u", PrintfArg::Num}, {"%00u", PrintfArg::Num}, {"%+u", PrintfArg::Num},
    {"%02s", PrintfArg::Str},
};
inline constexpr std::size_t kPrintfTokenCount = sizeof kPrintfTokens / sizeof kPrintfTokens[0];

/// The input byte that selects `text`; aborts if `text` is not one of the tokens (a seed would silently
/// read it as literal text).
inline uint8_t printf_token(const char* text) {
  for (std::size_t i = 0; i < kPrintfTokenCount; ++i) {
    if (std::strcmp(kPrintfTokens[i].text, text) == 0) return static_cast<uint8_t>(i);
  }
  std::abort();
}

}  // namespace sealscope::fuzz
