#include "classify/tls_hello.hpp"

#include "classify/crypto.hpp"

#include <cstring>

namespace sealscope::classify {
namespace {

uint16_t rd16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t rd24(const uint8_t* p) noexcept { return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2]; }

// ---- MD5 hex of the JA3 string ------------------------------------------------------------------

/// Lowercase hex MD5 (libgcrypt's) of `n` bytes; empty if MD5 is not available.
void md5_hex(const char* s, std::size_t n, std::array<char, 33>& out) noexcept {
  uint8_t d[16];
  out[0] = '\0';
  if (!crypto::md5(s, n, d)) return;
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) {
    out[2 * i] = kHex[d[i] >> 4];
    out[2 * i + 1] = kHex[d[i] & 15];
  }
  out[32] = '\0';
}

// ---- JA3 string building into a fixed buffer -----------------------------------------------------

class Ja3Writer {
 public:
  explicit Ja3Writer(std::array<char, kTlsJa3Cap>& out) noexcept : out_(out) {}
  void put(char c) noexcept {
    if (n_ + 1 < out_.size()) out_[n_++] = c; else ok_ = false;
  }
  void num(unsigned v) noexcept {
    char tmp[8];
    int k = 0;
    do { tmp[k++] = static_cast<char>('0' + v % 10); v /= 10; } while (v != 0 && k < 8);
    while (k > 0) put(tmp[--k]);
  }
  template <typename T>
  void list(const T* v, std::size_t n) noexcept {
    bool first = true;
    for (std::size_t i = 0; i < n; ++i) {
      if (tls_is_grease(static_cast<uint16_t>(v[i])) && sizeof(T) == 2) continue;
      if (!first) put('-');
      num(v[i]);
      first = false;
    }
  }
  bool finish() noexcept {
    out_[n_] = '\0';
    return ok_;
  }
  std::size_t size() const noexcept { return n_; }

 private:
  std::array<char, kTlsJa3Cap>& out_;
  std::size_t n_ = 0;
  bool ok_ = true;
};

void compute_ja3(TlsHello& h) noexcept {
  h.ja3[0] = '\0';
  h.ja3_md5[0] = '\0';
  if (h.overflow) return;
  Ja3Writer w(h.ja3);
  w.num(h.legacy_version);
  w.put(',');
  w.list(h.ciphers.data(), h.cipher_count);
  w.put(',');
  w.list(h.extensions.data(), h.extension_count);
  if (h.is_client) {
    w.put(',');
    w.list(h.groups.data(), h.group_count);
    w.put(',');
    w.list(h.point_formats.data(), h.point_format_count);
  }
  if (!w.finish()) {
    h.ja3[0] = '\0';
    return;
  }
  md5_hex(h.ja3.data(), w.size(), h.ja3_md5);
}

// ---- hello parsing ------------------------------------------------------------------------------

constexpr uint8_t kHrrRandom[32] = {0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C,
                                    0x02, 0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB,
                                    0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

template <typename T, std::size_t N>
void push(std::array<T, N>& arr, uint16_t& count, T v, bool& overflow) noexcept {
  if (count < N) arr[count++] = v; else overflow = true;
}

void copy_text(char* out, std::size_t cap, const uint8_t* p, std::size_t n) noexcept {
  const std::size_t m = n < cap - 1 ? n : cap - 1;
  for (std::size_t i = 0; i < m; ++i) out[i] = (p[i] >= 0x20 && p[i] < 0x7F) ? static_cast<char>(p[i]) : '.';
  out[m] = '\0';
}

/// Parses one extension body; false when its inner structure is inconsistent.
bool parse_extension(TlsHello& h, uint16_t type, const uint8_t* p, std::size_t n) noexcept {
  switch (type) {
    case 0: {  // server_name (empty in ServerHello)
      if (n == 0) return !h.is_client;
      if (n < 2 || rd16(p) != n - 2) return false;
      std::size_t off = 2;
      while (off < n) {
        if (n - off < 3) return false;
        const uint8_t nt = p[off];
        const std::size_t nl = rd16(p + off + 1);
        if (nl > n - off - 3) return false;
        if (nt == 0 && h.sni_len == 0 && nl > 0) {
          h.sni_len = static_cast<uint16_t>(nl);
          copy_text(h.sni.data(), h.sni.size(), p + off + 3, nl);
        }
        off += 3 + nl;
      }
      return true;
    }
    case 16: {  // application_layer_protocol_negotiation
      if (n < 2 || rd16(p) != n - 2) return false;
      std::size_t off = 2;
      while (off < n) {
        const std::size_t pl = p[off];
        if (pl == 0 || pl > n - off - 1) return false;
        if (h.alpn_count < kTlsAlpnMax) {
          copy_text(h.alpn[h.alpn_count].data(), kTlsAlpnCap, p + off + 1, pl);
          ++h.alpn_count;
        }
        off += 1 + pl;
      }
      return true;
    }
    case 10: {  // supported_groups
      if (n < 2 || rd16(p) != n - 2 || (n & 1u) != 0) return false;
      for (std::size_t off = 2; off < n; off += 2) push(h.groups, h.group_count, rd16(p + off), h.overflow);
      return true;
    }
    case 11: {  // ec_point_formats
      if (n < 1 || p[0] != n - 1) return false;
      for (std::size_t off = 1; off < n; ++off) push(h.point_formats, h.point_format_count, p[off], h.overflow);
      return true;
    }
    case 13: {  // signature_algorithms
      if (n < 2 || rd16(p) != n - 2 || (n & 1u) != 0) return false;
      for (std::size_t off = 2; off < n; off += 2) push(h.sig_algs, h.sig_alg_count, rd16(p + off), h.overflow);
      return true;
    }
    case 43: {  // supported_versions
      if (!h.is_client) {
        if (n != 2) return false;
        push(h.supported_versions, h.supported_version_count, rd16(p), h.overflow);
        return true;
      }
      if (n < 1 || p[0] != n - 1 || ((n - 1) & 1u) != 0) return false;
      for (std::size_t off = 1; off < n; off += 2)
        push(h.supported_versions, h.supported_version_count, rd16(p + off), h.overflow);
      return true;
    }
    case 0x39: case 0xFFA5: h.has_quic_transport_params = true; return true;
    case 35: h.has_session_ticket = true; return true;
    case 41: h.has_pre_shared_key = true; return true;
    case 42: h.has_early_data = true; return true;
    case 0xFE0D: h.has_ech = true; return true;
    default: return true;
  }
}

bool parse_extensions(TlsHello& h, const uint8_t* p, std::size_t n) noexcept {
  if (n == 0) return true;  // no extensions block at all (SSLv3/TLS 1.0 style)
  if (n < 2 || rd16(p) != n - 2) return false;
  std::size_t off = 2;
  while (off < n) {
    if (n - off < 4) return false;
    const uint16_t type = rd16(p + off);
    const std::size_t el = rd16(p + off + 2);
    if (el > n - off - 4) return false;
    push(h.extensions, h.extension_count, type, h.overflow);
    if (!parse_extension(h, type, p + off + 4, el)) return false;
    off += 4 + el;
  }
  return true;
}

bool parse_client(TlsHello& h, const uint8_t* p, std::size_t n) noexcept {
  if (n < 2 + 32 + 1) return false;
  h.legacy_version = rd16(p);
  std::size_t off = 34;
  const std::size_t sid = p[off];
  if (sid > 32 || sid > n - off - 1) return false;
  off += 1 + sid;
  if (n - off < 2) return false;
  const std::size_t cs = rd16(p + off);
  if (cs < 2 || (cs & 1u) != 0 || cs > n - off - 2) return false;
  for (std::size_t i = 0; i < cs; i += 2) push(h.ciphers, h.cipher_count, rd16(p + off + 2 + i), h.overflow);
  off += 2 + cs;
  if (n - off < 1) return false;
  const std::size_t comp = p[off];
  if (comp < 1 || comp > n - off - 1) return false;
  off += 1 + comp;
  return parse_extensions(h, p + off, n - off);
}

bool parse_server(TlsHello& h, const uint8_t* p, std::size_t n) noexcept {
  if (n < 2 + 32 + 1) return false;
  h.legacy_version = rd16(p);
  h.hello_retry_request = std::memcmp(p + 2, kHrrRandom, 32) == 0;
  std::size_t off = 34;
  const std::size_t sid = p[off];
  if (sid > 32 || sid > n - off - 1) return false;
  off += 1 + sid;
  if (n - off < 3) return false;
  push(h.ciphers, h.cipher_count, rd16(p + off), h.overflow);
  off += 3;  // cipher suite + compression method
  return parse_extensions(h, p + off, n - off);
}

std::optional<TlsHello> parse_hs(const uint8_t* data, std::size_t len, bool client_only,
                                 uint16_t record_version) noexcept {
  if (data == nullptr || len < 4) return std::nullopt;
  const uint8_t type = data[0];
  if (type != 1 && (type != 2 || client_only)) return std::nullopt;
  const std::size_t body = rd24(data + 1);
  if (body > len - 4) return std::nullopt;
  TlsHello h;
  h.is_client = type == 1;
  h.record_version = record_version;
  const bool ok = h.is_client ? parse_client(h, data + 4, body) : parse_server(h, data + 4, body);
  if (!ok) return std::nullopt;
  h.version = h.legacy_version;
  if (h.supported_version_count > 0) {
    uint16_t best = 0;
    for (uint16_t i = 0; i < h.supported_version_count; ++i)
      if (!tls_is_grease(h.supported_versions[i]) && h.supported_versions[i] > best) best = h.supported_versions[i];
    if (best != 0) h.version = best;
  }
  compute_ja3(h);
  return h;
}

bool record_header_ok(const uint8_t* r) noexcept {
  const std::size_t rl = rd16(r + 3);
  return r[0] == 22 && r[1] == 3 && r[2] <= 4 && rl > 0 && rl <= 16384 + 2048;
}

}  // namespace

std::optional<TlsHello> parse_handshake_hello(const uint8_t* data, std::size_t len) noexcept {
  return parse_hs(data, len, false, 0);
}

std::optional<TlsHello> parse_client_hello_body(const uint8_t* data, std::size_t len) noexcept {
  return parse_hs(data, len, true, 0);
}

std::optional<TlsHello> parse_tls_records(const uint8_t* data, std::size_t len) noexcept {
  if (data == nullptr || len < 5 + 4 || !record_header_ok(data)) return std::nullopt;
  const std::size_t rl = rd16(data + 3);
  if (rl > len - 5) return std::nullopt;
  const std::size_t hs = rd24(data + 6);
  if (rl < 4 || hs > rl - 4) return std::nullopt;  // the hello must be complete in the first record
  return parse_hs(data + 5, 4 + hs, false, rd16(data + 1));
}

TlsHelloReassembler::Status TlsHelloReassembler::fail(Status s) noexcept {
  status_ = s;
  return s;
}

void TlsHelloReassembler::reset() noexcept {
  have_ = 0;
  rec_hdr_have_ = 0;
  rec_left_ = 0;
  record_version_ = 0;
  status_ = Status::NeedMore;
  hello_.reset();
}

TlsHelloReassembler::Status TlsHelloReassembler::append(const uint8_t* data, std::size_t len) noexcept {
  if (status_ != Status::NeedMore || data == nullptr) return status_;
  std::size_t off = 0;
  while (off < len) {
    if (rec_left_ == 0) {
      // Collect a record header, checking each byte as soon as it arrives.
      while (rec_hdr_have_ < 5 && off < len) rec_hdr_[rec_hdr_have_++] = data[off++];
      if (rec_hdr_[0] != 22 || (rec_hdr_have_ >= 2 && rec_hdr_[1] != 3) || (rec_hdr_have_ >= 3 && rec_hdr_[2] > 4))
        return fail(Status::NotTls);
      if (rec_hdr_have_ < 5) return status_;
      if (!record_header_ok(rec_hdr_.data())) return fail(Status::NotTls);
      if (record_version_ == 0) record_version_ = rd16(rec_hdr_.data() + 1);
      rec_left_ = rd16(rec_hdr_.data() + 3);
      rec_hdr_have_ = 0;
      continue;
    }
    std::size_t n = len - off < rec_left_ ? len - off : rec_left_;
    if (n > kCapacity - have_) return fail(Status::Overflow);
    std::memcpy(buf_.data() + have_, data + off, n);
    const bool first_bytes = have_ == 0;
    have_ += n;
    off += n;
    rec_left_ -= n;
    if (first_bytes && buf_[0] != 1 && buf_[0] != 2) return fail(Status::NotTls);
    if (have_ >= 4) {
      const std::size_t total = 4 + std::size_t{rd24(buf_.data() + 1)};
      if (total > kCapacity) return fail(Status::Overflow);
      if (have_ >= total) {
        hello_ = parse_hs(buf_.data(), total, false, record_version_);
        return fail(hello_ ? Status::Complete : Status::Invalid);
      }
    }
  }
  return status_;
}

}  // namespace sealscope::classify
