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
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sealscope::zero_pack {

/// Largest packed size of n bytes.
constexpr size_t bound(size_t n) { return (n + 63) / 64 + (n + 7) / 8 + n; }

/// Packs n bytes of `in` into `out` (at least bound(n) bytes); returns the packed size.
inline size_t pack(const uint8_t* in, size_t n, uint8_t* out) {
  const size_t words = (n + 7) / 8;
  const size_t map_bytes = (words + 7) / 8;
  if (map_bytes > 0) std::memset(out, 0, map_bytes);  // n = 0: out may be null
  size_t o = map_bytes;
  for (size_t w = 0; w < words; ++w) {
    const size_t base = w * 8;
    const size_t len = n - base < 8 ? n - base : 8;
    if (len == 8) {  // most words are zero: one load decides
      uint64_t v;
      std::memcpy(&v, in + base, 8);
      if (v == 0) continue;
    }
    uint8_t mask = 0;
    for (size_t j = 0; j < len; ++j) mask |= static_cast<uint8_t>((in[base + j] != 0) << j);
    if (mask == 0) continue;
    out[w / 8] |= static_cast<uint8_t>(1u << (w % 8));
    out[o++] = mask;
    for (size_t j = 0; j < len; ++j) {
      if (in[base + j] != 0) out[o++] = in[base + j];
    }
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
  for (size_t w = 0; w < words; ++w) {
    if (!(in[w / 8] & (1u << (w % 8)))) continue;
    if (i >= in_len) return false;
    const uint8_t mask = in[i++];
    const size_t base = w * 8;
    const size_t len = n - base < 8 ? n - base : 8;
    if (mask == 0 || (len < 8 && (mask >> len) != 0)) return false;
    for (size_t j = 0; j < len; ++j) {
      if (!(mask & (1u << j))) continue;
      if (i >= in_len) return false;
      out[base + j] = in[i++];
    }
  }
  return i == in_len;
}

}  // namespace sealscope::zero_pack
