// Resource bound test: `sealscope analyze --max-flows MAX` on FLOWS distinct single-packet UDP flows,
// streamed from a generated capture (sealscope-mkflows, written to a temporary file, removed after).
//   max_flows_check SEALSCOPE MKFLOWS FLOWS MAX RSS_LIMIT_KB
// Checks from --summary-json: every flow written (flows == FLOWS); evictions == FLOWS - MAX (the table is
// full from flow MAX+1 on and nothing expires: the capture spans FLOWS microseconds); peak concurrent
// flows == MAX; every eviction reported (by_end.evicted); and the child's peak RSS (VmHWM, from
// /usr/bin/time -v) under RSS_LIMIT_KB, the bound man sealscope(1) documents for MAX. RSS_LIMIT_KB 0 skips
// the RSS check (sanitizer builds: ASan's and TSan's shadow memory is not sealscope's).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: max_flows_check SEALSCOPE MKFLOWS FLOWS MAX RSS_LIMIT_KB\n");
    return 2;
  }
  const std::string bin = argv[1], mk = argv[2];
  const uint64_t flows = std::stoull(argv[3]), max = std::stoull(argv[4]), limit_kb = std::stoull(argv[5]);
  std::string dir_tmpl = (fs::temp_directory_path() / "sealscope-maxflows.XXXXXX").string();
  if (mkdtemp(dir_tmpl.data()) == nullptr) return 2;
  const fs::path dir = dir_tmpl;
  const std::string pcap = (dir / "flows.pcap").string(), summary = (dir / "summary.json").string(),
                    timef = (dir / "time").string();
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  int rc = std::system((mk + " " + pcap + " " + std::to_string(flows)).c_str());
  const auto t1 = clock::now();
  if (rc != 0) {
    std::printf("FAIL: generator exited %d\n", rc);
    fs::remove_all(dir);
    return 1;
  }
  rc = std::system(("/usr/bin/time -v -o " + timef + " " + bin + " analyze -q --no-progress --max-flows " +
                    std::to_string(max) + " --summary-json " + summary + " " + pcap)
                       .c_str());
  const auto t2 = clock::now();
  fs::remove(pcap);
  std::ifstream tin(timef);
  std::stringstream tss;
  tss << tin.rdbuf();
  uint64_t rss_kb = 0;
  const std::string times = tss.str();
  const auto at = times.find("Maximum resident set size (kbytes):");
  if (at != std::string::npos) rss_kb = std::stoull(times.substr(at + 35));
  if (rc != 0) {
    std::printf("FAIL: sealscope exited %d\n%s", rc, times.c_str());
    fs::remove_all(dir);
    return 1;
  }
  nlohmann::json j;
  std::ifstream(summary) >> j;
  fs::remove_all(dir);
  const uint64_t written = j["flows"]["flows"].get<uint64_t>();
  const uint64_t evictions = j["evictions"].get<uint64_t>();
  const uint64_t peak = j["peak_flows"].get<uint64_t>();
  const uint64_t by_end_evicted = j["by_end"].value("evicted", uint64_t{0});
  auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
  std::printf("max_flows: %llu flows, --max-flows %llu: written %llu, evictions %llu (by_end.evicted %llu), "
              "peak %llu, peak RSS %llu KiB (bound %llu KiB); generate %.1f s, analyze %.1f s (%.2f Mpkt/s)\n",
              static_cast<unsigned long long>(flows), static_cast<unsigned long long>(max),
              static_cast<unsigned long long>(written), static_cast<unsigned long long>(evictions),
              static_cast<unsigned long long>(by_end_evicted), static_cast<unsigned long long>(peak),
              static_cast<unsigned long long>(rss_kb), static_cast<unsigned long long>(limit_kb), secs(t1 - t0),
              secs(t2 - t1), static_cast<double>(flows) / secs(t2 - t1) / 1e6);
  int fail = 0;
  auto check = [&](bool ok, const char* what) {
    if (!ok) {
      std::printf("FAIL: %s\n", what);
      fail = 1;
    }
  };
  check(written == flows, "flows written != flows generated");
  check(evictions == flows - max, "evictions != flows - max");
  check(by_end_evicted == flows - max, "records ended \"evicted\" != flows - max");
  check(peak == max, "peak concurrent flows != max");
  check(limit_kb == 0 || rss_kb <= limit_kb, "peak RSS above the documented bound");
  return fail;
}
