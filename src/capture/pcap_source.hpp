#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/types.hpp"

struct pcap;

namespace sealscope::capture {

/// One captured packet: a view over libpcap's buffer, valid until the next read.
struct RawPacket {
  TimestampUs ts = 0;    ///< 0 when !ts_in_range
  /// False for a time before 1970 or after 9999-12-31T23:59:59.999999Z (RFC 3339, the records' format,
  /// ends there): pcapng's 64-bit ticks in any unit can claim any time, and one beyond would overflow the
  /// microsecond clock. The analyzer counts such a frame (timestamp_out_of_range) and drops it.
  bool ts_in_range = true;
  uint32_t caplen = 0;   ///< bytes captured (what `data` holds)
  uint32_t wirelen = 0;  ///< bytes on the wire
  const uint8_t* data = nullptr;
};

enum class ReadStatus { Packet, Timeout, End, Error };

/// State of the stdio stream over standard input (see PcapSource::open_file): the descriptor, the bytes
/// read from it so far (what ftell reports) and the stop request that ends a wait for data.
struct StreamCookie {
  int fd = -1;
  uint64_t pos = 0;
  std::atomic<bool> stop{false};
  uint8_t head[6] = {};  ///< the stream's first bytes, to name a compressed stream libpcap cannot read
};

/// "127 (IEEE802_11_RADIO: 802.11 plus radiotap header)": a DLT value with libpcap's name and description.
std::string link_type_name(int dlt);

/// Empty when `bpf` compiles for at least one common link type (Ethernet, raw IP, Linux SLL, 802.11 with
/// radiotap, BSD loopback), else libpcap's reason for Ethernet: a filter no capture could use is a usage
/// error, told apart from one that does not fit a given capture's link type ("ether host" on raw IP).
std::string bpf_syntax_error(const std::string& bpf);

/// A libpcap handle on a capture file (pcap or pcapng) or a live interface, with an optional BPF filter.
class PcapSource {
 public:
  /// Opens a capture file, or standard input when `path` is "-" (a pcap or pcapng stream, e.g. from
  /// `tcpdump -w -` or `zcat`); throws InputError with the file name and libpcap's reason.
  static PcapSource open_file(const std::string& path, const std::string& bpf = {});
  /// How a live interface is opened (tcpdump's -p and -B).
  struct LiveOptions {
    bool promiscuous = true;           ///< see other hosts' traffic on a shared link or a mirror port
    uint32_t buffer_mib = kDefaultBufferMib;  ///< the kernel's capture buffer
    int snaplen = 262144;
  };
  static constexpr uint32_t kDefaultBufferMib = 32;
  /// Opens a live interface; throws InputError (e.g. missing permission) with a hint. libpcap's warnings
  /// (promiscuous mode not supported, ...) are kept in warning().
  static PcapSource open_live(const std::string& iface, const std::string& bpf, const LiveOptions& how);

  PcapSource(PcapSource&& o) noexcept;
  PcapSource& operator=(PcapSource&&) = delete;
  PcapSource(const PcapSource&) = delete;
  ~PcapSource();

  /// Reads the next packet into `out`. Error leaves the reason in error().
  ReadStatus next(RawPacket& out);
  /// Asks a blocking read to return: a live capture's, or standard input's waiting on a quiet pipe (safe
  /// from a signal handler).
  void break_loop();

  int linktype() const { return linktype_; }
  const std::string& name() const { return name_; }
  bool is_live() const { return live_; }
  const std::string& error() const { return error_; }
  /// Byte offset just past the last packet read successfully (files only).
  uint64_t good_offset() const { return good_offset_; }
  /// Current read position in the file (files only), for progress.
  uint64_t position() const;
  /// Total file size in bytes (files only; 0 for live and for standard input from a pipe).
  uint64_t file_size() const { return file_size_; }
  /// Packets read successfully so far.
  uint64_t packets() const { return packets_; }
  /// libpcap's warning when the interface was opened (live only; empty if none).
  const std::string& warning() const { return warning_; }
  /// Packets lost before sealscope could read them (live only; pcap_stats(3PCAP)).
  struct Drops {
    uint64_t kernel = 0;     ///< no room in the capture buffer: sealscope fell behind (ps_drop)
    uint64_t interface = 0;  ///< dropped by the interface or its driver (ps_ifdrop)
    bool known = true;       ///< false if libpcap could not give the counters (reason in error())
  };
  Drops drops();

 private:
  PcapSource() = default;
  void apply_filter(const std::string& bpf);
  std::string filter_error(const std::string& bpf, const std::string& why) const;

  /// 256 KiB: 1,600 reads for a 415 MB file (4 KiB made 97,000 and cost a third of the CPU; 1 MiB gained
  /// nothing measurable over this and kept 0.75 MB more resident).
  static constexpr std::size_t kReadBuffer = 256u << 10;
  std::unique_ptr<StreamCookie> cookie_;  ///< standard input's stream state; declared before handle_
  std::unique_ptr<char[]> iobuf_;  ///< the FILE's stdio buffer (files only); declared before handle_
  pcap* handle_ = nullptr;
  std::string name_;
  std::string error_;
  std::string warning_;
  int linktype_ = 0;
  bool live_ = false;
  bool pcapng_ = false;
  bool filtered_ = false;
  uint64_t good_offset_ = 0;
  uint64_t file_size_ = 0;
  uint64_t packets_ = 0;
};

}  // namespace sealscope::capture
