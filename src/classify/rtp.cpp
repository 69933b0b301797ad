#include "classify/rtp.hpp"

namespace sealscope::classify {
namespace {

uint16_t rd16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t rd32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

/// Checks one RTCP packet's body against its type's layout (RFC 3550 §6.4-6.6, 4585, 3611).
bool rtcp_body_ok(uint8_t pt, uint8_t count, const uint8_t* p, std::size_t size) noexcept {
  switch (pt) {
    case 200: return size >= 28 + std::size_t{count} * 24;  // SR: header, SSRC, sender info, blocks
    case 201: return size >= 8 + std::size_t{count} * 24;   // RR
    case 202: {                                             // SDES: chunks of SSRC + items + NUL pad
      std::size_t off = 4;
      for (uint8_t c = 0; c < count; ++c) {
        if (size - off < 4) return false;
        off += 4;
        for (;;) {
          if (off >= size) return false;
          const uint8_t item = p[off];
          if (item == 0) {
            off = (off + 4) & ~std::size_t{3};  // END item, then pad to the next word
            break;
          }
          if (size - off < 2) return false;
          const std::size_t ilen = p[off + 1];
          if (ilen > size - off - 2) return false;
          off += 2 + ilen;
        }
        if (off > size) return false;
      }
      return off == size || count == 0;
    }
    case 203: {  // BYE: SC SSRCs, optional reason
      const std::size_t need = 4 + std::size_t{count} * 4;
      if (size < need) return false;
      if (size > need) {
        const std::size_t rlen = p[need];
        if (need + 1 + rlen > size) return false;
      }
      return true;
    }
    case 204: return size >= 12;             // APP: SSRC + 4-char name
    case 205: case 206: return size >= 12;   // RTPFB/PSFB: sender and media SSRC
    case 207: return size >= 8;              // XR
    default: return false;
  }
}

}  // namespace

std::optional<RtpHeader> parse_rtp(const uint8_t* data, std::size_t len) noexcept {
  if (data == nullptr || len < 12) return std::nullopt;
  RtpHeader h;
  h.version = data[0] >> 6;
  if (h.version != 2) return std::nullopt;
  h.padding = (data[0] & 0x20u) != 0;
  h.extension = (data[0] & 0x10u) != 0;
  h.csrc_count = data[0] & 0x0Fu;
  h.marker = (data[1] & 0x80u) != 0;
  h.payload_type = data[1] & 0x7Fu;
  if (h.payload_type >= 72 && h.payload_type <= 76) return std::nullopt;
  h.sequence = rd16(data + 2);
  h.timestamp = rd32(data + 4);
  h.ssrc = rd32(data + 8);
  std::size_t off = 12 + std::size_t{h.csrc_count} * 4;
  if (off > len) return std::nullopt;
  if (h.extension) {
    if (len - off < 4) return std::nullopt;
    h.ext_profile = rd16(data + off);
    h.ext_length_words = rd16(data + off + 2);
    const std::size_t ext = 4 + std::size_t{h.ext_length_words} * 4;
    if (ext > len - off) return std::nullopt;
    off += ext;
  }
  h.header_len = off;
  std::size_t payload_end = len;
  if (h.padding && len == off) h.padding_consistent = false;
  if (h.padding && len > off) {
    // With SRTP the last byte belongs to the authentication tag, so a bad count is not an error.
    const uint8_t count = data[len - 1];
    h.padding_consistent = count != 0 && count <= len - off;
    if (h.padding_consistent) {
      h.padding_len = count;
      payload_end = len - count;
    }
  }
  h.payload_len = payload_end - off;
  return h;
}

std::optional<RtcpInfo> parse_rtcp(const uint8_t* data, std::size_t len) noexcept {
  if (data == nullptr || len < 8) return std::nullopt;
  RtcpInfo info;
  std::size_t off = 0;
  while (off < len) {
    const std::size_t rest = len - off;
    const uint8_t* p = data + off;
    if (rest < 4 || (p[0] >> 6) != 2) break;
    const uint8_t pt = p[1];
    if (pt < 200 || pt > 207) break;
    const std::size_t size = (std::size_t{rd16(p + 2)} + 1) * 4;
    if (size > rest) break;
    const uint8_t count = p[0] & 0x1Fu;
    // Padding is only allowed on the last packet of a compound (RFC 3550 §6.4.1).
    std::size_t body = size;
    if ((p[0] & 0x20u) != 0) {
      const uint8_t padn = p[size - 1];
      if (padn == 0 || padn > size - 4 || off + size != len) break;
      body = size - padn;
    }
    if (!rtcp_body_ok(pt, count, p, body)) break;
    if (info.packet_count == 0) {
      if (size < 8) return std::nullopt;
      info.first_ssrc = rd32(p + 4);
    }
    if (info.packet_count < kRtcpMaxPackets) info.types[info.packet_count] = pt;
    if (info.packet_count < 255) ++info.packet_count;
    info.has_sr |= pt == 200;
    info.has_rr |= pt == 201;
    info.has_sdes |= pt == 202;
    info.has_bye |= pt == 203;
    info.has_app |= pt == 204;
    info.has_feedback |= pt == 205 || pt == 206;
    info.has_xr |= pt == 207;
    off += size;
  }
  if (info.packet_count == 0) return std::nullopt;
  info.walked = off;
  info.exact = off == len;
  // SRTCP: 4-byte E/index word + 10-byte (or longer) tag follow the encrypted compound.
  info.maybe_srtcp = !info.exact && len - off >= 14;
  return info;
}

RtpKind classify_rtp_rtcp(const uint8_t* data, std::size_t len) noexcept {
  if (data == nullptr || len < 2) return RtpKind::None;
  if (data[1] >= 192 && data[1] <= 223) {
    if (auto r = parse_rtcp(data, len); r && (r->exact || r->maybe_srtcp)) return RtpKind::Rtcp;
    return RtpKind::None;
  }
  return parse_rtp(data, len) ? RtpKind::Rtp : RtpKind::None;
}

bool RtpStreamTracker::feed(const RtpHeader& h) noexcept {
  ++clock_;
  Slot* slot = nullptr;
  for (auto& s : slots_)
    if (s.used && s.ssrc == h.ssrc) { slot = &s; break; }
  if (slot == nullptr) {
    // New SSRC: take a free slot, else evict the least recently used one.
    slot = &slots_[0];
    for (auto& s : slots_) {
      if (!s.used) { slot = &s; break; }
      if (s.age < slot->age) slot = &s;
    }
    *slot = Slot{};
    slot->used = true;
    slot->ssrc = h.ssrc;
    slot->last_seq = h.sequence;
    slot->last_ts = h.timestamp;
    slot->payload_type = h.payload_type;
    slot->run = 1;
    slot->age = clock_;
  } else {
    slot->age = clock_;
    const uint16_t step = static_cast<uint16_t>(h.sequence - slot->last_seq);
    const bool ts_ok = static_cast<int32_t>(h.timestamp - slot->last_ts) >= 0;
    if (step == 0) {
      // Duplicate (retransmission): neither progress nor a break.
    } else if (step <= max_gap_ && ts_ok) {
      if (slot->run < 0xFFFF) ++slot->run;
      slot->last_seq = h.sequence;
      slot->last_ts = h.timestamp;
    } else if (static_cast<uint16_t>(slot->last_seq - h.sequence) <= max_gap_) {
      // Slightly late packet: tolerated, does not advance the run.
    } else {
      slot->run = 1;
      slot->last_seq = h.sequence;
      slot->last_ts = h.timestamp;
    }
  }
  if (!media_ && slot->run >= needed_) {
    media_ = true;
    media_ssrc_ = slot->ssrc;
  }
  return media_;
}

bool RtpStreamTracker::feed(const uint8_t* data, std::size_t len) noexcept {
  if (classify_rtp_rtcp(data, len) != RtpKind::Rtp) return media_;
  return feed(*parse_rtp(data, len));
}

void RtpStreamTracker::reset() noexcept {
  slots_ = {};
  clock_ = 0;
  media_ = false;
  media_ssrc_ = 0;
}

}  // namespace sealscope::classify
