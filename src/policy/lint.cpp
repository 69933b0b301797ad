#include <algorithm>
#include <string>

#include "classify/labels.hpp"
#include "policy/policy.hpp"

namespace sealscope::policy {

namespace {

bool has_glob(const std::string& s) { return s.find_first_of("*?") != std::string::npos; }

template <typename T, typename Covers>
bool list_covers(const std::vector<T>& a, const std::vector<T>& b, Covers covers_one) {
  if (a.empty()) return true;
  if (b.empty()) return false;
  return std::all_of(b.begin(), b.end(), [&](const T& y) {
    return std::any_of(a.begin(), a.end(), [&](const T& x) { return covers_one(x, y); });
  });
}

/// True when every flow rule `b` matches is also matched by rule `a` (conservative: false when unsure).
bool rule_covers(const Policy& p, const Rule& a, const Rule& b) {
  if (!list_covers(a.regions, b.regions, [&](uint16_t x, uint16_t y) { return p.regions[x].closure.test(y); })) {
    return false;
  }
  const bool fam_ok =
      list_covers(a.families, b.families, [](const std::string& x, const std::string& y) { return x == y; }) ||
      (b.families.empty() && !a.families.empty() && !b.labels.empty() &&
       std::all_of(b.labels.begin(), b.labels.end(), [&](const std::string& l) {
         if (has_glob(l)) return false;
         const std::string_view f = classify::family_of(l);
         return std::find(a.families.begin(), a.families.end(), f) != a.families.end();
       }));
  if (!fam_ok) return false;
  auto label_cov = [](const std::string& x, const std::string& y) {
    if (x == y) return true;
    if (has_glob(y)) return has_glob(x) && glob_match(x, y);
    if (y.find('.') == std::string::npos) return has_glob(x) && glob_match(x, y);
    return label_matches(x, y);
  };
  if (!list_covers(a.labels, b.labels, label_cov)) return false;
  auto eq = [](const auto& x, const auto& y) { return x == y; };
  if (!list_covers(a.activities, b.activities, eq)) return false;
  if (!list_covers(a.categories, b.categories, eq)) return false;
  if (!list_covers(a.l4, b.l4, eq)) return false;
  if (!list_covers(a.ports, b.ports, [](PortRange x, PortRange y) { return x.lo <= y.lo && y.hi <= x.hi; })) {
    return false;
  }
  if (!list_covers(a.server_names, b.server_names,
                   [](const std::string& x, const std::string& y) { return x == y || glob_match(x, y); })) {
    return false;
  }
  if (a.has_window && !(b.has_window && a.window.covers(b.window))) return false;
  return true;
}

bool unconditional(const Rule& r) {
  return r.regions.empty() && !r.needs_verdict() && r.l4.empty() && r.ports.empty() &&
         (!r.has_window || r.window.always());
}

bool same_action(const Action& a, const Action& b) { return a.kind == b.kind && a.kbit_s == b.kbit_s; }

void warn(const Policy& p, std::vector<Diagnostic>& out, Pos at, const std::string& msg) {
  out.push_back({false, p.file, at, msg});
}

bool ranges_overlap(TeidRange a, TeidRange b) { return a.lo <= b.hi && b.lo <= a.hi; }

void lint_regions(const Policy& p, std::vector<Diagnostic>& out) {
  const size_t n = p.regions.size();
  for (size_t j = 0; j < n; ++j) {
    const Region& b = p.regions[j];
    for (size_t i = 0; i <= j; ++i) {
      const Region& a = p.regions[i];
      const bool related = i != j && (a.closure.test(j) || b.closure.test(i));
      if (related) continue;
      const std::string where =
          i == j ? "another entry of region '" + a.name + "'" : "region '" + a.name + "'";
      auto prefixes = [&](const auto& as, const auto& bs, const char* what) {
        for (size_t y = 0; y < bs.size(); ++y) {
          for (size_t x = 0; x < (i == j ? y : as.size()); ++x) {
            const Cidr& ca = as[x].first;
            const Cidr& cb = bs[y].first;
            if (cidr_contains(ca, cb) || cidr_contains(cb, ca)) {
              warn(p, out, bs[y].second,
                   std::string(what) + " " + to_string(cb) + " overlaps " + to_string(ca) + " of " + where +
                       " (line " + std::to_string(as[x].second.line) + ")" +
                       (i == j ? ": one of them is redundant" : ": flows there belong to both regions"));
            }
          }
        }
      };
      prefixes(a.subscribers, b.subscribers, "subscriber prefix");
      prefixes(a.cells, b.cells, "cell-site prefix");
      for (size_t y = 0; y < b.teids.size(); ++y) {
        for (size_t x = 0; x < (i == j ? y : a.teids.size()); ++x) {
          if (ranges_overlap(a.teids[x].first, b.teids[y].first)) {
            warn(p, out, b.teids[y].second,
                 "TEID range overlaps one of " + where + " (line " + std::to_string(a.teids[x].second.line) + ")");
          }
        }
      }
      for (size_t y = 0; y < b.vlans.size(); ++y) {
        for (size_t x = 0; x < (i == j ? y : a.vlans.size()); ++x) {
          if (a.vlans[x].first == b.vlans[y].first) {
            warn(p, out, b.vlans[y].second,
                 "VLAN " + std::to_string(b.vlans[y].first) + " is also in " + where + " (line " +
                     std::to_string(a.vlans[x].second.line) + ")");
          }
        }
      }
    }
  }
}

void lint_rule_alone(const Policy& p, const Rule& r, std::vector<Diagnostic>& out) {
  if (r.has_window && r.window.empty()) {
    warn(p, out, r.where("window"),
         "rule '" + r.name + "': the window " + r.window.describe() + " never opens, so the rule never matches");
  }
  if (!r.ports.empty() && !r.l4.empty() && std::all_of(r.l4.begin(), r.l4.end(), [](uint8_t x) {
        return x != 6 && x != 17 && x != 132;
      })) {
    warn(p, out, r.where("ports"),
         "rule '" + r.name + "': 'ports' cannot apply to its l4 (no ports there), so the rule never matches");
  }
  std::vector<std::string> plain;
  for (const auto& l : r.labels) {
    if (!has_glob(l)) plain.push_back(l);
  }
  if (plain.size() == r.labels.size() && !plain.empty()) {
    if (!r.families.empty() && std::none_of(plain.begin(), plain.end(), [&](const std::string& l) {
          return std::find(r.families.begin(), r.families.end(), classify::family_of(l)) != r.families.end();
        })) {
      warn(p, out, r.where("family"),
           "rule '" + r.name + "': none of its labels belongs to its families, so the rule never matches");
    }
    if (!r.activities.empty() && std::none_of(plain.begin(), plain.end(), [&](const std::string& l) {
          for (uint8_t l4 : {uint8_t{6}, uint8_t{17}}) {
            const std::string_view a = classify::activity_of(l, l4);
            if (std::find(r.activities.begin(), r.activities.end(), a) != r.activities.end()) return true;
          }
          return false;
        })) {
      warn(p, out, r.where("activity"),
           "rule '" + r.name + "': none of its labels has one of its activities, so the rule never matches");
    }
  }
  if (!r.families.empty() && !r.activities.empty()) {
    const bool only_voip = std::all_of(r.families.begin(), r.families.end(), [](auto& f) { return f == "VoIP"; });
    if (only_voip && std::all_of(r.activities.begin(), r.activities.end(),
                                 [](auto& a) { return a == "chat" || a == "files" || a == "dns"; })) {
      warn(p, out, r.where("activity"),
           "rule '" + r.name + "': family VoIP has only call and signalling flows, so the rule never matches");
    }
  }
}

}  // namespace

void lint_policy(const Policy& p, std::vector<Diagnostic>& out) {
  lint_regions(p, out);
  for (size_t j = 0; j < p.rules.size(); ++j) {
    const Rule& b = p.rules[j];
    lint_rule_alone(p, b, out);
    for (size_t i = 0; i < j; ++i) {
      const Rule& a = p.rules[i];
      if (a.has_window && a.window.empty()) continue;
      if (rule_covers(p, a, b)) {
        warn(p, out, b.pos,
             "rule '" + b.name + "' is shadowed: rule '" + a.name + "' (line " + std::to_string(a.pos.line) +
                 ") comes first and matches every flow it matches" +
                 (same_action(a.action, b.action) ? "" : ", with a different action (" + describe(a.action) + ")"));
        break;
      }
    }
  }
  if (!p.rules.empty()) {
    const Rule& last = p.rules.back();
    if (same_action(last.action, p.default_action) && !unconditional(last)) {
      warn(p, out, last.where("action"),
           "rule '" + last.name + "' is last and has the default's action (" + describe(p.default_action) +
               "): it changes nothing");
    }
    for (const Rule& r : p.rules) {
      if (unconditional(r)) {
        if (p.default_pos.line > 0) {
          warn(p, out, p.default_pos,
               "the default action is never used: rule '" + r.name + "' (line " + std::to_string(r.pos.line) +
                   ") matches every flow");
        }
        break;
      }
    }
  }
}

}  // namespace sealscope::policy
