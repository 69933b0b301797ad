#pragma once
// The fast path of the process's snprintf (src/cli/snprintf_interpose.cpp): the few conversions nDPI 4.2
// builds its JA3 strings and certificate fingerprints with, one number per call.
#include <cstdarg>
#include <cstddef>

namespace sealscope {

/// simple_vsnprintf's answer when the call is not one it takes: nothing was written, and the caller
/// formats with glibc instead (from a copy of the va_list: this one has been read from).
inline constexpr int kNotSimple = -2;

/// The longest result simple_vsnprintf makes itself (without the terminator).
inline constexpr size_t kSimpleMax = 256;

/// vsnprintf for formats made of literal text and the conversions %s, %u, %x and %X, the three numeric
/// ones with an optional 0 flag and a one-digit width (%02x, %04X, %2u). The result is glibc's to the byte:
/// the same characters, the same truncation to n - 1 bytes and terminator (nothing written when n is 0),
/// the same return value, and no byte after the terminator touched. Returns kNotSimple, having written
/// nothing, for anything else: another flag, conversion, precision or length modifier, a null %s argument
/// (glibc prints "(null)"), a %s argument that overlaps the destination, or a result longer than
/// kSimpleMax bytes.
int simple_vsnprintf(char* s, size_t n, const char* fmt, va_list ap) noexcept;

/// simple_vsnprintf with the arguments in place (for the tests, which hold it against glibc's snprintf).
int simple_snprintf(char* s, size_t n, const char* fmt, ...) noexcept;

}  // namespace sealscope
