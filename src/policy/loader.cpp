#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>

#include "classify/labels.hpp"
#include "common/errors.hpp"
#include "common/text_input.hpp"
#include "policy/policy.hpp"

namespace sealscope::policy {

const char* action_name(ActionKind k) {
  switch (k) {
    case ActionKind::Allow: return "allow";
    case ActionKind::Log: return "log";
    case ActionKind::Block: return "block";
    case ActionKind::Throttle: return "throttle";
  }
  return "allow";
}

std::string describe(const Action& a) {
  if (a.kind == ActionKind::Throttle) return "throttle " + std::to_string(a.kbit_s) + " kbit/s";
  return action_name(a.kind);
}

Pos Rule::where(const std::string& key) const {
  for (const auto& [k, p] : key_pos) {
    if (k == key) return p;
  }
  return pos;
}

const std::string& Policy::rule_name(int i) const {
  static const std::string kDefault = "default";
  return i < 0 ? kDefault : rules[static_cast<size_t>(i)].name;
}

std::string Diagnostic::format() const {
  return file + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": " +
         (error ? "error: " : "warning: ") + message;
}

int LoadResult::errors() const {
  return static_cast<int>(std::count_if(diagnostics.begin(), diagnostics.end(), [](auto& d) { return d.error; }));
}
int LoadResult::warnings() const { return static_cast<int>(diagnostics.size()) - errors(); }

namespace {

std::vector<std::string> family_names() {
  std::vector<std::string> v;
  for (auto f : classify::families()) v.emplace_back(f);
  return v;
}

/// "a, b or c".
std::string join_or(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += i + 1 == v.size() ? " or " : ", ";
    out += v[i];
  }
  return out;
}

bool parse_uint(const std::string& s, uint64_t max, uint64_t& out) {
  if (s.empty() || s[0] == '-' || s[0] == '+' || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 0);
  if (errno != 0 || end == s.c_str() || *end != '\0' || v > max) return false;
  out = v;
  return true;
}

/// Walks the YAML tree into a Policy, collecting diagnostics instead of stopping at the first.
class Loader {
 public:
  Loader(const std::string& file, Policy& p, std::vector<Diagnostic>& d) : file_(file), p_(p), d_(d) {}

  void load(const YAML::Node& root) {
    if (!root.IsDefined() || root.IsNull()) {
      error(Pos{1, 1}, "empty rules file: expected a mapping with 'regions', 'rules' and 'default'");
      return;
    }
    if (!root.IsMap()) {
      error(root, "the rules file must be a mapping with 'regions', 'rules' and 'default'");
      return;
    }
    std::optional<YAML::Node> regions, rules, def;
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string k = key_text(it->first);
      std::optional<YAML::Node>* slot = k == "regions" ? &regions : k == "rules" ? &rules : k == "default" ? &def : nullptr;
      if (slot == nullptr) {
        error(it->first, "unknown key '" + k + "'" + suggest(k, {"regions", "rules", "default"}) +
                             "; expected 'regions', 'rules' or 'default'");
      } else if (slot->has_value()) {
        error(it->first, "'" + k + "' is given twice");
      } else {
        slot->emplace(it->second);
      }
    }
    if (regions && !regions->IsNull()) load_regions(*regions);
    if (!rules || rules->IsNull()) {
      error(rules ? *rules : root, "no 'rules' list");
    } else {
      load_rules(*rules);
    }
    if (def) {
      p_.default_pos = pos(*def);
      parse_action(*def, p_.default_action);
    }
  }

 private:
  // ---- diagnostics
  static Pos pos(const YAML::Node& n) {
    const YAML::Mark m = n.Mark();
    if (m.is_null()) return Pos{1, 1};
    return Pos{m.line + 1, m.column + 1};
  }
  void error(Pos at, const std::string& msg) { d_.push_back({true, file_, at, msg}); }
  void error(const YAML::Node& n, const std::string& msg) { error(pos(n), msg); }
  void warn(const YAML::Node& n, const std::string& msg) { d_.push_back({false, file_, pos(n), msg}); }

  std::string key_text(const YAML::Node& k) {
    if (!k.IsScalar()) {
      error(k, "keys must be plain names");
      return {};
    }
    return k.Scalar();
  }
  bool scalar(const YAML::Node& n, const std::string& what, std::string& out) {
    if (!n.IsScalar()) {
      error(n, what + " must be a single value, not " + kind(n));
      return false;
    }
    out = n.Scalar();
    return true;
  }
  static std::string kind(const YAML::Node& n) {
    if (n.IsMap()) return "a mapping";
    if (n.IsSequence()) return "a list";
    if (n.IsNull()) return "nothing";
    return "'" + n.Scalar() + "'";
  }
  /// A scalar or a list of scalars, each with its position.
  std::vector<std::pair<std::string, YAML::Node>> list(const YAML::Node& n, const std::string& what) {
    std::vector<std::pair<std::string, YAML::Node>> out;
    if (n.IsScalar()) {
      out.emplace_back(n.Scalar(), n);
    } else if (n.IsSequence()) {
      if (n.size() == 0) error(n, what + " is an empty list: leave the key out instead");
      for (const auto& e : n) {
        std::string s;
        if (scalar(e, "each entry of " + what, s)) out.emplace_back(s, e);
      }
    } else {
      error(n, what + " must be a value or a list of values, not " + kind(n));
    }
    return out;
  }

  // ---- regions
  void load_regions(const YAML::Node& n) {
    if (!n.IsMap()) {
      error(n, "'regions' must be a mapping of region names to definitions, not " + kind(n));
      return;
    }
    std::vector<std::pair<YAML::Node, YAML::Node>> defs;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string name = key_text(it->first);
      if (name.empty()) continue;
      if (index_.count(name)) {
        error(it->first, "region '" + name + "' is defined twice (first at line " +
                             std::to_string(p_.regions[index_[name]].pos.line) + ")");
        continue;
      }
      if (p_.regions.size() >= kMaxRegions) {
        error(it->first, "more than " + std::to_string(kMaxRegions) + " regions");
        break;
      }
      index_[name] = static_cast<uint16_t>(p_.regions.size());
      Region r;
      r.name = name;
      r.pos = pos(it->first);
      p_.regions.push_back(std::move(r));
      defs.emplace_back(it->first, it->second);
    }
    for (size_t i = 0; i < defs.size(); ++i) load_region(p_.regions[i], defs[i].second);
    resolve_includes();
  }

  void load_region(Region& r, const YAML::Node& n) {
    if (!n.IsMap()) {
      error(n, "region '" + r.name + "' must be a mapping (subscribers, cells, teids, vlans, include), not " +
                   kind(n));
      return;
    }
    static const std::vector<std::string> kKeys = {"subscribers", "cells", "teids", "vlans", "include"};
    std::map<std::string, bool> seen;
    bool unknown_key = false;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string k = key_text(it->first);
      if (seen[k]) {
        error(it->first, "'" + k + "' is given twice in region '" + r.name + "'");
        continue;
      }
      seen[k] = true;
      const YAML::Node v = it->second;
      if (k == "subscribers" || k == "cells") {
        for (const auto& [s, node] : list(v, "'" + k + "'")) {
          Cidr c;
          if (!parse_cidr(s, c)) {
            error(node, "bad address prefix '" + s + "' (expected a.b.c.d/len or x:y::/len)");
            continue;
          }
          if (c.host_bits) {
            warn(node, "prefix '" + s + "' has host bits set; it means " + to_string(c));
          }
          (k == "subscribers" ? r.subscribers : r.cells).emplace_back(c, pos(node));
        }
      } else if (k == "teids") {
        for (const auto& [s, node] : list(v, "'teids'")) {
          TeidRange t;
          if (!parse_range(s, 0xFFFFFFFFull, t.lo, t.hi)) {
            error(node, "bad TEID or TEID range '" + s + "' (expected N or LO-HI, decimal or 0x hex, 32 bits)");
            continue;
          }
          r.teids.emplace_back(t, pos(node));
        }
      } else if (k == "vlans") {
        for (const auto& [s, node] : list(v, "'vlans'")) {
          uint64_t id = 0;
          if (!parse_uint(s, 4095, id)) {
            error(node, "bad VLAN id '" + s + "' (expected 0-4095)");
            continue;
          }
          r.vlans.emplace_back(static_cast<uint16_t>(id), pos(node));
        }
      } else if (k == "include") {
        for (const auto& [s, node] : list(v, "'include'")) {
          auto f = index_.find(s);
          if (f == index_.end()) {
            error(node, "unknown region '" + s + "'" + suggest(s, region_names()));
            continue;
          }
          r.includes.emplace_back(f->second, pos(node));
        }
      } else {
        error(it->first,
              "unknown key '" + k + "' in region '" + r.name + "'" + suggest(k, kKeys) + "; expected " + join_or(kKeys));
        unknown_key = true;
      }
    }
    // A region whose only key was misspelt has had its error already.
    if (!unknown_key && r.subscribers.empty() && r.cells.empty() && r.teids.empty() && r.vlans.empty() &&
        r.includes.empty()) {
      error(n, "region '" + r.name + "' is empty: give subscribers, cells, teids, vlans or include");
    }
  }

  std::vector<std::string> region_names() const {
    std::vector<std::string> v;
    for (const auto& r : p_.regions) v.push_back(r.name);
    return v;
  }

  bool parse_range(const std::string& s, uint64_t max, uint32_t& lo, uint32_t& hi) {
    const size_t dash = s.find('-', 1);
    uint64_t a = 0, b = 0;
    if (dash == std::string::npos) {
      if (!parse_uint(s, max, a)) return false;
      b = a;
    } else if (!parse_uint(s.substr(0, dash), max, a) || !parse_uint(s.substr(dash + 1), max, b) || b < a) {
      return false;
    }
    lo = static_cast<uint32_t>(a);
    hi = static_cast<uint32_t>(b);
    return true;
  }

  void resolve_includes() {
    // Closure by depth-first search; a cycle is an error at the include that closes it.
    const size_t n = p_.regions.size();
    std::vector<int> state(n, 0);  // 0 new, 1 on stack, 2 done
    std::function<void(size_t)> visit = [&](size_t i) {
      state[i] = 1;
      Region& r = p_.regions[i];
      r.closure.set(i);
      for (const auto& [j, at] : r.includes) {
        if (state[j] == 1) {
          error(at, "region '" + r.name + "' includes '" + p_.regions[j].name + "', which includes it back");
          continue;
        }
        if (state[j] == 0) visit(j);
        r.closure |= p_.regions[j].closure;
      }
      state[i] = 2;
    };
    for (size_t i = 0; i < n; ++i) {
      if (state[i] == 0) visit(i);
    }
    for (size_t i = 0; i < n; ++i) {
      RegionSet anc;  // every region whose closure holds i: a flow in i is in all of them
      for (size_t a = 0; a < n; ++a) {
        if (p_.regions[a].closure.test(i)) anc.set(a);
      }
      const Region& r = p_.regions[i];
      for (const auto& [c, at] : r.subscribers) p_.subscriber_map.insert(c, anc);
      for (const auto& [c, at] : r.cells) p_.cell_map.insert(c, anc);
      for (const auto& [t, at] : r.teids) p_.teid_map.emplace_back(t, anc);
      for (const auto& [v, at] : r.vlans) p_.vlan_map.emplace_back(v, anc);
    }
  }

  // ---- rules
  void load_rules(const YAML::Node& n) {
    if (!n.IsSequence()) {
      error(n, "'rules' must be a list of rules (each starting with '- '), not " + kind(n));
      return;
    }
    std::map<std::string, int> names;
    for (const auto& rn : n) {
      Rule r;
      r.pos = pos(rn);
      r.name = "rule " + std::to_string(p_.rules.size() + 1);
      load_rule(r, rn);
      if (r.name == "default") {
        error(r.where("name"), "'default' is reserved for the default action; name the rule otherwise");
      }
      auto [it, fresh] = names.emplace(r.name, r.pos.line);
      if (!fresh) {
        error(r.where("name"), "rule name '" + r.name + "' is used twice (first at line " +
                                   std::to_string(it->second) + ")");
      }
      p_.rules.push_back(std::move(r));
    }
  }

  void load_rule(Rule& r, const YAML::Node& n) {
    if (!n.IsMap()) {
      error(n, "a rule must be a mapping (name, conditions, action), not " + kind(n));
      return;
    }
    static const std::vector<std::string> kKeys = {"name",     "region",      "family", "label",  "activity",
                                                   "category", "l4",          "ports",  "server_name",
                                                   "window",   "action",      "intent"};
    bool have_action = false;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string k = key_text(it->first);
      if (std::any_of(r.key_pos.begin(), r.key_pos.end(), [&](auto& kp) { return kp.first == k; })) {
        error(it->first, "'" + k + "' is given twice in this rule");
        continue;
      }
      r.key_pos.emplace_back(k, pos(it->first));
      const YAML::Node v = it->second;
      if (k == "name") {
        std::string s;
        if (scalar(v, "'name'", s)) {
          if (s.empty()) error(v, "empty rule name");
          else r.name = s;
        }
      } else if (k == "region") {
        for (const auto& [s, node] : list(v, "'region'")) {
          auto f = index_.find(s);
          if (f == index_.end()) {
            error(node, "unknown region '" + s + "'" + suggest(s, region_names()));
            continue;
          }
          r.regions.push_back(f->second);
          r.region_mask.set(f->second);
        }
      } else if (k == "family") {
        families(v, r.families);
      } else if (k == "label") {
        labels(v, r.labels);
      } else if (k == "activity") {
        activities(v, r.activities);
      } else if (k == "category") {
        categories(v, r.categories);
      } else if (k == "l4") {
        for (const auto& [s, node] : list(v, "'l4'")) {
          uint64_t num = 0;
          static const std::map<std::string, uint8_t> kL4 = {
              {"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"icmpv6", 58}, {"sctp", 132}, {"gre", 47}, {"esp", 50}};
          auto f = kL4.find(s);
          if (f != kL4.end()) {
            r.l4.push_back(f->second);
          } else if (parse_uint(s, 255, num)) {
            r.l4.push_back(static_cast<uint8_t>(num));
          } else {
            error(node, "unknown l4 '" + s + "'" + suggest(s, {"tcp", "udp", "icmp", "icmpv6", "sctp"}) +
                            "; expected tcp, udp, icmp, icmpv6, sctp, gre, esp or a protocol number");
          }
        }
      } else if (k == "ports") {
        for (const auto& [s, node] : list(v, "'ports'")) {
          uint32_t lo = 0, hi = 0;
          if (!parse_range(s, 65535, lo, hi)) {
            error(node, "bad port or port range '" + s + "' (expected N or LO-HI, 0-65535)");
            continue;
          }
          r.ports.push_back({static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)});
        }
      } else if (k == "server_name") {
        for (const auto& [s, node] : list(v, "'server_name'")) {
          if (s.empty()) {
            error(node, "empty server name pattern");
            continue;
          }
          r.server_names.push_back(s);
        }
      } else if (k == "window") {
        r.has_window = window(v, r.window);
      } else if (k == "action") {
        have_action = true;
        parse_action(v, r.action);
      } else if (k == "intent") {
        intent(v, r.intent);
        r.explicit_intent = true;
      } else {
        error(it->first, "unknown key '" + k + "' in a rule" + suggest(k, kKeys) + "; expected " + join_or(kKeys));
      }
    }
    if (!have_action) error(n, "rule '" + r.name + "' has no 'action' (block, throttle, allow or log)");
    if (!r.explicit_intent) {
      r.intent.labels = r.labels;
      r.intent.families = r.families;
      r.intent.activities = r.activities;
      r.intent.categories = r.categories;
    }
  }

  void families(const YAML::Node& v, std::vector<std::string>& out) {
    static const std::vector<std::string> kFam = family_names();
    for (const auto& [s, node] : list(v, "'family'")) {
      if (std::find(kFam.begin(), kFam.end(), s) == kFam.end()) {
        const std::string hint = suggest(s, kFam);
        error(node, "unknown family '" + s + "'" +
                        (hint.empty() ? "; the families are " + join_or(kFam) + " (or match a label instead)"
                                      : hint));
        continue;
      }
      out.push_back(s);
    }
  }
  void labels(const YAML::Node& v, std::vector<std::string>& out) {
    for (const auto& [s, node] : list(v, "'label'")) {
      if (s.empty()) {
        error(node, "empty label");
        continue;
      }
      out.push_back(s);
      if (s.find_first_of("*?") != std::string::npos) continue;
      std::string_view master, app;
      classify::split_label(s, master, app);
      for (std::string_view part : {master, app}) {
        if (part.empty()) continue;
        const std::string ps(part);
        if (!is_known_label_part(ps)) {
          warn(node, "label '" + s + "': '" + ps + "' is not a protocol name sealscope knows" +
                         suggest(ps, known_label_parts()) + "; the rule matches it only if a flow has that label");
        }
      }
    }
  }
  void activities(const YAML::Node& v, std::vector<std::string>& out) {
    for (const auto& [s, node] : list(v, "'activity'")) {
      if (!is_known_activity(s)) {
        error(node, "unknown activity '" + s + "'" + suggest(s, known_activities()) +
                        "; expected call, files, dns, chat, signalling or other");
        continue;
      }
      out.push_back(s);
    }
  }
  void categories(const YAML::Node& v, std::vector<std::string>& out) {
    for (const auto& [s, node] : list(v, "'category'")) {
      if (!is_known_category(s)) {
        warn(node, "'" + s + "' is not an nDPI category" + suggest(s, known_categories()));
      }
      out.push_back(s);
    }
  }

  void intent(const YAML::Node& v, Intent& out) {
    if (!v.IsMap()) {
      error(v, "'intent' must be a mapping (label, family, activity, category), not " + kind(v));
      return;
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string k = key_text(it->first);
      if (k == "label") labels(it->second, out.labels);
      else if (k == "family") families(it->second, out.families);
      else if (k == "activity") activities(it->second, out.activities);
      else if (k == "category") categories(it->second, out.categories);
      else
        error(it->first, "unknown key '" + k + "' in 'intent'" +
                             suggest(k, {"label", "family", "activity", "category"}));
    }
  }

  bool window(const YAML::Node& v, TimeWindow& w) {
    if (!v.IsMap()) {
      error(v, "'window' must be a mapping (days, start, end, tz), not " + kind(v));
      return false;
    }
    const size_t errs = d_.size();
    // A start or end that is present but bad has its own error; "needs a start" is only for a missing one.
    bool have_start = false, have_end = false;
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string k = key_text(it->first);
      const YAML::Node x = it->second;
      std::string s;
      if (k == "start") have_start = true;
      if (k == "end") have_end = true;
      if (k == "days") {
        w.days = 0;
        for (const auto& [d, node] : list(x, "'days'")) {
          const uint8_t bits = parse_days(d);
          if (bits == 0) {
            error(node, "bad day '" + d + "' (expected mon, tue, wed, thu, fri, sat, sun, a range like mon-fri, "
                        "weekdays, weekend or daily)");
            continue;
          }
          w.days |= bits;
        }
      } else if (k == "start" || k == "end") {
        uint32_t m = 0;
        if (!scalar(x, "'" + k + "'", s)) continue;
        if (!parse_hhmm(s, m)) {
          error(x, "bad time '" + s + "' (expected HH:MM between 00:00 and 24:00, quoted)");
          continue;
        }
        if (k == "start") {
          if (m == 1440) {
            error(x, "a window cannot start at 24:00");
            continue;
          }
          w.start_min = m;
        } else {
          w.end_min = m == 0 ? 1440 : m;
        }
      } else if (k == "tz") {
        if (!scalar(x, "'tz'", s)) continue;
        w.tz_name = s;
        w.tz = find_zone(s);
        if (w.tz == nullptr) {
          error(x, unknown_zone_message(s));
        }
      } else {
        error(it->first, "unknown key '" + k + "' in 'window'" + suggest(k, {"days", "start", "end", "tz"}));
      }
    }
    if (!have_start) error(v, "'window' needs a 'start' (HH:MM)");
    if (!have_end) error(v, "'window' needs an 'end' (HH:MM)");
    return d_.size() == errs || std::none_of(d_.begin() + static_cast<long>(errs), d_.end(),
                                             [](auto& d) { return d.error; });
  }

  static uint8_t parse_days(const std::string& s) {
    static const char* kNames[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    auto one = [](const std::string& d) -> int {
      for (int i = 0; i < 7; ++i) {
        if (d == kNames[i]) return i;
      }
      return -1;
    };
    if (s == "daily" || s == "all") return 0x7F;
    if (s == "weekdays") return 0x1F;
    if (s == "weekend") return 0x60;
    const size_t dash = s.find('-');
    if (dash == std::string::npos) {
      const int d = one(s);
      return d < 0 ? 0 : static_cast<uint8_t>(1u << d);
    }
    const int a = one(s.substr(0, dash)), b = one(s.substr(dash + 1));
    if (a < 0 || b < 0) return 0;
    uint8_t bits = 0;
    for (int i = a;; i = (i + 1) % 7) {
      bits = static_cast<uint8_t>(bits | (1u << i));
      if (i == b) break;
    }
    return bits;
  }

  void parse_action(const YAML::Node& v, Action& a) {
    if (v.IsScalar()) {
      const std::string& s = v.Scalar();
      if (s == "block") a.kind = ActionKind::Block;
      else if (s == "allow") a.kind = ActionKind::Allow;
      else if (s == "log") a.kind = ActionKind::Log;
      else if (s == "throttle")
        error(v, "'throttle' needs a rate: write 'action: {throttle: KBIT_S}'");
      else
        error(v, "unknown action '" + s + "'" + suggest(s, {"block", "allow", "log", "throttle"}) +
                     "; expected block, allow, log or {throttle: KBIT_S}");
      return;
    }
    if (v.IsMap() && v.size() == 1 && v.begin()->first.IsScalar() && v.begin()->first.Scalar() == "throttle") {
      const YAML::Node r = v.begin()->second;
      uint64_t k = 0;
      if (!r.IsScalar() || !parse_uint(r.Scalar(), 100000000, k)) {
        error(r, "throttle rate must be a whole number of kbit/s (1 to 100000000), not " + kind(r));
        return;
      }
      if (k == 0) {
        error(r, "throttle to 0 kbit/s drops everything: use 'block'");
        return;
      }
      a.kind = ActionKind::Throttle;
      a.kbit_s = static_cast<uint32_t>(k);
      return;
    }
    error(v, "an action is block, allow, log or {throttle: KBIT_S}, not " + kind(v));
  }

  std::string file_;
  Policy& p_;
  std::vector<Diagnostic>& d_;
  std::map<std::string, uint16_t> index_;
};

}  // namespace

/// yaml-cpp's marks count bytes (and start after a byte-order mark); editors count characters: "Köln"
/// before the spot would put a byte column one past it.
static void to_character_columns(const std::string& text, const std::string& name, std::vector<Diagnostic>& diags) {
  for (Diagnostic& d : diags) {
    if (d.file == name) d.pos.column = character_column(text, d.pos.line, d.pos.column);
  }
}

LoadResult load_policy_text(const std::string& text, const std::string& name, bool lint) {
  LoadResult res;
  auto p = std::make_unique<Policy>();
  p->file = name;
  YAML::Node root;
  try {
    // Every document is parsed, so that a second one (after "---") is an error, not rules dropped unread.
    const std::vector<YAML::Node> docs = YAML::LoadAll(text);
    if (docs.size() > 1) {
      const YAML::Mark m = docs[1].Mark();
      res.diagnostics.push_back({true, name, Pos{m.is_null() ? 1 : m.line + 1, m.is_null() ? 1 : m.column + 1},
                                 "a second YAML document (after '---'): a rules file is one document; move its "
                                 "content into the first"});
      return res;
    }
    if (!docs.empty()) root = docs[0];
  } catch (const YAML::Exception& ex) {
    const int line = ex.mark.is_null() ? 1 : ex.mark.line + 1;
    const int col = ex.mark.is_null() ? 1 : ex.mark.column + 1;
    res.diagnostics.push_back({true, name, Pos{line, col}, "malformed YAML: " + ex.msg});
    return res;
  }
  try {
    Loader(name, *p, res.diagnostics).load(root);
  } catch (const YAML::Exception& ex) {
    const int line = ex.mark.is_null() ? 1 : ex.mark.line + 1;
    const int col = ex.mark.is_null() ? 1 : ex.mark.column + 1;
    res.diagnostics.push_back({true, name, Pos{line, col}, ex.msg});
  }
  if (res.errors() == 0 && lint) lint_policy(*p, res.diagnostics);
  to_character_columns(text, name, res.diagnostics);
  std::stable_sort(res.diagnostics.begin(), res.diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.pos.line != b.pos.line ? a.pos.line < b.pos.line : a.pos.column < b.pos.column;
  });
  if (res.errors() == 0) res.policy = std::move(p);
  return res;
}

LoadResult load_policy_file(const std::string& path, bool lint) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_directory(path, ec) &&
      !std::filesystem::is_regular_file(path, ec) && !std::filesystem::is_fifo(path, ec)) {
    throw InputError(path + ": not a regular file, not a rules file");  // a device: /dev/null reads as empty
  }
  return load_policy_text(read_text_input(path, "rules file", "cannot read the rules file"), path, lint);
}

std::unique_ptr<Policy> load_policy_or_throw(const std::string& path) {
  LoadResult r = load_policy_file(path, false);
  for (const auto& d : r.diagnostics) {
    if (d.error) throw ConfigError(d.file, d.pos.line, d.pos.column, d.message);
  }
  return std::move(r.policy);
}

}  // namespace sealscope::policy
