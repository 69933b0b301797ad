// The policy dry-run's pcap outputs hold headers only: every record is its frame cut where the L4 payload
// starts (caplen), with the original wire length kept (len). Frames are built byte by byte
// (packet_builder.hpp); the expected cut is the offset of the payload layer the test itself wrote.
#include <pcap/pcap.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "decode/decoder.hpp"
#include "packet_builder.hpp"
#include "policy/pcap_out.hpp"

using namespace sealscope;
using sealscope::testing::Frame;
using sealscope::testing::Ipv4Opts;
using sealscope::testing::L;
using sealscope::testing::PacketBuilder;

namespace {

const std::string kSecret = "PCAP-OUT-SECRET-7c1f";

struct Case {
  const char* what;
  Frame frame;
  size_t cut;  ///< bytes the record must keep
};

struct Record {
  uint32_t caplen = 0, len = 0;
  std::vector<uint8_t> data;
};

std::vector<Record> read_back(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  REQUIRE(p != nullptr);
  std::vector<Record> out;
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  while (pcap_next_ex(p, &h, &d) == 1) out.push_back({h->caplen, h->len, std::vector<uint8_t>(d, d + h->caplen)});
  pcap_close(p);
  return out;
}

std::string temp_path() {
  static int n = 0;
  return (std::filesystem::temp_directory_path() /
          ("sealscope-pcapout-" + std::to_string(getpid()) + "-" + std::to_string(n++) + ".pcap"))
      .string();
}

}  // namespace

TEST_CASE("policy pcap output: each frame is cut where its L4 payload starts, wire length kept", "[policy][pcap]") {
  std::vector<Case> cases;
  {
    Frame f = PacketBuilder().eth().ipv4("192.0.2.1", "198.51.100.2").tcp(40000, 7117, 0x18, 1, 1, 12).payload(kSecret).build();
    cases.push_back({"Ethernet/IPv4/TCP with options", f, f.off(L::Payload)});
  }
  {
    Frame f = PacketBuilder().eth().vlan(100).ipv6("2001:db8::1", "2001:db8::2").ipv6_ext(0).udp(40001, 53).payload(kSecret).build();
    cases.push_back({"VLAN/IPv6 with extension header/UDP", f, f.off(L::Payload)});
  }
  {
    Frame f = PacketBuilder()
                  .eth()
                  .ipv4("10.200.0.1", "10.200.0.254")
                  .udp(2152, 2152)
                  .gtpu(0x1234abcd)
                  .ipv4("100.64.1.10", "203.0.113.5")
                  .tcp(40100, 443, 0x18)
                  .payload(kSecret)
                  .build();
    cases.push_back({"GTP-U: cut after the inner TCP header", f, f.off(L::Payload)});
  }
  {
    Ipv4Opts later;
    later.frag_off8 = 185;
    Frame f = PacketBuilder().eth().ipv4("192.0.2.1", "198.51.100.2", later).payload(kSecret).build();
    f.data[14 + 9] = 17;  // a later UDP fragment: no L4 header, everything after the IP header is payload
    cases.push_back({"later IPv4 fragment: cut after the IP header", f, f.off(L::Payload)});
  }
  {
    Frame f = PacketBuilder().eth().ipv4("192.0.2.1", "198.51.100.2").tcp(40000, 7117, 0x10).build(6);
    cases.push_back({"bare ACK with Ethernet padding: the padding goes too", f, f.ip_end});
  }

  const std::string path = temp_path();
  {
    policy::PcapOut out(path);
    decode::Decoder dec;
    for (const Case& c : cases) {
      INFO(c.what);
      decode::Packet p;
      decode::AnomalyCounters a;
      REQUIRE(dec.decode(DLT_EN10MB, c.frame.ptr(), c.frame.size(), c.frame.size(), p, a) == decode::DecodeResult::Ok);
      CHECK(policy::PcapOut::header_bytes(p) == c.cut);
      out.write(p);
    }
    out.close();
    CHECK(out.written() == cases.size());
  }

  const std::vector<Record> recs = read_back(path);
  std::ifstream in(path, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(path.c_str());

  REQUIRE(recs.size() == cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].what);
    CHECK(recs[i].caplen == cases[i].cut);
    CHECK(recs[i].len == cases[i].frame.size());
    CHECK(std::equal(recs[i].data.begin(), recs[i].data.end(), cases[i].frame.data.begin()));
  }
  // The payload was in four of the frames; none of it is in the file.
  CHECK(file.find(kSecret) == std::string::npos);
  CHECK(file.find(kSecret.substr(0, 8)) == std::string::npos);
}
