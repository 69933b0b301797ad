#pragma once
// Zero packing: drops the zero bytes of a mostly-zero block, keeping where the others were.
//
// Written here because no packaged library does this step: a general compressor (LZ4, zstd) spends a
// token and an offset on every short run between zeros. An nDPI 4.2 flow struct parked by NdpiEngine::park
// is 688 bytes with about 70 non-zero ones scattered over 18 of its 86 words: LZ4 made 136 bytes of it,
// this makes 98 (measured on the bench capture's 29,655 parked states).
//
// Layout: one bit per 8-byte word (set: the word has a non-zero byte), then for each such word a byte
// with one bit per byte of the word, then the word's non-zero bytes in order.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sealscope::zero_pack {

/// Largest packed size of n bytes.
constexpr size_t bound(size_t n) { return (n + 63) / 64 + (n + 7) / 8 + n; }

namespace detail {
static_assert(std::endian::native == std::endian::little, "nonzero_bytes numbers a word's bytes from the low end");
/// One bit per byte of the little-endian word `v` (bit j: byte j is not zero), without a loop over bytes.
inline uint8_t nonzero_bytes(uint64_t v) {
  constexpr uint64_t kLow7 = 0x7F7F7F7F7F7F7F7FULL;
  const uint64_t high = (((v & kLow7) + kLow7) | v) & ~kLow7;  // bit 7 of each byte: the byte is not zero
  return static_cast<uint8_t>((high >> 7) * 0x0102040810204080ULL >> 56);  // gather them, byte 0 lowest
}
}  // namespace detail

/// Packs n bytes of `in` into `out` (at least bound(n) bytes); returns the packed size.
inline size_t pack(const uint8_t* in, size_t n, uint8_t* out) {
  const size_t words = (n + 7) / 8;
  const size_t map_bytes = (words + 7) / 8;
  if (map_bytes > 0) std::memset(out, 0, map_bytes);  // n = 0: out may be null
  size_t o = map_bytes;
  for (size_t w = 0; w < words; ++w) {
    const size_t base = w * 8;
    const size_t len = n - base < 8 ? n - base : 8;
    uint64_t v = 0;
    if (len == 8) {
      std::memcpy(&v, in + base, 8);
    } else {
      std::memcpy(&v, in + base, len);  // the last, short word
    }
    if (v == 0) continue;  // most words are zero: one load decides
    const uint8_t mask = detail::nonzero_bytes(v);
    out[w / 8] |= static_cast<uint8_t>(1u << (w % 8));
    out[o++] = mask;
    for (unsigned m = mask; m != 0; m &= m - 1) out[o++] = in[base + static_cast<unsigned>(std::countr_zero(m))];
  }
  return o;
}

/// Unpacks `in_len` packed bytes into exactly n bytes of `out`. False when the input does not describe n
/// bytes (it is cut short, or has bytes left over): the caller's data is corrupt.
inline bool unpack(const uint8_t* in, size_t in_len, uint8_t* out, size_t n) {
  const size_t words = (n + 7) / 8;
  const size_t map_bytes = (words + 7) / 8;
  if (in_len < map_bytes) return false;
  if (words % 8 != 0 && (in[map_bytes - 1] >> (words % 8)) != 0) return false;  // bits past the last word
  if (n > 0) std::memset(out, 0, n);
  size_t i = map_bytes;
  for (size_t mb = 0; mb < map_bytes; ++mb) {
    for (unsigned bits = in[mb]; bits != 0; bits &= bits - 1) {  // the words that have bytes, in order
      if (i >= in_len) return false;
      const uint8_t mask = in[i++];
      const size_t base = (mb * 8 + static_cast<unsigned>(std::countr_zero(bits))) * 8;
      const size_t len = n - base < 8 ? n - base : 8;
      if (mask == 0 || (len < 8 && (mask >> len) != 0)) return false;
      const auto count = static_cast<size_t>(std::popcount(mask));
      if (in_len - i < count) return false;
      for (unsigned m = mask; m != 0; m &= m - 1) out[base + static_cast<unsigned>(std::countr_zero(m))] = in[i++];
    }
  }
  return i == in_len;
}

}  // namespace sealscope::zero_pack
