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
  h.caplen = p.frame_caplen;
  h.len = p.frame_wirelen;
  pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, p.frame);
  ++written_;
}

void PcapOut::close() {
  if (linktype_ < 0 && file_ != nullptr) open(DLT_EN10MB);
  if (dumper_ != nullptr) {
    pcap_dump_close(dumper_);
    dumper_ = nullptr;
  }
  if (dead_ != nullptr) {
    pcap_close(dead_);
    dead_ = nullptr;
  }
  if (file_ != nullptr) {
    std::fclose(file_);
    file_ = nullptr;
  }
}

}  // namespace sealscope::policy
