#include "common/simple_printf.hpp"

#include <climits>
#include <cstdint>
#include <cstring>

namespace sealscope {

namespace {

constexpr int kMaxArgs = 8;

/// One conversion's text: a %s argument in place, or a number written into `num` (right-aligned).
struct Piece {
  const char* p;
  size_t len;
  char num[16];
};

/// Writes `v` in `base` (10, or 16 with `digits`) at the end of `piece.num`, padded to `width` with '0'
/// or ' ', and points the piece at it.
void render(Piece& piece, unsigned v, unsigned base, const char* digits, unsigned width, bool zero) {
  char* const end = piece.num + sizeof piece.num;
  char* q = end;
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
  while (static_cast<unsigned>(end - q) < width) *--q = zero ? '0' : ' ';
  piece.p = q;
  piece.len = static_cast<size_t>(end - q);
}

}  // namespace

int simple_vsnprintf(char* s, size_t n, const char* fmt, va_list ap) noexcept {
  // Two passes, so that a call this cannot take has written nothing when it hands over to libc: the first
  // reads the arguments and measures, the second writes.
  Piece pieces[kMaxArgs];
  int count = 0;
  size_t total = 0;
  const auto dst = reinterpret_cast<uintptr_t>(s);
  const uintptr_t dst_end = n > UINTPTR_MAX - dst ? UINTPTR_MAX : dst + n;
  for (const char* f = fmt; *f != '\0'; ++f) {
    if (*f != '%') {
      ++total;
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
    if (count == kMaxArgs) return kNotSimple;
    Piece& piece = pieces[count++];
    switch (*f) {
      case 's': {
        if (zero || width != 0) return kNotSimple;
        const char* p = va_arg(ap, const char*);
        if (p == nullptr) return kNotSimple;
        piece.p = p;
        piece.len = std::strlen(p);
        // A source within the destination (its terminator included) would read what this call writes.
        const auto src = reinterpret_cast<uintptr_t>(p);
        if (n > 0 && src < dst_end && dst <= src + piece.len) return kNotSimple;
        break;
      }
      case 'u':
        render(piece, va_arg(ap, unsigned), 10, nullptr, width, zero);
        break;
      case 'x':
        render(piece, va_arg(ap, unsigned), 16, "0123456789abcdef", width, zero);
        break;
      case 'X':
        render(piece, va_arg(ap, unsigned), 16, "0123456789ABCDEF", width, zero);
        break;
      default:  // '%', another flag or conversion, a precision, a length modifier, or the format's end
        return kNotSimple;
    }
    total += piece.len;
  }
  if (total > static_cast<size_t>(INT_MAX)) return kNotSimple;  // glibc: -1 and EOVERFLOW
  if (n > 0) {
    const size_t cap = n - 1;
    size_t pos = 0;
    int k = 0;
    for (const char* f = fmt; *f != '\0' && pos < cap; ++f) {
      if (*f != '%') {
        s[pos++] = *f;
        continue;
      }
      ++f;  // the first pass accepted the conversion: an optional '0', an optional digit, then the letter
      if (*f == '0') ++f;
      if (*f >= '1' && *f <= '9') ++f;
      const Piece& piece = pieces[k++];
      const size_t m = piece.len < cap - pos ? piece.len : cap - pos;
      std::memcpy(s + pos, piece.p, m);
      pos += m;
    }
    s[pos] = '\0';
  }
  return static_cast<int>(total);
}

}  // namespace sealscope
