#include "common/simple_printf.hpp"

#include <cstdint>
#include <cstring>

namespace sealscope {

namespace {

/// Appends `v` in `base` (10, or 16 with `digits`), padded to `width` with '0' or ' ', at out[len]; false
/// if it would not fit in kSimpleMax. Written in place, last digit first.
bool put_number(char* out, size_t& len, unsigned v, unsigned base, const char* digits, unsigned width, bool zero) {
  unsigned count = 1;
  if (base == 16) {
    for (unsigned t = v >> 4; t != 0; t >>= 4) ++count;
  } else {
    for (unsigned t = v / 10u; t != 0; t /= 10u) ++count;
  }
  const unsigned w = width > count ? width : count;
  if (w > kSimpleMax - len) return false;
  char* const start = out + len;
  char* q = start + w;
  if (base == 16) {
    do {
      *--q = digits[v & 15u];
      v >>= 4;
    } while (v != 0);
  } else {
    do {
      *--q = static_cast<char>('0' + v % 10u);
      v /= 10u;
    } while (v != 0);
  }
  while (q != start) *--q = zero ? '0' : ' ';
  len += w;
  return true;
}

}  // namespace

int simple_vsnprintf(char* s, size_t n, const char* fmt, va_list ap) noexcept {
  // The whole result is made in a scratch buffer and copied once at the end, so a call this cannot take
  // has written nothing when it hands over to glibc.
  char out[kSimpleMax];  // nDPI's results: a few bytes (a number, a byte in hex) to a few dozen (a name)
  size_t len = 0;
  const auto dst = reinterpret_cast<uintptr_t>(s);
  const uintptr_t dst_end = n > UINTPTR_MAX - dst ? UINTPTR_MAX : dst + n;
  for (const char* f = fmt; *f != '\0'; ++f) {
    if (*f != '%') {
      if (len == kSimpleMax) return kNotSimple;
      out[len++] = *f;
      continue;
    }
    ++f;
    bool zero = false;
    unsigned width = 0;
    if (*f == '0') {
      zero = true;
      ++f;
    }
    if (*f >= '1' && *f <= '9') {
      width = static_cast<unsigned>(*f - '0');
      ++f;
    }
    bool fits = true;
    switch (*f) {
      case 's': {
        if (zero || width != 0) return kNotSimple;
        const char* p = va_arg(ap, const char*);
        if (p == nullptr) return kNotSimple;
        const size_t m = std::strlen(p);
        // glibc writes as it reads: a source within the destination (its terminator included) would read
        // what the call has written so far.
        const auto src = reinterpret_cast<uintptr_t>(p);
        if (n > 0 && src < dst_end && dst <= src + m) return kNotSimple;
        if (m > kSimpleMax - len) return kNotSimple;
        std::memcpy(out + len, p, m);
        len += m;
        break;
      }
      case 'u':
        fits = put_number(out, len, va_arg(ap, unsigned), 10, nullptr, width, zero);
        break;
      case 'x':
        fits = put_number(out, len, va_arg(ap, unsigned), 16, "0123456789abcdef", width, zero);
        break;
      case 'X':
        fits = put_number(out, len, va_arg(ap, unsigned), 16, "0123456789ABCDEF", width, zero);
        break;
      default:  // '%', another flag or conversion, a precision, a length modifier, or the format's end
        return kNotSimple;
    }
    if (!fits) return kNotSimple;
  }
  if (n > 0) {
    const size_t m = len < n - 1 ? len : n - 1;
    std::memcpy(s, out, m);
    s[m] = '\0';
  }
  return static_cast<int>(len);
}

int simple_snprintf(char* s, size_t n, const char* fmt, ...) noexcept {
  va_list ap;
  va_start(ap, fmt);
  const int r = simple_vsnprintf(s, n, fmt, ap);
  va_end(ap);
  return r;
}

}  // namespace sealscope
