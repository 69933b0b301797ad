#include "classify/stun.hpp"

#include "classify/crypto.hpp"

namespace sealscope::classify {
namespace {

constexpr std::size_t kHeader = 20;

uint16_t rd16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t rd32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

/// Copies wire text into a fixed array, truncating and replacing non-printable bytes with '.'.
void copy_text(std::array<char, kStunTextCap>& out, const uint8_t* p, std::size_t n) noexcept {
  std::size_t m = n < out.size() - 1 ? n : out.size() - 1;
  for (std::size_t i = 0; i < m; ++i) {
    const uint8_t c = p[i];
    out[i] = (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '.';
  }
  out[m] = '\0';
}

void note_type(StunInfo& info, uint16_t t) noexcept {
  ++info.attr_count;
  for (uint8_t i = 0; i < info.attr_type_count; ++i)
    if (info.attr_types[i] == t) return;
  if (info.attr_type_count < kStunMaxAttrTypes)
    info.attr_types[info.attr_type_count++] = t;
  else
    info.attr_types_overflow = true;
}

/// Decodes (XOR-)MAPPED-ADDRESS; returns false when the value is malformed.
bool read_address(StunAddress& out, const uint8_t* v, uint16_t alen, bool xored, const uint8_t* header) noexcept {
  if (alen < 4) return false;
  const uint8_t family = v[1];
  const std::size_t alen_expected = family == 1 ? 8 : family == 2 ? 20 : 0;
  if (alen_expected == 0 || alen != alen_expected) return false;
  out.present = true;
  out.family = family;
  out.port = rd16(v + 2);
  const std::size_t n = family == 1 ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i) out.addr[i] = v[4 + i];
  if (xored) {
    out.port ^= static_cast<uint16_t>(kStunMagicCookie >> 16);
    // Key: magic cookie followed by the transaction id (bytes 4..19 of the header).
    for (std::size_t i = 0; i < n; ++i) out.addr[i] ^= header[4 + i];
  }
  return true;
}

bool known_classic_type(uint16_t t) noexcept {
  // RFC 3489 §11.1: Binding Request/Response/Error Response (shared-secret messages run over TLS).
  return t == 0x0001 || t == 0x0101 || t == 0x0111;
}

/// Walks the attributes of a message of `size` bytes. padded: RFC 5389 layout (values padded to 4);
/// otherwise values back to back, the layout of some deployed TURN/STUN variants.
std::optional<StunInfo> parse_walk(const uint8_t* data, std::size_t len, std::size_t size, bool padded_layout) noexcept {
  const uint16_t type = rd16(data);
  const uint16_t length = rd16(data + 2);
  StunInfo info;
  info.unpadded = !padded_layout;
  info.classic = rd32(data + 4) != kStunMagicCookie;
  if (info.classic) {
    if (!known_classic_type(type) || size != len) return std::nullopt;
    info.transaction_id_len = 16;
    for (int i = 0; i < 16; ++i) info.transaction_id[i] = data[4 + i];
  } else {
    info.transaction_id_len = 12;
    for (int i = 0; i < 12; ++i) info.transaction_id[i] = data[8 + i];
  }
  info.type = type;
  info.length = length;
  info.message_size = size;
  info.klass = static_cast<StunClass>(((type >> 7) & 2u) | ((type >> 4) & 1u));
  info.method = static_cast<uint16_t>((type & 0x000Fu) | ((type >> 1) & 0x0070u) | ((type >> 2) & 0x0F80u));

  std::size_t off = kHeader;
  while (off < size) {
    if (size - off < 4) return std::nullopt;
    const uint16_t at = rd16(data + off);
    const uint16_t alen = rd16(data + off + 2);
    const std::size_t padded = padded_layout ? (std::size_t{alen} + 3u) & ~std::size_t{3} : alen;
    if (padded > size - off - 4) return std::nullopt;
    const uint8_t* v = data + off + 4;
    note_type(info, at);
    switch (at) {
      case stun_attr::kSoftware:
        info.has_software = true;
        info.software_len = alen;
        copy_text(info.software, v, alen);
        break;
      case stun_attr::kRealm:
        info.has_realm = true;
        info.realm_len = alen;
        copy_text(info.realm, v, alen);
        break;
      case stun_attr::kUsername:
        info.has_username = true;
        info.username_len = alen;
        copy_text(info.username, v, alen);
        for (uint16_t i = 0; i < alen; ++i)
          if (v[i] == ':') { info.username_has_colon = true; break; }
        break;
      case stun_attr::kNonce: info.has_nonce = true; break;
      case stun_attr::kMessageIntegrity:
        // 20 bytes (HMAC-SHA1) per RFC 5389; one deployed variant sends 32.
        if (alen != 20 && alen != 32) return std::nullopt;
        info.has_message_integrity = true;
        info.message_integrity_len = static_cast<uint8_t>(alen);
        break;
      case stun_attr::kMessageIntegritySha256:
        if (alen < 16 || alen > 32) return std::nullopt;
        info.has_message_integrity_sha256 = true;
        break;
      case stun_attr::kFingerprint: {
        if (alen != 4) return std::nullopt;
        info.has_fingerprint = true;
        uint32_t crc = 0;
        info.fingerprint_valid = crypto::crc32(data, off, crc) && rd32(v) == (crc ^ kStunFingerprintXor) &&
                                 off + 8 == size;
        break;
      }
      case stun_attr::kPriority: info.has_priority = true; break;
      case stun_attr::kUseCandidate: info.has_use_candidate = true; break;
      case stun_attr::kIceControlling: info.has_ice_controlling = true; break;
      case stun_attr::kIceControlled: info.has_ice_controlled = true; break;
      case stun_attr::kErrorCode:
        if (alen < 4) return std::nullopt;
        info.error_code = static_cast<uint16_t>((v[2] & 0x07u) * 100u + v[3]);
        break;
      case stun_attr::kMappedAddress:
        if (!read_address(info.mapped, v, alen, false, data)) return std::nullopt;
        break;
      case stun_attr::kXorMappedAddress:
      case stun_attr::kXorMappedAddressOld:
        // Classic messages have no cookie to XOR with: keep the raw value out of xor_mapped.
        if (!info.classic && !read_address(info.xor_mapped, v, alen, true, data)) return std::nullopt;
        break;
      default: break;
    }
    off += 4 + padded;
  }
  return info;
}

std::optional<StunInfo> parse_impl(const uint8_t* data, std::size_t len, bool exact) noexcept {
  if (data == nullptr || len < kHeader) return std::nullopt;
  if ((rd16(data) & 0xC000u) != 0) return std::nullopt;
  const uint16_t length = rd16(data + 2);
  const std::size_t size = kHeader + length;
  if (size > len || (exact && size != len)) return std::nullopt;
  if ((length & 3u) == 0)
    if (auto info = parse_walk(data, len, size, true)) return info;
  // Unpadded layout: only with the magic cookie and an exactly consistent walk.
  if (rd32(data + 4) != kStunMagicCookie) return std::nullopt;
  return parse_walk(data, len, size, false);
}

}  // namespace

bool StunInfo::has_attr(uint16_t attr_type) const noexcept {
  for (uint8_t i = 0; i < attr_type_count; ++i)
    if (attr_types[i] == attr_type) return true;
  return false;
}

std::optional<StunInfo> parse_stun(const uint8_t* data, std::size_t len) noexcept {
  return parse_impl(data, len, true);
}

std::optional<StunInfo> parse_stun_prefix(const uint8_t* data, std::size_t len) noexcept {
  return parse_impl(data, len, false);
}

namespace {

std::optional<ChannelDataInfo> channel_data_header(const uint8_t* data, std::size_t len) noexcept {
  if (data == nullptr || len < 4) return std::nullopt;
  const uint16_t ch = rd16(data);
  if (ch < 0x4000u || ch > 0x7FFFu) return std::nullopt;
  ChannelDataInfo cd;
  cd.channel = ch;
  cd.length = rd16(data + 2);
  cd.frame_size = 4 + std::size_t{cd.length};
  return cd;
}

}  // namespace

std::optional<ChannelDataInfo> parse_turn_channel_data(const uint8_t* data, std::size_t len) noexcept {
  auto cd = channel_data_header(data, len);
  if (!cd || cd->frame_size > len) return std::nullopt;
  const std::size_t extra = len - cd->frame_size;
  if (extra > 3) return std::nullopt;
  if (extra != 0) {
    // Padding, when present, rounds the frame up to a multiple of 4 exactly.
    if (((cd->frame_size + 3) & ~std::size_t{3}) != len) return std::nullopt;
    cd->frame_size = len;
  }
  return cd;
}

std::optional<StunTcpFrames> stun_tcp_frames(const uint8_t* data, std::size_t len) noexcept {
  if (data == nullptr) return std::nullopt;
  StunTcpFrames out;
  // Plain framing: a STUN message starts at offset 0.
  if (auto first = parse_stun_prefix(data, len); first && !first->classic) {
    out.framing = StunTcpFraming::Plain;
    out.first = *first;
    std::size_t off = 0;
    while (off < len) {
      const std::size_t rest = len - off;
      if (auto m = parse_stun_prefix(data + off, rest); m && !m->classic) {
        ++out.stun_messages;
        off += m->message_size;
        continue;
      }
      if (auto cd = channel_data_header(data + off, rest)) {
        // Over TCP ChannelData is always padded to a multiple of 4 (RFC 8656 §12.5).
        const std::size_t padded = (cd->frame_size + 3) & ~std::size_t{3};
        if (padded <= rest) {
          ++out.channel_data;
          off += padded;
          continue;
        }
        out.trailing_partial = true;
        break;
      }
      // A partial STUN header at the end of the segment is a normal segment boundary.
      if (rest < kHeader ? (data[off] & 0xC0u) == 0
                         : ((data[off] & 0xC0u) == 0 && rd32(data + off + 4) == kStunMagicCookie &&
                            (rd16(data + off + 2) & 3u) == 0 && kHeader + rd16(data + off + 2) > rest)) {
        out.trailing_partial = true;
        break;
      }
      return std::nullopt;
    }
    out.consumed = off;
    return out;
  }
  // RFC 4571 framing: 2-byte length, then exactly that many bytes of STUN message.
  out.framing = StunTcpFraming::Rfc4571;
  std::size_t off = 0;
  while (off < len) {
    const std::size_t rest = len - off;
    if (rest < 2) { out.trailing_partial = true; break; }
    const std::size_t flen = rd16(data + off);
    if (flen < kHeader) return std::nullopt;
    if (flen > rest - 2) {
      const bool head_ok = rest - 2 < 8 ||
                           ((data[off + 2] & 0xC0u) == 0 && rd32(data + off + 6) == kStunMagicCookie);
      if (!head_ok || out.stun_messages == 0) return std::nullopt;
      out.trailing_partial = true;
      break;
    }
    auto m = parse_stun(data + off + 2, flen);
    if (!m || m->classic) return std::nullopt;
    if (out.stun_messages == 0) out.first = *m;
    ++out.stun_messages;
    off += 2 + flen;
  }
  if (out.stun_messages == 0) return std::nullopt;
  out.consumed = off;
  return out;
}

}  // namespace sealscope::classify
