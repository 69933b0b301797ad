#include "eval/eval.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>

#include "classify/labels.hpp"
#include "common/errors.hpp"
#include "common/text_input.hpp"

namespace sealscope::eval {

namespace {
const char* kHeader[] = {"file",     "l4",     "vlan",     "endpoint_a",  "endpoint_b",
                         "packets",  "expected_label", "family", "activity", "ndpi42_label"};

std::vector<std::string> split_tabs(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t t = s.find('\t', start);
    out.push_back(s.substr(start, t == std::string::npos ? std::string::npos : t - start));
    if (t == std::string::npos) break;
    start = t + 1;
  }
  return out;
}

bool is_messaging_activity(const std::string& activity) { return activity != "dns"; }

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string::npos;
}
}  // namespace

bool valid_endpoint(const std::string& ep) {
  const size_t colon = ep.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  const std::string port = ep.substr(colon + 1);
  if (!all_digits(port) || std::stoull(port) > 65535) return false;
  std::string ip = ep.substr(0, colon);
  const bool bracketed = ip.size() >= 2 && ip.front() == '[' && ip.back() == ']';
  if (bracketed) ip = ip.substr(1, ip.size() - 2);
  IpAddr a;
  if (parse_ip(ip, a)) return bracketed == (a.version == 6);
  return bracketed && !endpoint_readings(ep).empty();
}

std::vector<LabelRow> load_labels(const std::string& path) {
  std::ifstream in = open_text_input(path, "labels file", "cannot open labels file");
  std::vector<LabelRow> rows;
  std::string line;
  int n = 0;
  size_t columns = 0;  // 9, or 10 with ndpi42_label: set by the header
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (n == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);  // UTF-8 byte-order mark
    if (line.empty() || line[0] == '#') continue;
    auto f = split_tabs(line);
    if (columns == 0) {
      const bool ok = (f.size() == std::size(kHeader) || f.size() == std::size(kHeader) - 1) &&
                      std::equal(f.begin(), f.end(), std::begin(kHeader));
      if (!ok) {
        throw ConfigError(path, n, 1,
                          "expected the header 'file, l4, vlan, endpoint_a, endpoint_b, packets, "
                          "expected_label, family, activity' and optionally 'ndpi42_label' (tab-separated)");
      }
      columns = f.size();
      continue;
    }
    if (f.size() != columns) {
      throw ConfigError(path, n, 1,
                        fmt::format("expected {} tab-separated fields, as in the header, found {}", columns, f.size()));
    }
    // The column (1-based, in characters) where field i starts, for the error messages.
    auto col = [&](size_t i) {
      size_t at = 0;
      for (size_t k = 0; k < i; ++k) at += f[k].size() + 1;
      return text_column(line, at);
    };
    auto bad = [&](size_t i, const std::string& what) {
      throw ConfigError(path, n, col(i), std::string(kHeader[i]) + ": expected " + what + ", found '" + f[i] + "'");
    };
    LabelRow r;
    r.line = n;
    r.file = f[0];
    r.l4 = l4_upper(f[1]);
    if (r.file.empty()) bad(0, "a capture file name");
    if (r.l4.empty()) bad(1, "a transport (TCP, UDP, ICMP, …)");
    if (!f[2].empty() && !(all_digits(f[2]) && std::stoull(f[2]) <= 4095)) bad(2, "a VLAN id 0-4095 or nothing");
    r.vlan = f[2].empty() ? -1 : std::stoi(f[2]);
    if (!valid_endpoint(f[3])) bad(3, "address:port, IPv6 as [address]:port");
    if (!valid_endpoint(f[4])) bad(4, "address:port, IPv6 as [address]:port");
    r.endpoint_a = f[3];
    r.endpoint_b = f[4];
    if (!f[5].empty() && !all_digits(f[5])) bad(5, "a packet count or nothing");
    r.packets = f[5].empty() ? 0 : std::stoull(f[5]);
    r.expected_label = f[6];
    r.family = f[7];
    r.activity = f[8];
    r.has_ndpi42 = columns == std::size(kHeader);
    if (r.has_ndpi42) r.ndpi42_label = f[9];
    rows.push_back(std::move(r));
  }
  if (in.bad()) throw InputError(path + ": read error");
  if (columns == 0) {  // empty, or comments only: no header, so not a labels file
    throw ConfigError(path, std::max(n, 1), 1,
                      "no header; expected 'file, l4, vlan, endpoint_a, endpoint_b, packets, expected_label, family, "
                      "activity' (tab-separated) and a row per flow");
  }
  return rows;
}

namespace {
/// "[v6]:port" and "v4:port" with the address in canonical (inet_ntop) form, so that labels written by
/// another program's address printer match ours; text that does not parse is kept as it is.
std::string canonical_endpoint(const std::string& ep) {
  const size_t colon = ep.rfind(':');
  if (colon == std::string::npos) return ep;
  std::string ip = ep.substr(0, colon);
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  IpAddr a;
  if (!parse_ip(ip, a)) return ep;
  return endpoint_text(to_string(a), static_cast<uint16_t>(std::stoul(ep.substr(colon + 1))), true);
}
}  // namespace

std::vector<std::string> endpoint_readings(const std::string& ep) {
  // Some IPv6 printers (the one that wrote ../shared/corpus/labels.tsv among them) write every run of zero
  // groups as "::", which is ambiguous once there are two runs: "2600:1900:4160:5999::19::" is
  // …:5999:0:19:0:0 or …:5999:0:0:19:0. List each way of giving every "::" one or more zero groups.
  std::vector<std::string> out;
  const size_t colon = ep.rfind(':');
  if (colon == std::string::npos || colon < 2 || ep.front() != '[' || ep[colon - 1] != ']') return out;
  const std::string ip = ep.substr(1, colon - 2), port = ep.substr(colon + 1);
  if (!all_digits(port) || std::stoull(port) > 65535) return out;
  std::vector<std::vector<std::string>> parts;  // the groups between the "::"s
  for (size_t from = 0;;) {
    const size_t at = ip.find("::", from);
    const std::string part = ip.substr(from, at == std::string::npos ? std::string::npos : at - from);
    auto& groups = parts.emplace_back();
    for (size_t g = 0; !part.empty();) {
      const size_t c = part.find(':', g);
      groups.push_back(part.substr(g, c == std::string::npos ? std::string::npos : c - g));
      if (c == std::string::npos) break;
      g = c + 1;
    }
    if (at == std::string::npos) break;
    from = at + 2;
  }
  const size_t gaps = parts.size() - 1;
  size_t given = 0;
  for (const auto& p : parts) given += p.size();
  if (gaps < 2 || given + gaps > 8) return out;
  std::vector<size_t> zeros(gaps);
  // Every composition of the 8 - given zero groups into `gaps` runs of at least one.
  auto fill = [&](auto& self, size_t gap, size_t left) -> void {
    if (gap + 1 == gaps) {
      zeros[gap] = left;
      std::string text;
      for (size_t i = 0; i < parts.size(); ++i) {
        for (const auto& g : parts[i]) text += (text.empty() ? "" : ":") + g;
        for (size_t z = 0; i < gaps && z < zeros[i]; ++z) text += text.empty() ? "0" : ":0";
      }
      IpAddr a;
      if (parse_ip(text, a)) {
        // Readings that come out equal ("1::0::2" is 1::2 every way) are one reading: counted twice, a row
        // would look ambiguous and match nothing.
        std::string r = canonical_endpoint("[" + text + "]:" + port);
        if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(std::move(r));
      }
      return;
    }
    for (size_t n = 1; n + (gaps - gap - 1) <= left; ++n) {
      zeros[gap] = n;
      self(self, gap + 1, left - n);
    }
  };
  fill(fill, 0, 8 - given);
  return out;
}

std::string match_key(const std::string& file, const std::string& l4, int vlan, const std::string& a_in,
                      const std::string& b_in) {
  const std::string a = canonical_endpoint(a_in), b = canonical_endpoint(b_in);
  const bool swap = b < a;
  return file + '|' + l4 + '|' + std::to_string(vlan) + '|' + (swap ? b : a) + '|' + (swap ? a : b);
}

std::string endpoint_text(const std::string& ip, uint16_t port, bool has_port) {
  const std::string p = std::to_string(has_port ? port : 0);
  if (ip.find(':') != std::string::npos) return "[" + ip + "]:" + p;
  return ip + ":" + p;
}

void add_observed(std::map<std::string, Observed>& observed, const std::string& file, const std::string& l4,
                  int vlan, const std::string& a, const std::string& b, const Observed& o) {
  // With expiry off a labelled flow is one record; if a key repeats (idle or active timeout, --expiry), the
  // first wins, under both keys: another record on the same VLAN leaves the any-VLAN key as it is.
  if (!observed.emplace(match_key(file, l4, vlan, a, b), o).second) return;
  auto [it, fresh] = observed.emplace(match_key(file, l4, kAnyVlan, a, b), o);
  if (!fresh) it->second.label = "\x01ambiguous";  // a second VLAN: never use the fallback
}

const Observed* find_observed(const std::map<std::string, Observed>& observed, const std::string& file,
                              const std::string& l4, int vlan, const std::string& a, const std::string& b) {
  auto it = observed.find(match_key(file, l4, vlan, a, b));
  if (it == observed.end()) {
    // VLAN conventions differ (nDPI's reader keeps the innermost tag, sealscope the outermost): fall back to
    // the flow with the same file, transport and endpoints on any VLAN, when there is exactly one.
    it = observed.find(match_key(file, l4, kAnyVlan, a, b));
  }
  return it != observed.end() && it->second.label != "\x01ambiguous" ? &it->second : nullptr;
}

std::string l4_upper(const std::string& l4) {
  std::string s = l4;
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string app_of(const std::string& label) {
  const size_t dot = label.rfind('.');
  return dot == std::string::npos ? label : label.substr(dot + 1);
}

Report score(const std::vector<LabelRow>& rows, const std::map<std::string, Observed>& observed) {
  Report rep;
  rep.scored.reserve(rows.size());
  for (const auto& r : rows) {
    Scored s;
    s.row = &r;
    auto find = [&](const std::string& a, const std::string& b) {
      return find_observed(observed, r.file, r.l4, r.vlan, a, b);
    };
    const Observed* o = find(r.endpoint_a, r.endpoint_b);
    if (o == nullptr) {
      // An address the labels' printer wrote ambiguously: use the one reading that matches a flow, if exactly
      // one does.
      std::vector<std::string> as = endpoint_readings(r.endpoint_a), bs = endpoint_readings(r.endpoint_b);
      if (!as.empty() || !bs.empty()) {
        if (as.empty()) as.push_back(r.endpoint_a);
        if (bs.empty()) bs.push_back(r.endpoint_b);
        int hits = 0;
        const Observed* hit = nullptr;
        std::string reading;
        for (const auto& a : as) {
          for (const auto& b : bs) {
            if (const Observed* x = find(a, b)) {
              ++hits;
              hit = x;
              reading = a + " " + b;
            }
          }
        }
        if (hits == 1) {
          o = hit;
          s.reading = reading;
          ++rep.reread;
        }
      }
    }
    if (o != nullptr) {
      s.found = true;
      s.ours = *o;
    }
    if (!s.found) ++rep.not_found;
    const bool labelled = !r.family.empty() && is_messaging_activity(r.activity);
    if (labelled) {
      s.app_ok = s.found && app_of(s.ours.label) == app_of(r.expected_label);
      s.family_ok = s.found && s.ours.family == r.family;
      s.family_activity_ok = s.family_ok && s.ours.activity == r.activity;
      for (Tally* t : {&rep.total, &rep.by_family[r.family], &rep.by_file[r.file]}) {
        ++t->flows;
        t->app += s.app_ok;
        t->family += s.family_ok;
        t->family_activity += s.family_activity_ok;
      }
    } else if (r.family.empty()) {
      ++rep.unlabelled_flows;
      if (s.found && !s.ours.family.empty()) ++rep.false_messaging;
    }
    rep.scored.push_back(s);
  }
  return rep;
}

std::map<std::string, Observed> observed_from_column(const std::vector<LabelRow>& rows, const std::string& column) {
  std::map<std::string, Observed> out;
  for (const auto& r : rows) {
    std::string raw;
    if (column == "ndpi42_label") {
      if (!r.has_ndpi42) throw UsageError("the labels file has no ndpi42_label column to score");
      raw = r.ndpi42_label;
    } else if (column == "expected_label") {
      raw = r.expected_label;
    } else {
      throw UsageError("unknown labels column '" + column + "' (ndpi42_label or expected_label)");
    }
    Observed o;
    o.label = classify::current_label(raw);
    o.family = std::string(classify::family_of(o.label));
    const uint8_t l4 = r.l4 == "TCP" ? 6 : r.l4 == "UDP" ? 17 : 0;
    o.activity = std::string(classify::activity_of(o.label, l4));
    o.confidence = "column";
    out[match_key(r.file, r.l4, r.vlan, r.endpoint_a, r.endpoint_b)] = o;
  }
  return out;
}

}  // namespace sealscope::eval
