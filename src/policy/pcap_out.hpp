#pragma once
#include <cstdio>
#include <string>

#include "decode/packet.hpp"

struct pcap;
struct pcap_dumper;

namespace sealscope::policy {

/// Writes frames cut after their transport header to a classic pcap file (µs timestamps) readable by
/// tcpdump/tshark: each record's caplen is the bytes before the L4 payload, its len the original wire length.
/// No payload byte is written (sealscope writes metadata only). The file is created up front (so a bad path
/// fails before the run); its link type is the first frame's.
class PcapOut {
 public:
  /// Creates `path` (throws InputError when it cannot be written).
  explicit PcapOut(const std::string& path);
  ~PcapOut();
  PcapOut(const PcapOut&) = delete;
  PcapOut& operator=(const PcapOut&) = delete;

  /// Appends the packet's headers (the frame cut where its L4 payload starts); a frame of another link type
  /// than the file's is counted, not written.
  void write(const decode::Packet& p);
  /// Bytes of p's frame that precede its L4 payload: what write() keeps.
  static uint32_t header_bytes(const decode::Packet& p);
  /// Flushes and closes (an empty capture gets an Ethernet header).
  void close();

  uint64_t written() const { return written_; }
  uint64_t skipped() const { return skipped_; }
  const std::string& path() const { return path_; }

 private:
  void open(int linktype);
  std::string path_;
  FILE* file_ = nullptr;
  pcap* dead_ = nullptr;
  pcap_dumper* dumper_ = nullptr;
  int linktype_ = -1;
  uint64_t written_ = 0, skipped_ = 0;
};

}  // namespace sealscope::policy
