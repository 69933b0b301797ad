// libFuzzer target: simple_vsnprintf, the fast path of the sealscope executable's snprintf, against glibc's
// vsnprintf. The format is a sequence of tokens the bytes choose (literal text, the conversions it takes,
// and ones it must leave to glibc), with up to four arguments, strings from the input (or a long one, or
// one inside the destination). Wherever simple_vsnprintf takes the call, its return value and every byte
// of the buffer must equal glibc's; wherever it does not, it must have written nothing. This executable does
// not carry the interposer, so snprintf here is glibc's (or the sanitizer's wrapper of it).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/simple_printf.hpp"
#include "fuzz_input.hpp"
#include "simple_printf_tokens.hpp"

namespace {

using Kind = sealscope::fuzz::PrintfArg;
using sealscope::fuzz::kPrintfTokenCount;
using sealscope::fuzz::kPrintfTokens;
constexpr size_t kMaxArgs = 4, kCap = 600;
constexpr char kFill = '\x5a';

struct Arg {
  Kind kind;
  std::string text;      // a string argument's own text, or
  long in_dest = -1;     // its offset in the destination buffer (which holds text there before the call)
  unsigned value = 0;
};

struct Call {
  std::string fmt;
  std::vector<Arg> args;
  size_t n = 0;
};

// glibc's snprintf through a pointer: the formats are not literals (and some calls pass no arguments).
int (*const glibc)(char*, size_t, const char*, ...) = std::snprintf;
constexpr auto ours = sealscope::simple_snprintf;

/// Calls `f(buf, n, fmt, args...)` with the call's arguments, strings inside the destination taken from
/// `buf` itself.
template <class F, class... A>
int with_args(const Call& c, char* buf, F f, size_t i, A... a) {
  if (i == c.args.size()) return f(buf, c.n, c.fmt.c_str(), a...);
  if constexpr (sizeof...(A) < kMaxArgs) {
    const Arg& g = c.args[i];
    if (g.kind == Kind::Num) return with_args(c, buf, f, i + 1, a..., g.value);
    return with_args(c, buf, f, i + 1, a..., g.in_dest >= 0 ? buf + g.in_dest : g.text.c_str());
  }
  std::abort();  // never more than kMaxArgs arguments
}

/// The destination before the call: kFill, with "abc" and its terminator at offset 40.
void prepare(std::vector<char>& b) {
  std::fill(b.begin(), b.end(), kFill);
  std::memcpy(b.data() + 40, "abc", 4);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  sealscope::fuzz::Input in(data, size);
  Call c;
  const uint8_t size_sel = in.u8();
  c.n = size_sel < 250 ? size_sel % 80 : kCap - (size_sel - 250) * 50;  // mostly small, a few up to kCap
  const uint8_t flags = in.u8();
  size_t strings = 0;
  while (in.left() > 0 && c.fmt.size() < 300) {
    const uint8_t t = in.u8();
    if (t >= 0x80) {  // a literal character (never '%')
      const char ch = static_cast<char>(0x20 + (t & 0x5f));
      c.fmt.push_back(ch == '%' ? '#' : ch);
      continue;
    }
    const auto& tok = kPrintfTokens[t % kPrintfTokenCount];
    if (tok.arg != Kind::None && c.args.size() == kMaxArgs) break;
    c.fmt += tok.text;
    if (tok.arg == Kind::Num) {
      Arg a{Kind::Num, {}, -1, static_cast<unsigned>(in.u16()) << (in.u8() % 17)};
      c.args.push_back(a);
    } else if (tok.arg == Kind::Str) {
      Arg a{Kind::Str, {}, -1, 0};
      const unsigned which = (flags >> (2 * (strings++ % 4))) & 3u;
      if (which == 3) {
        a.text.assign(200 + in.u8(), 'w');  // around the 256-byte limit
      } else if (which == 2) {
        a.in_dest = 38 + in.u8() % 5;  // inside, just before or just after "abc" in the destination
      } else {
        std::size_t len = 0;
        const uint8_t* p = in.chunk(len);
        a.text.assign(reinterpret_cast<const char*>(p), len);
        a.text = a.text.substr(0, a.text.find('\0'));
      }
      c.args.push_back(std::move(a));
    }
  }
  std::vector<char> mine(kCap), theirs(kCap);
  prepare(mine);
  prepare(theirs);
  const int r = with_args(c, mine.data(), ours, 0);
  if (r == sealscope::kNotSimple) {
    if (std::memcmp(mine.data(), theirs.data(), kCap) != 0) std::abort();  // it wrote before giving up
    return 0;
  }
  const int want = with_args(c, theirs.data(), glibc, 0);
  if (r != want || std::memcmp(mine.data(), theirs.data(), kCap) != 0) {
    std::fprintf(stderr, "format \"%s\" size %zu: ours %d, glibc %d\n", c.fmt.c_str(), c.n, r, want);
    std::abort();
  }
  return 0;
}
