#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "stats/flow_record.hpp"

namespace sealscope::eval {

/// One row of a labels file (the format of ../shared/corpus/labels.tsv).
struct LabelRow {
  int line = 0;
  std::string file, l4;
  int vlan = -1;
  std::string endpoint_a, endpoint_b;
  uint64_t packets = 0;
  std::string expected_label, family, activity, ndpi42_label;
  bool has_ndpi42 = false;  ///< the file has the optional tenth column
};

/// Reads a labels file (header first; lines starting with # are comments; the tenth column, ndpi42_label,
/// is optional; l4 is upper-cased); throws ConfigError (file:line:column) on a malformed header or row.
/// `sealscope eval` and `sealscope policy test --labels` both read labels with it.
std::vector<LabelRow> load_labels(const std::string& path);

/// What we said about one flow, reduced to what scoring needs.
struct Observed {
  std::string label, family, activity, confidence;
};

/// VLAN value of the any-VLAN fallback keys (see add_observed).
constexpr int kAnyVlan = -2;

/// The matching key of a flow: file, L4 name as in the labels file, VLAN, unordered "ip:port" endpoints.
std::string match_key(const std::string& file, const std::string& l4_upper, int vlan, const std::string& a,
                      const std::string& b);
/// Whether `ep` is "a.b.c.d:port" or "[ipv6]:port" (port 0-65535), the IPv6 address possibly written
/// with several "::" (see endpoint_readings).
bool valid_endpoint(const std::string& ep);
/// The readings of an "[IPv6]:port" endpoint whose address has two or more "::" (as some printers write
/// every run of zero groups), each canonical; empty when the text is not of that kind.
std::vector<std::string> endpoint_readings(const std::string& ep);
/// "ip:port" as the labels file writes it (IPv6 in brackets; port 0 when the protocol has none).
std::string endpoint_text(const std::string& ip, uint16_t port, bool has_port);
/// The labels file's L4 name of a record's l4 ("tcp" → "TCP", "icmpv6" → "ICMPV6").
std::string l4_upper(const std::string& l4);

/// Records an observation under its exact key and under the any-VLAN key (kept only while the flow is seen on
/// one VLAN); of several records under one key the first is kept.
void add_observed(std::map<std::string, Observed>& observed, const std::string& file, const std::string& l4,
                  int vlan, const std::string& a, const std::string& b, const Observed& o);

/// The observation under a flow's key, else under its any-VLAN key when that one is unique; nullptr if none.
const Observed* find_observed(const std::map<std::string, Observed>& observed, const std::string& file,
                              const std::string& l4, int vlan, const std::string& a, const std::string& b);

/// One scored labelled flow.
struct Scored {
  const LabelRow* row = nullptr;
  bool found = false;
  std::string reading;  ///< non-empty: found under this reading of an ambiguous address ("a b")
  Observed ours;
  bool app_ok = false, family_ok = false, family_activity_ok = false;
};

struct Tally {
  uint64_t flows = 0, app = 0, family = 0, family_activity = 0;
  double pct(uint64_t n) const { return flows ? 100.0 * static_cast<double>(n) / static_cast<double>(flows) : 0.0; }
};

/// Scores observations against labels (GUIDE §5): agreement on app (the label's last component), family,
/// and family+activity over labelled messaging/VoIP flows (family set, activity not dns); false messaging
/// labels over flows without a family.
struct Report {
  Tally total;
  std::map<std::string, Tally> by_family;
  std::map<std::string, Tally> by_file;
  uint64_t unlabelled_flows = 0;   ///< labelled flows without a family (false-positive denominator)
  uint64_t false_messaging = 0;    ///< of those, flows we gave a family
  uint64_t not_found = 0;          ///< labelled flows we produced no flow for
  uint64_t reread = 0;             ///< found through one reading of an ambiguous IPv6 address
  std::vector<Scored> scored;      ///< every labelled flow, in file order
};

/// Builds the report. `observed` maps match_key → what we said.
Report score(const std::vector<LabelRow>& rows, const std::map<std::string, Observed>& observed);

/// Scores a column of the labels file itself (e.g. "ndpi42_label"), mapped to current names: the baseline.
std::map<std::string, Observed> observed_from_column(const std::vector<LabelRow>& rows, const std::string& column);

/// The last component of a label ("STUN.WhatsAppCall" → "WhatsAppCall").
std::string app_of(const std::string& label);

}  // namespace sealscope::eval
