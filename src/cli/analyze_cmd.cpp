#include <fmt/format.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <memory>
#include <sstream>

#include "analyze/analyzer.hpp"
#include "analyze/async_sink.hpp"
#include "classify/ndpi_adapter.hpp"
#include "cli/commands.hpp"
#include "cli/ipfix_option.hpp"
#include "cli/parse.hpp"
#include "cli/pipeline_options.hpp"
#include "common/errors.hpp"
#include "common/local_time.hpp"
#include "export/ipfix_exporter.hpp"
#include "flow/flow_table.hpp"
#include "report/flow_writers.hpp"
#include "report/html_report.hpp"
#include "report/summary_writer.hpp"

namespace po = boost::program_options;

namespace sealscope::cli {

int analyze_main(const std::vector<std::string>& args) {
  analyze::AnalyzeOptions o;
  std::string flows_path, csv_path, summary_path, html_path, tz_name;
  IpfixOption ipfix_opt;
  bool quiet = false, progress = false, no_progress = false;
  PipelineSwitches switches;
  uint32_t splt = 32;
  bool no_promisc = false;
  uint32_t buffer_mib = 0;
  bool buffer_given = false;
  auto& t = o.pipeline.table;

  po::options_description desc(
      "usage: sealscope analyze [OPTIONS] CAPTURE...\n"
      "       sealscope analyze -i IFACE [--bpf EXPR] [--duration S] [OPTIONS]\n\n"
      "Reads pcap/pcapng captures (in the time order of their first packets) or a live interface, builds\n"
      "bidirectional flows, classifies them with nDPI plus sealscope's detectors and writes metadata-only\n"
      "flow records.\n"
      "A CAPTURE of - is standard input (pcap or pcapng; e.g. zcat big.pcap.gz | sealscope analyze -).\n\n"
      "Options");
  desc.add_options()
      ("help,h", "show this help")
      ("interface,i", po::value(&o.interface), "capture live from IFACE (needs root or CAP_NET_RAW and CAP_NET_ADMIN)")
      ("bpf", po::value(&o.bpf), "BPF filter applied to files and live capture (pcap-filter(7))")
      ("duration", po::value(&o.duration_s), "live capture: stop after S seconds (0, the default: until Ctrl-C)")
      ("no-promisc", po::bool_switch(&no_promisc),
       "live capture: leave the interface out of promiscuous mode (only this host's traffic, broadcast and "
       "multicast; by default a mirror port's or shared link's other hosts are seen too)")
      ("buffer-mib", po::value<uint32_t>()->notifier([&](uint32_t v) {
         buffer_mib = v;
         buffer_given = true;
       }),
       fmt::format("live capture: the kernel's capture buffer in MiB, 1-2047 (default {}); raise it when the "
                   "summary reports kernel drops",
                   capture::PcapSource::kDefaultBufferMib).c_str())
      ("flows", po::value(&flows_path), "write one JSON object per flow to FILE (sealscope-flows(5); - = stdout)")
      ("csv", po::value(&csv_path), "write the same fields, flattened, as CSV to FILE (- = stdout)");
  ipfix_opt.add_to(desc, "the summary");
  desc.add_options()
      ("summary-json", po::value(&summary_path), "write the run summary as JSON to FILE (- = stdout)")
      ("html", po::value(&html_path),
       "write a report page to FILE: the summary, a time line of new flows by activity, new flows by hour "
       "of day, the biggest flows (self-contained HTML, no script; - = stdout)")
      ("tz", po::value(&tz_name),
       "IANA time zone of the --html page's hour-of-day table (e.g. Europe/Berlin; default UTC); records "
       "and summaries stay in UTC")
      ("splt", po::value(&splt)->default_value(32), "packet shape entries kept per flow (0 = off, max 255)")
      ("close-linger", po::value(&t.close_linger_s)->default_value(60),
       "after FIN both ways or RST, keep a TCP flow this many seconds for stray packets (a new SYN ends it)")
      ("active-timeout", po::value(&t.active_s)->default_value(1800),
       "write a record for flows active this long and count afresh (0 = never)")
      ("classify-idle", po::value(&t.classify_idle_s)->default_value(30),
       "give up classifying a flow idle this many seconds and free its nDPI state (0 = never)")
      ("park-idle", po::value(&t.park_idle_s)->default_value(10),
       "compact the nDPI state of a flow still classifying after this many seconds of silence; restored "
       "unchanged on its next packet (0 = never)")
      ("max-flows", po::value(&t.max_flows)->default_value(1000000),
       "concurrent flows kept per worker; beyond it the least recently seen flow is written early "
       "(end \"evicted\", counted in the summary)")
      ("workers", po::value(&o.workers)->default_value(1),
       "worker threads, 1-64, each with its own flow table and nDPI module (1 = deterministic output)")
      ("progress", po::bool_switch(&progress), "always draw the progress bar on stderr")
      ("no-progress", po::bool_switch(&no_progress), "never draw the progress bar")
      ("quiet,q", po::bool_switch(&quiet), "do not print the summary on stdout");
  desc.add(pipeline_options(o, switches));
  const Parsed parsed = parse_command(
      args, "analyze", desc, o.files, -1,
      fmt::format("Memory: about {} bytes per concurrent flow ({} once it has more than {} packets, {} beyond {}) with the "
                  "default --splt; nDPI state (~{} bytes) lasts until a flow is classified or given up "
                  "(--classify-idle).\n"
                  "Exit status: 0 ok, 1 an input could not be opened or read to its end (the others are read, outputs "
                  "still written) or --ipfix messages could not be sent, "
                  "2 usage error, 130 interrupted while reading captures, outputs still written (a live capture "
                  "ends at Ctrl-C or SIGTERM with 0; a second one ends sealscope at once).\n",
                  flow::FlowTable::bytes_per_flow(32, flow::Flow::kSpltInline),
                  flow::FlowTable::bytes_per_flow(32, flow::Flow::kSpltInline + 1), flow::Flow::kSpltInline,
                  flow::FlowTable::bytes_per_flow(32, 32), flow::Flow::kSpltInline + flow::FlowTable::kSpltSmall,
                  classify::NdpiEngine::flow_state_bytes()));
  if (parsed.done) return parsed.code;
  if (o.interface.empty() && o.files.empty()) {
    eprint("sealscope analyze: no capture given (files, or -i IFACE; see --help)\n");
    return kUsage;
  }
  if (!o.interface.empty() && !o.files.empty()) {
    eprint("sealscope analyze: give capture files or -i IFACE, not both\n");
    return kUsage;
  }
  if (!o.files.empty() && o.duration_s > 0) {
    eprint("sealscope analyze: --duration is for live capture (-i); a file is read to its end "
           "(to read part of one, use --bpf or editcap -A/-B)\n");
    return kUsage;
  }
  if (!o.files.empty() && (no_promisc || buffer_given)) {
    eprint("sealscope analyze: {} is for live capture (-i)\n", no_promisc ? "--no-promisc" : "--buffer-mib");
    return kUsage;
  }
  if (buffer_given && (buffer_mib == 0 || buffer_mib > 2047)) {
    eprint("sealscope analyze: --buffer-mib must be between 1 and 2047\n");
    return kUsage;
  }
  o.live.promiscuous = !no_promisc;
  if (buffer_given) o.live.buffer_mib = buffer_mib;
  if (!(o.duration_s >= 0)) {  // also NaN
    eprint("sealscope analyze: --duration must be 0 (until Ctrl-C) or more seconds\n");
    return kUsage;
  }
  if (splt > 255) {
    eprint("sealscope analyze: --splt must be between 0 and 255\n");
    return kUsage;
  }
  if (progress && no_progress) {
    eprint("sealscope analyze: --progress and --no-progress contradict each other; give one\n");
    return kUsage;
  }
  if (o.workers == 0 || o.workers > 64) {
    eprint("sealscope analyze: --workers must be between 1 and 64\n");
    return kUsage;
  }
  if (t.max_flows == 0) {
    eprint("sealscope analyze: --max-flows must be at least 1\n");
    return kUsage;
  }
  const int to_stdout = (flows_path == "-") + (csv_path == "-") + (summary_path == "-") + (html_path == "-");
  if (to_stdout > 1) {
    eprint("sealscope analyze: only one of --flows, --csv, --summary-json and --html can be - (stdout)\n");
    return kUsage;
  }
  if (!bpf_compiles("analyze", o.bpf)) return kUsage;
  if (!files_are_distinct("analyze", o.files, {},
                            {{"--flows", flows_path}, {"--csv", csv_path}, {"--summary-json", summary_path}, {"--html", html_path}})) {
    return kUsage;
  }
  if (!ipfix_opt.check("analyze")) return kUsage;
  const date::time_zone* tz = nullptr;
  if (!tz_name.empty()) {
    if (html_path.empty()) {
      eprint("sealscope analyze: --tz sets the zone of the --html page's hour-of-day table; give --html FILE "
             "too (records and summaries are always in UTC)\n");
      return kUsage;
    }
    tz = find_zone(tz_name);
    if (tz == nullptr) {
      eprint("sealscope analyze: --tz: {}\n", unknown_zone_message(tz_name));
      return kUsage;
    }
  }
  order_by_time("analyze", o.files);
  t.splt = static_cast<uint16_t>(splt);
  apply_switches(o, switches);
  // --progress draws even with -q (which silences the summary, not the bar); by default, a terminal and no -q.
  o.progress = progress || (!quiet && !no_progress && isatty(STDERR_FILENO));

  stats::Summary summary;
  analyze::TeeSink tee;
  tee.add(&summary);
  report::HtmlReport html;
  html.set_zone(tz, tz_name.empty() ? "UTC" : tz_name);
  if (!html_path.empty()) tee.add(&html);
  std::unique_ptr<report::JsonlWriter> jsonl;
  std::unique_ptr<report::CsvWriter> csv;
  std::unique_ptr<ipfix::Exporter> ipfix_out;
  analyze::TeeSink files;
  std::unique_ptr<analyze::AsyncSink> async;  // destroyed before the writers it feeds
  bool ok = true;
  try {
    const StopOnSignal stop_on_signal;  // until the last output is closed
    auto analyzer = std::make_unique<analyze::Analyzer>(o, tee, summary);
    analyzer->check_inputs();
    if (!flows_path.empty()) {
      jsonl = std::make_unique<report::JsonlWriter>(flows_path);
      files.add(jsonl.get());
    }
    if (!csv_path.empty()) {
      csv = std::make_unique<report::CsvWriter>(csv_path);
      files.add(csv.get());
    }
    ipfix_out = ipfix_opt.open(!o.interface.empty());  // live: each record as its flow ends
    if (ipfix_out) files.add(ipfix_out.get());
    if (jsonl || csv || ipfix_out) {
      // Files: records are formatted and written on a thread of their own, off the worker thread. Live:
      // written at once and flushed, as a batch or a stdio buffer would hold a record back until it fills
      // (`--flows - | jq` on a quiet link would show nothing until the capture ends).
      if (o.interface.empty()) {
        async = std::make_unique<analyze::AsyncSink>(files);
        tee.add(async.get());
      } else {
        if (jsonl) jsonl->set_flush_each(true);
        if (csv) csv->set_flush_each(true);
        tee.add(&files);
      }
    }
    ok = analyzer->run();
    if (async) async->close();
    keep_until_exit(std::move(analyzer));  // run() has joined its threads
    keep_until_exit(std::move(async));     // close() has joined its writer
    if (jsonl) jsonl->close();
    if (csv) csv->close();
    if (ipfix_out) IpfixOption::close(*ipfix_out, summary);
    if (!summary_path.empty()) report::write_summary_json(summary, summary_path);
    if (!html_path.empty()) html.write_file(summary, html_path, version_string());
  } catch (const Error& ex) {
    eprint("sealscope analyze: {}\n", ex.what());
    return kInputProblem;
  }
  if (!quiet) report::print_summary(summary, to_stdout > 0 ? stderr : stdout);
  const bool ipfix_failed = IpfixOption::failed("analyze", summary);
  for (const auto& p : summary.problems) {
    if (p.live) {  // an interface that went away or failed mid-capture: no byte offset to speak of
      eprint("sealscope analyze: {}: {} (capture stopped after {} packets; the flows seen until then are "
             "written)\n", p.name, p.reason, p.packets);
    } else if (p.offset == 0 && p.packets == 0) {  // not opened: nothing was read
      eprint("sealscope analyze: {}: {}\n", p.name, p.reason);
    } else {
      eprint("sealscope analyze: {}: {} (read {} packets, stopped at byte offset {})\n", p.name, p.reason,
             p.packets, p.offset);
    }
  }
  if (summary.interrupted) return kInterrupted;
  return ok && !ipfix_failed ? kOk : kInputProblem;
}

}  // namespace sealscope::cli
