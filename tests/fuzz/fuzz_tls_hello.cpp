// libFuzzer target: TLS ClientHello/ServerHello parsing and JA3 (records, bare handshakes) and the per-flow
// hello reassembler fed the same bytes in segments. Input: a segment-size byte, then the stream.
#include <vector>

#include "classify/tls_hello.hpp"

using namespace sealscope::classify;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t seg = data[0] == 0 ? 1 : data[0] * 7u;
  const std::vector<uint8_t> s(data + 1, data + size);  // exact heap copy: ASan sees over-reads
  (void)parse_tls_records(s.data(), s.size());
  (void)parse_handshake_hello(s.data(), s.size());
  (void)parse_client_hello_body(s.data(), s.size());
  static TlsHelloReassembler r;  // 16 KiB of state: reused, reset per input
  r.reset();
  std::vector<uint8_t> piece;
  for (std::size_t off = 0; off < s.size(); off += seg) {
    const std::size_t n = std::min(seg, s.size() - off);
    piece.assign(s.begin() + static_cast<long>(off), s.begin() + static_cast<long>(off + n));
    if (r.append(piece.data(), piece.size()) != TlsHelloReassembler::Status::NeedMore) break;
  }
  return 0;
}
