#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "analyze/worker.hpp"
#include "decode/decoder.hpp"
#include "stats/summary.hpp"

namespace sealscope::analyze {

/// Inputs and behaviour of one `sealscope analyze` run.
struct AnalyzeOptions {
  std::vector<std::string> files;  ///< capture files, read in the order given
  std::string interface;           ///< live capture instead of files
  std::string bpf;
  double duration_s = 0;           ///< live: stop after this many seconds (0 = until interrupted)
  bool progress = false;           ///< draw a progress bar on stderr (files)
  uint32_t workers = 1;
  decode::DecoderOptions decoder;
  PipelineOptions pipeline;
  uint64_t seed = 0x5ea15c09e5eedULL;  ///< flow hash seed (fixed by default: deterministic output)
};

/// Fans records out to several sinks (writers, summary, policy engine).
class TeeSink : public stats::RecordSink {
 public:
  void add(stats::RecordSink* s) { sinks_.push_back(s); }
  void write(const stats::FlowRecord& r) override {
    for (auto* s : sinks_) s->write(r);
  }

 private:
  std::vector<stats::RecordSink*> sinks_;
};

/// Drives capture → decode → flow → classify → records for a whole run. Records go to `sink` as flows end;
/// the run-wide statistics go to `summary`. Returns false when an input could not be read to its end
/// (recorded in summary.problems); flows seen so far are always written.
class Analyzer {
 public:
  Analyzer(const AnalyzeOptions& opts, stats::RecordSink& sink, stats::Summary& summary);
  ~Analyzer();

  /// Validates inputs up front (existence, readability, BPF): throws InputError before any output.
  void check_inputs() const;
  bool run();
  /// Adds a packet observer to every worker (not owned; must outlive run()).
  void add_observer(PacketObserver* o) {
    for (auto& w : workers_) w->add_observer(o);
  }

  /// Asks a running analysis to stop after the current packet (signal-safe).
  static void request_stop();
  static bool stop_requested();

 private:
  bool run_file(const std::string& path);
  bool run_live();
  void handle(const uint8_t* data, uint32_t caplen, uint32_t wirelen, TimestampUs ts, int linktype);
  void finish();

  AnalyzeOptions opts_;
  stats::RecordSink& sink_;
  stats::Summary& summary_;
  decode::Decoder decoder_;
  std::vector<std::unique_ptr<Worker>> workers_;
  decode::AnomalyCounters anomalies_;
  TimestampUs last_ts_in_file_ = 0;
};

}  // namespace sealscope::analyze
