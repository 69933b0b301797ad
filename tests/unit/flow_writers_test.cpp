// The flow writers buffer 256 KiB before writing, which suits files read to their end. A live capture
// (analyze -i) switches them to flushing each record, so `--flows - | jq` or `tail -f flows.jsonl` sees a
// flow as it ends rather than when the buffer fills or the capture stops.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "report/flow_writers.hpp"

using namespace sealscope;
namespace fs = std::filesystem;

namespace {
struct TempPath {
  explicit TempPath(const char* what)
      : path((fs::temp_directory_path() / ("sealscope-writers-" + std::to_string(getpid()) + "-" + what)).string()) {}
  ~TempPath() {
    std::error_code ec;
    fs::remove(path, ec);
  }
  uintmax_t size() const { return fs::file_size(path); }
  std::string path;
};

stats::FlowRecord record() {
  stats::FlowRecord r;
  r.id = 7;
  r.src_ip = "10.0.0.1";
  r.dst_ip = "10.0.0.2";
  r.l4 = "udp";
  r.end = flow::EndReason::Idle;
  return r;
}
}  // namespace

TEST_CASE("flow writers: buffered by default, each record on disk at once with set_flush_each", "[writers]") {
  SECTION("JSONL") {
    TempPath buffered("b.jsonl"), live("l.jsonl");
    report::JsonlWriter b(buffered.path), l(live.path);
    l.set_flush_each(true);
    b.write(record());
    l.write(record());
    CHECK(buffered.size() == 0);  // still in the stdio buffer
    const uintmax_t one = live.size();
    CHECK(one > 0);
    l.write(record());
    CHECK(live.size() == 2 * one);
    b.close();
    l.close();
    CHECK(buffered.size() == one);
  }
  SECTION("CSV: the header at once, then each row") {
    TempPath buffered("b.csv"), live("l.csv");
    report::CsvWriter b(buffered.path), l(live.path);
    l.set_flush_each(true);
    CHECK(buffered.size() == 0);
    const uintmax_t header = live.size();
    CHECK(header == std::string(report::CsvWriter::header()).size());
    l.write(record());
    CHECK(live.size() > header);
    b.close();
    l.close();
  }
}

TEST_CASE("flow writers: each tunnel type's object in the records and its columns in the CSV", "[writers]") {
  struct Case {
    decode::TunnelType type;
    bool has_id;
    uint32_t id;
    std::string json;                  ///< the record's "tunnel" value
    std::vector<std::string> columns;  ///< tunnel_type, _teid, _vni, _key, _session, _outer_src, _outer_dst
  };
  const std::string outer = R"("outer_src":"192.0.2.1","outer_dst":"192.0.2.2"})";
  const std::vector<Case> cases = {
      {decode::TunnelType::None, false, 0, "null", {"", "", "", "", "", "", ""}},
      {decode::TunnelType::GtpU, true, 305441741, R"({"type":"gtp-u","teid":305441741,)" + outer,
       {"gtp-u", "305441741", "", "", "", "192.0.2.1", "192.0.2.2"}},
      {decode::TunnelType::Vxlan, true, 5001, R"({"type":"vxlan","vni":5001,)" + outer,
       {"vxlan", "", "5001", "", "", "192.0.2.1", "192.0.2.2"}},
      {decode::TunnelType::Geneve, true, 0, R"({"type":"geneve","vni":0,)" + outer,
       {"geneve", "", "0", "", "", "192.0.2.1", "192.0.2.2"}},
      {decode::TunnelType::Gre, true, 4294967295u, R"({"type":"gre","key":4294967295,)" + outer,
       {"gre", "", "", "4294967295", "", "192.0.2.1", "192.0.2.2"}},
      {decode::TunnelType::Gre, false, 0, R"({"type":"gre","key":null,)" + outer,
       {"gre", "", "", "", "", "192.0.2.1", "192.0.2.2"}},
      {decode::TunnelType::Erspan, true, 1023, R"({"type":"erspan","session":1023,)" + outer,
       {"erspan", "", "", "", "1023", "192.0.2.1", "192.0.2.2"}},
      {decode::TunnelType::Erspan, false, 0, R"({"type":"erspan","session":null,)" + outer,
       {"erspan", "", "", "", "", "192.0.2.1", "192.0.2.2"}},
      {decode::TunnelType::Tzsp, false, 0, R"({"type":"tzsp",)" + outer,
       {"tzsp", "", "", "", "", "192.0.2.1", "192.0.2.2"}},
      {decode::TunnelType::Capwap, false, 0, R"({"type":"capwap",)" + outer,
       {"capwap", "", "", "", "", "192.0.2.1", "192.0.2.2"}},
      {decode::TunnelType::IpInIp, false, 0, R"({"type":"ip-in-ip",)" + outer,
       {"ip-in-ip", "", "", "", "", "192.0.2.1", "192.0.2.2"}},
  };
  // The CSV header names the seven tunnel columns in this order, right after vlan.
  const std::string header = report::CsvWriter::header();
  const std::string tunnel_cols = ",vlan,tunnel_type,tunnel_teid,tunnel_vni,tunnel_key,tunnel_session,"
                                  "tunnel_outer_src,tunnel_outer_dst,first_seen,";
  REQUIRE(header.find(tunnel_cols) != std::string::npos);
  for (const Case& c : cases) {
    INFO(decode::tunnel_type_name(c.type) << " id " << c.id << (c.has_id ? "" : " (none)"));
    stats::FlowRecord r = record();
    r.vlan = 12;
    r.tunnel.type = c.type;
    r.tunnel.has_id = c.has_id;
    r.tunnel.id = c.id;
    if (c.type != decode::TunnelType::None) {
      r.tunnel_outer_src = "192.0.2.1";
      r.tunnel_outer_dst = "192.0.2.2";
    }
    fmt::memory_buffer j;
    report::JsonlWriter::format(r, j);
    const std::string line(j.data(), j.size());
    CHECK(line.find(R"("vlan":12,"tunnel":)" + c.json + R"(,"first_seen":)") != std::string::npos);
    fmt::memory_buffer v;
    report::CsvWriter::format(r, v);
    const std::string row(v.data(), v.size());
    // flow_id, src_ip, src_port, dst_ip, dst_port, l4, vlan, then the tunnel's seven cells.
    std::vector<std::string> cells;
    size_t at = 0;
    for (int i = 0; i < 14; ++i) {
      const size_t comma = row.find(',', at);
      REQUIRE(comma != std::string::npos);
      cells.push_back(row.substr(at, comma - at));
      at = comma + 1;
    }
    CHECK(cells[6] == "12");
    CHECK(std::vector<std::string>(cells.begin() + 7, cells.end()) == c.columns);
  }
}
