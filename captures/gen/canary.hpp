#pragma once

#include "capture_file.hpp"

namespace sealscope::mkcaptures {

/// canary.pcap: known plaintext ("canaries") in TCP streams (split, retransmitted, reordered, after a gap), an
/// HTTP POST body and one UDP datagram per encoding. Its side files are the canaries file
/// (canary-canaries.txt) and the placement table (canary-placements.tsv), both derived from the same build.
Capture make_canary();

/// canary-clean.pcap: the same conversations, frame for frame and byte length for byte length, with every
/// canary replaced by an unrelated filler string of the same length.
Capture make_canary_clean();

} // namespace sealscope::mkcaptures
