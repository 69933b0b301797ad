#include "classify/whatsapp_wire.hpp"

#include <cstring>

namespace sealscope::classify {
namespace {

constexpr std::size_t kMaxRoutingLen = 256;     // observed 2 and 4; the info is a tiny protobuf
constexpr std::size_t kMaxFirstFrame = 1536;    // XX: 36 bytes; IK with payload: a few hundred
constexpr std::size_t kNoiseKeyLen = 32;        // X25519 public key
constexpr std::size_t kSealedStaticLen = 48;    // 32-byte key + 16-byte AES-GCM tag

uint32_t rd24(const uint8_t* p) noexcept { return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2]; }

// A schema-less protobuf wire-format walker (read_varint, next_field, pb_well_formed), hand-written:
// libprotobuf 3.21's io::CodedInputStream walks the wire format without allocating, but it is a large C++
// dependency (and ABI) for these ~50 lines, which read only tags, varints and lengths.

/// Reads a protobuf varint at off (at most 10 bytes); false when truncated or over-long.
bool read_varint(const uint8_t* p, std::size_t n, std::size_t& off, uint64_t& out) noexcept {
  out = 0;
  for (int i = 0; i < 10; ++i) {
    if (off >= n) return false;
    const uint8_t b = p[off++];
    out |= uint64_t{b & 0x7Fu} << (7 * i);
    if ((b & 0x80u) == 0) return true;
  }
  return false;
}

/// One protobuf field: number, wire type and, for length-delimited fields, the value's span.
struct PbField {
  uint64_t number = 0;
  uint8_t wire = 0;
  std::size_t value_off = 0;
  std::size_t value_len = 0;
};

/// Reads the field at off and advances past it; false when malformed or truncated.
bool next_field(const uint8_t* p, std::size_t n, std::size_t& off, PbField& f) noexcept {
  uint64_t key = 0;
  if (!read_varint(p, n, off, key)) return false;
  f.number = key >> 3;
  f.wire = static_cast<uint8_t>(key & 7u);
  if (f.number == 0) return false;
  uint64_t v = 0;
  switch (f.wire) {
    case 0: return read_varint(p, n, off, v);
    case 1: if (n - off < 8) return false; off += 8; return true;
    case 5: if (n - off < 4) return false; off += 4; return true;
    case 2:
      if (!read_varint(p, n, off, v) || v > n - off) return false;
      f.value_off = off;
      f.value_len = static_cast<std::size_t>(v);
      off += f.value_len;
      return true;
    default: return false;
  }
}

/// True when [p, p+n) is a complete, well-formed protobuf message.
bool pb_well_formed(const uint8_t* p, std::size_t n) noexcept {
  std::size_t off = 0;
  PbField f;
  while (off < n)
    if (!next_field(p, n, off, f)) return false;
  return true;
}

/// Checks a Noise hello body {1: ephemeral(32), [2: sealed static], [3: payload], ...}; the client's
/// sealed static is exactly 48 bytes, the server's at least a 16-byte tag. Sets ik when field 2 is present.
bool noise_hello_ok(const uint8_t* p, std::size_t n, bool client, bool& ik) noexcept {
  std::size_t off = 0;
  PbField f;
  if (!next_field(p, n, off, f) || f.number != 1 || f.wire != 2 || f.value_len != kNoiseKeyLen) return false;
  ik = false;
  while (off < n) {
    if (!next_field(p, n, off, f)) return false;
    if (f.number == 1) return false;  // a second ephemeral
    if (f.number == 2) {
      if (f.wire != 2 || (client ? f.value_len != kSealedStaticLen
                                 : (f.value_len < 16 || f.value_len > kSealedStaticLen)))
        return false;
      ik = true;
    }
    if (f.number == 3 && (f.wire != 2 || f.value_len < 16)) return false;  // AEAD output has a tag
  }
  return true;
}

/// Checks that `have` bytes at p match the first bytes of lit (n long); sets done when all n present.
bool prefix_matches(const uint8_t* p, std::size_t have, const char* lit, std::size_t n, bool& done) noexcept {
  const std::size_t m = have < n ? have : n;
  done = have >= n;
  return std::memcmp(p, lit, m) == 0;
}

/// Validates a HandshakeMessage frame body whose outer field must be `outer_tag`.
bool handshake_frame_ok(const uint8_t* body, std::size_t n, uint8_t outer_tag, bool& ik) noexcept {
  std::size_t off = 0;
  PbField f;
  if (n == 0 || body[0] != outer_tag) return false;
  if (!next_field(body, n, off, f) || off != n) return false;  // exactly one field fills the frame
  return noise_hello_ok(body + f.value_off, f.value_len, outer_tag == 0x12, ik);
}

}  // namespace

WaWireInfo parse_whatsapp_stream_start(const uint8_t* data, std::size_t len) noexcept {
  WaWireInfo info;
  info.status = WaWireStatus::NeedMore;
  if (data == nullptr || len == 0) return info;
  auto no = []() {
    WaWireInfo r;
    r.status = WaWireStatus::NoMatch;
    return r;
  };
  std::size_t off = 0;
  bool done = false;
  if (data[0] == 'E') {
    if (!prefix_matches(data, len, "ED\x00\x01", 4, done)) return no();
    if (!done) return info;
    info.form = WaWireForm::EdgeRouted;
    if (len < 7) return info;
    info.routing_len = rd24(data + 4);
    if (info.routing_len == 0 || info.routing_len > kMaxRoutingLen) return no();
    off = 7;
    if (len - off < info.routing_len) return info;
    if (!pb_well_formed(data + off, info.routing_len)) return no();
    off += info.routing_len;
  } else {
    info.form = WaWireForm::Plain;
  }
  if (!prefix_matches(data + off, len - off, "WA", 2, done)) return no();
  if (len - off < 4) return info;
  info.wa_magic = data[off + 2];
  info.wa_dict = data[off + 3];
  if (info.wa_magic == 0 || info.wa_magic > 15 || info.wa_dict > 31) return no();
  off += 4;
  if (len - off < 3) return info;
  info.first_frame_len = rd24(data + off);
  off += 3;
  const bool legacy = info.wa_magic == 1;
  if (info.first_frame_len < (legacy ? 2u : 4u + kNoiseKeyLen) || info.first_frame_len > kMaxFirstFrame)
    return no();
  if (len - off >= 1 && data[off] != (legacy ? 0xF8 : 0x12)) return no();
  if (len - off < info.first_frame_len) return info;

  const uint8_t* body = data + off;
  if (legacy) {
    // FunXMPP stream start: list token 0xf8 with a small, non-zero size.
    if (body[1] == 0 || body[1] > 16) return no();
    info.handshake = WaHandshake::LegacyFunXmpp;
  } else {
    bool ik = false;
    if (!handshake_frame_ok(body, info.first_frame_len, 0x12, ik)) return no();
    info.handshake = ik ? WaHandshake::NoiseIK : WaHandshake::NoiseXX;
  }
  info.bytes_used = off + info.first_frame_len;
  info.status = WaWireStatus::Match;
  return info;
}

WaWireStatus parse_whatsapp_server_hello(const uint8_t* data, std::size_t len) noexcept {
  if (data == nullptr || len < 3) return WaWireStatus::NeedMore;
  const uint32_t flen = rd24(data);
  if (flen < 4 + kNoiseKeyLen || flen > kMaxFirstFrame * 4) return WaWireStatus::NoMatch;
  if (len >= 4 && data[3] != 0x1A) return WaWireStatus::NoMatch;
  if (len - 3 < flen) return WaWireStatus::NeedMore;
  bool ik = false;
  return handshake_frame_ok(data + 3, flen, 0x1A, ik) ? WaWireStatus::Match : WaWireStatus::NoMatch;
}

bool WaStreamPrefix::append(const uint8_t* data, std::size_t len) noexcept {
  if (data == nullptr) return size_ < kCapacity;
  const std::size_t room = kCapacity - size_;
  const std::size_t n = len < room ? len : room;
  std::memcpy(buf_.data() + size_, data, n);
  size_ += n;
  return n == len;
}

}  // namespace sealscope::classify
