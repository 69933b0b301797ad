#pragma once

#include "bytes.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sealscope::mkcaptures {

/// One captured packet: timestamp (µs since the epoch), captured bytes, original length (0 = same as captured).
struct Frame {
    std::uint64_t ts_us = 0;
    Bytes data;
    std::uint32_t wire_len = 0;
};

/// A capture file to write: name, link type, packets.
struct Capture {
    std::string file;       ///< file name below OUTDIR
    int dlt = 1;            ///< libpcap DLT_ value (pcap) / LINKTYPE_ value (pcapng)
    bool pcapng = false;
    std::vector<Frame> frames;
    std::uint64_t cut_at = 0; ///< if non-zero, the file is truncated to this many bytes after writing
    /// Text files written beside the capture (name below OUTDIR, content), e.g. what a capture plants where.
    std::vector<std::pair<std::string, std::string>> side_files;
};

/// Writes a classic pcap file through libpcap (microsecond timestamps, snaplen 262144). Returns false on error.
bool write_pcap(const Capture& cap, const std::string& path, std::string& error);

/// Writes a pcapng file (SHB, one IDB, EPBs). Hand-written: libpcap 1.10 can read pcapng but not write it.
bool write_pcapng(const Capture& cap, const std::string& path, std::string& error);

/// Byte offset of record i (0-based) in a classic pcap file of cap (24-byte file header, 16-byte record headers).
std::uint64_t pcap_record_offset(const Capture& cap, std::size_t i);

} // namespace sealscope::mkcaptures
