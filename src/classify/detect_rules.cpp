#include "classify/detect_rules.hpp"

#include <cstring>

#include "classify/rtp.hpp"

namespace sealscope::classify::rules {
namespace {

uint16_t rd16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t rd32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
uint64_t rd64(const uint8_t* p) noexcept { return (uint64_t{rd32(p)} << 32) | rd32(p + 4); }

bool starts_with(const uint8_t* d, std::size_t n, const char* lit) noexcept {
  const std::size_t m = std::strlen(lit);
  return n >= m && std::memcmp(d, lit, m) == 0;
}

bool printable(const uint8_t* d, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (d[i] < 0x20 || d[i] >= 0x7F) return false;
  }
  return true;
}

/// Dotted IPv4 or IPv6 text: digits, hex letters, dots and colons only.
bool address_text(const uint8_t* d, std::size_t n) noexcept {
  if (n < 2 || n > 45) return false;
  bool sep = false;
  for (std::size_t i = 0; i < n; ++i) {
    const uint8_t c = d[i];
    if (c == '.' || c == ':') {
      sep = true;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return sep;
}

bool is_rtp(const uint8_t* d, std::size_t n) noexcept { return classify_rtp_rtcp(d, n) == RtpKind::Rtp; }
bool is_rtcp(const uint8_t* d, std::size_t n) noexcept {
  if (classify_rtp_rtcp(d, n) == RtpKind::Rtcp) return true;
  // SRTCP: the first header is clear (V=2, PT 200..207), the rest may be encrypted.
  return n >= 8 && (d[0] >> 6) == 2 && d[1] >= 200 && d[1] <= 207;
}

}  // namespace

bool discord_ip_discovery(const uint8_t* d, std::size_t n) noexcept {
  if (n != 74) return false;
  const uint16_t type = rd16(d);
  if ((type != 1 && type != 2) || rd16(d + 2) != 70) return false;
  // The address field is NUL-padded text (empty in requests, the client's address in responses).
  std::size_t len = 0;
  while (len < 64 && d[8 + len] != 0) ++len;
  for (std::size_t i = len; i < 64; ++i) {
    if (d[8 + i] != 0) return false;
  }
  return len == 0 || address_text(d + 8, len);
}

bool discord_keepalive(const uint8_t* d, std::size_t n) noexcept { return n == 8 && rd32(d) == 0x1337cafeu; }

bool line_call_header(const uint8_t* d, std::size_t n, uint16_t& seq) noexcept {
  if (n < 20 || (d[0] & 0xF0) != 0xD0) return false;
  seq = rd16(d + 2);
  return true;
}

bool oicq(const uint8_t* d, std::size_t n) noexcept {
  if (n < 12 || d[0] != 0x02 || d[n - 1] != 0x03) return false;
  const uint16_t command = rd16(d + 3);
  return (command >= 0x0001 && command <= 0x00b5) || command == 0x03f7;
}

bool agora_sni(const uint8_t* d, std::size_t n) noexcept {
  if (n < 20 || d[6] != 0x21 || rd32(d + 12) != 0x04534e49u /* \x04 S N I */) return false;
  const std::size_t len = rd16(d + 16);
  if (len == 0 || d[18] != 0x00 || 19 + len > n) return false;
  return printable(d + 19, len);
}

bool zoom_media(const uint8_t* d, std::size_t n) noexcept {
  if (n < 16) return false;
  switch (d[0]) {
    case 15: return n > 19 && is_rtp(d + 19, n - 19);
    case 16: return n > 24 && is_rtp(d + 24, n - 24);
    case 13: return n > 27 && is_rtp(d + 27, n - 27);
    case 30: return n > 20 && is_rtp(d + 20, n - 20);
    case 33:
    case 34:
    case 35: return n > 16 && is_rtcp(d + 16, n - 16);
    default: return false;
  }
}

bool zoom_sfu(const uint8_t* d, std::size_t n) noexcept {
  return n > 8 + 16 && d[0] == 0x05 && zoom_media(d + 8, n - 8);
}

bool zoom_p2p_hello(const uint8_t* d, std::size_t n) noexcept {
  if (n <= 36 || d[0] != 0x1f || d[1] != 0x02 || d[2] != 0x01) return false;
  if (rd32(d + n - 4) != 0) return false;
  const uint64_t ip_len = rd32(d + 24);
  if (28 + ip_len + 4 > n) return false;
  if (!address_text(d + 28, static_cast<std::size_t>(ip_len))) return false;
  const uint64_t uuid_len = rd32(d + 28 + ip_len);
  return 28 + ip_len + 4 + uuid_len + 4 == n;
}

bool mumble_ping_request(const uint8_t* d, std::size_t n, uint64_t& ident) noexcept {
  if (n != 12 || rd32(d) != 0) return false;
  ident = rd64(d + 4);
  return true;
}

bool mumble_ping_answer(const uint8_t* d, std::size_t n, uint64_t ident) noexcept {
  return n == 24 && rd64(d + 4) == ident;
}

bool threema_frame(const uint8_t* d, std::size_t n) noexcept {
  return n >= 2 && static_cast<std::size_t>(d[0] | (d[1] << 8)) + 2 == n;
}

bool xmpp_start(const uint8_t* d, std::size_t n) noexcept {
  static const char* const kStarts[] = {"<?xml", "<stream:stream", "</stream:stream>", "<stream:features",
                                        "<iq ", "<iq>", "<presence", "<message ", "<message>",
                                        "<starttls ", "<auth ", "<proceed "};
  for (const char* s : kStarts) {
    if (starts_with(d, n, s)) {
      // An XML declaration alone is not XMPP: it must announce a stream when the rest is there.
      if (std::strcmp(s, "<?xml") != 0) return true;
      const std::size_t end = n < 200 ? n : 200;
      for (std::size_t i = 5; i + 14 <= end; ++i) {
        if (std::memcmp(d + i, "<stream:stream", 14) == 0) return true;
      }
      return n <= 64 && d[n - 1] == '>';  // the declaration in its own segment: the stream follows
    }
  }
  return false;
}

bool mgcp_command(const uint8_t* d, std::size_t n) noexcept {
  static const char* const kVerbs[] = {"AUEP", "AUCX", "CRCX", "DLCX", "EPCF", "MDCX", "NTFY", "RQNT", "RSIP"};
  if (n < 20) return false;
  bool verb = false;
  for (const char* v : kVerbs) verb = verb || std::memcmp(d, v, 4) == 0;
  if (!verb && d[0] == 'X') {
    verb = true;
    for (int i = 1; i < 4; ++i) verb = verb && d[i] >= 'A' && d[i] <= 'Z';
  }
  if (!verb) return false;
  auto blank = [](uint8_t c) { return c == ' ' || c == '\t'; };
  std::size_t i = 4;
  if (i >= n || !blank(d[i])) return false;
  while (i < n && blank(d[i])) ++i;
  const std::size_t id0 = i;  // transaction id: 1-9 digits
  while (i < n && d[i] >= '0' && d[i] <= '9') ++i;
  if (i == id0 || i - id0 > 9 || i >= n || !blank(d[i])) return false;
  while (i < n && blank(d[i])) ++i;
  const std::size_t ep0 = i;  // endpoint name: printable, no blanks, one '@'
  bool at = false;
  for (; i < n && d[i] > 0x20 && d[i] < 0x7F; ++i) {
    if (d[i] == '@') at = true;
  }
  if (i == ep0 || !at || i >= n || !blank(d[i])) return false;
  while (i < n && blank(d[i])) ++i;
  if (i + 8 > n || std::memcmp(d + i, "MGCP", 4) != 0 || !blank(d[i + 4])) return false;
  i += 5;
  while (i < n && blank(d[i])) ++i;
  return i + 3 <= n && d[i] >= '0' && d[i] <= '9' && d[i + 1] == '.' && d[i + 2] >= '0' && d[i + 2] <= '9';
}

bool bfcp_header(const uint8_t* d, std::size_t n, uint32_t& conference, uint16_t& user) noexcept {
  if (n < 12) return false;
  const uint8_t version = d[0] >> 5;
  if ((version != 1 && version != 2) || (d[0] & 0x07) != 0) return false;  // reserved bits zero
  if (d[1] < 1 || d[1] > 17) return false;
  conference = rd32(d + 4);
  user = rd16(d + 10);
  return conference != 0;
}

bool skinny_messages(const uint8_t* d, std::size_t n) noexcept {
  auto le32 = [](const uint8_t* p) {
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
  };
  std::size_t off = 0;
  int messages = 0;
  while (off < n) {
    if (off + 12 > n) return false;
    const uint32_t len = le32(d + off), version = le32(d + off + 4), id = le32(d + off + 8);
    if (len < 4 || len > 4096 || off + 8 + len > n) return false;
    if (version != 0 && (version < 0x0A || version > 0x17)) return false;
    if (!(id <= 0x01FF || (id >= 0x8000 && id <= 0x81FF))) return false;
    off += 8 + len;
    ++messages;
  }
  return messages > 0;
}

bool ts3_weblist_request(const uint8_t* d, std::size_t n) noexcept {
  return n == 4 && d[0] == 0x01 && (d[1] & 0x80) != 0 && d[2] == 0x84 && d[3] == 0x01;
}

bool ts3_weblist_answer(const uint8_t* d, std::size_t n, const uint8_t* req) noexcept {
  return n == 8 && std::memcmp(d, req, 4) == 0;
}

bool sealchat_prologue(const uint8_t* d, std::size_t n, uint8_t& channel) noexcept {
  // Channel 0x00 chat, 0x01 blob store; bit 0x80 marks the null-cipher debug mode (WIRE.md).
  if (n < 6 || d[0] != 'S' || d[1] != 'L' || d[2] != 0x01 || (d[3] & 0x7F) > 0x01) return false;
  if (rd16(d + 4) != 32) return false;
  channel = d[3] & 0x7F;
  return n == 6 || n >= 38;  // the header alone, or with the whole 32-byte ephemeral key
}

bool sealchat_relay(const uint8_t* d, std::size_t n) noexcept {
  if (n < 20 || d[0] != 0x5C || d[2] > 0x01 || d[3] != 0x00) return false;
  switch (d[1]) {
    case 0x01: return n == 20;
    case 0x02: return n >= 20 + 12 && is_rtp(d + 20, n - 20);
    case 0x03: return n >= 20 + 8 && is_rtcp(d + 20, n - 20);
    default: return false;
  }
}

}  // namespace sealscope::classify::rules
