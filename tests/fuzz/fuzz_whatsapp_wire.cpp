// libFuzzer target: the WhatsApp stream-start parsers (plain and edge-routed prologue, Noise XX/IK and
// legacy first frames, the server hello) and the stream prefix collector fed in segments.
#include <vector>

#include "classify/whatsapp_wire.hpp"
#include "fuzz_input.hpp"

using namespace sealscope;
using namespace sealscope::classify;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  {
    const std::vector<uint8_t> s(data, data + size);  // exact heap copy: ASan sees over-reads
    (void)parse_whatsapp_stream_start(s.data(), s.size());
    (void)parse_whatsapp_server_hello(s.data(), s.size());
  }
  // The same bytes as segments (2-byte length prefixes), collected as the detector does.
  fuzz::Input in(data, size);
  WaStreamPrefix prefix;
  std::vector<uint8_t> seg;
  while (in.left() > 0) {
    std::size_t len = 0;
    const uint8_t* p = in.chunk(len);
    seg.assign(p, p + len);
    const bool room = prefix.append(seg.data(), seg.size());
    const std::vector<uint8_t> view(prefix.data(), prefix.data() + prefix.size());
    if (parse_whatsapp_stream_start(view.data(), view.size()).status != WaWireStatus::NeedMore || !room) break;
  }
  return 0;
}
