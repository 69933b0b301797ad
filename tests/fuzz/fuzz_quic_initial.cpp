// libFuzzer target: QUIC Initial handling. Byte 0 picks the mode:
//  - raw (even): 2-byte length-prefixed datagrams fed to QuicInitialParser::feed; each also goes through
//    the long-header parser and, as if already decrypted, through the frame walker and CRYPTO reassembly;
//  - protected (odd): a version selector, a DCID, then 2-byte length-prefixed plaintext frame lists that
//    are packet-protected with the DCID's Initial keys (as a client would) and fed, so the fuzzer reaches
//    decryption, frame walking, CRYPTO reassembly in any order and the ClientHello parser.
#include <array>
#include <vector>

#include "classify/quic.hpp"
#include "fuzz_input.hpp"

using namespace sealscope;
using namespace sealscope::classify;

namespace {

constexpr uint32_t kVersions[] = {kQuicVersion1, kQuicVersion2, kQuicDraft29, 0xff000020u, 0x0a0a0a0au};

/// A client Initial long header (4-byte packet number, 2-byte Length) for payload_len plaintext bytes.
std::vector<uint8_t> initial_header(uint32_t version, const uint8_t* dcid, std::size_t dcid_len,
                                    std::size_t payload_len, uint32_t pn, std::size_t& pn_offset) {
  const uint8_t type_bits = version == kQuicVersion2 ? 1 : 0;
  std::vector<uint8_t> h;
  h.push_back(static_cast<uint8_t>(0xC0 | (type_bits << 4) | 0x03));
  for (int i = 3; i >= 0; --i) h.push_back(static_cast<uint8_t>(version >> (8 * i)));
  h.push_back(static_cast<uint8_t>(dcid_len));
  h.insert(h.end(), dcid, dcid + dcid_len);
  h.push_back(3);
  h.insert(h.end(), {0xc0, 0xff, 0xee});
  h.push_back(0);  // token length
  const std::size_t length = 4 + payload_len + 16;
  h.push_back(static_cast<uint8_t>(0x40 | ((length >> 8) & 0x3F)));
  h.push_back(static_cast<uint8_t>(length & 0xFF));
  pn_offset = h.size();
  for (int i = 3; i >= 0; --i) h.push_back(static_cast<uint8_t>(pn >> (8 * i)));
  return h;
}

void raw_mode(fuzz::Input& in) {
  QuicInitialParser parser;
  std::vector<uint8_t> dgram;
  while (in.left() > 0) {
    std::size_t len = 0;
    const uint8_t* d = in.chunk(len);
    dgram.assign(d, d + len);
    (void)parse_quic_long_header(dgram.data(), dgram.size());
    QuicCryptoReassembler crypto;
    QuicFrameStats st;
    if (quic_walk_frames(dgram.data(), dgram.size(), crypto, st) && crypto.message_complete()) {
      (void)parse_client_hello_body(crypto.data(), crypto.message_size());
    }
    parser.feed(dgram.data(), dgram.size());
  }
}

void protected_mode(fuzz::Input& in) {
  const uint32_t version = kVersions[in.u8() % (sizeof kVersions / sizeof kVersions[0])];
  std::array<uint8_t, kQuicMaxCid> dcid{};
  const std::size_t dcid_len = in.u8() % (kQuicMaxCid + 1);
  for (std::size_t i = 0; i < dcid_len; ++i) dcid[i] = in.u8();
  QuicInitialKeys keys;
  if (!quic_derive_initial_keys(version, dcid.data(), dcid_len, true, keys)) return;
  QuicInitialParser parser;
  std::vector<uint8_t> frames, out, dgram;
  uint32_t pn = 0;
  while (in.left() > 0) {
    const uint8_t shape = in.u8();
    std::size_t len = 0;
    const uint8_t* f = in.chunk(len);
    frames.assign(f, f + len);
    if (frames.size() < 20) frames.resize(20, 0);  // room for the header-protection sample
    if (frames.size() > 3000) frames.resize(3000);
    std::size_t pn_offset = 0;
    const std::vector<uint8_t> h = initial_header(version, dcid.data(), dcid_len, frames.size(), pn++, pn_offset);
    out.assign(h.size() + frames.size() + 16, 0);
    const std::size_t n = quic_protect_packet(h.data(), h.size(), pn_offset, frames.data(), frames.size(), keys,
                                              out.data(), out.size());
    if (n == 0) continue;
    out.resize(n);
    if (shape & 1) out[out.size() - 1] ^= 0x01;  // a failing tag now and then
    if (shape & 2) {
      dgram.insert(dgram.end(), out.begin(), out.end());  // coalesce with the next packet
      continue;
    }
    dgram.insert(dgram.end(), out.begin(), out.end());
    if (shape & 4) dgram.insert(dgram.end(), shape >> 3, 0);  // trailing padding bytes
    parser.feed(dgram.data(), dgram.size());
    dgram.clear();
  }
  if (!dgram.empty()) parser.feed(dgram.data(), dgram.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  if ((in.u8() & 1) == 0) {
    raw_mode(in);
  } else {
    protected_mode(in);
  }
  return 0;
}
