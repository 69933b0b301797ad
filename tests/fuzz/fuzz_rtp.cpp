// libFuzzer target: RTP/RTCP header parsing, RFC 5761 demultiplexing and the media-stream tracker over a
// sequence of 2-byte length-prefixed datagrams.
#include <vector>

#include "classify/rtp.hpp"
#include "fuzz_input.hpp"

using namespace sealscope;
using namespace sealscope::classify;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const uint8_t needed = in.u8();
  const uint8_t gap = in.u8();
  RtpStreamTracker tracker(needed % 8, gap);
  std::vector<uint8_t> d;
  while (in.left() > 0) {
    std::size_t len = 0;
    const uint8_t* p = in.chunk(len);
    d.assign(p, p + len);
    (void)parse_rtp(d.data(), d.size());
    (void)parse_rtcp(d.data(), d.size());
    (void)classify_rtp_rtcp(d.data(), d.size());
    tracker.feed(d.data(), d.size());
  }
  return 0;
}
