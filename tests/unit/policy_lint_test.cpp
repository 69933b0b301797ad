#include <catch2/catch.hpp>

#include "common/errors.hpp"
#include "policy/policy.hpp"

using namespace sealscope::policy;

namespace {
LoadResult run(const std::string& text) { return load_policy_text(text, "r.yaml", true); }

/// The one diagnostic whose message contains `needle` (fails when there is none).
const Diagnostic& find(const LoadResult& r, const std::string& needle) {
  for (const auto& d : r.diagnostics) {
    if (d.message.find(needle) != std::string::npos) return d;
  }
  for (const auto& d : r.diagnostics) INFO(d.format());
  FAIL("no diagnostic contains: " << needle);
  static Diagnostic none;
  return none;
}
}  // namespace

TEST_CASE("policy lint: a clean file has no findings") {
  const LoadResult r = run(R"(regions:
  north: {subscribers: [192.0.2.0/24]}
rules:
  - name: calls
    region: north
    activity: call
    action: block
default: allow
)");
  CHECK(r.diagnostics.empty());
  CHECK(r.policy != nullptr);
}

TEST_CASE("policy load: malformed YAML is one error at its position") {
  const LoadResult r = run("rules:\n  - name: x\n    action: [block\n");
  REQUIRE(r.errors() == 1);
  CHECK(r.policy == nullptr);
  CHECK(r.diagnostics[0].message.find("malformed YAML") == 0);
  CHECK(r.diagnostics[0].pos.line >= 3);
  CHECK(r.diagnostics[0].format().rfind("r.yaml:", 0) == 0);
}

TEST_CASE("policy load: a second YAML document is an error at its start, not rules dropped unread") {
  const LoadResult r = run("rules:\n  - {name: a, action: block}\ndefault: allow\n---\nrules: []\n");
  REQUIRE(r.errors() == 1);
  CHECK(r.policy == nullptr);
  const Diagnostic& d = find(r, "second YAML document");
  CHECK(d.pos.line == 5);
  CHECK(d.pos.column == 1);
  // One document with an explicit start marker is fine.
  CHECK(run("---\nrules:\n  - {name: a, action: block}\ndefault: allow\n").errors() == 0);
}

TEST_CASE("policy load: a directory is not a rules file") {
  CHECK_THROWS_WITH(load_policy_file("/tmp", false), Catch::Matchers::Contains("is a directory"));
}

TEST_CASE("policy load: each bad value is its own error at file:line:column, nothing half-loaded") {
  const LoadResult r = run(R"(regions:
  north:
    subscribers: [192.0.2.0/33, 198.51.100.0/24]
    vlanz: [1]
  north: {vlans: 5000}
rules:
  - name: a
    family: Whatsapp
    activity: calls
    window: {days: fri, start: "18:00", end: "06:00", tz: Europe/Berln}
    action: blok
  - name: b
    region: nort
    action: {throttle: 0}
  - name: a
    action: allow
    colour: red
)");
  CHECK(r.policy == nullptr);
  const Diagnostic& cidr = find(r, "bad address prefix '192.0.2.0/33'");
  CHECK(cidr.pos.line == 3);
  CHECK(cidr.pos.column == 19);
  CHECK(find(r, "unknown key 'vlanz' in region 'north' (did you mean 'vlans'?)").pos.line == 4);
  CHECK(find(r, "region 'north' is defined twice").pos.line == 5);
  const Diagnostic& fam = find(r, "unknown family 'Whatsapp' (did you mean 'WhatsApp'?)");
  CHECK(fam.pos.line == 8);
  CHECK(fam.pos.column == 13);
  CHECK(find(r, "unknown activity 'calls' (did you mean 'call'?)").pos.line == 9);
  CHECK(find(r, "unknown time zone 'Europe/Berln'").pos.line == 10);
  CHECK(find(r, "unknown action 'blok' (did you mean 'block'?)").pos.line == 11);
  CHECK(find(r, "unknown region 'nort' (did you mean 'north'?)").pos.line == 13);
  CHECK(find(r, "throttle to 0 kbit/s").pos.line == 14);
  CHECK(find(r, "rule name 'a' is used twice").pos.line == 15);
  CHECK(find(r, "unknown key 'colour' in a rule").pos.line == 17);
  CHECK_THROWS_AS(load_policy_or_throw("/nonexistent/rules.yaml"), sealscope::InputError);
}

TEST_CASE("policy load: wrong types and missing parts") {
  CHECK(find(run("rules: {a: 1}\n"), "'rules' must be a list").pos.line == 1);
  CHECK(find(run("rules:\n  - action: block\n    ports: [http]\n"), "bad port or port range 'http'").pos.line == 3);
  CHECK(find(run("rules:\n  - name: x\n"), "has no 'action'").pos.line == 2);
  CHECK(find(run("rules:\n  - action: throttle\n"), "'throttle' needs a rate").pos.line == 2);
  CHECK(find(run("regions:\n  a: {include: b}\n  b: {include: a}\nrules: []\n"), "includes it back").error);
  {
    // A bad start is one error, not also "needs a start"; a missing end is still reported.
    const LoadResult r = run("rules:\n  - action: block\n    window: {start: \"25:00\", end: \"06:00\"}\n");
    CHECK(find(r, "bad time '25:00'").error);
    CHECK(r.errors() == 1);
    const LoadResult r2 = run("rules:\n  - action: block\n    window: {start: \"22:00\"}\n");
    CHECK(find(r2, "'window' needs an 'end'").pos.line == 3);
    CHECK(r2.errors() == 1);
  }
  CHECK(find(run("regions:\n  a: {teids: [\"0x20-0x10\"]}\nrules: []\n"), "bad TEID").error);
  CHECK(find(run("rule: []\n"), "unknown key 'rule' (did you mean 'rules'?)").error);
}

TEST_CASE("policy load: words from other tools point at ours, short words are not stretched") {
  const LoadResult r = run(R"(regions:
  campus:
    prefixes: [192.0.2.0/24]
rules:
  - name: a
    region: campus
    app: WhatsApp
    activity: messaging
    time: {from: "18:00", end: "06:00"}
    action: drop
  - name: b
    activity: dsn
    family: Facetime
    action: permit
default: deny
)");
  CHECK(find(r, "unknown key 'prefixes' in region 'campus' (did you mean 'subscribers'?)").pos.line == 3);
  // The misspelt key is the region's only key: no second error saying the region is empty.
  for (const auto& d : r.diagnostics) CHECK(d.message.find("is empty") == std::string::npos);
  const Diagnostic& app = find(r, "unknown key 'app' in a rule (did you mean 'family'?); expected name, region,");
  CHECK(app.pos.line == 7);
  CHECK(find(r, "unknown activity 'messaging' (did you mean 'chat'?)").pos.line == 8);
  // "time" is two edits from "name"; the alias wins, and the edit distance alone no longer offers "name".
  CHECK(find(r, "unknown key 'time' in a rule (did you mean 'window'?)").pos.line == 9);
  CHECK(find(r, "unknown action 'drop' (did you mean 'block'?)").pos.line == 10);
  CHECK(find(r, "unknown activity 'dsn' (did you mean 'dns'?)").pos.line == 12);
  const Diagnostic& fam = find(r, "unknown family 'Facetime'; the families are WhatsApp, Signal,");
  CHECK(fam.message.find(" or SealChat (or match a label instead)") != std::string::npos);
  CHECK(find(r, "unknown action 'permit' (did you mean 'allow'?)").pos.line == 14);
  CHECK(find(r, "unknown action 'deny' (did you mean 'block'?)").pos.line == 15);
  CHECK(r.errors() == 9);

  CHECK(did_you_mean("time", {"name", "region"}).empty());
  CHECK(did_you_mean("nmae", {"name", "region"}) == "name");
  CHECK(did_you_mean("app", {"label"}).empty());  // an alias only names a choice that is on offer
  CHECK(did_you_mean("APPS", {"family"}) == "family");
}

TEST_CASE("policy lint: unknown labels and categories are warnings with did-you-mean") {
  const LoadResult r = run("rules:\n  - label: STUN.WhatsAppCal\n    category: Chatt\n    action: block\n");
  CHECK(r.errors() == 0);
  CHECK(r.policy != nullptr);
  const Diagnostic& d = find(r, "'WhatsAppCal' is not a protocol name sealscope knows (did you mean 'WhatsAppCall'?)");
  CHECK_FALSE(d.error);
  CHECK(d.pos.line == 2);
  CHECK_FALSE(find(r, "'Chatt' is not an nDPI category (did you mean 'Chat'?)").error);
}

TEST_CASE("policy lint: shadowed rules") {
  const LoadResult r = run(R"(regions:
  city: {include: north}
  north: {subscribers: 192.0.2.0/24}
rules:
  - name: all-whatsapp
    region: city
    family: WhatsApp
    action: block
  - name: wa-calls-north
    region: north
    label: STUN.WhatsAppCall
    action: {throttle: 64}
  - name: night-calls
    activity: call
    window: {days: daily, start: "18:00", end: "06:00", tz: Europe/Berlin}
    action: block
  - name: late-night-calls
    activity: call
    window: {days: daily, start: "22:00", end: "05:00", tz: Europe/Berlin}
    action: block
  - name: evening-calls
    activity: call
    window: {days: mon, start: "19:00", end: "20:00", tz: Europe/Berlin}
    action: log
  - name: other-zone
    activity: call
    window: {days: mon, start: "19:00", end: "20:00", tz: UTC}
    action: log
)");
  const Diagnostic& d = find(r, "rule 'wa-calls-north' is shadowed: rule 'all-whatsapp' (line 5)");
  CHECK(d.pos.line == 9);
  CHECK(d.message.find("different action (block)") != std::string::npos);
  CHECK(find(r, "rule 'late-night-calls' is shadowed: rule 'night-calls'").pos.line == 17);
  CHECK(find(r, "rule 'evening-calls' is shadowed: rule 'night-calls'").pos.line == 21);
  for (const auto& x : r.diagnostics) CHECK(x.message.find("'other-zone' is shadowed") == std::string::npos);
}

TEST_CASE("policy lint: overlapping regions, empty windows, rules that cannot apply") {
  const LoadResult r = run(R"(regions:
  north: {subscribers: [192.0.2.0/24, 192.0.2.128/25], vlans: [10]}
  hospital: {subscribers: 192.0.2.99/32, vlans: 10}
  cells-a: {cells: 10.200.0.0/16, teids: ["100-200"]}
  cells-b: {cells: 10.200.1.0/24, teids: ["150-300"]}
rules:
  - name: never
    activity: call
    window: {days: mon, start: "10:00", end: "10:00"}
    action: block
  - name: icmp-ports
    l4: icmp
    ports: 80
    action: block
  - name: mismatch
    family: Signal
    label: STUN.WhatsAppCall
    action: block
  - name: voip-chat
    family: VoIP
    activity: chat
    action: block
  - name: last
    l4: udp
    action: allow
default: allow
)");
  CHECK(r.errors() == 0);
  CHECK(find(r, "192.0.2.128/25 overlaps 192.0.2.0/24 of another entry of region 'north'").pos.line == 2);
  CHECK(find(r, "192.0.2.99/32 overlaps 192.0.2.0/24 of region 'north'").pos.line == 3);
  CHECK(find(r, "VLAN 10 is also in region 'north'").pos.line == 3);
  CHECK(find(r, "10.200.1.0/24 overlaps 10.200.0.0/16 of region 'cells-a'").pos.line == 5);
  CHECK(find(r, "TEID range overlaps one of region 'cells-a'").pos.line == 5);
  CHECK(find(r, "never opens").pos.line == 9);
  CHECK(find(r, "'ports' cannot apply to its l4").pos.line == 13);
  CHECK(find(r, "none of its labels belongs to its families").pos.line == 16);
  CHECK(find(r, "family VoIP has only call and signalling flows").pos.line == 21);
  CHECK(find(r, "rule 'last' is last and has the default's action").pos.line == 25);
}

TEST_CASE("policy lint: an unconditional rule makes the default unused") {
  const LoadResult r = run("rules:\n  - name: all\n    action: log\ndefault: block\n");
  CHECK(find(r, "the default action is never used").pos.line == 4);
}

TEST_CASE("policy check: columns count characters, not bytes, and not a byte-order mark", "[policy]") {
  // "köln-süd" and "straße" put 4 two-byte characters before 'cal' on its line: byte column 59, character 56.
  const LoadResult r = run("regions:\n  k\xC3\xB6ln-s\xC3\xBC" "d:\n    subscribers: [192.0.2.0/24]\nrules:\n"
                           "  - {name: \"stra\xC3\x9F" "e-regel\", region: k\xC3\xB6ln-s\xC3\xBC" "d, activity: cal, "
                           "action: block}\ndefault: allow\n");
  const Diagnostic& act = find(r, "unknown activity 'cal'");
  CHECK(act.pos.line == 5);
  CHECK(act.pos.column == 56);
  // A byte-order mark is not a column (yaml-cpp starts after it, and so does an editor).
  const LoadResult b = run("\xEF\xBB\xBFregions: {a: {subscribers: [1.2.3.4/33]}}\nrules: []\ndefault: allow\n");
  CHECK(find(b, "bad address prefix '1.2.3.4/33'").pos.column == 29);
}
