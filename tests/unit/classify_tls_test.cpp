// TLS ClientHello/ServerHello parsing, JA3/JA3S and the per-flow reassembler. Hellos are built here
// field by field from RFC 8446 §4.1.2-4.1.3 and the extension RFCs; expected MD5s were computed with
// coreutils md5sum over the expected JA3 strings.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "classify/tls_hello.hpp"

using namespace sealscope::classify;

namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, std::size_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put24(Bytes& b, std::size_t v) {
  b.push_back(static_cast<uint8_t>(v >> 16));
  put16(b, v & 0xFFFF);
}
void append(Bytes& b, const Bytes& x) { b.insert(b.end(), x.begin(), x.end()); }
Bytes str(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes ext(uint16_t type, const Bytes& body) {
  Bytes e;
  put16(e, type);
  put16(e, body.size());
  append(e, body);
  return e;
}

Bytes sni_ext(const std::string& name) {
  Bytes entry{0x00};
  put16(entry, name.size());
  append(entry, str(name));
  Bytes body;
  put16(body, entry.size());
  append(body, entry);
  return ext(0, body);
}

Bytes alpn_ext(std::initializer_list<std::string> protos) {
  Bytes list;
  for (const auto& p : protos) {
    list.push_back(static_cast<uint8_t>(p.size()));
    append(list, str(p));
  }
  Bytes body;
  put16(body, list.size());
  append(body, list);
  return ext(16, body);
}

Bytes u16_list_ext(uint16_t type, std::initializer_list<uint16_t> v) {
  Bytes body;
  put16(body, v.size() * 2);
  for (auto x : v) put16(body, x);
  return ext(type, body);
}

/// A ClientHello handshake message (type 1) with GREASE in ciphers, extensions, groups, versions.
Bytes client_hello(const Bytes& extensions_override = {}, bool with_extensions = true) {
  Bytes b;
  put16(b, 0x0303);                   // legacy_version
  for (int i = 0; i < 32; ++i) b.push_back(static_cast<uint8_t>(i));  // random
  b.push_back(32);                    // legacy_session_id
  for (int i = 0; i < 32; ++i) b.push_back(0xAB);
  put16(b, 8);                        // cipher_suites
  for (uint16_t c : {0x0a0a, 0x1301, 0x1302, 0xc02b}) put16(b, c);
  b.push_back(1);                     // compression methods: null
  b.push_back(0);
  if (with_extensions) {
    Bytes exts = extensions_override;
    if (exts.empty()) {
      append(exts, ext(0x1a1a, {}));                               // GREASE extension
      append(exts, sni_ext("www.example.org"));
      append(exts, ext(11, {0x01, 0x00}));                         // ec_point_formats: uncompressed
      append(exts, u16_list_ext(10, {0x2a2a, 29, 23}));            // supported_groups
      append(exts, alpn_ext({"h2", "http/1.1"}));
      append(exts, u16_list_ext(13, {0x0403, 0x0804, 0x0401}));    // signature_algorithms
      append(exts, ext(43, {0x06, 0x3a, 0x3a, 0x03, 0x04, 0x03, 0x03}));  // supported_versions
      append(exts, ext(35, {}));                                   // session_ticket
    }
    put16(b, exts.size());
    append(b, exts);
  }
  Bytes hs{0x01};
  put24(hs, b.size());
  append(hs, b);
  return hs;
}

Bytes server_hello(bool hrr = false) {
  static const uint8_t kHrr[32] = {0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C,
                                   0x02, 0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB,
                                   0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};
  Bytes b;
  put16(b, 0x0303);
  for (int i = 0; i < 32; ++i) b.push_back(hrr ? kHrr[i] : static_cast<uint8_t>(0x40 + i));
  b.push_back(0);        // empty session id
  put16(b, 0x1301);      // cipher
  b.push_back(0);        // compression
  Bytes exts;
  append(exts, ext(43, {0x03, 0x04}));
  Bytes ks;
  put16(ks, 29);
  put16(ks, 32);
  for (int i = 0; i < 32; ++i) ks.push_back(0x11);
  append(exts, ext(51, ks));
  put16(b, exts.size());
  append(b, exts);
  Bytes hs{0x02};
  put24(hs, b.size());
  append(hs, b);
  return hs;
}

/// Wraps handshake bytes in records of at most `frag` bytes each.
Bytes records(const Bytes& hs, std::size_t frag = 16384, uint16_t version = 0x0301) {
  Bytes out;
  for (std::size_t off = 0; off < hs.size(); off += frag) {
    const std::size_t n = std::min(frag, hs.size() - off);
    out.push_back(22);
    put16(out, version);
    put16(out, n);
    out.insert(out.end(), hs.begin() + static_cast<long>(off), hs.begin() + static_cast<long>(off + n));
  }
  return out;
}

}  // namespace

TEST_CASE("TLS GREASE values", "[classify][tls]") {
  CHECK(tls_is_grease(0x0a0a));
  CHECK(tls_is_grease(0xfafa));
  CHECK_FALSE(tls_is_grease(0x0a1a));
  CHECK_FALSE(tls_is_grease(0x1301));
}

TEST_CASE("TLS ClientHello in one record", "[classify][tls]") {
  const Bytes rec = records(client_hello());
  auto h = parse_tls_records(rec.data(), rec.size());
  REQUIRE(h);
  CHECK(h->is_client);
  CHECK(h->record_version == 0x0301);
  CHECK(h->legacy_version == 0x0303);
  CHECK(h->version == 0x0304);  // from supported_versions, GREASE skipped
  CHECK(std::string(h->sni.data()) == "www.example.org");
  CHECK(h->sni_len == 15);
  REQUIRE(h->alpn_count == 2);
  CHECK(std::string(h->alpn[0].data()) == "h2");
  CHECK(std::string(h->alpn[1].data()) == "http/1.1");
  CHECK(h->cipher_count == 4);
  CHECK(h->ciphers[1] == 0x1301);
  CHECK(h->extension_count == 8);
  CHECK(h->group_count == 3);
  CHECK(h->point_format_count == 1);
  CHECK(h->sig_alg_count == 3);
  CHECK(h->supported_version_count == 3);
  CHECK(h->has_session_ticket);
  CHECK_FALSE(h->has_quic_transport_params);
  CHECK(std::string(h->ja3.data()) == "771,4865-4866-49195,0-11-10-16-13-43-35,29-23,0");
  CHECK(std::string(h->ja3_md5.data()) == "cbd3832a2a9ee0df6c4a4c41238bd0d2");
}

TEST_CASE("TLS ClientHello: every truncated prefix is rejected", "[classify][tls]") {
  const Bytes rec = records(client_hello());
  for (std::size_t len = 0; len < rec.size(); ++len) CHECK_FALSE(parse_tls_records(rec.data(), len));
  const Bytes hs = client_hello();
  for (std::size_t len = 0; len < hs.size(); ++len) CHECK_FALSE(parse_handshake_hello(hs.data(), len));
}

TEST_CASE("TLS ClientHello: corrupted fields are rejected", "[classify][tls]") {
  const Bytes hs = client_hello();
  SECTION("odd cipher suites length") {
    Bytes b = hs;
    b[4 + 2 + 32 + 1 + 32 + 1] = 7;  // low byte of cipher_suites length
    CHECK_FALSE(parse_handshake_hello(b.data(), b.size()));
  }
  SECTION("session id longer than 32") {
    Bytes b = hs;
    b[4 + 2 + 32] = 33;
    CHECK_FALSE(parse_handshake_hello(b.data(), b.size()));
  }
  SECTION("extensions length does not match") {
    Bytes exts = sni_ext("a.example");
    Bytes b = client_hello(exts);
    b[b.size() - exts.size() - 1] ^= 0x01;
    CHECK_FALSE(parse_handshake_hello(b.data(), b.size()));
  }
  SECTION("SNI list length inconsistent") {
    Bytes e = sni_ext("a.example");
    e[5] ^= 0x01;  // server_name_list length
    Bytes b = client_hello(e);
    CHECK_FALSE(parse_handshake_hello(b.data(), b.size()));
  }
  SECTION("empty ALPN protocol") {
    Bytes e = ext(16, {0x00, 0x01, 0x00});
    Bytes b = client_hello(e);
    CHECK_FALSE(parse_handshake_hello(b.data(), b.size()));
  }
  SECTION("not a hello") {
    Bytes b = hs;
    b[0] = 11;  // Certificate
    CHECK_FALSE(parse_handshake_hello(b.data(), b.size()));
  }
  SECTION("record type is not handshake") {
    Bytes r = records(hs);
    r[0] = 23;
    CHECK_FALSE(parse_tls_records(r.data(), r.size()));
  }
}

TEST_CASE("TLS ClientHello without extensions (TLS 1.0 style)", "[classify][tls]") {
  const Bytes hs = client_hello({}, false);
  auto h = parse_handshake_hello(hs.data(), hs.size());
  REQUIRE(h);
  CHECK(h->extension_count == 0);
  CHECK(h->version == 0x0303);
  CHECK(std::string(h->ja3.data()) == "771,4865-4866-49195,,,");
}

TEST_CASE("TLS ClientHello long SNI is truncated safely", "[classify][tls]") {
  const std::string longname(300, 'x');
  const Bytes hs = client_hello(sni_ext(longname));
  auto h = parse_handshake_hello(hs.data(), hs.size());
  REQUIRE(h);
  CHECK(h->sni_len == 300);
  CHECK(std::strlen(h->sni.data()) == kTlsNameCap - 1);
}

TEST_CASE("TLS ClientHello with QUIC transport parameters", "[classify][tls]") {
  Bytes exts = sni_ext("q.example");
  append(exts, ext(0x39, {0x01, 0x02, 0x40, 0x64}));
  const Bytes hs = client_hello(exts);
  auto h = parse_client_hello_body(hs.data(), hs.size());
  REQUIRE(h);
  CHECK(h->has_quic_transport_params);
  Bytes exts2 = sni_ext("q.example");
  append(exts2, ext(0xffa5, {}));
  const Bytes hs2 = client_hello(exts2);
  auto h2 = parse_client_hello_body(hs2.data(), hs2.size());
  REQUIRE(h2);
  CHECK(h2->has_quic_transport_params);
}

TEST_CASE("TLS ServerHello and JA3S", "[classify][tls]") {
  const Bytes rec = records(server_hello(), 16384, 0x0303);
  auto h = parse_tls_records(rec.data(), rec.size());
  REQUIRE(h);
  CHECK_FALSE(h->is_client);
  CHECK_FALSE(h->hello_retry_request);
  CHECK(h->version == 0x0304);
  CHECK(h->cipher_count == 1);
  CHECK(h->ciphers[0] == 0x1301);
  CHECK(std::string(h->ja3.data()) == "771,4865,43-51");
  CHECK(std::string(h->ja3_md5.data()) == "f4febc55ea12b31ae17cfb7e614afda8");
  const Bytes sh = server_hello();
  CHECK_FALSE(parse_client_hello_body(sh.data(), sh.size()));
  for (std::size_t len = 0; len < sh.size(); ++len) CHECK_FALSE(parse_handshake_hello(sh.data(), len));
  const Bytes hrr = server_hello(true);
  auto r = parse_handshake_hello(hrr.data(), hrr.size());
  REQUIRE(r);
  CHECK(r->hello_retry_request);
}

TEST_CASE("TLS reassembler: byte-by-byte segments", "[classify][tls]") {
  const Bytes rec = records(client_hello());
  TlsHelloReassembler r;
  for (std::size_t i = 0; i < rec.size(); ++i) {
    auto s = r.append(rec.data() + i, 1);
    if (i + 1 < rec.size()) {
      REQUIRE(s == TlsHelloReassembler::Status::NeedMore);
      CHECK_FALSE(r.hello());
    } else {
      REQUIRE(s == TlsHelloReassembler::Status::Complete);
    }
  }
  REQUIRE(r.hello());
  CHECK(std::string(r.hello()->sni.data()) == "www.example.org");
  CHECK(r.hello()->record_version == 0x0301);
}

TEST_CASE("TLS reassembler: hello fragmented over several records and segments", "[classify][tls]") {
  const Bytes rec = records(client_hello(), 50);  // many small records
  CHECK_FALSE(parse_tls_records(rec.data(), rec.size()));  // needs the reassembler
  TlsHelloReassembler r;
  const std::size_t cut = 77;  // inside the second record
  CHECK(r.append(rec.data(), cut) == TlsHelloReassembler::Status::NeedMore);
  CHECK(r.append(rec.data() + cut, rec.size() - cut) == TlsHelloReassembler::Status::Complete);
  REQUIRE(r.hello());
  CHECK(std::string(r.hello()->ja3_md5.data()) == "cbd3832a2a9ee0df6c4a4c41238bd0d2");
  // Sticky: more data does not change anything.
  CHECK(r.append(rec.data(), 10) == TlsHelloReassembler::Status::Complete);
  r.reset();
  CHECK(r.status() == TlsHelloReassembler::Status::NeedMore);
  CHECK_FALSE(r.hello());
}

TEST_CASE("TLS reassembler: every prefix stays incomplete", "[classify][tls]") {
  const Bytes rec = records(client_hello(), 100);
  for (std::size_t len = 0; len < rec.size(); ++len) {
    TlsHelloReassembler r;
    CHECK(r.append(rec.data(), len) == TlsHelloReassembler::Status::NeedMore);
  }
}

TEST_CASE("TLS reassembler: not TLS, overflow and invalid", "[classify][tls]") {
  SECTION("HTTP") {
    TlsHelloReassembler r;
    const Bytes http = str("GET / HTTP/1.1\r\n");
    CHECK(r.append(http.data(), http.size()) == TlsHelloReassembler::Status::NotTls);
  }
  SECTION("application data record first") {
    TlsHelloReassembler r;
    const Bytes b = {23, 3, 3, 0, 10};
    CHECK(r.append(b.data(), b.size()) == TlsHelloReassembler::Status::NotTls);
  }
  SECTION("bad version byte is caught before the header is complete") {
    TlsHelloReassembler r;
    const Bytes b = {22, 2};
    CHECK(r.append(b.data(), b.size()) == TlsHelloReassembler::Status::NotTls);
  }
  SECTION("handshake that is not a hello") {
    TlsHelloReassembler r;
    const Bytes b = {22, 3, 1, 0, 4, 11, 0, 0, 0};
    CHECK(r.append(b.data(), b.size()) == TlsHelloReassembler::Status::NotTls);
  }
  SECTION("hello larger than the buffer") {
    TlsHelloReassembler r;
    const Bytes b = {22, 3, 1, 0, 4, 1, 0x01, 0x00, 0x00};  // 64 KiB body
    CHECK(r.append(b.data(), b.size()) == TlsHelloReassembler::Status::Overflow);
  }
  SECTION("complete but malformed") {
    Bytes hs = client_hello();
    hs[4 + 2 + 32] = 40;  // session id length
    const Bytes rec = records(hs);
    TlsHelloReassembler r;
    CHECK(r.append(rec.data(), rec.size()) == TlsHelloReassembler::Status::Invalid);
    CHECK_FALSE(r.hello());
  }
}
