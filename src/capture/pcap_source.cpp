#include "capture/pcap_source.hpp"

#include <pcap/pcap.h>
#include <poll.h>
#include <stdio_ext.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "common/errors.hpp"

namespace sealscope::capture {

namespace {

// Standard input goes through a stdio stream of our own (glibc's fopencookie) whose position is the bytes
// read so far: libpcap reads through a FILE, and ftell on a pipe fails, so a truncated stream could not
// say how far it got, and the progress bar could not count bytes. No packaged library wraps a pipe with a
// position; the three callbacks below are all it takes.
ssize_t stream_read(void* c, char* buf, size_t n) {
  auto* s = static_cast<StreamCookie*>(c);
  // Wait in poll, not in read: Ctrl-C or SIGTERM must end the run even when the writer of the pipe (say
  // tcpdump on a quiet link) sends nothing, and our signal handlers restart read (SA_RESTART) but not poll.
  for (;;) {
    if (s->stop.load(std::memory_order_relaxed)) {
      errno = EINTR;
      return -1;
    }
    pollfd pfd{s->fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 250);
    if (ready > 0) break;
    if (ready < 0 && errno != EINTR) return -1;
  }
  ssize_t r;
  do {
    r = ::read(s->fd, buf, n);
  } while (r < 0 && errno == EINTR);
  if (r > 0) {
    for (uint64_t i = s->pos; i < sizeof s->head && i < s->pos + static_cast<uint64_t>(r); ++i) {
      s->head[i] = static_cast<uint8_t>(buf[i - s->pos]);
    }
    s->pos += static_cast<uint64_t>(r);
  }
  return r;
}

/// A compressor recognised by its magic number in `h` (the first 6 bytes), or none. libpcap 1.10 reads
/// only uncompressed captures; naming the format tells the user what to pipe the file through.
struct Compressor {
  const char* name = nullptr;
  const char* cat = nullptr;
};
Compressor compression_of(const uint8_t* h) {
  if (h[0] == 0x1f && h[1] == 0x8b) return {"gzip", "zcat"};
  if (h[0] == 0xfd && h[1] == '7' && h[2] == 'z' && h[3] == 'X' && h[4] == 'Z' && h[5] == 0) return {"xz", "xzcat"};
  if (h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd) return {"zstd", "zstdcat"};
  if (h[0] == 'B' && h[1] == 'Z' && h[2] == 'h') return {"bzip2", "bzcat"};
  if (h[0] == 0x04 && h[1] == 0x22 && h[2] == 0x4d && h[3] == 0x18) return {"lz4", "lz4cat"};
  return {};
}

int stream_seek(void* c, off64_t* off, int whence) {
  // Only ftell's question (where are we?) has an answer; a real seek fails as it would on the pipe.
  if (whence == SEEK_CUR && *off == 0) {
    *off = static_cast<off64_t>(static_cast<StreamCookie*>(c)->pos);
    return 0;
  }
  errno = ESPIPE;
  return -1;
}

int stream_close(void* c) { return ::close(static_cast<StreamCookie*>(c)->fd); }

}  // namespace

std::string link_type_name(int dlt) {
  const char* name = pcap_datalink_val_to_name(dlt);
  const char* desc = pcap_datalink_val_to_description(dlt);
  std::string out = std::to_string(dlt);
  if (name != nullptr) out += std::string(" (") + name + (desc != nullptr ? std::string(": ") + desc : "") + ")";
  return out;
}

PcapSource PcapSource::open_file(const std::string& path, const std::string& bpf) {
  FILE* f = nullptr;
  uint64_t size = 0;
  std::unique_ptr<StreamCookie> cookie;
  if (path == "-") {
    if (isatty(STDIN_FILENO)) {
      throw InputError("-: standard input is a terminal, not a capture (pipe one in, e.g. tcpdump -w - | "
                       "sealscope analyze -)");
    }
    struct stat st{};
    if (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode)) size = static_cast<uint64_t>(st.st_size);
    cookie = std::make_unique<StreamCookie>();
    cookie->fd = dup(STDIN_FILENO);
    if (cookie->fd < 0) throw InputError("-: cannot read standard input: " + std::string(std::strerror(errno)));
    f = fopencookie(cookie.get(), "rb", cookie_io_functions_t{stream_read, nullptr, stream_seek, stream_close});
    if (f == nullptr) {
      const int e = errno;
      ::close(cookie->fd);
      throw InputError("-: cannot read standard input: " + std::string(std::strerror(e)));
    }
  } else {
    struct stat st{};
    if (stat(path.c_str(), &st) != 0) {
      throw InputError(path + ": cannot open capture: " + std::strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) {
      throw InputError(path + ": is a directory, not a capture file");
    }
    f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
      throw InputError(path + ": cannot open capture: " + std::strerror(errno));
    }
    size = static_cast<uint64_t>(st.st_size);
  }
  // A large stdio buffer: libpcap reads record by record through fread, and 4 KiB refills cost a third of
  // the CPU on big files (in the kernel's copy to user space). glibc ignores setvbuf's size unless it is
  // given the buffer, so the source owns one (it outlives the FILE: pcap_close runs in ~PcapSource first).
  auto iobuf = std::make_unique<char[]>(kReadBuffer);
  std::setvbuf(f, iobuf.get(), _IOFBF, kReadBuffer);
  // Only this source's thread reads the stream (libpcap's two freads a record, ftell for the progress
  // bar), so stdio need not lock it: with worker threads running, glibc otherwise takes and releases the
  // stream's lock in every fread, about a tenth of the capture thread's instructions in libpcap's reads.
  __fsetlocking(f, FSETLOCKING_BYCALLER);
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* h = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, err);
  if (h == nullptr) {
    const bool empty = cookie ? cookie->pos == 0 : size == 0;
    uint8_t head[6] = {};
    if (cookie) {
      std::memcpy(head, cookie->head, sizeof head);  // a pipe cannot be read again: the stream kept them
    } else {
      std::rewind(f);
      if (std::fread(head, 1, sizeof head, f) != sizeof head) std::memset(head, 0, sizeof head);
    }
    std::fclose(f);
    if (empty) throw InputError(path + (cookie ? ": standard input is empty" : ": empty file") + ", not a capture");
    if (const Compressor z = compression_of(head); z.name != nullptr) {
      throw InputError(path + ": " + z.name + "-compressed, not a pcap/pcapng capture; decompress it on the way in: " +
                       z.cat + " " + (cookie ? std::string("FILE") : path) + " | sealscope ... -");
    }
    throw InputError(path + ": not a readable pcap/pcapng capture: " + err);
  }
  PcapSource s;
  s.handle_ = h;
  s.cookie_ = std::move(cookie);
  s.iobuf_ = std::move(iobuf);
  s.name_ = path;
  s.linktype_ = pcap_datalink(h);
  s.file_size_ = size;
  // libpcap reports a pcapng section's version (1.x) here and refuses classic pcap files older than 2.x.
  s.pcapng_ = pcap_major_version(h) == 1;
  s.good_offset_ = s.position();
  s.apply_filter(bpf);
  return s;
}

PcapSource PcapSource::open_live(const std::string& iface, const std::string& bpf, const LiveOptions& how) {
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* h = pcap_create(iface.c_str(), err);
  if (h == nullptr) {
    throw InputError(iface + ": cannot open interface: " + err);
  }
  pcap_set_snaplen(h, how.snaplen);
  pcap_set_promisc(h, how.promiscuous ? 1 : 0);
  pcap_set_timeout(h, 100);
  pcap_set_buffer_size(h, static_cast<int>(std::min<uint64_t>(uint64_t{how.buffer_mib} << 20, INT32_MAX)));
  int rc = pcap_activate(h);
  if (rc < 0) {
    std::string why = pcap_geterr(h);
    if (rc == PCAP_ERROR_PERM_DENIED) {
      why += " (capturing needs root or CAP_NET_RAW and CAP_NET_ADMIN: try sudo, or setcap cap_net_raw,cap_net_admin=eip on sealscope)";
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
  if (rc > 0) {  // a warning: the capture works, but not quite as asked
    const char* what = pcap_statustostr(rc);
    const std::string detail = pcap_geterr(h);
    s.warning_ = detail.empty() ? what : detail;
    if (rc == PCAP_WARNING_PROMISC_NOTSUP) s.warning_ = "promiscuous mode not supported (" + s.warning_ + ")";
  }
  s.handle_ = h;
  s.name_ = iface;
  s.live_ = true;
  s.linktype_ = pcap_datalink(h);
  s.apply_filter(bpf);
  return s;
}

std::string PcapSource::filter_error(const std::string& bpf, const std::string& why) const {
  // A filter can compile for one link type and not another ("vlan" on raw IP): name the input and its type.
  return name_ + ": BPF filter '" + bpf + "' for link type " + link_type_name(linktype_) + ": " + why;
}

std::string bpf_syntax_error(const std::string& bpf) {
  std::string first;
  for (int dlt : {DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL, DLT_IEEE802_11_RADIO, DLT_NULL}) {
    pcap_t* h = pcap_open_dead(dlt, 262144);
    if (h == nullptr) continue;
    bpf_program prog{};
    const bool ok = pcap_compile(h, &prog, bpf.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0;
    if (ok) {
      pcap_freecode(&prog);
    } else if (first.empty()) {
      first = pcap_geterr(h);
    }
    pcap_close(h);
    if (ok) return {};
  }
  return first.empty() ? "cannot be compiled" : first;
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
    throw InputError(filter_error(bpf, why));
  }
  int rc = pcap_setfilter(handle_, &prog);
  pcap_freecode(&prog);
  if (rc != 0) {
    std::string why = pcap_geterr(handle_);
    pcap_close(handle_);
    handle_ = nullptr;
    throw InputError(filter_error(bpf, why));
  }
}

PcapSource::PcapSource(PcapSource&& o) noexcept
    : cookie_(std::move(o.cookie_)),
      iobuf_(std::move(o.iobuf_)),
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
    // Classic pcap stores the seconds as an unsigned 32-bit field (good until 2106), but libpcap 1.10 reads
    // it as signed, so a record after 2038-01-19 03:14:07 UTC comes back before 1970. Read it as the format
    // defines it, as Wireshark does. pcapng's 64-bit times and live clocks never come back negative.
    int64_t sec = hdr->ts.tv_sec;
    if (sec < 0 && !pcapng_) sec = static_cast<uint32_t>(sec);
    constexpr int64_t kLastSecond = 253402300799;  // 9999-12-31T23:59:59Z
    const int64_t usec = hdr->ts.tv_usec;
    out.ts_in_range = sec >= 0 && sec <= kLastSecond && usec >= 0 && usec < 1000000;
    out.ts = out.ts_in_range ? static_cast<TimestampUs>(sec) * 1000000 + usec : 0;
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
    // The way out was tried with Wireshark 4.0's tools: tshark alone keeps every interface's description
    // (and refuses -F pcap), so editcap gives the selected frames their one link type.
    error_ += " (pcapng interfaces of different link types: libpcap reads only files whose interfaces "
              "share one link type; take each interface's frames apart: tshark -r FILE -Y "
              "'frame.interface_id == N' -w PART.pcapng, then editcap -F pcap -T ENCAP PART.pcapng PART.pcap "
              "with the interface's encapsulation as capinfos -I FILE names it, e.g. ether or rawip)";
  }
  return ReadStatus::Error;
}

void PcapSource::break_loop() {
  if (cookie_) cookie_->stop.store(true, std::memory_order_relaxed);
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

PcapSource::Drops PcapSource::drops() {
  Drops d;
  if (!live_ || handle_ == nullptr) {
    return d;
  }
  pcap_stat st{};
  if (pcap_stats(handle_, &st) != 0) {
    d.known = false;
    error_ = pcap_geterr(handle_);
    return d;
  }
  d.kernel = st.ps_drop;
  d.interface = st.ps_ifdrop;
  return d;
}

}  // namespace sealscope::capture
