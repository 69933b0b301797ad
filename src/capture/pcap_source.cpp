#include "capture/pcap_source.hpp"

#include <pcap/pcap.h>
#include <poll.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "common/errors.hpp"

namespace sealscope::capture {

PcapSource PcapSource::open_file(const std::string& path, const std::string& bpf) {
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) {
    throw InputError(path + ": cannot open capture: " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    throw InputError(path + ": is a directory, not a capture file");
  }
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    throw InputError(path + ": cannot open capture: " + std::strerror(errno));
  }
  // A large stdio buffer: libpcap reads record by record through fread, and 4 KiB refills cost a third of
  // the CPU on big files (in the kernel's copy to user space). glibc ignores setvbuf's size unless it is
  // given the buffer, so the source owns one (it outlives the FILE: pcap_close runs in ~PcapSource first).
  auto iobuf = std::make_unique<char[]>(kReadBuffer);
  std::setvbuf(f, iobuf.get(), _IOFBF, kReadBuffer);
  uint32_t magic = 0;
  const bool pcapng = std::fread(&magic, 1, 4, f) == 4 && magic == 0x0A0D0D0Au;
  std::rewind(f);
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* h = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, err);
  if (h == nullptr) {
    std::fclose(f);
    throw InputError(path + ": not a readable pcap/pcapng capture: " + err);
  }
  PcapSource s;
  s.handle_ = h;
  s.iobuf_ = std::move(iobuf);
  s.name_ = path;
  s.linktype_ = pcap_datalink(h);
  s.file_size_ = static_cast<uint64_t>(st.st_size);
  s.pcapng_ = pcapng;
  s.good_offset_ = s.position();
  s.apply_filter(bpf);
  return s;
}

PcapSource PcapSource::open_live(const std::string& iface, const std::string& bpf, int snaplen) {
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* h = pcap_create(iface.c_str(), err);
  if (h == nullptr) {
    throw InputError(iface + ": cannot open interface: " + err);
  }
  pcap_set_snaplen(h, snaplen);
  pcap_set_promisc(h, 1);
  pcap_set_timeout(h, 100);
  pcap_set_buffer_size(h, 32 << 20);
  int rc = pcap_activate(h);
  if (rc < 0) {
    std::string why = pcap_geterr(h);
    if (rc == PCAP_ERROR_PERM_DENIED) {
      why += " (capturing needs root or CAP_NET_RAW: try sudo, or setcap cap_net_raw,cap_net_admin=eip on sealscope)";
    } else if (rc == PCAP_ERROR_NO_SUCH_DEVICE) {
      why = "no such interface (list them with `ip link`)";
    }
    pcap_close(h);
    throw InputError(iface + ": cannot capture: " + why);
  }
  // Non-blocking reads plus our own poll with a timeout: with TPACKET_V3 libpcap may poll without a
  // timeout when no packet comes at all, and --duration and Ctrl-C must still be honoured.
  if (pcap_setnonblock(h, 1, err) != 0 || pcap_get_selectable_fd(h) < 0) {
    pcap_close(h);
    throw InputError(iface + ": cannot capture: " + (err[0] ? err : "no selectable descriptor"));
  }
  PcapSource s;
  s.handle_ = h;
  s.name_ = iface;
  s.live_ = true;
  s.linktype_ = pcap_datalink(h);
  s.apply_filter(bpf);
  return s;
}

void PcapSource::apply_filter(const std::string& bpf) {
  if (bpf.empty()) {
    return;
  }
  filtered_ = true;
  bpf_program prog{};
  if (pcap_compile(handle_, &prog, bpf.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    std::string why = pcap_geterr(handle_);
    pcap_close(handle_);
    handle_ = nullptr;
    throw InputError("BPF filter '" + bpf + "': " + why);
  }
  int rc = pcap_setfilter(handle_, &prog);
  pcap_freecode(&prog);
  if (rc != 0) {
    std::string why = pcap_geterr(handle_);
    pcap_close(handle_);
    handle_ = nullptr;
    throw InputError("BPF filter '" + bpf + "': " + why);
  }
}

PcapSource::PcapSource(PcapSource&& o) noexcept
    : iobuf_(std::move(o.iobuf_)),
      handle_(o.handle_),
      name_(std::move(o.name_)),
      error_(std::move(o.error_)),
      linktype_(o.linktype_),
      live_(o.live_),
      pcapng_(o.pcapng_),
      filtered_(o.filtered_),
      good_offset_(o.good_offset_),
      file_size_(o.file_size_),
      packets_(o.packets_) {
  o.handle_ = nullptr;
}

PcapSource::~PcapSource() {
  if (handle_ != nullptr) {
    pcap_close(handle_);
  }
}

ReadStatus PcapSource::next(RawPacket& out) {
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  int rc = pcap_next_ex(handle_, &hdr, &data);
  if (rc == 1) {
    out.ts = static_cast<TimestampUs>(hdr->ts.tv_sec) * 1000000 + hdr->ts.tv_usec;
    out.caplen = hdr->caplen;
    out.wirelen = hdr->len;
    out.data = data;
    ++packets_;
    if (!live_) {
      // Classic pcap: 16-byte record header + captured bytes; no ftell per packet (it was an lseek each).
      // pcapng blocks vary in size, and a BPF filter skips records: there the position is asked for.
      good_offset_ = (pcapng_ || filtered_) ? position() : good_offset_ + 16 + hdr->caplen;
    }
    return ReadStatus::Packet;
  }
  if (rc == 0) {
    if (live_) {
      pollfd pfd{pcap_get_selectable_fd(handle_), POLLIN, 0};
      ::poll(&pfd, 1, 100);
    }
    return ReadStatus::Timeout;
  }
  if (rc == PCAP_ERROR_BREAK) {
    return ReadStatus::End;
  }
  error_ = pcap_geterr(handle_);
  if (pcapng_ && error_.find("different from the type of the first interface") != std::string::npos) {
    // libpcap 1.10 gives one link type per handle: a pcapng interface of another type ends the read.
    error_ += " (pcapng interfaces of different link types: libpcap reads only files whose interfaces "
              "share one link type; split the file per interface, e.g. tshark -r FILE -w OUT -Y "
              "'frame.interface_id == N')";
  }
  return ReadStatus::Error;
}

void PcapSource::break_loop() {
  if (handle_ != nullptr) {
    pcap_breakloop(handle_);
  }
}

uint64_t PcapSource::position() const {
  if (live_ || handle_ == nullptr) {
    return 0;
  }
  FILE* f = pcap_file(handle_);
  if (f == nullptr) {
    return 0;
  }
  long pos = std::ftell(f);
  return pos < 0 ? 0 : static_cast<uint64_t>(pos);
}

uint64_t PcapSource::kernel_drops() const {
  if (!live_ || handle_ == nullptr) {
    return 0;
  }
  pcap_stat st{};
  if (pcap_stats(handle_, &st) != 0) {
    return 0;
  }
  return st.ps_drop + st.ps_ifdrop;
}

}  // namespace sealscope::capture
