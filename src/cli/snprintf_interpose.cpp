// The sealscope executable's own snprintf and __snprintf_chk (glibc's fortified entry point), which the
// dynamic linker binds every library's calls to, nDPI's included: symbols the executable defines come
// first in the lookup scope, and ld exports them because libndpi refers to them.
//
// Why: nDPI 4.2 builds each TLS hello's JA3 string one number per snprintf call ("%s%u", "%u,"), and each
// JA3 digest and certificate fingerprint one byte per call ("%02x", "%02X"). On the bench capture that is
// about 1.2 million calls, each some 800 instructions in glibc's general printf machinery: a tenth of all
// the instructions of a run on the bench sample (callgrind). Those formats go through
// simple_vsnprintf, which writes the same bytes; every other call goes to glibc unchanged. No packaged
// library can be put under nDPI's calls, and nDPI has no switch to leave JA3 out.
//
// This file must not include <stdio.h>: with _FORTIFY_SOURCE its snprintf is an inline wrapper.
#include <cstdarg>
#include <cstddef>

#include "common/simple_printf.hpp"

extern "C" {

int vsnprintf(char* s, size_t n, const char* fmt, va_list ap) noexcept;
int __vsnprintf_chk(char* s, size_t n, int flag, size_t slen, const char* fmt, va_list ap) noexcept;

int snprintf(char* s, size_t n, const char* fmt, ...) noexcept {
  va_list ap, again;
  va_start(ap, fmt);
  va_copy(again, ap);
  int r = sealscope::simple_vsnprintf(s, n, fmt, ap);
  if (r == sealscope::kNotSimple) r = vsnprintf(s, n, fmt, again);
  va_end(again);
  va_end(ap);
  return r;
}

int __snprintf_chk(char* s, size_t n, int flag, size_t slen, const char* fmt, ...) noexcept {
  va_list ap, again;
  va_start(ap, fmt);
  va_copy(again, ap);
  // A destination smaller than n is glibc's to report (it aborts: "buffer overflow detected").
  int r = slen < n ? sealscope::kNotSimple : sealscope::simple_vsnprintf(s, n, fmt, ap);
  if (r == sealscope::kNotSimple) r = __vsnprintf_chk(s, n, flag, slen, fmt, again);
  va_end(again);
  va_end(ap);
  return r;
}

}  // extern "C"
