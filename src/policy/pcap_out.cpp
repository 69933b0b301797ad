#include "policy/pcap_out.hpp"

#include <pcap/pcap.h>

#include <cerrno>
#include <cstring>

#include "common/errors.hpp"

namespace sealscope::policy {

PcapOut::PcapOut(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) throw InputError(path + ": cannot write: " + std::strerror(errno));
}

PcapOut::~PcapOut() {
  try {
    close();
  } catch (const Error&) {
  }
}

void PcapOut::open(int linktype) {
  linktype_ = linktype;
  dead_ = pcap_open_dead_with_tstamp_precision(linktype, 262144, PCAP_TSTAMP_PRECISION_MICRO);
  if (dead_ != nullptr) dumper_ = pcap_dump_fopen(dead_, file_);
  if (dumper_ == nullptr) {
    throw InputError(path_ + ": cannot write a pcap header" + (dead_ ? std::string(": ") + pcap_geterr(dead_) : ""));
  }
  file_ = nullptr;  // owned by the dumper now
}

uint32_t PcapOut::header_bytes(const decode::Packet& p) {
  // The frame up to the start of the L4 payload (for a later fragment: past its IP header; for GTP-U: past the
  // inner transport header). Where the decoder found no payload boundary inside the frame, fall back to the
  // start of the IP header, then to nothing: never a byte that might be payload.
  auto inside = [&](const uint8_t* q) { return q != nullptr && q >= p.frame && q <= p.frame + p.frame_caplen; };
  if (inside(p.payload)) return static_cast<uint32_t>(p.payload - p.frame);
  if (inside(p.l3)) return static_cast<uint32_t>(p.l3 - p.frame);
  return 0;
}

void PcapOut::write(const decode::Packet& p) {
  if (linktype_ < 0 && file_ != nullptr) open(p.linktype);
  if (dumper_ == nullptr || p.linktype != linktype_ || p.frame == nullptr) {
    ++skipped_;
    return;
  }
  pcap_pkthdr h{};
  h.ts.tv_sec = static_cast<time_t>(p.ts / 1000000);
  h.ts.tv_usec = static_cast<suseconds_t>(p.ts % 1000000);
  if (h.ts.tv_usec < 0) {
    h.ts.tv_usec += 1000000;
    --h.ts.tv_sec;
  }
  h.caplen = header_bytes(p);
  h.len = p.frame_wirelen;  // the original length, so sizes stay visible
  pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, p.frame);
  ++written_;
}

void PcapOut::close() {
  if (linktype_ < 0 && file_ != nullptr) open(DLT_EN10MB);
  // pcap_dump() reports nothing and pcap_dump_close() returns nothing: a full disk shows only as the
  // stream's error flag or a failed flush, so both are checked before the file is let go.
  bool failed = false;
  int err = 0;
  if (dumper_ != nullptr) {
    FILE* f = pcap_dump_file(dumper_);
    errno = 0;
    failed = pcap_dump_flush(dumper_) != 0 || (f != nullptr && std::ferror(f) != 0);
    err = errno != 0 ? errno : EIO;
    pcap_dump_close(dumper_);
    dumper_ = nullptr;
  }
  if (dead_ != nullptr) {
    pcap_close(dead_);
    dead_ = nullptr;
  }
  if (file_ != nullptr) {
    if (std::fclose(file_) != 0) failed = true, err = errno;
    file_ = nullptr;
  }
  if (failed) throw InputError(path_ + ": write failed: " + std::strerror(err));
}

}  // namespace sealscope::policy
