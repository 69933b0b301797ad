#include "report/flow_writers.hpp"

#include <atomic>
#include <charconv>
#include <cmath>
#include <cerrno>
#include <cstring>
#include <iterator>

#include "common/errors.hpp"
#include "report/text_escape.hpp"

namespace sealscope::report {

OutputFile::OutputFile(const std::string& path) : path_(path) {
  f_ = path == "-" ? stdout : std::fopen(path.c_str(), "wb");
  if (f_ == nullptr) throw Error(path + ": cannot create output file: " + std::strerror(errno));
  if (f_ != stdout) {
    // glibc keeps its 4 KiB default unless setvbuf is given the buffer: a 56 MB flow file was 13,700
    // write calls. stdout keeps the stream's own buffering (it may be shared with other output).
    buf_ = std::make_unique<char[]>(kWriteBuffer);
    std::setvbuf(f_, buf_.get(), _IOFBF, kWriteBuffer);
  }
}

OutputFile::~OutputFile() {
  if (f_ != nullptr && f_ != stdout) std::fclose(f_);
}

namespace {
std::atomic<bool> g_stdout_failed{false};
}  // namespace

bool OutputFile::stdout_failure_reported() noexcept { return g_stdout_failed.load(); }

Error OutputFile::write_error() const {
  const std::string why = std::strerror(errno);
  if (path_ != "-") return Error(path_ + ": write failed: " + why);
  g_stdout_failed.store(true);
  return Error("standard output: write failed: " + why);
}

void OutputFile::write(const char* data, size_t n) {
  if (f_ == nullptr) return;
  if (std::fwrite(data, 1, n, f_) != n) throw write_error();
}

void OutputFile::flush() {
  if (f_ != nullptr && std::fflush(f_) != 0) throw write_error();
}

void OutputFile::close() {
  if (f_ == nullptr) return;
  const bool bad = std::fflush(f_) != 0 || std::ferror(f_) != 0;
  const int why = errno;  // the flush's, before fclose can change it
  if (f_ != stdout) std::fclose(f_);
  f_ = nullptr;
  if (bad) {
    errno = why;
    throw write_error();
  }
}

namespace {

using Buf = fmt::memory_buffer;

[[gnu::always_inline]] inline void put(Buf& b, const char* s, size_t n) { append_bytes(b, s, n); }
[[gnu::always_inline]] inline void put(Buf& b, std::string_view s) { append_bytes(b, s.data(), s.size()); }

/// v rounded to the nearest integer, halves away from zero, for 0 <= v < 2^63: std::llround's result
/// without its call into libm (llround is not inlined without -ffast-math). v - trunc(v) is exact below
/// 2^52; above it v is an integer already.
inline uint64_t round_half_up(double v) {
  if (!(v < 9.2e18)) return static_cast<uint64_t>(std::llround(v));  // beyond the cast's range (and NaN)
  const auto i = static_cast<uint64_t>(v);
  return i + (v - static_cast<double>(i) >= 0.5 ? 1 : 0);
}

/// Appends an unsigned integer in decimal, written straight into the buffer.
[[gnu::always_inline]] inline void uint_out(Buf& b, uint64_t v) {
  const size_t at = b.size();
  b.resize(at + 20);  // the longest uint64
  char* end = std::to_chars(b.data() + at, b.data() + at + 20, v).ptr;
  b.resize(static_cast<size_t>(end - b.data()));
}

/// A CSV cell holding an unsigned integer: the separating comma, then the number.
[[gnu::always_inline]] inline void comma_uint(Buf& b, uint64_t v) {
  b.push_back(',');
  uint_out(b, v);
}

/// Appends a value with exactly three decimals, from integer thousandths. By hand for speed: doubles were a
/// sixth of the writer's time with fmt's "{:.3f}", and std::to_chars(…, fixed, 3) takes 4–5 times as long
/// as this. Where it differs from those (they round the double's exact value, ties to even): at a tie, or
/// within v × 1000's rounding error of one, this rounds away from zero (774.5625 → 774.563, not 774.562).
/// The CSV writer uses it too, so both files carry the same text.
void fixed3(Buf& b, double v) {
  const bool neg = v < 0;
  const uint64_t t = round_half_up((neg ? -v : v) * 1000.0);
  if (neg && t != 0) b.push_back('-');
  uint_out(b, t / 1000);
  const unsigned frac = static_cast<unsigned>(t % 1000);
  const char f[4] = {'.', static_cast<char>('0' + frac / 100), static_cast<char>('0' + frac / 10 % 10),
                     static_cast<char>('0' + frac % 10)};
  put(b, f, 4);
}

void moments_json(Buf& b, const stats::Moments& m) {
  if (m.n == 0) {
    put(b, "null");
    return;
  }
  put(b, "{\"min\":");
  fixed3(b, m.min);
  put(b, ",\"mean\":");
  fixed3(b, m.mean);
  put(b, ",\"stddev\":");
  fixed3(b, m.stddev);
  put(b, ",\"max\":");
  fixed3(b, m.max);
  put(b, "}");
}

void series_json(Buf& b, const stats::Moments (&m)[3]) {
  put(b, "{\"all\":");
  moments_json(b, m[0]);
  put(b, ",\"up\":");
  moments_json(b, m[1]);
  put(b, ",\"down\":");
  moments_json(b, m[2]);
  put(b, "}");
}

/// The SPLT as a JSON array of [direction, IP length, ms since the flow's first packet] (the CSV's column
/// holds the same text).
void splt_list(Buf& b, const std::vector<flow::SpltEntry>& splt) {
  b.push_back('[');
  for (size_t i = 0; i < splt.size(); ++i) {
    const auto& e = splt[i];
    put(b, i ? ",[" : "[");
    b.push_back((e.dir_ms >> 31) ? '1' : '0');
    b.push_back(',');
    uint_out(b, e.ip_len);
    b.push_back(',');
    uint_out(b, e.dir_ms & 0x7FFFFFFFu);
    b.push_back(']');
  }
  b.push_back(']');
}

void str_or_null(Buf& b, std::string_view s) {
  if (s.empty()) {
    put(b, "null");
  } else {
    append_json_string(b, s);
  }
}

constexpr const char* kFlagNames[8] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
// Output order per the record contract: SYN, FIN, RST, PSH, ACK, URG, ECE, CWR.
constexpr int kFlagOrder[8] = {1, 0, 2, 3, 4, 5, 6, 7};

}  // namespace

void JsonlWriter::format(const stats::FlowRecord& r, Buf& b) {
  auto out = std::back_inserter(b);
  put(b, "{\"flow_id\":");
  uint_out(b, r.id);
  put(b, ",\"src_ip\":");
  append_json_string(b, r.src_ip);
  put(b, ",\"src_port\":");
  if (r.has_ports) {
    uint_out(b, r.src_port);
  } else {
    put(b, "null");
  }
  put(b, ",\"dst_ip\":");
  append_json_string(b, r.dst_ip);
  put(b, ",\"dst_port\":");
  if (r.has_ports) {
    uint_out(b, r.dst_port);
  } else {
    put(b, "null");
  }
  put(b, ",\"l4\":");
  append_json_string(b, r.l4);
  put(b, ",\"vlan\":");
  if (r.vlan >= 0) {
    uint_out(b, static_cast<uint64_t>(r.vlan));
  } else {
    put(b, "null");
  }
  put(b, ",\"tunnel\":");
  if (r.tunnel.type != decode::TunnelType::None) {
    // {"type":T, then the identifier its type has (a number, or null when this header had none), then the
    // outer addresses: {"type":"gtp-u","teid":N,...}, {"type":"gre","key":null,...}, {"type":"tzsp",...}.
    fmt::format_to(out, "{{\"type\":\"{}\",", decode::tunnel_type_name(r.tunnel.type));
    if (const char* id = decode::tunnel_id_name(r.tunnel.type)) {
      if (r.tunnel.has_id) {
        fmt::format_to(out, "\"{}\":{},", id, r.tunnel.id);
      } else {
        fmt::format_to(out, "\"{}\":null,", id);
      }
    }
    put(b, "\"outer_src\":");
    append_json_string(b, r.tunnel_outer_src);
    put(b, ",\"outer_dst\":");
    append_json_string(b, r.tunnel_outer_dst);
    put(b, "}");
  } else {
    put(b, "null");
  }
  char when[kRfc3339UsMax];
  put(b, ",\"first_seen\":\"");
  put(b, when, format_rfc3339_us(r.first_seen, when));
  put(b, "\",\"last_seen\":\"");
  put(b, when, format_rfc3339_us(r.last_seen, when));
  put(b, "\",\"duration_ms\":");
  fixed3(b, static_cast<double>(r.last_seen - r.first_seen) / 1000.0);
  const char* names[3] = {",\"packets\":{\"up\":", ",\"bytes\":{\"up\":", ",\"payload_bytes\":{\"up\":"};
  const uint64_t* vals[3] = {r.packets, r.bytes, r.payload};
  for (int i = 0; i < 3; ++i) {
    put(b, names[i]);
    uint_out(b, vals[i][0]);
    put(b, ",\"down\":");
    uint_out(b, vals[i][1]);
    b.push_back('}');
  }
  put(b, ",\"size\":");
  series_json(b, r.size);
  put(b, ",\"iat_ms\":");
  series_json(b, r.iat_ms);
  put(b, ",\"splt\":");
  splt_list(b, r.splt);
  put(b, ",\"tcp_flags\":");
  if (r.l4 == "tcp") {
    put(b, "{");
    for (int i = 0; i < 8; ++i) {
      put(b, i ? ",\"" : "\"");
      put(b, kFlagNames[kFlagOrder[i]]);
      put(b, "\":");
      uint_out(b, r.tcp_flags[kFlagOrder[i]]);
    }
    put(b, "}");
  } else {
    put(b, "null");
  }
  put(b, ",\"icmp\":");
  if (r.proto == 1 || r.proto == 58) {  // ICMP, ICMPv6
    for (int d = 0; d < 2; ++d) {
      put(b, d == 0 ? "{\"up\":" : ",\"down\":");
      if (r.has_icmp[d]) {
        put(b, "{\"type\":");
        uint_out(b, r.icmp_type[d]);
        put(b, ",\"code\":");
        uint_out(b, r.icmp_code[d]);
        b.push_back('}');
      } else {
        put(b, "null");
      }
    }
    b.push_back('}');
  } else {
    put(b, "null");
  }
  put(b, ",\"icmp_errors\":");
  if (r.icmp_errors > 0) {
    put(b, "{\"count\":");
    uint_out(b, r.icmp_errors);
    put(b, ",\"type\":");
    uint_out(b, r.icmp_error_type);
    put(b, ",\"code\":");
    uint_out(b, r.icmp_error_code);
    put(b, r.icmp_error_dir == flow::kUp ? ",\"dir\":\"up\"" : ",\"dir\":\"down\"");
    put(b, r.icmp_error_from_peer ? ",\"from\":\"peer\"}" : ",\"from\":\"path\"}");
  } else {
    put(b, "null");
  }
  put(b, ",\"label\":");
  append_json_string(b, r.verdict.label);
  put(b, ",\"ndpi_label\":");
  append_json_string(b, r.verdict.ndpi_label);
  put(b, ",\"family\":");
  append_json_string(b, r.verdict.family);
  put(b, ",\"activity\":");
  append_json_string(b, r.verdict.activity);
  put(b, ",\"confidence\":");
  append_json_string(b, r.verdict.confidence);
  put(b, ",\"category\":");
  str_or_null(b, r.category);
  put(b, ",\"classified_after\":{\"packets\":");
  uint_out(b, r.after_packets);
  put(b, ",\"bytes\":");
  uint_out(b, r.after_bytes);
  put(b, ",\"ms\":");
  fixed3(b, r.after_ms);
  b.push_back('}');
  put(b, ",\"server_name\":");
  str_or_null(b, r.server_name);
  put(b, ",\"tls\":");
  if (r.has_tls) {
    put(b, "{\"version\":");
    str_or_null(b, r.tls_version);
    put(b, ",\"alpn\":");
    str_or_null(b, r.tls_alpn);
    put(b, ",\"ja3c\":");
    str_or_null(b, r.tls_ja3c);
    put(b, ",\"ja3s\":");
    str_or_null(b, r.tls_ja3s);
    put(b, "}");
  } else {
    put(b, "null");
  }
  put(b, ",\"end\":\"");
  put(b, flow::end_reason_name(r.end));
  put(b, "\"}\n");
}

void JsonlWriter::write(const stats::FlowRecord& r) {
  buf_.clear();
  format(r, buf_);
  out_.write(buf_.data(), buf_.size());
  if (flush_each_) out_.flush();
}

const char* CsvWriter::header() {
  return "flow_id,src_ip,src_port,dst_ip,dst_port,l4,vlan,tunnel_type,tunnel_teid,tunnel_vni,tunnel_key,"
         "tunnel_session,tunnel_outer_src,tunnel_outer_dst,first_seen,last_seen,duration_ms,"
         "packets_up,packets_down,bytes_up,bytes_down,"
         "payload_bytes_up,payload_bytes_down,"
         "size_all_min,size_all_mean,size_all_stddev,size_all_max,"
         "size_up_min,size_up_mean,size_up_stddev,size_up_max,"
         "size_down_min,size_down_mean,size_down_stddev,size_down_max,"
         "iat_ms_all_min,iat_ms_all_mean,iat_ms_all_stddev,iat_ms_all_max,"
         "iat_ms_up_min,iat_ms_up_mean,iat_ms_up_stddev,iat_ms_up_max,"
         "iat_ms_down_min,iat_ms_down_mean,iat_ms_down_stddev,iat_ms_down_max,"
         "splt,tcp_syn,tcp_fin,tcp_rst,tcp_psh,tcp_ack,tcp_urg,tcp_ece,tcp_cwr,"
         "icmp_up_type,icmp_up_code,icmp_down_type,icmp_down_code,"
         "icmp_errors_count,icmp_errors_type,icmp_errors_code,icmp_errors_dir,icmp_errors_from,"
         "label,ndpi_label,family,activity,confidence,category,"
         "classified_after_packets,classified_after_bytes,classified_after_ms,"
         "server_name,tls_version,tls_alpn,tls_ja3c,tls_ja3s,end\n";
}

CsvWriter::CsvWriter(const std::string& path) : out_(path) {
  const char* h = header();
  out_.write(h, std::strlen(h));
}

void CsvWriter::format(const stats::FlowRecord& r, Buf& b) {
  // As the JSONL writer: pieces appended by hand (fmt::format_to with a format string took 30,000
  // instructions a record, callgrind).
  uint_out(b, r.id);
  b.push_back(',');
  put(b, r.src_ip);
  b.push_back(',');
  if (r.has_ports) uint_out(b, r.src_port);
  b.push_back(',');
  put(b, r.dst_ip);
  b.push_back(',');
  if (r.has_ports) uint_out(b, r.dst_port);
  b.push_back(',');
  put(b, r.l4);
  b.push_back(',');
  if (r.vlan >= 0) uint_out(b, static_cast<uint64_t>(r.vlan));
  if (r.tunnel.type != decode::TunnelType::None) {
    // The identifier in the column its type names (tunnel_teid, _vni, _key, _session); the others empty.
    const char* id = r.tunnel.has_id ? decode::tunnel_id_name(r.tunnel.type) : nullptr;
    b.push_back(',');
    put(b, decode::tunnel_type_name(r.tunnel.type));
    for (const char* column : {"teid", "vni", "key", "session"}) {  // the header's order
      b.push_back(',');
      if (id != nullptr && std::strcmp(id, column) == 0) uint_out(b, r.tunnel.id);
    }
    b.push_back(',');
    put(b, r.tunnel_outer_src);
    b.push_back(',');
    put(b, r.tunnel_outer_dst);
  } else {
    put(b, ",,,,,,,");
  }
  // Decimals through fixed3, as in the JSONL records: fmt's "{:.3f}" rounds exact ties otherwise.
  char when[kRfc3339UsMax];
  b.push_back(',');
  put(b, when, format_rfc3339_us(r.first_seen, when));
  b.push_back(',');
  put(b, when, format_rfc3339_us(r.last_seen, when));
  b.push_back(',');
  fixed3(b, static_cast<double>(r.last_seen - r.first_seen) / 1000.0);
  for (const uint64_t* v : {r.packets, r.bytes, r.payload}) {
    comma_uint(b, v[0]);
    comma_uint(b, v[1]);
  }
  for (const auto* series : {&r.size, &r.iat_ms}) {
    for (const auto& m : *series) {
      if (m.n == 0) {
        put(b, ",,,,");
      } else {
        for (double v : {m.min, m.mean, m.stddev, m.max}) {
          b.push_back(',');
          fixed3(b, v);
        }
      }
    }
  }
  put(b, ",\"");  // the list holds commas: one quoted field
  splt_list(b, r.splt);
  b.push_back('"');
  const bool tcp = r.l4 == "tcp";
  for (int i = 0; i < 8; ++i) {
    b.push_back(',');
    if (tcp) uint_out(b, r.tcp_flags[kFlagOrder[i]]);
  }
  for (int d = 0; d < 2; ++d) {
    if (r.has_icmp[d]) {
      comma_uint(b, r.icmp_type[d]);
      comma_uint(b, r.icmp_code[d]);
    } else {
      put(b, ",,");
    }
  }
  if (r.icmp_errors > 0) {
    comma_uint(b, r.icmp_errors);
    comma_uint(b, r.icmp_error_type);
    comma_uint(b, r.icmp_error_code);
    put(b, r.icmp_error_dir == flow::kUp ? ",up" : ",down");
    put(b, r.icmp_error_from_peer ? ",peer" : ",path");
  } else {
    put(b, ",,,,,");
  }
  for (std::string_view s : {std::string_view(r.verdict.label), std::string_view(r.verdict.ndpi_label),
                             r.verdict.family, r.verdict.activity, std::string_view(r.verdict.confidence),
                             std::string_view(r.category)}) {
    b.push_back(',');
    append_csv_field(b, s);
  }
  comma_uint(b, r.after_packets);
  comma_uint(b, r.after_bytes);
  b.push_back(',');
  fixed3(b, r.after_ms);
  b.push_back(',');
  append_csv_field(b, r.server_name);
  for (const std::string* s : {&r.tls_version, &r.tls_alpn, &r.tls_ja3c, &r.tls_ja3s}) {
    b.push_back(',');
    append_csv_field(b, *s);
  }
  b.push_back(',');
  put(b, flow::end_reason_name(r.end));
  b.push_back('\n');
}

void CsvWriter::write(const stats::FlowRecord& r) {
  buf_.clear();
  format(r, buf_);
  out_.write(buf_.data(), buf_.size());
  if (flush_each_) out_.flush();
}

}  // namespace sealscope::report
