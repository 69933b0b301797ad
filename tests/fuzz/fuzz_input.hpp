// Helpers shared by the analyzer's fuzz targets: a cursor over the fuzzer's bytes (the same in the
// libFuzzer build and in the seed replay driver of the ordinary build), and the link types a leading
// selector byte maps to.
#pragma once
#include <pcap/dlt.h>

#include <cstddef>
#include <cstdint>

namespace sealscope::fuzz {

/// Reads fixed-size fields and length-prefixed chunks off the input; never reads past its end.
class Input {
 public:
  Input(const uint8_t* data, std::size_t size) : p_(data), left_(size) {}
  std::size_t left() const { return left_; }
  const uint8_t* rest() const { return p_; }
  uint8_t u8() {
    if (left_ == 0) return 0;
    --left_;
    return *p_++;
  }
  uint16_t u16() {
    const uint16_t hi = u8();
    return static_cast<uint16_t>((hi << 8) | u8());
  }
  /// A chunk whose length is the next 2 bytes (big-endian), shortened to what is left.
  const uint8_t* chunk(std::size_t& len) {
    len = u16();
    if (len > left_) len = left_;
    const uint8_t* c = p_;
    p_ += len;
    left_ -= len;
    return c;
  }

 private:
  const uint8_t* p_;
  std::size_t left_;
};

/// Link types the decoder knows, plus one it does not (selected by a byte modulo the count).
inline constexpr int kLinkTypes[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, DLT_IPV4,
                                     DLT_IPV6,   DLT_NULL,      DLT_LOOP,       101,     DLT_PPP};
inline constexpr std::size_t kLinkTypeCount = sizeof kLinkTypes / sizeof kLinkTypes[0];
inline int link_type(uint8_t selector) { return kLinkTypes[selector % kLinkTypeCount]; }

}  // namespace sealscope::fuzz
