#include "audit/framing.hpp"

#include <algorithm>
#include <cstring>

#include "classify/quic.hpp"
#include "classify/rtp.hpp"
#include "classify/stun.hpp"

namespace sealscope::audit {

const char* framing_name(Framing f) {
  switch (f) {
    case Framing::Unknown: return "unknown";
    case Framing::Raw: return "raw";
    case Framing::Tls: return "tls";
    case Framing::SealChat: return "sealchat";
    case Framing::WhatsApp: return "whatsapp";
    case Framing::Http: return "http";
    case Framing::Sip: return "sip";
    case Framing::Rtp: return "rtp";
    case Framing::SealChatMedia: return "sealchat-media";
    case Framing::Dtls: return "dtls";
    case Framing::Quic: return "quic";
    case Framing::Metadata: return "metadata";
  }
  return "?";
}

namespace {

constexpr uint8_t kDecideBytes = 8;

bool starts(const uint8_t* d, std::size_t n, const char* lit) {
  const std::size_t l = std::strlen(lit);
  return n >= l && std::memcmp(d, lit, l) == 0;
}

bool http_start(const uint8_t* d, std::size_t n) {
  for (const char* m : {"GET ", "POST", "PUT ", "HEAD", "HTTP", "DELE", "PATC", "CONN", "OPTI"}) {
    if (starts(d, n, m)) return true;
  }
  return false;
}

bool sip_start(const uint8_t* d, std::size_t n) {
  for (const char* m : {"INVITE s", "REGISTER", "SIP/2.0 ", "BYE sip:", "ACK sip:", "CANCEL s", "NOTIFY s",
                        "SUBSCRIB", "MESSAGE ", "PRACK si", "REFER si", "INFO sip"}) {
    if (starts(d, n, m)) return true;
  }
  return false;
}

}  // namespace

void TcpFramer::decide(Framing peer, bool initiator) {
  const uint8_t* h = head_;
  const std::size_t n = head_len_;
  framing_ = Framing::Raw;
  if (n >= 3 && h[0] >= 20 && h[0] <= 23 && h[1] == 3 && h[2] <= 4) {
    framing_ = Framing::Tls;
    hdr_need_ = 5;
  } else if (initiator && n >= 4 && h[0] == 0x53 && h[1] == 0x4C && h[2] >= 1 && h[2] <= 0x7F &&
             (h[3] & 0x7F) <= 0x0F) {
    // WIRE.md: "SL", version, channel (bit 0x80: null-cipher debug mode); then 2-byte length frames.
    framing_ = Framing::SealChat;
    skip_ = 4;
    hdr_need_ = 2;
  } else if (!initiator && peer == Framing::SealChat) {
    framing_ = Framing::SealChat;
    hdr_need_ = 2;
  } else if (initiator && n >= 4 && h[0] == 'W' && h[1] == 'A') {
    framing_ = Framing::WhatsApp;  // "WA" + 2 bytes, then 3-byte length frames
    skip_ = 4;
    hdr_need_ = 3;
  } else if (initiator && n >= 7 && h[0] == 'E' && h[1] == 'D' && h[2] == 0 && h[3] == 1) {
    framing_ = Framing::WhatsApp;  // edge-routing pre-header: "ED\0\1", 3-byte length, routing data, "WA"xx
    skip_ = 4 + 3 + ((uint64_t{h[4]} << 16) | (uint64_t{h[5]} << 8) | h[6]) + 4;
    hdr_need_ = 3;
  } else if (!initiator && peer == Framing::WhatsApp) {
    framing_ = Framing::WhatsApp;
    hdr_need_ = 3;
  } else if (sip_start(h, n)) {
    framing_ = Framing::Sip;
  } else if (http_start(h, n)) {
    framing_ = Framing::Http;
  }
}

void TcpFramer::process(const uint8_t* d, std::size_t n, ByteStats& stats) {
  const bool framed = framing_ == Framing::Tls || framing_ == Framing::SealChat || framing_ == Framing::WhatsApp;
  if (!framed || lost_sync_) {
    stats.add(d, n);
    return;
  }
  while (n > 0) {
    if (skip_ > 0) {
      const std::size_t m = static_cast<std::size_t>(std::min<uint64_t>(skip_, n));
      skip_ -= m;
      d += m;
      n -= m;
      continue;
    }
    if (body_left_ > 0) {
      const std::size_t m = static_cast<std::size_t>(std::min<uint64_t>(body_left_, n));
      if (body_measured_) {
        // TLS 1.2 AEAD records start with an explicit nonce (often a counter): not a unit lead.
        if (body_first_ && framing_ != Framing::Tls) stats.unit(d[0]);
        stats.add(d, m);
      }
      body_first_ = false;
      body_left_ -= m;
      if (body_left_ == 0) stats.cut();
      d += m;
      n -= m;
      continue;
    }
    hdr_[hdr_len_++] = *d++;
    --n;
    if (hdr_len_ < hdr_need_) continue;
    hdr_len_ = 0;
    uint64_t len = 0;
    body_measured_ = true;
    if (framing_ == Framing::Tls) {
      if (hdr_[0] < 20 || hdr_[0] > 24 || hdr_[1] != 3) {  // not a record header: sync lost
        lost_sync_ = true;
        stats.add(hdr_, hdr_need_);
        stats.add(d, n);
        return;
      }
      len = (uint64_t{hdr_[3]} << 8) | hdr_[4];
      body_measured_ = hdr_[0] == 23;  // application data; handshakes and alerts are not content
    } else if (framing_ == Framing::SealChat) {
      len = (uint64_t{hdr_[0]} << 8) | hdr_[1];
    } else {
      len = (uint64_t{hdr_[0]} << 16) | (uint64_t{hdr_[1]} << 8) | hdr_[2];
    }
    body_left_ = len;
    body_first_ = true;
  }
}

void TcpFramer::feed(const uint8_t* data, std::size_t len, Framing peer, bool initiator, ByteStats& stats) {
  if (framing_ == Framing::Unknown) {
    const std::size_t m = std::min<std::size_t>(len, kDecideBytes - head_len_);
    std::memcpy(head_ + head_len_, data, m);
    head_len_ = static_cast<uint8_t>(head_len_ + m);
    data += m;
    len -= m;
    if (head_len_ < kDecideBytes) return;
    decide(peer, initiator);
    process(head_, head_len_, stats);
  }
  process(data, len, stats);
}

void TcpFramer::gap(ByteStats& stats) {
  if (framing_ == Framing::Unknown) {
    framing_ = Framing::Raw;
    stats.add(head_, head_len_);
  }
  lost_sync_ = true;
  stats.cut();
}

void TcpFramer::finish(ByteStats& stats) {
  if (framing_ == Framing::Unknown && head_len_ > 0) {
    framing_ = Framing::Raw;
    stats.add(head_, head_len_);
  }
}

Framing strip_datagram(const uint8_t* d, std::size_t n, uint16_t sport, uint16_t dport, DatagramState& self,
                       const DatagramState& peer, ByteStats& stats) {
  stats.cut();
  if (n == 0) return Framing::Metadata;
  for (uint16_t port : {sport, dport}) {
    if (port == 53 || port == 5353 || port == 5355) return Framing::Metadata;  // DNS, mDNS, LLMNR: names
  }
  if (classify::parse_stun(d, n)) return Framing::Metadata;
  if (auto cd = classify::parse_turn_channel_data(d, n)) {
    (void)cd;
    d += 4;  // TURN ChannelData header (RFC 8656 §12.4); what it carries is judged below
    n -= 4;
    if (n == 0) return Framing::Metadata;  // an empty channel message (found by fuzz_audit)
  }
  Framing f = Framing::Raw;
  if (n >= 20 && d[0] == 0x5C && d[1] >= 1 && d[1] <= 3 && d[3] == 0) {
    // sealchat media relay (WIRE.md): 20-byte header; bind packets and SRTCP are metadata.
    if (d[1] != 2) return Framing::Metadata;
    d += 20;
    n -= 20;
    f = Framing::SealChatMedia;
  } else if (n >= 13 && d[0] >= 20 && d[0] <= 25 && d[1] == 0xFE) {
    // DTLS records (RFC 6347 §4.1): 13-byte header; application data bodies are content.
    while (n >= 13) {
      const std::size_t len = (std::size_t{d[11]} << 8) | d[12];
      const std::size_t body = std::min(len, n - 13);
      if (d[0] == 23 && body > 0) {  // no unit lead: DTLS 1.2 AEAD bodies start with an explicit nonce
        stats.add(d + 13, body);
        stats.cut();
      }
      d += 13 + body;
      n -= 13 + body;
    }
    return Framing::Dtls;
  } else if ((d[0] & 0xC0) == 0xC0) {  // long header with the fixed bit (RTP's version 2 is 10xxxxxx)
    if (auto h = classify::parse_quic_long_header(d, n)) {
      self.quic_seen = true;
      self.quic_scid_len = h->scid_len;
      // Coalesced long-header packets: each is measured from its (protected) packet number on.
      while (n > 0) {
        auto hh = classify::parse_quic_long_header(d, n);
        if (!hh || hh->packet_size == 0 || hh->packet_size > n) {
          stats.add(d, n);
          break;
        }
        if (hh->pn_offset < hh->packet_size) {
          stats.unit(d[hh->pn_offset]);
          stats.add(d + hh->pn_offset, hh->packet_size - hh->pn_offset);
          stats.cut();
        }
        d += hh->packet_size;
        n -= hh->packet_size;
        if (n > 0 && (d[0] & 0x80) == 0) {  // a short-header packet coalesced at the end
          const std::size_t skip = 1u + peer.quic_scid_len;
          if (n > skip) {
            stats.unit(d[skip]);
            stats.add(d + skip, n - skip);
          }
          break;
        }
      }
      return Framing::Quic;
    }
  }
  if (f == Framing::Raw && (self.quic_seen || peer.quic_seen) && (d[0] & 0xC0) == 0x40) {
    const std::size_t skip = 1u + peer.quic_scid_len;  // short header: flags + destination connection id
    if (n > skip) {
      stats.unit(d[skip]);
      stats.add(d + skip, n - skip);
    }
    return Framing::Quic;
  }
  const classify::RtpKind kind = classify::classify_rtp_rtcp(d, n);
  if (kind == classify::RtpKind::Rtcp) return Framing::Metadata;  // reception reports; SRTCP's body is small
  if (kind == classify::RtpKind::Rtp) {
    if (auto h = classify::parse_rtp(d, n)) {
      const bool continues = self.rtp_seen && h->ssrc == self.rtp_ssrc &&
                             static_cast<uint16_t>(h->sequence - self.rtp_seq) >= 1 &&
                             static_cast<uint16_t>(h->sequence - self.rtp_seq) <= 64;
      self.rtp_seen = true;
      self.rtp_ssrc = h->ssrc;
      self.rtp_seq = h->sequence;
      const std::size_t len = h->padding_consistent ? h->payload_len : n - h->header_len;
      if (len > 0) {
        if (continues || f == Framing::SealChatMedia) stats.unit(d[h->header_len]);
        stats.add(d + h->header_len, len);
      }
      return f == Framing::SealChatMedia ? f : Framing::Rtp;
    }
  }
  if (sip_start(d, n)) f = Framing::Sip;
  stats.add(d, n);
  return f;
}

}  // namespace sealscope::audit
