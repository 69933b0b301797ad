#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "policy/prefix_trie.hpp"
#include "policy/time_window.hpp"

namespace sealscope::policy {

/// What a rule does to a flow's packets once the flow is classified.
enum class ActionKind : uint8_t { Allow, Log, Block, Throttle };

struct Action {
  ActionKind kind = ActionKind::Allow;
  uint32_t kbit_s = 0;  ///< throttle rate
};
/// "allow", "log", "block", "throttle".
const char* action_name(ActionKind k);
/// "throttle 64 kbit/s" style text.
std::string describe(const Action& a);

/// A position in the rules file (1-based).
struct Pos {
  int line = 0, column = 0;
};

struct PortRange {
  uint16_t lo = 0, hi = 0;
};
struct TeidRange {
  uint32_t lo = 0, hi = 0;
};

/// A named set of subscribers: address prefixes, GTP-U cell sites (outer tunnel address), TEID ranges,
/// VLAN ids, and other regions it includes.
struct Region {
  std::string name;
  Pos pos;
  std::vector<std::pair<Cidr, Pos>> subscribers, cells;
  std::vector<std::pair<TeidRange, Pos>> teids;
  std::vector<std::pair<uint16_t, Pos>> vlans;
  std::vector<std::pair<uint16_t, Pos>> includes;  ///< region indexes
  RegionSet closure;  ///< itself and every region it includes, transitively
};

/// What a rule means to hit, for intended vs collateral (defaults to its own label conditions).
struct Intent {
  std::vector<std::string> labels, families, activities, categories;
  bool any() const { return !labels.empty() || !families.empty() || !activities.empty() || !categories.empty(); }
};

/// One rule: every given condition must hold (AND); within a list any entry may match (OR).
struct Rule {
  std::string name;
  Pos pos;
  std::vector<uint16_t> regions;  ///< region indexes
  RegionSet region_mask;
  std::vector<std::string> labels, families, activities, categories, server_names;
  std::vector<uint8_t> l4;  ///< IP protocol numbers
  std::vector<PortRange> ports;
  bool has_window = false;
  TimeWindow window;
  Action action;
  Intent intent;
  bool explicit_intent = false;
  std::vector<std::pair<std::string, Pos>> key_pos;  ///< where each key of the rule is (for lint)

  Pos where(const std::string& key) const;
  /// True when a label, family, activity or category condition makes the rule wait for classification.
  bool needs_verdict() const {
    return !labels.empty() || !families.empty() || !activities.empty() || !categories.empty() ||
           !server_names.empty();
  }
};

/// A loaded, validated rule set: regions, ordered rules (first match wins) and the default action,
/// plus the lookup structures the Decider uses.
struct Policy {
  std::string file;
  std::vector<Region> regions;
  std::vector<Rule> rules;
  Action default_action;
  Pos default_pos;

  AddressMap subscriber_map, cell_map;
  std::vector<std::pair<TeidRange, RegionSet>> teid_map;
  std::vector<std::pair<uint16_t, RegionSet>> vlan_map;

  /// Name of rule `i`, or "default" for -1.
  const std::string& rule_name(int i) const;
  /// Action of rule `i`, or the default action for -1.
  const Action& rule_action(int i) const { return i < 0 ? default_action : rules[static_cast<size_t>(i)].action; }
};

/// One finding of loading or lint, located in the rules file.
struct Diagnostic {
  bool error = true;
  std::string file;
  Pos pos;
  std::string message;
  /// "file:line:column: error: message".
  std::string format() const;
};

struct LoadResult {
  std::unique_ptr<Policy> policy;  ///< null when there is any error
  std::vector<Diagnostic> diagnostics;
  int errors() const;
  int warnings() const;
};

/// Loads, validates and (with `lint`) lints a rules file. Content problems become diagnostics; nothing
/// is returned half-loaded: any error leaves `policy` null. Throws InputError when the file cannot be read.
LoadResult load_policy_file(const std::string& path, bool lint = true);
/// Same, from text (`name` is used in diagnostics).
LoadResult load_policy_text(const std::string& text, const std::string& name, bool lint = true);
/// Loads a rules file and throws the first error as ConfigError (for callers that only want a Policy).
std::unique_ptr<Policy> load_policy_or_throw(const std::string& path);

/// Lint over a loaded policy: shadowed rules, overlapping regions, empty windows, rules that cannot apply.
void lint_policy(const Policy& p, std::vector<Diagnostic>& out);

/// Known names for did-you-mean (families, activities, l4, categories, labels' parts).
bool is_known_label_part(const std::string& name);
bool is_known_category(const std::string& name);
bool is_known_activity(const std::string& name);
/// The candidate a user most likely meant, or empty: a common other word for it ("app" for family, "drop"
/// for block), else the closest within a small edit distance (one edit for words of up to 4 letters).
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);
/// did_you_mean() as a message tail: " (did you mean 'X'?)", or empty.
std::string suggest(const std::string& word, const std::vector<std::string>& candidates);
/// The label parts known to lint (for did-you-mean).
const std::vector<std::string>& known_label_parts();
const std::vector<std::string>& known_categories();
const std::vector<std::string>& known_activities();

/// True when `name` matches the glob `pattern` ('*' any run, '?' one character; case-insensitive).
bool glob_match(const std::string& pattern, const std::string& name);
/// True when label `label` satisfies rule label entry `want`: equal, or `want` names the app part.
bool label_matches(const std::string& want, const std::string& label);

}  // namespace sealscope::policy
