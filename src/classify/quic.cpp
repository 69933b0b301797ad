#include "classify/quic.hpp"

#include "classify/crypto.hpp"

#include <gcrypt.h>

#include <cstring>

namespace sealscope::classify {
namespace {

uint32_t rd32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// ---- libgcrypt (classify/crypto.hpp initialises it): handles opened once per thread ---------------

struct CryptoHandles {
  gcry_cipher_hd_t ecb = nullptr;
  gcry_cipher_hd_t gcm = nullptr;
  gcry_md_hd_t hmac = nullptr;
  gcry_md_hd_t salt_hmac[3] = {};  // HKDF-Extract per QUIC version (v1, v2, draft-29..32), opened when first used
  bool ok = false;
  CryptoHandles() noexcept {
    if (!crypto::ready()) return;
    ok = gcry_cipher_open(&ecb, GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_ECB, 0) == 0 &&
         gcry_cipher_open(&gcm, GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_GCM, 0) == 0 &&
         gcry_md_open(&hmac, GCRY_MD_SHA256, GCRY_MD_FLAG_HMAC) == 0;
  }
  ~CryptoHandles() {
    if (ecb != nullptr) gcry_cipher_close(ecb);
    if (gcm != nullptr) gcry_cipher_close(gcm);
    if (hmac != nullptr) gcry_md_close(hmac);
    for (gcry_md_hd_t s : salt_hmac) {
      if (s != nullptr) gcry_md_close(s);
    }
  }
  /// The HMAC handle keyed with salt `which` of kSalts (opened and keyed on first use); null on failure.
  gcry_md_hd_t salted(int which) noexcept;
  CryptoHandles(const CryptoHandles&) = delete;
  CryptoHandles& operator=(const CryptoHandles&) = delete;
};

CryptoHandles& handles() noexcept {
  thread_local CryptoHandles h;
  return h;
}

// ---- HKDF (RFC 5869) with HMAC-SHA256, and TLS 1.3 HKDF-Expand-Label (RFC 8446 §7.1) ----------
// Hand-written on libgcrypt's HMAC (the handle above): libgcrypt 1.10 has no HKDF (gcry_kdf_derive offers
// S2K, PBKDF1/2, scrypt, Argon2 and Balloon only). nettle, GnuTLS and OpenSSL 3 have HKDF, but each would
// add a second crypto library beside libgcrypt for these few lines, and OpenSSL's EVP_KDF needs a context.

/// Keys the handle's HMAC. The key stays through gcry_md_reset, so one key serves several messages:
/// libgcrypt's set-up of a key (the padded key hashed into both pads) costs about as much as the HMAC
/// itself, and a QUIC Initial's keys take five HMACs under three keys, one of which (the version's salt)
/// never changes.
bool hmac_key(gcry_md_hd_t h, const uint8_t* key, std::size_t key_len) noexcept {
  return gcry_md_setkey(h, key, key_len) == 0;
}

/// HMAC-SHA256 of msg under the key the handle holds.
bool hmac_sha256(gcry_md_hd_t h, const uint8_t* msg, std::size_t msg_len, uint8_t out[32]) noexcept {
  gcry_md_reset(h);
  gcry_md_write(h, msg, msg_len);
  const unsigned char* d = gcry_md_read(h, GCRY_MD_SHA256);
  if (d == nullptr) return false;
  std::memcpy(out, d, 32);
  return true;
}

/// HKDF-Expand-Label(secret, label, "", out_len) for out_len <= 32 (one HMAC block: T(1)), with the
/// handle keyed by the secret.
bool hkdf_expand_label(gcry_md_hd_t keyed, const char* label, uint8_t* out, std::size_t out_len) noexcept {
  const std::size_t ll = std::strlen(label);
  if (out_len > 32 || 6 + ll > 255) return false;
  uint8_t info[2 + 1 + 255 + 1 + 1];
  std::size_t n = 0;
  info[n++] = 0;
  info[n++] = static_cast<uint8_t>(out_len);
  info[n++] = static_cast<uint8_t>(6 + ll);
  std::memcpy(info + n, "tls13 ", 6);
  n += 6;
  std::memcpy(info + n, label, ll);
  n += ll;
  info[n++] = 0;  // empty context
  info[n++] = 1;  // HKDF-Expand counter for T(1)
  uint8_t t[32];
  if (!hmac_sha256(keyed, info, n, t)) return false;
  std::memcpy(out, t, out_len);
  return true;
}

// ---- version parameters --------------------------------------------------------------------------

constexpr uint8_t kSaltV1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
constexpr uint8_t kSaltV2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};
constexpr uint8_t kSaltDraft29[20] = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
                                      0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};

constexpr const uint8_t* kSalts[3] = {kSaltV1, kSaltV2, kSaltDraft29};  // CryptoHandles::salt_hmac's order

gcry_md_hd_t CryptoHandles::salted(int which) noexcept {
  gcry_md_hd_t& s = salt_hmac[which];
  if (s == nullptr) {
    if (gcry_md_open(&s, GCRY_MD_SHA256, GCRY_MD_FLAG_HMAC) != 0) {
      s = nullptr;
      return nullptr;
    }
    if (!hmac_key(s, kSalts[which], 20)) {
      gcry_md_close(s);
      s = nullptr;
    }
  }
  return s;
}

bool is_draft_29_32(uint32_t v) noexcept { return v >= 0xff00001du && v <= 0xff000020u; }

QuicPacketType long_type(uint32_t version, uint8_t first) noexcept {
  const uint8_t bits = (first >> 4) & 3u;
  if (version == kQuicVersion2) {
    static constexpr QuicPacketType kV2[4] = {QuicPacketType::Retry, QuicPacketType::Initial,
                                              QuicPacketType::ZeroRtt, QuicPacketType::Handshake};
    return kV2[bits];
  }
  static constexpr QuicPacketType kV1[4] = {QuicPacketType::Initial, QuicPacketType::ZeroRtt,
                                            QuicPacketType::Handshake, QuicPacketType::Retry};
  return kV1[bits];
}

/// AES-128-ECB of one block with the header-protection key: the 5-byte mask source.
bool hp_mask(const QuicInitialKeys& keys, const uint8_t* sample, uint8_t mask[16]) noexcept {
  CryptoHandles& h = handles();
  if (!h.ok) return false;
  return gcry_cipher_setkey(h.ecb, keys.hp.data(), 16) == 0 && gcry_cipher_encrypt(h.ecb, mask, 16, sample, 16) == 0;
}

void make_nonce(const QuicInitialKeys& keys, uint64_t pn, uint8_t nonce[12]) noexcept {
  std::memcpy(nonce, keys.iv.data(), 12);
  for (int i = 0; i < 8; ++i) nonce[4 + i] ^= static_cast<uint8_t>(pn >> (56 - 8 * i));
}

bool skip_varints(const uint8_t* d, std::size_t n, std::size_t& off, int count) noexcept {
  uint64_t v = 0;
  for (int i = 0; i < count; ++i)
    if (!quic_read_varint(d, n, off, v)) return false;
  return true;
}

bool skip_bytes(std::size_t n, std::size_t& off, uint64_t count) noexcept {
  if (count > n - off) return false;
  off += static_cast<std::size_t>(count);
  return true;
}

}  // namespace

bool quic_initial_supported(uint32_t version) noexcept {
  return version == kQuicVersion1 || version == kQuicVersion2 || is_draft_29_32(version);
}

bool quic_read_varint(const uint8_t* data, std::size_t len, std::size_t& off, uint64_t& out) noexcept {
  if (off >= len) return false;
  const std::size_t n = std::size_t{1} << (data[off] >> 6);
  if (n > len - off) return false;
  uint64_t v = data[off] & 0x3Fu;
  for (std::size_t i = 1; i < n; ++i) v = (v << 8) | data[off + i];
  off += n;
  out = v;
  return true;
}

std::optional<QuicLongHeader> parse_quic_long_header(const uint8_t* data, std::size_t len) noexcept {
  if (data == nullptr || len < 7 || (data[0] & 0x80u) == 0) return std::nullopt;
  QuicLongHeader h;
  h.first_byte = data[0];
  h.version = rd32(data + 1);
  std::size_t off = 5;
  h.dcid_len = data[off++];
  if (h.dcid_len > kQuicMaxCid || h.dcid_len > len - off) return std::nullopt;
  std::memcpy(h.dcid.data(), data + off, h.dcid_len);
  off += h.dcid_len;
  if (off >= len) return std::nullopt;
  h.scid_len = data[off++];
  if (h.scid_len > kQuicMaxCid || h.scid_len > len - off) return std::nullopt;
  std::memcpy(h.scid.data(), data + off, h.scid_len);
  off += h.scid_len;
  if (h.version == 0) {
    // Version Negotiation: a non-empty list of 4-byte versions fills the rest.
    if (len - off < 4 || ((len - off) & 3u) != 0) return std::nullopt;
    h.type = QuicPacketType::VersionNegotiation;
    h.packet_size = len;
    return h;
  }
  if (!quic_initial_supported(h.version)) {
    h.type = QuicPacketType::Unknown;
    h.packet_size = len;
    return h;
  }
  h.type = long_type(h.version, h.first_byte);
  uint64_t v = 0;
  if (h.type == QuicPacketType::Retry) {
    if (len - off < 16) return std::nullopt;  // integrity tag
    h.token_offset = off;
    h.token_len = len - off - 16;
    h.packet_size = len;
    return h;
  }
  if (h.type == QuicPacketType::Initial) {
    if (!quic_read_varint(data, len, off, v) || v > len - off) return std::nullopt;
    h.token_offset = off;
    h.token_len = static_cast<std::size_t>(v);
    off += h.token_len;
  }
  if (!quic_read_varint(data, len, off, h.length) || h.length > len - off || h.length == 0) return std::nullopt;
  h.pn_offset = off;
  h.packet_size = off + static_cast<std::size_t>(h.length);
  return h;
}

bool quic_derive_initial_keys(uint32_t version, const uint8_t* dcid, std::size_t dcid_len, bool client_side,
                              QuicInitialKeys& out) noexcept {
  if (!quic_initial_supported(version) || dcid_len > kQuicMaxCid || (dcid == nullptr && dcid_len != 0))
    return false;
  CryptoHandles& h = handles();
  if (!h.ok) return false;
  const int which = version == kQuicVersion1 ? 0 : version == kQuicVersion2 ? 1 : 2;
  gcry_md_hd_t salted = h.salted(which);  // HKDF-Extract's key: the version's salt, keyed once per thread
  if (salted == nullptr) return false;
  const bool v2 = version == kQuicVersion2;
  uint8_t initial[32];
  uint8_t secret[32];
  const uint8_t empty = 0;
  // HKDF-Extract(salt, dcid) = HMAC(salt, dcid); then the side's secret under the initial secret; then
  // key, iv and hp, all three under the side's secret.
  return hmac_sha256(salted, dcid_len ? dcid : &empty, dcid_len, initial) && hmac_key(h.hmac, initial, 32) &&
         hkdf_expand_label(h.hmac, client_side ? "client in" : "server in", secret, 32) &&
         hmac_key(h.hmac, secret, 32) &&
         hkdf_expand_label(h.hmac, v2 ? "quicv2 key" : "quic key", out.key.data(), 16) &&
         hkdf_expand_label(h.hmac, v2 ? "quicv2 iv" : "quic iv", out.iv.data(), 12) &&
         hkdf_expand_label(h.hmac, v2 ? "quicv2 hp" : "quic hp", out.hp.data(), 16);
}

std::optional<QuicDecrypted> quic_decrypt_packet(const uint8_t* packet, std::size_t len, const QuicLongHeader& h,
                                                 const QuicInitialKeys& keys, uint8_t* out,
                                                 std::size_t out_cap) noexcept {
  if (packet == nullptr || out == nullptr) return std::nullopt;
  if (h.type != QuicPacketType::Initial && h.type != QuicPacketType::Handshake && h.type != QuicPacketType::ZeroRtt)
    return std::nullopt;
  if (h.packet_size > len || h.pn_offset == 0 || h.packet_size < h.pn_offset + 4 + 16) return std::nullopt;
  uint8_t mask[16];
  if (!hp_mask(keys, packet + h.pn_offset + 4, mask)) return std::nullopt;
  const uint8_t first = static_cast<uint8_t>(packet[0] ^ (mask[0] & 0x0Fu));
  QuicDecrypted r;
  r.pn_len = static_cast<uint8_t>((first & 3u) + 1);
  uint8_t pn_bytes[4];
  for (uint8_t i = 0; i < r.pn_len; ++i) {
    pn_bytes[i] = static_cast<uint8_t>(packet[h.pn_offset + i] ^ mask[1 + i]);
    r.packet_number = (r.packet_number << 8) | pn_bytes[i];
  }
  const std::size_t start = h.pn_offset + r.pn_len;
  if (h.packet_size - start < 16) return std::nullopt;
  const std::size_t ct_len = h.packet_size - start - 16;
  if (ct_len > out_cap) return std::nullopt;
  uint8_t nonce[12];
  make_nonce(keys, r.packet_number, nonce);
  CryptoHandles& c = handles();
  if (!c.ok) return std::nullopt;
  if (gcry_cipher_setkey(c.gcm, keys.key.data(), 16) != 0 || gcry_cipher_setiv(c.gcm, nonce, 12) != 0 ||
      gcry_cipher_authenticate(c.gcm, &first, 1) != 0 ||
      gcry_cipher_authenticate(c.gcm, packet + 1, h.pn_offset - 1) != 0 ||
      gcry_cipher_authenticate(c.gcm, pn_bytes, r.pn_len) != 0 ||
      gcry_cipher_decrypt(c.gcm, out, ct_len, packet + start, ct_len) != 0 ||
      gcry_cipher_checktag(c.gcm, packet + start + ct_len, 16) != 0)
    return std::nullopt;
  r.payload_len = ct_len;
  return r;
}

std::size_t quic_protect_packet(const uint8_t* header, std::size_t header_len, std::size_t pn_offset,
                                const uint8_t* payload, std::size_t payload_len, const QuicInitialKeys& keys,
                                uint8_t* out, std::size_t out_cap) noexcept {
  if (header == nullptr || payload == nullptr || out == nullptr || header_len == 0) return 0;
  const std::size_t pn_len = (header[0] & 3u) + 1;
  if (pn_offset + pn_len != header_len) return 0;
  const std::size_t total = header_len + payload_len + 16;
  if (total > out_cap || total < pn_offset + 4 + 16) return 0;
  uint64_t pn = 0;
  for (std::size_t i = 0; i < pn_len; ++i) pn = (pn << 8) | header[pn_offset + i];
  uint8_t nonce[12];
  make_nonce(keys, pn, nonce);
  CryptoHandles& c = handles();
  if (!c.ok) return 0;
  std::memcpy(out, header, header_len);
  if (gcry_cipher_setkey(c.gcm, keys.key.data(), 16) != 0 || gcry_cipher_setiv(c.gcm, nonce, 12) != 0 ||
      gcry_cipher_authenticate(c.gcm, header, header_len) != 0 ||
      gcry_cipher_encrypt(c.gcm, out + header_len, payload_len, payload, payload_len) != 0 ||
      gcry_cipher_gettag(c.gcm, out + header_len + payload_len, 16) != 0)
    return 0;
  uint8_t mask[16];
  if (!hp_mask(keys, out + pn_offset + 4, mask)) return 0;
  out[0] ^= static_cast<uint8_t>(mask[0] & ((out[0] & 0x80u) ? 0x0Fu : 0x1Fu));
  for (std::size_t i = 0; i < pn_len; ++i) out[pn_offset + i] ^= mask[1 + i];
  return total;
}

// ---- CRYPTO reassembly ---------------------------------------------------------------------------

bool QuicCryptoReassembler::add(uint64_t offset, const uint8_t* data, std::size_t len) noexcept {
  if (len == 0) return true;
  if (data == nullptr || offset >= kCapacity) return false;
  const std::size_t start = static_cast<std::size_t>(offset);
  const std::size_t n = len < kCapacity - start ? len : kCapacity - start;
  std::memcpy(buf_.data() + start, data, n);
  for (std::size_t i = start; i < start + n; ++i) have_[i >> 3] = static_cast<uint8_t>(have_[i >> 3] | (1u << (i & 7u)));
  while (contiguous_ < kCapacity && (have_[contiguous_ >> 3] & (1u << (contiguous_ & 7u))) != 0) ++contiguous_;
  return n == len;
}

std::size_t QuicCryptoReassembler::message_size() const noexcept {
  if (contiguous_ < 4) return 0;
  return 4 + ((std::size_t{buf_[1]} << 16) | (std::size_t{buf_[2]} << 8) | buf_[3]);
}

bool QuicCryptoReassembler::message_complete() const noexcept {
  const std::size_t m = message_size();
  return m != 0 && m <= contiguous_;
}

void QuicCryptoReassembler::reset() noexcept {
  have_ = {};
  contiguous_ = 0;
}

// ---- frames --------------------------------------------------------------------------------------

bool quic_walk_frames(const uint8_t* d, std::size_t n, QuicCryptoReassembler& crypto,
                      QuicFrameStats& st) noexcept {
  if (d == nullptr) return n == 0;
  std::size_t off = 0;
  uint64_t v = 0, a = 0, b = 0;
  while (off < n) {
    uint64_t type = 0;
    if (!quic_read_varint(d, n, off, type)) return false;
    switch (type) {
      case 0x00:
        ++st.padding;
        while (off < n && d[off] == 0) ++off;
        break;
      case 0x01: ++st.ping; break;
      case 0x02:
      case 0x03: {  // ACK: largest, delay, range count, first range, ranges, [ECN counts]
        uint64_t ranges = 0;
        if (!skip_varints(d, n, off, 2) || !quic_read_varint(d, n, off, ranges) || !skip_varints(d, n, off, 1))
          return false;
        if (ranges > n) return false;
        for (uint64_t i = 0; i < ranges; ++i)
          if (!skip_varints(d, n, off, 2)) return false;
        if (type == 0x03 && !skip_varints(d, n, off, 3)) return false;
        ++st.ack;
        break;
      }
      case 0x04: if (!skip_varints(d, n, off, 3)) return false; ++st.other; break;
      case 0x05: if (!skip_varints(d, n, off, 2)) return false; ++st.other; break;
      case 0x06: {  // CRYPTO: offset, length, data
        if (!quic_read_varint(d, n, off, a) || !quic_read_varint(d, n, off, b) || b > n - off) return false;
        if (!crypto.add(a, d + off, static_cast<std::size_t>(b))) st.crypto_overflow = true;
        off += static_cast<std::size_t>(b);
        ++st.crypto;
        break;
      }
      case 0x07:  // NEW_TOKEN
        if (!quic_read_varint(d, n, off, v) || !skip_bytes(n, off, v)) return false;
        ++st.other;
        break;
      case 0x08: case 0x09: case 0x0a: case 0x0b: case 0x0c: case 0x0d: case 0x0e: case 0x0f: {  // STREAM
        if (!skip_varints(d, n, off, 1)) return false;
        if ((type & 0x04u) != 0 && !skip_varints(d, n, off, 1)) return false;
        if ((type & 0x02u) != 0) {
          if (!quic_read_varint(d, n, off, v) || !skip_bytes(n, off, v)) return false;
        } else {
          off = n;
        }
        ++st.other;
        break;
      }
      case 0x10: case 0x12: case 0x13: case 0x14: case 0x16: case 0x17: case 0x19:
        if (!skip_varints(d, n, off, 1)) return false;
        ++st.other;
        break;
      case 0x11: case 0x15:
        if (!skip_varints(d, n, off, 2)) return false;
        ++st.other;
        break;
      case 0x18: {  // NEW_CONNECTION_ID
        if (!skip_varints(d, n, off, 2) || off >= n) return false;
        const std::size_t cl = d[off++];
        if (cl < 1 || cl > kQuicMaxCid || !skip_bytes(n, off, cl + 16)) return false;
        ++st.other;
        break;
      }
      case 0x1a: case 0x1b:
        if (!skip_bytes(n, off, 8)) return false;
        ++st.other;
        break;
      case 0x1c: case 0x1d:  // CONNECTION_CLOSE: error, [frame type], reason
        if (!skip_varints(d, n, off, type == 0x1c ? 2 : 1) || !quic_read_varint(d, n, off, v) ||
            !skip_bytes(n, off, v))
          return false;
        st.connection_close = true;
        break;
      case 0x1e: ++st.other; break;  // HANDSHAKE_DONE
      case 0x30: off = n; ++st.other; break;  // DATAGRAM to the end
      case 0x31:
        if (!quic_read_varint(d, n, off, v) || !skip_bytes(n, off, v)) return false;
        ++st.other;
        break;
      default: return false;
    }
  }
  return true;
}

// ---- per-flow Initial processing -----------------------------------------------------------------

void QuicInitialParser::reset() noexcept {
  crypto_.reset();
  keys_version_ = 0;
  keys_dcid_len_ = 0xFF;
  status_ = Status::NotQuic;
  hello_.reset();
  version_ = 0;
  initial_packets_ = 0;
  decrypt_failures_ = 0;
}

QuicInitialParser::Status QuicInitialParser::feed(const uint8_t* data, std::size_t len) noexcept {
  if (status_ == Status::Complete || status_ == Status::Failed || data == nullptr) return status_;
  bool decrypted = false;
  std::size_t off = 0;
  while (off < len && (data[off] & 0x80u) != 0) {
    auto h = parse_quic_long_header(data + off, len - off);
    if (!h) break;
    if (h->type == QuicPacketType::Initial && h->packet_size - h->pn_offset <= kMaxPacket) {
      if (keys_dcid_len_ != h->dcid_len || keys_version_ != h->version ||
          std::memcmp(keys_dcid_.data(), h->dcid.data(), h->dcid_len) != 0) {
        if (!quic_derive_initial_keys(h->version, h->dcid.data(), h->dcid_len, true, keys_)) break;
        keys_version_ = h->version;
        keys_dcid_len_ = h->dcid_len;
        keys_dcid_ = h->dcid;
      }
      auto d = quic_decrypt_packet(data + off, len - off, *h, keys_, plain_.data(), plain_.size());
      if (!d) {
        ++decrypt_failures_;
      } else {
        ++initial_packets_;
        decrypted = true;
        if (version_ == 0) version_ = h->version;
        QuicFrameStats st;
        (void)quic_walk_frames(plain_.data(), d->payload_len, crypto_, st);  // keep CRYPTO data seen so far
      }
    }
    off += h->packet_size;
  }
  if (crypto_.message_complete()) {
    hello_ = parse_client_hello_body(crypto_.data(), crypto_.message_size());
    status_ = hello_ ? Status::Complete : Status::Failed;
  } else if (crypto_.message_size() > QuicCryptoReassembler::kCapacity) {
    status_ = Status::Failed;
  } else if (decrypted) {
    status_ = Status::NeedMore;
  }
  return status_;
}

}  // namespace sealscope::classify
