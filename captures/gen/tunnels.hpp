#pragma once

#include "capture_file.hpp"

namespace sealscope::mkcaptures {

/// tunnels.pcap: one short exchange in each encapsulation sealscope takes apart (VXLAN, Geneve, GRE three ways,
/// ERSPAN types I to III, TZSP with Ethernet and with 802.11, CAPWAP with 802.11 and with 802.3, IP in IP four
/// ways), one exchange three tunnels deep and one four deep. See captures/README.md.
Capture make_tunnels();

/// tunnels-ndpi.pcap: the part of tunnels.pcap that Debian's ndpiReader 4.2 (-t) takes apart as well: TZSP
/// with Ethernet, CAPWAP with plain 24-byte 802.11 data headers, and IP in IP. The same frames, in the same order.
Capture make_tunnels_ndpi();

} // namespace sealscope::mkcaptures
