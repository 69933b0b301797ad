// sealscope-mkbench: builds one large Ethernet pcap out of K shifted copies of input captures.
//
// Every .pcap/.pcapng under the inputs is read with libpcap (SLL, SLL2, raw IP, NULL/LOOP frames get a
// synthesised Ethernet header, so ndpiReader 4.2 can read the result). Copy i has every IPv4 address's 3rd
// byte raised by i (4th byte by i/256: private addresses stay private), every IPv6 address's 10th byte by i (9th by i/256; the
// low 64 bits, which ndpiReader 4.2 folds into its flow key; the /64 prefix stays) — in the outer
// header and inside VLAN/QinQ/MPLS/PPPoE and GTP-U — with the IPv4 header checksum recomputed and TCP/UDP/
// ICMPv6 checksums adjusted, so copies are distinct flows. Copy i starts i*delta later; the output is merged
// by timestamp, so copies interleave instead of repeating back to back.
#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <queue>
#include <string>
#include <vector>

#ifndef SEALSCOPE_DEFAULT_INPUTS
#define SEALSCOPE_DEFAULT_INPUTS "captures"
#endif

namespace fs = std::filesystem;

namespace {

constexpr int kDltLinuxSll2 = 276;
constexpr int kDltIpv4 = 228, kDltIpv6 = 229, kLinktypeRaw = 101;

struct BasePacket {
  int64_t t_rel_us;   ///< time since the start of its input file (gaps capped, never backwards)
  uint32_t file;      ///< input index (tie-break when merging)
  uint32_t caplen, wirelen;
  uint64_t offset;    ///< into Corpus::bytes (already an Ethernet frame)
};

struct Corpus {
  std::vector<uint8_t> bytes;
  std::vector<BasePacket> packets;
  uint64_t skipped = 0;     ///< frames that could not be turned into Ethernet
  int64_t epoch_us = 0;     ///< earliest first timestamp of the inputs: start of the output
  uint32_t max_caplen = 0;
};

inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline void wr16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

/// Ethertype for an IP packet by its version nibble, 0 when it is neither v4 nor v6.
uint16_t ethertype_of_ip(const uint8_t* p, uint32_t len) {
  if (len < 1) return 0;
  if ((p[0] >> 4) == 4) return 0x0800;
  if ((p[0] >> 4) == 6) return 0x86DD;
  return 0;
}

/// Appends `frame` as an Ethernet frame to `out`; returns the number of bytes added to the frame (0 for
/// Ethernet input) or -1 when the frame cannot be converted.
int to_ethernet(int dlt, const uint8_t* d, uint32_t caplen, std::vector<uint8_t>& out) {
  static const uint8_t kDst[6] = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x02};
  static const uint8_t kSrc[6] = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x01};
  auto eth = [&](const uint8_t* src_mac, uint16_t type, const uint8_t* payload, uint32_t len) {
    out.insert(out.end(), kDst, kDst + 6);
    out.insert(out.end(), src_mac ? src_mac : kSrc, (src_mac ? src_mac : kSrc) + 6);
    out.push_back(static_cast<uint8_t>(type >> 8));
    out.push_back(static_cast<uint8_t>(type));
    out.insert(out.end(), payload, payload + len);
  };
  switch (dlt) {
    case DLT_EN10MB:
      out.insert(out.end(), d, d + caplen);
      return 0;
    case DLT_LINUX_SLL: {  // 16 bytes: type, ARPHRD, addr len, addr[8], protocol
      if (caplen < 16) return -1;
      uint16_t proto = rd16(d + 14);
      if (proto < 0x0600) return -1;  // not an Ethertype (802.2 LLC, CAN, ...)
      eth(rd16(d + 4) == 6 ? d + 6 : nullptr, proto, d + 16, caplen - 16);
      return 14 - 16;
    }
    case kDltLinuxSll2: {  // 20 bytes: protocol, reserved, ifindex, ARPHRD, type, addr len, addr[8]
      if (caplen < 20) return -1;
      uint16_t proto = rd16(d);
      if (proto < 0x0600) return -1;
      eth(d[11] == 6 ? d + 12 : nullptr, proto, d + 20, caplen - 20);
      return 14 - 20;
    }
    case DLT_RAW:
    case kLinktypeRaw:
    case kDltIpv4:
    case kDltIpv6: {
      uint16_t type = ethertype_of_ip(d, caplen);
      if (type == 0) return -1;
      eth(nullptr, type, d, caplen);
      return 14;
    }
    case DLT_NULL:
    case DLT_LOOP: {
      if (caplen < 4) return -1;
      uint16_t type = ethertype_of_ip(d + 4, caplen - 4);
      if (type == 0) return -1;
      eth(nullptr, type, d + 4, caplen - 4);
      return 14 - 4;
    }
    default:
      return -1;
  }
}

void collect(const fs::path& p, std::vector<fs::path>& files) {
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::follow_directory_symlink, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (!it->is_regular_file(ec)) continue;
      auto ext = it->path().extension().string();
      if (ext == ".pcap" || ext == ".pcapng" || ext == ".cap") files.push_back(it->path());
    }
  } else {
    files.push_back(p);
  }
}

/// Reads every input into the corpus, as Ethernet frames on a per-file relative timeline.
bool load(const std::vector<fs::path>& files, int64_t max_gap_us, Corpus& c) {
  bool have_epoch = false;
  for (uint32_t fi = 0; fi < files.size(); ++fi) {
    char err[PCAP_ERRBUF_SIZE] = {};
    pcap_t* pc = pcap_open_offline_with_tstamp_precision(files[fi].c_str(), PCAP_TSTAMP_PRECISION_MICRO, err);
    if (!pc) {
      std::fprintf(stderr, "mkbench: skipping %s: %s\n", files[fi].c_str(), err);
      continue;
    }
    const int dlt = pcap_datalink(pc);
    pcap_pkthdr* h = nullptr;
    const u_char* d = nullptr;
    int rc;
    bool first = true;
    int64_t prev_ts = 0, t_rel = 0;
    uint64_t n = 0, bad = 0;
    while ((rc = pcap_next_ex(pc, &h, &d)) >= 0) {
      if (rc == 0) continue;
      const int64_t ts = int64_t{h->ts.tv_sec} * 1000000 + h->ts.tv_usec;
      const uint64_t off = c.bytes.size();
      const int grow = to_ethernet(dlt, d, h->caplen, c.bytes);
      if (grow == -1) {
        ++bad;
        continue;
      }
      if (first) {
        if (!have_epoch || ts < c.epoch_us) c.epoch_us = ts;
        have_epoch = true;
        first = false;
      } else {
        t_rel += std::clamp<int64_t>(ts - prev_ts, 0, max_gap_us);
      }
      prev_ts = ts;
      BasePacket bp{t_rel, fi, static_cast<uint32_t>(c.bytes.size() - off),
                    static_cast<uint32_t>(std::max<int64_t>(int64_t{h->len} + grow, c.bytes.size() - off)), off};
      c.max_caplen = std::max(c.max_caplen, bp.caplen);
      c.packets.push_back(bp);
      ++n;
    }
    if (rc == PCAP_ERROR) {
      std::fprintf(stderr, "mkbench: %s: read error after %llu packets (kept): %s\n", files[fi].c_str(),
                   static_cast<unsigned long long>(n), pcap_geterr(pc));
    }
    if (bad) {
      std::fprintf(stderr, "mkbench: %s: %llu frames of link type %s not convertible to Ethernet (dropped)\n",
                   files[fi].c_str(), static_cast<unsigned long long>(bad), pcap_datalink_val_to_name(dlt));
    }
    c.skipped += bad;
    pcap_close(pc);
  }
  std::stable_sort(c.packets.begin(), c.packets.end(), [](const BasePacket& a, const BasePacket& b) {
    return a.t_rel_us != b.t_rel_us ? a.t_rel_us < b.t_rel_us : a.file < b.file;
  });
  return !c.packets.empty();
}

// ---- address shifting -------------------------------------------------------------------------------------

/// One's-complement sum of the 16-bit words of [p, p+len) as if it started at an even offset.
uint64_t ones_sum(const uint8_t* p, uint32_t len) {
  uint64_t s = 0;
  uint32_t i = 0;
  for (; i + 1 < len; i += 2) s += rd16(p + i);
  if (i < len) s += uint32_t{p[i]} << 8;
  return s;
}

uint16_t fold(uint64_t s) {
  while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
  return static_cast<uint16_t>(s);
}

/// Adjusts the L4 checksum at `csum` (inside `nw`) for every change between `old` and `nw` over the
/// pseudo-header addresses and the captured segment (RFC 1624 incremental update), so a checksum that was
/// right stays right, also around a rewritten GTP-U inner packet.
void fix_l4_checksum(const uint8_t* old_frame, uint8_t* new_frame, uint32_t addr_off, uint32_t addr_len,
                     uint32_t seg_off, uint32_t seg_end, uint32_t csum_off, bool udp) {
  const uint16_t cur = rd16(new_frame + csum_off);
  if (udp && cur == 0) return;  // no checksum
  uint64_t s_old = ones_sum(old_frame + addr_off, addr_len);
  uint64_t s_new = ones_sum(new_frame + addr_off, addr_len);
  // the segment without the checksum field itself (word-aligned relative to seg_off: csum_off is even there)
  s_old += ones_sum(old_frame + seg_off, csum_off - seg_off) + ones_sum(old_frame + csum_off + 2, seg_end - csum_off - 2);
  s_new += ones_sum(new_frame + seg_off, csum_off - seg_off) + ones_sum(new_frame + csum_off + 2, seg_end - csum_off - 2);
  const uint16_t delta = fold(uint64_t{fold(s_new)} + (0xFFFFu - fold(s_old)));
  uint16_t res = static_cast<uint16_t>(~fold(uint64_t{static_cast<uint16_t>(~cur)} + delta));
  if (udp && res == 0) res = 0xFFFF;
  wr16(new_frame + csum_off, res);
}

struct Shifter {
  const uint8_t* old_frame;
  uint8_t* f;
  uint32_t caplen;
  uint8_t lo, hi;  ///< copy index, low and high byte

  void bump(uint32_t hi_byte_off) {  // address byte pair (hi_byte_off, hi_byte_off+1): +hi, +lo
    f[hi_byte_off] = static_cast<uint8_t>(f[hi_byte_off] + hi);
    f[hi_byte_off + 1] = static_cast<uint8_t>(f[hi_byte_off + 1] + lo);
  }

  void ethernet() {
    if (caplen < 14) return;
    uint32_t off = 14;
    uint16_t type = rd16(f + 12);
    for (int tags = 0; tags < 8; ++tags) {
      if (type == 0x8100 || type == 0x88A8 || type == 0x9100) {
        if (off + 4 > caplen) return;
        type = rd16(f + off + 2);
        off += 4;
        continue;
      }
      if (type == 0x8864) {  // PPPoE session
        if (off + 8 > caplen) return;
        const uint16_t ppp = rd16(f + off + 6);
        off += 8;
        if (ppp == 0x0021 || ppp == 0x0057) ip(off, 0);
        return;
      }
      if (type == 0x8847 || type == 0x8848) {  // MPLS: to the bottom of the stack
        for (int i = 0; i < 8; ++i) {
          if (off + 4 > caplen) return;
          const bool bottom = (f[off + 2] & 1) != 0;
          off += 4;
          if (bottom) {
            ip(off, 0);
            return;
          }
        }
        return;
      }
      break;
    }
    if (type == 0x0800 || type == 0x86DD) ip(off, 0);
  }

  void ip(uint32_t off, int depth) {
    if (off >= caplen) return;
    const uint32_t avail = caplen - off;
    const uint8_t version = f[off] >> 4;
    uint32_t l4 = 0, end = 0, addr_off = 0, addr_len = 0;
    uint8_t proto = 0;
    if (version == 4) {
      if (avail < 20) return;
      const uint32_t ihl = (f[off] & 0x0F) * 4u;
      // 3rd byte += copy % 256, 4th byte += copy / 256: the first two bytes stay, so a private (RFC 1918,
      // CGNAT) client stays private and a public server public, as in a capture of many subscribers.
      f[off + 14] = static_cast<uint8_t>(f[off + 14] + lo);
      f[off + 15] = static_cast<uint8_t>(f[off + 15] + hi);
      f[off + 18] = static_cast<uint8_t>(f[off + 18] + lo);
      f[off + 19] = static_cast<uint8_t>(f[off + 19] + hi);
      if (ihl < 20 || ihl > avail) return;
      wr16(f + off + 10, 0);
      wr16(f + off + 10, static_cast<uint16_t>(~fold(ones_sum(f + off, ihl))));
      const uint16_t frag = rd16(f + off + 6);
      if ((frag & 0x1FFF) != 0) return;  // later fragment: no L4 header
      const uint32_t tot = rd16(f + off + 2);
      if (tot < ihl) return;
      l4 = off + ihl;
      end = std::min(caplen, off + tot);
      proto = f[off + 9];
      addr_off = off + 12;
      addr_len = 8;
    } else if (version == 6) {
      if (avail < 40) return;
      bump(off + 8 + 8);  // interface ID: ndpiReader 4.2 keys IPv6 flows on the low 64 bits only
      bump(off + 24 + 8);
      end = std::min(caplen, off + 40 + rd16(f + off + 4));
      uint8_t next = f[off + 6];
      uint32_t p = off + 40;
      for (int n = 0; n < 16; ++n) {
        if (next != 0 && next != 43 && next != 44 && next != 60 && next != 51 && next != 135 && next != 139 &&
            next != 140) {
          break;
        }
        if (p + 8 > end) return;
        if (next == 44 && (rd16(f + p + 2) & 0xFFF8) != 0) return;  // later fragment
        const uint32_t hl = next == 44 ? 8 : next == 51 ? (f[p + 1] + 2u) * 4u : (f[p + 1] + 1u) * 8u;
        next = f[p];
        p += hl;
      }
      if (p > end) return;
      l4 = p;
      proto = next;
      addr_off = off + 8;
      addr_len = 32;
    } else {
      return;
    }
    if (proto == 17 && l4 + 8 <= end) {
      const uint16_t sp = rd16(f + l4), dp = rd16(f + l4 + 2);
      if ((sp == 2152 || dp == 2152) && depth == 0) gtp(l4 + 8, end);
      fix_l4_checksum(old_frame, f, addr_off, addr_len, l4, end, l4 + 6, true);
    } else if (proto == 6 && l4 + 18 <= end) {
      fix_l4_checksum(old_frame, f, addr_off, addr_len, l4, end, l4 + 16, false);
    } else if (proto == 58 && version == 6 && l4 + 4 <= end) {
      fix_l4_checksum(old_frame, f, addr_off, addr_len, l4, end, l4 + 2, false);
    }
  }

  void gtp(uint32_t g, uint32_t end) {  // GTPv1-U G-PDU, as sealscope's decoder reads it
    if (g + 8 > end) return;
    if ((f[g] >> 5) != 1 || !(f[g] & 0x10) || f[g + 1] != 0xFF) return;
    uint32_t hl = 8;
    if (f[g] & 0x07) {
      hl = 12;
      if (g + 12 > end) return;
      if (f[g] & 0x04) {
        uint8_t nxt = f[g + 11];
        for (int i = 0; nxt != 0; ++i) {
          if (i == 16 || g + hl + 4 > end) return;
          const uint32_t el = f[g + hl] * 4u;
          if (el == 0 || g + hl + el > end) return;
          nxt = f[g + hl + el - 1];
          hl += el;
        }
      }
    }
    if (g + hl >= end) return;
    Shifter inner{old_frame, f, end, lo, hi};
    inner.ip(g + hl, 1);
  }
};

struct Options {
  std::vector<fs::path> inputs;
  std::string out;
  uint64_t copies = 0;
  uint64_t target_packets = 0;
  double delta_s = 1.0;
  double max_gap_s = 60.0;
};

[[noreturn]] void usage(int rc) {
  std::fprintf(rc ? stderr : stdout,
               "usage: sealscope-mkbench [--copies K | --target-packets N] --out FILE [--delta S] [--max-gap S]\n"
               "                         [INPUT...]\n\n"
               "Writes one Ethernet pcap made of K copies of every .pcap/.pcapng/.cap under INPUT (files or\n"
               "folders, recursively; default: %s). Copy i has its IPv4 addresses' 3rd byte (IPv6: 10th byte)\n"
               "raised by i, also inside VLAN/MPLS/PPPoE and GTP-U, with checksums fixed, and starts i*S\n"
               "seconds later (--delta, default 1); output is merged by time. Within an input, gaps longer than\n"
               "--max-gap seconds (default 60) are shortened and backward steps become 0, so each input keeps its\n"
               "packet order and the capture spans minutes, not the years some test captures span.\n"
               "--target-packets N picks K = round(N / input packets), at least 1.\n",
               SEALSCOPE_DEFAULT_INPUTS);
  std::exit(rc);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "mkbench: %s needs a value\n", a.c_str());
        usage(2);
      }
      return argv[++i];
    };
    auto num = [&](const std::string& s) -> double {
      char* e = nullptr;
      errno = 0;
      double v = std::strtod(s.c_str(), &e);
      if (errno || !e || *e || !(v >= 0)) {
        std::fprintf(stderr, "mkbench: bad number for %s: %s\n", a.c_str(), s.c_str());
        usage(2);
      }
      return v;
    };
    if (a == "-h" || a == "--help") usage(0);
    else if (a == "--copies") o.copies = static_cast<uint64_t>(num(val()));
    else if (a == "--target-packets") o.target_packets = static_cast<uint64_t>(num(val()));
    else if (a == "--out" || a == "-o") o.out = val();
    else if (a == "--delta") o.delta_s = num(val());
    else if (a == "--max-gap") o.max_gap_s = num(val());
    else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "mkbench: unknown option %s\n", a.c_str());
      usage(2);
    } else {
      o.inputs.emplace_back(a);
    }
  }
  if (o.out.empty()) {
    std::fprintf(stderr, "mkbench: --out FILE is required\n");
    usage(2);
  }
  if (o.copies && o.target_packets) {
    std::fprintf(stderr, "mkbench: give --copies or --target-packets, not both\n");
    usage(2);
  }
  if (o.inputs.empty()) o.inputs.emplace_back(SEALSCOPE_DEFAULT_INPUTS);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::vector<fs::path> files;
  for (const auto& in : o.inputs) {
    std::error_code ec;
    if (!fs::exists(in, ec)) {
      std::fprintf(stderr, "mkbench: %s: no such file or folder\n", in.c_str());
      return 2;
    }
    collect(in, files);
  }
  std::sort(files.begin(), files.end());
  Corpus c;
  if (!load(files, static_cast<int64_t>(o.max_gap_s * 1e6), c)) {
    std::fprintf(stderr, "mkbench: no packets in the inputs\n");
    return 1;
  }
  const uint64_t base = c.packets.size();
  uint64_t k = o.copies;
  if (k == 0) {
    k = o.target_packets ? static_cast<uint64_t>(std::llround(static_cast<double>(o.target_packets) / base)) : 1;
    k = std::max<uint64_t>(k, 1);
  }
  if (k > 65536) {
    std::fprintf(stderr, "mkbench: at most 65536 copies (addresses would repeat)\n");
    return 2;
  }

  pcap_t* dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, std::max<int>(262144, c.max_caplen),
                                                      PCAP_TSTAMP_PRECISION_MICRO);
  pcap_dumper_t* dump = pcap_dump_open(dead, o.out.c_str());
  if (!dump) {
    std::fprintf(stderr, "mkbench: %s: %s\n", o.out.c_str(), pcap_geterr(dead));
    return 1;
  }

  // k-way merge of the copies: copy i is the base timeline shifted by i*delta.
  const int64_t delta_us = static_cast<int64_t>(o.delta_s * 1e6);
  struct Cursor {
    int64_t ts;
    uint64_t copy, idx;
  };
  auto later = [](const Cursor& a, const Cursor& b) { return a.ts != b.ts ? a.ts > b.ts : a.copy > b.copy; };
  std::priority_queue<Cursor, std::vector<Cursor>, decltype(later)> heap(later);
  for (uint64_t i = 0; i < k; ++i) heap.push({c.packets[0].t_rel_us + static_cast<int64_t>(i) * delta_us, i, 0});
  std::vector<uint8_t> buf(c.max_caplen);
  uint64_t written = 0;
  int64_t last_ts = 0;
  while (!heap.empty()) {
    Cursor cur = heap.top();
    heap.pop();
    const BasePacket& bp = c.packets[cur.idx];
    const uint8_t* src = c.bytes.data() + bp.offset;
    std::memcpy(buf.data(), src, bp.caplen);
    if (cur.copy != 0) {
      Shifter s{src, buf.data(), bp.caplen, static_cast<uint8_t>(cur.copy & 0xFF), static_cast<uint8_t>(cur.copy >> 8)};
      s.ethernet();
    }
    const int64_t ts = c.epoch_us + cur.ts;
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(ts / 1000000);
    h.ts.tv_usec = static_cast<suseconds_t>(ts % 1000000);
    h.caplen = bp.caplen;
    h.len = bp.wirelen;
    pcap_dump(reinterpret_cast<u_char*>(dump), &h, buf.data());
    ++written;
    last_ts = cur.ts;
    if (++cur.idx < base) {
      cur.ts = c.packets[cur.idx].t_rel_us + static_cast<int64_t>(cur.copy) * delta_us;
      heap.push(cur);
    }
  }
  if (pcap_dump_flush(dump) != 0 || ferror(pcap_dump_file(dump))) {
    std::fprintf(stderr, "mkbench: %s: write error\n", o.out.c_str());
    return 1;
  }
  pcap_dump_close(dump);
  pcap_close(dead);
  std::fprintf(stderr, "mkbench: %zu inputs, %llu packets (%llu dropped), %llu copies -> %s: %llu packets, %.1f s\n",
               files.size(), static_cast<unsigned long long>(base), static_cast<unsigned long long>(c.skipped),
               static_cast<unsigned long long>(k), o.out.c_str(), static_cast<unsigned long long>(written),
               static_cast<double>(last_ts) / 1e6);
  return 0;
}
