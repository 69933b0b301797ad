// sealscope-fuzz-mkseeds: writes the analyzer fuzz targets' seed corpora (tests/fuzz/seeds/TARGET/) from
// the project's own captures (captures/*.pcap, *.pcapng) and rule files (rules/, tests/policy/), read
// with sealscope's own capture reader and decoder. Deterministic; keeps the corpora small (< 2 MB).
//   sealscope-fuzz-mkseeds REPO_ROOT
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "capture/pcap_source.hpp"
#include "classify/rtp.hpp"
#include "classify/stun.hpp"
#include "decode/decoder.hpp"
#include "fuzz_input.hpp"
#include "simple_printf_tokens.hpp"

using namespace sealscope;
namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

namespace {

fs::path g_out;
std::map<std::string, int> g_count;

void put16(Bytes& b, std::size_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

void seed(const std::string& target, const std::string& name, const Bytes& b) {
  const fs::path dir = g_out / target;
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                                    static_cast<std::streamsize>(b.size()));
  ++g_count[target];
}

uint8_t selector(int lt) {
  for (std::size_t i = 0; i < fuzz::kLinkTypeCount; ++i) {
    if (fuzz::kLinkTypes[i] == lt) return static_cast<uint8_t>(i);
  }
  return 0;
}

struct Frame {
  TimestampUs ts;
  Bytes data;
};

std::vector<Frame> read_frames(const fs::path& p, int& lt, std::size_t max) {
  std::vector<Frame> out;
  capture::PcapSource src = capture::PcapSource::open_file(p.string());
  lt = src.linktype();
  capture::RawPacket pkt;
  while (out.size() < max && src.next(pkt) == capture::ReadStatus::Packet) {
    out.push_back({pkt.ts, Bytes(pkt.data, pkt.data + pkt.caplen)});
  }
  return out;
}

Bytes file_bytes(const fs::path& p, std::size_t max = SIZE_MAX) {
  std::ifstream in(p, std::ios::binary);
  Bytes b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (b.size() > max) b.resize(max);
  return b;
}

/// Time step byte of fuzz_fragments_worker for a gap (ms below 64 ms, else whole seconds up to 63).
uint8_t step_for(TimestampUs gap) {
  if (gap < 64000) return static_cast<uint8_t>((gap / 1000) << 1);
  return static_cast<uint8_t>((std::min<TimestampUs>(gap / 1000000, 63) << 1) | 1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: sealscope-fuzz-mkseeds REPO_ROOT\n");
    return 2;
  }
  const fs::path root = argv[1];
  g_out = root / "tests/fuzz/seeds";
  std::vector<fs::path> caps;
  for (const auto& e : fs::directory_iterator(root / "captures")) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".pcap" || ext == ".pcapng")) caps.push_back(e.path());
  }
  std::sort(caps.begin(), caps.end());

  std::set<Bytes> detect_seen, stun_seen;
  Bytes quic_hello;  // a ClientHello handshake message (no record header) for the protected QUIC seeds
  for (const fs::path& cap : caps) {
    const std::string stem = cap.stem().string();
    const bool small = fs::file_size(cap) <= 12 * 1024;
    int lt = 0;
    const std::vector<Frame> frames = read_frames(cap, lt, small ? 400 : 4000);
    // Whole small captures for the pipeline target (the truncated and malformed ones included).
    if (small) seed("fuzz_pipeline_file", stem + (cap.extension() == ".pcapng" ? ".pcapng" : ".pcap"), file_bytes(cap));
    // A few frames of each capture for the decoder, the first 48 as a sequence for the worker.
    Bytes seq{selector(lt), 0};
    for (std::size_t i = 0; i < frames.size() && i < 48; ++i) {
      const Frame& f = frames[i];
      if (i < 6 || (small && i % 5 == 0)) {
        Bytes d{selector(lt), 0};
        d.insert(d.end(), f.data.begin(), f.data.end());
        seed("fuzz_decode", stem + "-" + std::to_string(i), d);
      }
      if (f.data.size() > 1600) continue;
      seq.push_back(step_for(i == 0 ? 0 : f.ts - frames[i - 1].ts));
      put16(seq, f.data.size());
      seq.insert(seq.end(), f.data.begin(), f.data.end());
    }
    seed("fuzz_fragments_worker", stem, seq);

    decode::Decoder dec;
    decode::AnomalyCounters an;
    // For the decoder, also the first frame of each tunnel (type and outer source) it takes apart, however far
    // into the capture, and the first one it stops at the nesting bound, each under the type's name (unless
    // one of the frames above is that frame).
    std::set<std::pair<int, std::string>> tunnel_seen;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      const Frame& f = frames[i];
      if (i < 6 || (small && i % 5 == 0)) continue;
      decode::Packet p;
      decode::AnomalyCounters a;
      if (dec.decode(lt, f.data.data(), static_cast<uint32_t>(f.data.size()), static_cast<uint32_t>(f.data.size()), p,
                     a) != decode::DecodeResult::Ok) {
        continue;
      }
      const bool too_deep = a.get(decode::Anomaly::GtpTooDeep) + a.get(decode::Anomaly::TunnelTooDeep) > 0;
      const int kind = too_deep ? 100 : static_cast<int>(p.tunnel.type);
      if (kind == 0 || !tunnel_seen.insert({kind, to_string(p.tunnel.outer_src)}).second) continue;
      Bytes d{selector(lt), 0};
      d.insert(d.end(), f.data.begin(), f.data.end());
      seed("fuzz_decode", stem + "-" + (too_deep ? std::string("too-deep") : decode::tunnel_type_name(p.tunnel.type)) + "-" +
                              std::to_string(i),
           d);
    }

    // Payloads, by protocol shape.
    Bytes rtp_seq{4, 64};
    int rtp_n = 0, tls_n = 0, quic_n = 0;
    for (const Frame& f : frames) {
      decode::Packet p;
      if (dec.decode(lt, f.data.data(), static_cast<uint32_t>(f.data.size()), static_cast<uint32_t>(f.data.size()), p,
                     an) != decode::DecodeResult::Ok ||
          p.payload_caplen == 0 || p.later_fragment) {
        continue;
      }
      const Bytes pl(p.payload, p.payload + p.payload_caplen);
      if (detect_seen.size() < 80 && detect_seen.insert(Bytes(pl.begin(), pl.begin() + std::min<std::size_t>(pl.size(), 8))).second) {
        seed("fuzz_detect_rules", stem + "-" + std::to_string(detect_seen.size()), pl);
      }
      if ((classify::parse_stun(pl.data(), pl.size()) || classify::parse_turn_channel_data(pl.data(), pl.size()) ||
           (p.l4_proto == 6 && classify::stun_tcp_frames(pl.data(), pl.size()))) &&
          stun_seen.size() < 40 &&
          stun_seen.insert(Bytes{pl[0], pl.size() > 1 ? pl[1] : uint8_t{0}, static_cast<uint8_t>(pl.size() >> 8),
                                 static_cast<uint8_t>(pl.size())}).second) {
        seed("fuzz_stun", stem + "-" + std::to_string(stun_seen.size()), pl);
      }
      if (p.l4_proto == 17 && rtp_n < 16 && classify::classify_rtp_rtcp(pl.data(), pl.size()) != classify::RtpKind::None) {
        put16(rtp_seq, pl.size());
        rtp_seq.insert(rtp_seq.end(), pl.begin(), pl.end());
        ++rtp_n;
      }
      if (p.l4_proto == 6 && tls_n < 3 && pl.size() > 9 && pl[0] == 0x16 && pl[1] == 0x03 && (pl[5] == 1 || pl[5] == 2)) {
        Bytes t{0};
        t.insert(t.end(), pl.begin(), pl.end());
        seed("fuzz_tls_hello", stem + "-" + std::to_string(tls_n++), t);
        t[0] = 13;  // the same stream in 91-byte segments
        seed("fuzz_tls_hello", stem + "-seg-" + std::to_string(tls_n), t);
        if (pl[5] == 1 && quic_hello.empty()) quic_hello.assign(pl.begin() + 5, pl.end());
      }
      if (p.l4_proto == 17 && quic_n < 2 && pl.size() > 20 && (pl[0] & 0xC0) == 0xC0) {
        Bytes q{0};
        put16(q, pl.size());
        q.insert(q.end(), pl.begin(), pl.end());
        seed("fuzz_quic_initial", stem + "-raw-" + std::to_string(quic_n++), q);
      }
    }
    if (rtp_n >= 4) seed("fuzz_rtp", stem, rtp_seq);

    // The IP packets of the capture's fragments, for the datagram reassembly: in capture order, reversed, and
    // with the first one cut by a snap length (op bits 4-6). Limits byte: the largest cap, a 2 s timeout.
    std::vector<Bytes> frag_packets;
    for (const Frame& f : frames) {
      decode::Packet p;
      if (dec.decode(lt, f.data.data(), static_cast<uint32_t>(f.data.size()), static_cast<uint32_t>(f.data.size()), p,
                     an) == decode::DecodeResult::Ok &&
          p.fragmented && frag_packets.size() < 16) {
        frag_packets.emplace_back(p.l3, p.l3 + p.l3_caplen);
      }
    }
    if (frag_packets.size() >= 2) {
      for (const char* variant : {"", "-reversed", "-cut"}) {
        Bytes d{0x3F};
        std::vector<Bytes> order = frag_packets;
        if (variant == std::string("-reversed")) std::reverse(order.begin(), order.end());
        for (std::size_t i = 0; i < order.size(); ++i) {
          d.push_back(variant == std::string("-cut") && i == 0 ? 0x10 : 0x00);
          put16(d, order[i].size());
          d.insert(d.end(), order[i].begin(), order[i].end());
        }
        seed("fuzz_defrag", stem + variant, d);
      }
    }
  }

  // QUIC, protected mode: the ClientHello in one CRYPTO frame, and split in two frames sent in reverse.
  if (!quic_hello.empty()) {
    auto crypto = [&](std::size_t off, std::size_t n) {
      Bytes f{0x06, static_cast<uint8_t>(0x40 | (off >> 8)), static_cast<uint8_t>(off), static_cast<uint8_t>(0x40 | (n >> 8)),
              static_cast<uint8_t>(n)};
      f.insert(f.end(), quic_hello.begin() + static_cast<long>(off), quic_hello.begin() + static_cast<long>(off + n));
      return f;
    };
    for (uint8_t version : {0, 1, 2}) {
      Bytes s{1, version, 8, 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08, 0};
      const Bytes whole = crypto(0, quic_hello.size());
      put16(s, whole.size());
      s.insert(s.end(), whole.begin(), whole.end());
      seed("fuzz_quic_initial", "protected-v" + std::to_string(version), s);
    }
    const std::size_t half = quic_hello.size() / 2;
    Bytes s{1, 0, 8, 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
    for (const Bytes& f : {crypto(half, quic_hello.size() - half), crypto(0, half)}) {
      s.push_back(0);
      put16(s, f.size());
      s.insert(s.end(), f.begin(), f.end());
    }
    seed("fuzz_quic_initial", "protected-split-reverse", s);
    Bytes c{1, 0, 8, 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
    for (const Bytes& f : {crypto(0, half), crypto(half, quic_hello.size() - half)}) {
      c.push_back(2);  // coalesced into one datagram
      put16(c, f.size());
      c.insert(c.end(), f.begin(), f.end());
    }
    seed("fuzz_quic_initial", "protected-coalesced", c);
  }

  // WhatsApp stream starts: plain and edge-routed, Noise XX and IK first frames, legacy, server hello.
  {
    auto frame = [](const Bytes& msg) {
      Bytes f{static_cast<uint8_t>(msg.size() >> 16), static_cast<uint8_t>(msg.size() >> 8), static_cast<uint8_t>(msg.size())};
      f.insert(f.end(), msg.begin(), msg.end());
      return f;
    };
    auto key = [](uint8_t tag, std::size_t n) {
      Bytes b{tag, static_cast<uint8_t>(n)};
      for (std::size_t i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(0x11 + 7 * i));
      return b;
    };
    auto outer = [](uint8_t tag, const Bytes& inner) {
      Bytes b{tag, static_cast<uint8_t>(inner.size())};
      b.insert(b.end(), inner.begin(), inner.end());
      return b;
    };
    const Bytes xx = frame(outer(0x12, key(0x0a, 32)));
    Bytes ik_inner = key(0x0a, 32);
    const Bytes st = key(0x12, 48), pay = key(0x1a, 60);
    ik_inner.insert(ik_inner.end(), st.begin(), st.end());
    ik_inner.insert(ik_inner.end(), pay.begin(), pay.end());
    const Bytes ik = frame(outer(0x12, ik_inner));
    const Bytes wa{'W', 'A', 6, 3};
    const Bytes ed{'E', 'D', 0, 1, 0, 0, 4, 0x08, 0x0d, 0x08, 0x0c};
    auto cat = [](std::initializer_list<Bytes> parts) {
      Bytes b;
      for (const Bytes& p : parts) b.insert(b.end(), p.begin(), p.end());
      return b;
    };
    seed("fuzz_whatsapp_wire", "plain-xx", cat({wa, xx}));
    seed("fuzz_whatsapp_wire", "plain-ik", cat({wa, ik}));
    seed("fuzz_whatsapp_wire", "edge-xx", cat({ed, wa, xx}));
    seed("fuzz_whatsapp_wire", "edge-ik", cat({ed, wa, ik}));
    seed("fuzz_whatsapp_wire", "legacy", cat({{'W', 'A', 1, 5}, frame({0xf8, 0x05, 0x01, 0x02, 0x03, 0x04})}));
    seed("fuzz_whatsapp_wire", "server-hello", frame(outer(0x1a, cat({key(0x0a, 32), key(0x12, 48), key(0x1a, 40)}))));
  }

  // simple_vsnprintf: the formats nDPI 4.2 writes its JA3 strings, digests, certificate names and TLS
  // versions with, cut short, at size 0, with a long string, a string in the destination, refused ones.
  {
    auto tok = [](const char* t) { return Bytes{fuzz::printf_token(t)}; };
    auto num = [](unsigned v, uint8_t shift = 0) {
      return Bytes{static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v), shift};
    };
    auto str = [](const std::string& t) {
      Bytes b;
      put16(b, t.size());
      b.insert(b.end(), t.begin(), t.end());
      return b;
    };
    auto lit = [](const std::string& t) {
      Bytes b;
      for (char c : t) b.push_back(static_cast<uint8_t>(0x80 + (c - 0x20)));
      return b;
    };
    auto cat = [](std::initializer_list<Bytes> parts) {
      Bytes b;
      for (const Bytes& p : parts) b.insert(b.end(), p.begin(), p.end());
      return b;
    };
    // The first two bytes: the buffer size (below 250: size % 80), the string kinds (2 bits a string:
    // 0 text, 2 inside the destination, 3 long).
    seed("fuzz_simple_printf", "ja3-number", cat({{60, 0}, tok("%s"), str("-"), tok("%u"), num(4865)}));
    seed("fuzz_simple_printf", "ja3-first", cat({{3, 0}, tok("%u"), num(771), lit(",")}));
    seed("fuzz_simple_printf", "hex-byte", cat({{3, 0}, tok("%02x"), num(0xab)}));
    seed("fuzz_simple_printf", "hex-byte-upper-cut", cat({{2, 0}, tok("%02X"), num(0x0f)}));
    seed("fuzz_simple_printf", "cert-name",
         cat({{79, 0}, tok("%s"), str(", "), tok("%s"), str("CN"), tok("="), tok("%s"), str("example.org")}));
    seed("fuzz_simple_printf", "tls-version", cat({{20, 0}, tok("TLS ("), tok("%04X"), num(0x0303), tok(")")}));
    seed("fuzz_simple_printf", "long-string", cat({{255, 3}, tok("%s"), {80}, tok("%u"), num(7)}));
    seed("fuzz_simple_printf", "in-destination", cat({{79, 2}, lit("x"), tok("%s"), {0}}));
    seed("fuzz_simple_printf", "refused-after-taken", cat({{40, 0}, tok("%u"), num(1), tok("%d"), num(2)}));
    seed("fuzz_simple_printf", "percent", cat({{10, 0}, lit("100"), tok("%%")}));
    seed("fuzz_simple_printf", "widths",
         cat({{79, 0}, tok("%9u"), num(12, 4), tok("%0u"), num(0), tok("%1x"), num(0xffff, 16), tok("%X"), num(0xbeef)}));
    seed("fuzz_simple_printf", "zero-size", cat({{0, 0}, tok("%s"), str("anything"), tok("%x"), num(255)}));
  }

  // Rule files: the examples and the policy golden cases.
  for (const fs::path& dir : {root / "rules", root / "tests/policy"}) {
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (e.is_regular_file() && e.path().extension() == ".yaml") {
        seed("fuzz_rules", e.path().parent_path().filename().string() + "-" + e.path().filename().string(),
             file_bytes(e.path()));
      }
    }
  }
  for (const auto& [t, n] : g_count) std::printf("%-24s %d seeds\n", t.c_str(), n);
  return 0;
}
