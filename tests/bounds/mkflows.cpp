// sealscope-mkflows: writes a classic pcap of N distinct single-packet UDP flows (Ethernet, IPv4 from the
// RFC 2544 benchmarking range 198.18.0.0/15 with varying source ports, to 192.0.2.1:33333, one packet per
// microsecond) — the input of the --max-flows bound test. Streams records; nothing is kept in memory.
//   sealscope-mkflows OUT.pcap N
#include <pcap/pcap.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

// The RFC 1071 header checksum by hand: none of the linked libraries exports one (libdumbnet's
// ip_checksum would be a new dependency for twenty header bytes).
uint16_t ip_checksum(const uint8_t* h) {
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += (uint32_t{h[i]} << 8) | h[i + 1];
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: sealscope-mkflows OUT.pcap N\n");
    return 2;
  }
  const uint64_t n = std::strtoull(argv[2], nullptr, 10);
  FILE* f = std::fopen(argv[1], "wb");
  if (f == nullptr) {
    std::perror(argv[1]);
    return 1;
  }
  static char buf[1 << 20];
  std::setvbuf(f, buf, _IOFBF, sizeof buf);
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 262144);
  pcap_dumper_t* out = dead != nullptr ? pcap_dump_fopen(dead, f) : nullptr;  // classic pcap, microseconds
  if (out == nullptr) {
    std::fprintf(stderr, "%s: %s\n", argv[1], dead != nullptr ? pcap_geterr(dead) : "pcap_open_dead failed");
    return 1;
  }

  constexpr uint32_t kPayload = 16;
  constexpr uint32_t kFrame = 14 + 20 + 8 + kPayload;
  uint8_t fr[kFrame] = {};
  const uint8_t dmac[6] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x01}, smac[6] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x02};
  std::memcpy(fr, dmac, 6);
  std::memcpy(fr + 6, smac, 6);
  fr[12] = 0x08;
  uint8_t* ip = fr + 14;
  ip[0] = 0x45;
  ip[3] = 20 + 8 + kPayload;
  ip[8] = 64;
  ip[9] = 17;
  const uint8_t dst[4] = {192, 0, 2, 1};
  std::memcpy(ip + 16, dst, 4);
  uint8_t* udp = ip + 20;
  udp[2] = 33333 >> 8;
  udp[3] = 33333 & 0xFF;
  udp[5] = 8 + kPayload;
  const uint64_t t0 = 1709294400ull * 1000000;
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t ts = t0 + i;
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(ts / 1000000);
    h.ts.tv_usec = static_cast<suseconds_t>(ts % 1000000);
    h.caplen = h.len = kFrame;
    const uint32_t host = static_cast<uint32_t>(i % 131072);  // 198.18.0.0/15
    const uint16_t sport = static_cast<uint16_t>(1024 + i / 131072);
    ip[12] = 198;
    ip[13] = static_cast<uint8_t>(18 + (host >> 16));
    ip[14] = static_cast<uint8_t>(host >> 8);
    ip[15] = static_cast<uint8_t>(host);
    ip[4] = static_cast<uint8_t>(i >> 8);  // IP id
    ip[5] = static_cast<uint8_t>(i);
    ip[10] = ip[11] = 0;
    const uint16_t ck = ip_checksum(ip);
    ip[10] = static_cast<uint8_t>(ck >> 8);
    ip[11] = static_cast<uint8_t>(ck);
    udp[0] = static_cast<uint8_t>(sport >> 8);
    udp[1] = static_cast<uint8_t>(sport);
    for (uint32_t k = 0; k < kPayload; ++k) udp[8 + k] = static_cast<uint8_t>((i * 0x9E3779B1u) >> (k % 4 * 8));
    pcap_dump(reinterpret_cast<u_char*>(out), &h, fr);
  }
  const bool ok = pcap_dump_flush(out) == 0;
  pcap_dump_close(out);  // closes f
  pcap_close(dead);
  if (!ok) {
    std::perror(argv[1]);
    return 1;
  }
  return 0;
}
