#pragma once
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "common/errors.hpp"
#include "stats/flow_record.hpp"

namespace sealscope::report {

/// Buffered output file; throws sealscope::Error when it cannot be created or written.
class OutputFile {
 public:
  explicit OutputFile(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  void write(const char* data, size_t n);
  /// Hands what is buffered to the system now (a live capture's records, for `tail -f` or `| jq`).
  void flush();
  void close();
  const std::string& path() const { return path_; }
  /// True once an OutputFile on standard output ("-") has thrown its write error (which names it), so
  /// the final check of standard output does not say it again.
  static bool stdout_failure_reported() noexcept;

 private:
  Error write_error() const;  ///< names the file (or standard output) and errno's reason
  /// 256 KiB: about 220 writes for a 56 MB flow file (glibc's 4 KiB default made 13,700).
  static constexpr size_t kWriteBuffer = 256u << 10;
  std::string path_;
  std::unique_ptr<char[]> buf_;  ///< the FILE's stdio buffer (files only); outlives f_
  FILE* f_ = nullptr;
};

/// Writes one JSON object per flow per line (man sealscope-flows(5)).
class JsonlWriter : public stats::RecordSink {
 public:
  explicit JsonlWriter(const std::string& path) : out_(path) {}
  void write(const stats::FlowRecord& r) override;
  /// Live capture: each record reaches the file (or pipe) as its flow ends, not when a buffer fills.
  void set_flush_each(bool on) { flush_each_ = on; }
  void close() { out_.close(); }
  /// Formats one record as a JSON line (with the trailing newline) into `buf`.
  static void format(const stats::FlowRecord& r, fmt::memory_buffer& buf);

 private:
  OutputFile out_;
  fmt::memory_buffer buf_;
  bool flush_each_ = false;
};

/// Writes the same fields as the JSONL, flattened to one CSV row per flow, with a header row.
class CsvWriter : public stats::RecordSink {
 public:
  explicit CsvWriter(const std::string& path);
  void write(const stats::FlowRecord& r) override;
  /// Live capture: the header now, then each row as its flow ends, not when a buffer fills.
  void set_flush_each(bool on) {
    flush_each_ = on;
    if (on) out_.flush();
  }
  void close() { out_.close(); }
  static const char* header();
  static void format(const stats::FlowRecord& r, fmt::memory_buffer& buf);

 private:
  OutputFile out_;
  fmt::memory_buffer buf_;
  bool flush_each_ = false;
};

}  // namespace sealscope::report
