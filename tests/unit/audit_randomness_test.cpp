// Randomness evidence (src/audit/randomness.*) on known random bytes, known text and known structures.
#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "audit/framing.hpp"
#include "audit/randomness.hpp"

using namespace sealscope::audit;

namespace {
std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}
const char* kText =
    "Dear Alice, the meeting moved to Thursday at ten. Bring the draft of the report and the figures we "
    "discussed last week; Bob will join by phone from the harbour office. Regards, Carol. ";
Assessment of(const std::string& s, int packets = 2) {
  ByteStats st;
  st.add(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  st.packets = static_cast<uint32_t>(packets);
  return assess(st);
}
}  // namespace

TEST_CASE("audit randomness: expected entropy of random bytes matches a simulation") {
  for (uint64_t n : {64u, 300u, 5000u}) {
    double sum = 0;
    const int trials = 200;
    for (int t = 0; t < trials; ++t) sum += of(random_bytes(n, 1000 + t)).entropy;
    INFO("n = " << n);
    CHECK(expected_random_entropy(n) == Approx(sum / trials).margin(0.01));
  }
  CHECK(expected_random_entropy(1u << 22) == Approx(8.0).margin(0.001));
}

TEST_CASE("audit randomness: random bytes are random-like at every size, text is cleartext-like") {
  int flagged = 0;
  for (size_t n : {64u, 100u, 256u, 1000u, 10000u, 200000u}) {
    for (uint32_t seed = 1; seed <= 20; ++seed) {
      const Assessment a = of(random_bytes(n, seed * 7919));
      flagged += a.judgement != Judgement::RandomLike;
      CHECK(a.serial == Approx(0).margin(5.0 / std::sqrt(static_cast<double>(n))));
    }
  }
  CHECK(flagged == 0);
  for (size_t n : {64u, 150u, 1000u, 50000u}) {
    std::string t;
    while (t.size() < n) t += kText;
    t.resize(n);
    const Assessment a = of(t);
    INFO("text of " << n << " bytes: entropy " << a.entropy << " p " << a.p_value);
    CHECK(a.judgement == Judgement::CleartextLike);
    CHECK(a.printable == Approx(1.0));
  }
}

TEST_CASE("audit randomness: too few bytes or one packet gives no judgement, constant bytes are filler") {
  CHECK(of(std::string(63, 'a')).judgement == Judgement::TooFew);
  CHECK(of(random_bytes(5000, 3), 1).judgement == Judgement::TooFew);  // one packet: a probe
  CHECK(of(std::string(500, '\0')).judgement == Judgement::Filler);
}

TEST_CASE("audit randomness: non-random binary is structured, not text") {
  // Binary records: a few header bytes, counters and zero padding (like probes of media relays).
  std::string s;
  for (int i = 0; i < 200; ++i) {
    s += std::string("\x01\x00\x00\x46", 4);
    s += static_cast<char>(i);
    s += random_bytes(3, static_cast<uint32_t>(i));
    s += std::string(12, '\0');
  }
  const Assessment a = of(s);
  INFO("entropy " << a.entropy << " printable " << a.printable);
  CHECK(a.judgement == Judgement::Structured);
  CHECK(a.printable < kMinPrintableShare);
}

TEST_CASE("audit randomness: base64 text and a cleartext header on every small unit") {
  // base64 of random bytes carries 6 bits per byte: cleartext-like (it is an encoding, not encryption).
  static const char* k64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::mt19937 rng(5);
  std::string b64(4000, 'A');
  for (char& c : b64) c = k64[rng() % 64];
  CHECK(of(b64).judgement == Judgement::CleartextLike);

  // Units (e.g. plain RTP payloads) whose first byte is an unencrypted codec header.
  ByteStats st;
  for (int i = 0; i < 100; ++i) {
    std::string unit = random_bytes(60, 100 + i);
    unit[0] = static_cast<char>(0x78);
    st.unit(0x78);
    st.add(reinterpret_cast<const uint8_t*>(unit.data()), unit.size());
    ++st.packets;
  }
  const Assessment a = assess(st);
  CHECK(a.judgement == Judgement::FixedLead);
  CHECK(a.lead_share == Approx(1.0));
  // The same units with a random first byte (SRTP) are random-like.
  ByteStats sr;
  for (int i = 0; i < 100; ++i) {
    const std::string unit = random_bytes(60, 300 + i);
    sr.unit(static_cast<uint8_t>(unit[0]));
    sr.add(reinterpret_cast<const uint8_t*>(unit.data()), unit.size());
    ++sr.packets;
  }
  CHECK(assess(sr).judgement == Judgement::RandomLike);
}

TEST_CASE("audit framing: TLS application data measured, handshake skipped, a gap loses frame sync") {
  ByteStats st;
  TcpFramer f;
  std::string s;
  // A handshake record of text (must not be measured) then two application-data records of 50 bytes.
  const std::string hs(100, 'h');
  s += std::string("\x16\x03\x03\x00\x64", 5) + hs;
  const std::string body1 = random_bytes(50, 1), body2 = random_bytes(50, 2);
  s += std::string("\x17\x03\x03\x00\x32", 5) + body1;
  s += std::string("\x17\x03\x03\x00\x32", 5) + body2;
  // Fed in awkward pieces: record headers split across feeds.
  for (size_t i = 0; i < s.size(); i += 7) {
    f.feed(reinterpret_cast<const uint8_t*>(s.data()) + i, std::min<size_t>(7, s.size() - i), Framing::Unknown, true,
           st);
  }
  CHECK(f.framing() == Framing::Tls);
  CHECK(st.n == 100);
  CHECK(st.counts['h'] <= 2);  // only random bytes that happen to be 'h'
  CHECK(st.units == 0);        // TLS 1.2 bodies start with an explicit nonce: no lead test
  f.gap(st);
  CHECK(f.lost_sync());
  const std::string more = "after the gap";
  f.feed(reinterpret_cast<const uint8_t*>(more.data()), more.size(), Framing::Unknown, true, st);
  CHECK(st.n == 100 + more.size());  // measured raw
}

TEST_CASE("audit framing: sealchat prologue and length prefixes are stripped, the relay side follows") {
  ByteStats up, down;
  TcpFramer fu, fd;
  const std::string body = random_bytes(32, 9);
  const std::string client = std::string("\x53\x4C\x01\x00\x00\x20", 6) + body;
  fu.feed(reinterpret_cast<const uint8_t*>(client.data()), client.size(), Framing::Unknown, true, up);
  CHECK(fu.framing() == Framing::SealChat);
  CHECK(up.n == 32);
  CHECK(up.units == 1);
  const std::string relay = std::string("\x00\x10", 2) + random_bytes(16, 10);
  fd.feed(reinterpret_cast<const uint8_t*>(relay.data()), relay.size(), fu.framing(), false, down);
  CHECK(fd.framing() == Framing::SealChat);
  CHECK(down.n == 16);
}

TEST_CASE("audit framing: datagrams: RTP header stripped, STUN and DNS are metadata") {
  ByteStats st;
  DatagramState self, peer;
  for (uint16_t seq = 1; seq <= 3; ++seq) {
    std::string rtp = std::string("\x80\x6F", 2) + std::string(1, '\0') + std::string(1, static_cast<char>(seq)) +
                      std::string("\x00\x00\x00\x10\x11\x22\x33\x44", 8) + random_bytes(40, seq);
    CHECK(strip_datagram(reinterpret_cast<const uint8_t*>(rtp.data()), rtp.size(), 40000, 40002, self, peer, st) ==
          Framing::Rtp);
  }
  CHECK(st.n == 120);
  CHECK(st.units == 2);  // the first packet only starts the stream
  // A STUN binding request (magic cookie) is metadata: nothing measured.
  std::string stun = std::string("\x00\x01\x00\x00\x21\x12\xA4\x42", 8) + random_bytes(12, 4);
  CHECK(strip_datagram(reinterpret_cast<const uint8_t*>(stun.data()), stun.size(), 40000, 3478, self, peer, st) ==
        Framing::Metadata);
  std::string dns = random_bytes(30, 5);
  CHECK(strip_datagram(reinterpret_cast<const uint8_t*>(dns.data()), dns.size(), 5353, 53, self, peer, st) ==
        Framing::Metadata);
  CHECK(st.n == 120);
}
