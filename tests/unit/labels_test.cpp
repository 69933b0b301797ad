// Label vocabulary (GUIDE §4): nDPI 4.2 → current names, family and activity. The table below holds
// (label, transport, family, activity) facts about nDPI protocol names taken from the expected_label /
// family / activity columns of ../shared/corpus/labels.tsv (what a current nDPI reports, and the family and
// activity the corpus assigns), plus the GUIDE's own examples.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "classify/labels.hpp"
#include "common/errors.hpp"
#include "eval/eval.hpp"

using namespace sealscope::classify;

namespace {
constexpr uint8_t TCP = 6, UDP = 17, ICMP = 1;

bool known_family(std::string_view f) {
  for (std::string_view x : families()) {
    if (x == f) return true;
  }
  return false;
}
}  // namespace

TEST_CASE("labels: split_label", "[labels]") {
  std::string_view m, a;
  split_label("STUN.WhatsAppCall", m, a);
  CHECK(m == "STUN");
  CHECK(a == "WhatsAppCall");
  split_label("WhatsApp", m, a);
  CHECK(m.empty());
  CHECK(a == "WhatsApp");
  split_label("", m, a);
  CHECK(m.empty());
  CHECK(a.empty());
}

TEST_CASE("labels: current_label renames nDPI 4.2 names (GUIDE §4)", "[labels]") {
  struct R {
    const char* old_name;
    const char* current;
  };
  const R renames[] = {
      {"Messenger", "FacebookMessenger"},
      {"TLS.Messenger", "TLS.FacebookMessenger"},
      {"GoogleHangoutDuo", "GoogleCall"},
      {"STUN.GoogleHangoutDuo", "STUN.GoogleCall"},
      {"SkypeCall", "Skype_TeamsCall"},
      {"STUN.SkypeCall", "STUN.Skype_TeamsCall"},
      {"STUN.Telegram", "STUN.TelegramVoip"},  // Telegram over STUN = its calls
      {"STUN.Viber", "STUN.ViberVoip"},
  };
  for (const R& r : renames) {
    INFO(r.old_name);
    CHECK(current_label(r.old_name) == r.current);
  }
  // Not calls, or already current: unchanged.
  for (const char* same : {"Telegram", "TLS.Telegram", "Viber", "TLS.Viber", "TLS.Google", "STUN.WhatsAppCall",
                           "FacebookMessenger", "GoogleCall", "Skype_TeamsCall", "Unknown", "DNS"}) {
    INFO(same);
    CHECK(current_label(same) == same);
  }
}

TEST_CASE("labels: the families list is the GUIDE's, in order, plus VoIP", "[labels]") {
  const std::vector<std::string_view> guide = {
      "WhatsApp", "Signal",  "Telegram", "Messenger", "Teams",  "GoogleMeet", "GoogleChat", "Zoom",
      "Viber",    "Discord", "Line",     "Threema",   "IMO",    "WeChat",     "KakaoTalk",  "Snapchat",
      "Webex",    "Jabber",  "QQ",       "DingTalk",  "Agora",  "Mumble",     "TeamSpeak"};
  const std::vector<std::string_view> all(families().begin(), families().end());
  REQUIRE(all.size() >= guide.size());
  for (size_t i = 0; i < guide.size(); ++i) CHECK(all[i] == guide[i]);
  CHECK(known_family("VoIP"));
}

namespace {
struct Row {
  const char* label;
  uint8_t l4;
  const char* family;
  const char* activity;
};

// A representative set of the corpus's distinct (expected_label, l4, family, activity) rows.
const Row kCorpusRows[] = {
    {"STUN.WhatsAppCall", UDP, "WhatsApp", "call"},
    {"SRTP.WhatsAppCall", UDP, "WhatsApp", "call"},
    {"WhatsApp", TCP, "WhatsApp", "chat"},
    {"TLS.WhatsApp", TCP, "WhatsApp", "chat"},
    {"TLS.WhatsAppFiles", TCP, "WhatsApp", "files"},
    {"QUIC.WhatsAppFiles", UDP, "WhatsApp", "files"},
    {"DNS.WhatsApp", UDP, "WhatsApp", "dns"},
    {"DNS.WhatsAppFiles", UDP, "WhatsApp", "dns"},
    {"STUN.SignalVoip", UDP, "Signal", "call"},
    {"TLS.Signal", TCP, "Signal", "chat"},
    {"DNS.Signal", UDP, "Signal", "dns"},
    {"STUN.TelegramVoip", UDP, "Telegram", "call"},
    {"Telegram", TCP, "Telegram", "chat"},
    {"TLS.Telegram", TCP, "Telegram", "chat"},
    {"STUN.FacebookVoip", UDP, "Messenger", "call"},
    {"TLS.FacebookMessenger", TCP, "Messenger", "chat"},
    {"STUN.Skype_TeamsCall", UDP, "Teams", "call"},
    {"STUN.Skype_TeamsCall", TCP, "Teams", "call"},
    {"Skype_TeamsCall", UDP, "Teams", "call"},
    {"TLS.Skype_Teams", TCP, "Teams", "chat"},
    {"TLS.Teams", TCP, "Teams", "chat"},
    {"DNS.Teams", UDP, "Teams", "dns"},
    {"STUN.GoogleCall", UDP, "GoogleMeet", "call"},
    {"DTLS.GoogleCall", UDP, "GoogleMeet", "call"},
    {"TLS.GoogleChat", TCP, "GoogleChat", "chat"},
    {"Zoom", UDP, "Zoom", "call"},
    {"STUN.Zoom", UDP, "Zoom", "call"},
    {"TLS.Zoom", TCP, "Zoom", "chat"},
    {"DNS.Zoom", UDP, "Zoom", "dns"},
    {"STUN.ViberVoip", UDP, "Viber", "call"},
    {"Viber", UDP, "Viber", "chat"},
    {"Viber", TCP, "Viber", "chat"},
    {"Discord", UDP, "Discord", "call"},
    {"TLS.Discord", TCP, "Discord", "chat"},
    {"LineCall", UDP, "Line", "call"},
    {"HTTP.Line", TCP, "Line", "chat"},
    {"Threema", TCP, "Threema", "chat"},
    {"IMO", UDP, "IMO", "chat"},
    {"TLS.WeChat", TCP, "WeChat", "chat"},
    {"DNS.KakaoTalk", UDP, "KakaoTalk", "dns"},
    {"TLS.KakaoTalk", TCP, "KakaoTalk", "chat"},
    {"QUIC.SnapchatCall", UDP, "Snapchat", "call"},
    {"TLS.Snapchat", TCP, "Snapchat", "chat"},
    {"Webex", UDP, "Webex", "call"},
    {"TLS.Webex", TCP, "Webex", "chat"},
    {"Jabber", TCP, "Jabber", "chat"},
    {"OICQ", UDP, "QQ", "chat"},
    {"HTTP.QQ", TCP, "QQ", "chat"},
    {"DingTalk", TCP, "DingTalk", "chat"},
    {"SD-RTN", UDP, "Agora", "call"},
    {"Mumble", UDP, "Mumble", "call"},
    {"TLS.Mumble", TCP, "Mumble", "call"},
    {"TeamSpeak", UDP, "TeamSpeak", "call"},
    {"SIP", UDP, "VoIP", "signalling"},
    {"MGCP", UDP, "VoIP", "signalling"},
    {"Megaco", UDP, "VoIP", "signalling"},
    {"BFCP", TCP, "VoIP", "signalling"},
    {"CiscoSkinny", TCP, "VoIP", "signalling"},
    {"RTP", UDP, "VoIP", "call"},
    {"RTP", TCP, "VoIP", "call"},
    {"RTCP", UDP, "VoIP", "call"},
    {"STUN", UDP, "VoIP", "call"},
    {"STUN.RTP", UDP, "VoIP", "call"},
    {"DTLS", UDP, "VoIP", "call"},
    {"IAX", UDP, "VoIP", "call"},
    {"TLS", TCP, "", "other"},
    {"TLS.Google", TCP, "", "other"},
    {"QUIC.YouTube", UDP, "", "other"},
    {"HTTP.1kxun", TCP, "", "other"},
    {"ICMP", ICMP, "", "other"},
    {"Unknown", UDP, "", "other"},
    {"DNS.Google", UDP, "", "dns"},  // family-less DNS.X: our activity is "dns" (a DNS master)
    {"DNS.Microsoft365", UDP, "", "dns"},
    {"DNS", UDP, "", "other"},  // plain DNS, MDNS, LLMNR without a master: "other" (labels.cpp)
    {"MDNS", UDP, "", "other"},
    {"LLMNR", UDP, "", "other"},
};
}  // namespace

TEST_CASE("labels: family and activity of representative corpus labels", "[labels]") {
  for (const Row& r : kCorpusRows) {
    INFO(r.label << " l4=" << int{r.l4});
    CHECK(family_of(r.label) == r.family);
    CHECK(activity_of(r.label, r.l4) == r.activity);
    if (*r.family != '\0') CHECK(known_family(family_of(r.label)));
  }
}

TEST_CASE("labels: GUIDE §4 rules beyond the corpus", "[labels]") {
  // A generic VoIP master with a non-family app is still VoIP traffic.
  CHECK(family_of("STUN.AmazonAWS") == "VoIP");
  CHECK(activity_of("STUN.AmazonAWS", UDP) == "call");
  // Zoom/Discord/Webex are calls over UDP only.
  CHECK(activity_of("Zoom", TCP) == "chat");
  CHECK(activity_of("Discord", TCP) == "chat");
  // Names ending in Call/Voip/Voice are calls whatever the master.
  CHECK(family_of("KakaoTalk_Voice") == "KakaoTalk");
  CHECK(activity_of("KakaoTalk_Voice", UDP) == "call");
  CHECK(activity_of("TLS.FacebookVoip", TCP) == "call");
  // Any family flow whose master is RTP/RTCP/SRTP/DTLS/STUN is a call.
  CHECK(activity_of("RTP.WhatsApp", UDP) == "call");
  CHECK(activity_of("DTLS.Signal", UDP) == "call");
  // DNS masters: dns, whatever the family.
  CHECK(activity_of("MDNS.WhatsApp", UDP) == "dns");
  CHECK(activity_of("LLMNR.Teams", UDP) == "dns");
  // Old 4.2 names still map to their family.
  CHECK(family_of("Messenger") == "Messenger");
  CHECK(family_of("GoogleHangoutDuo") == "GoogleMeet");
  CHECK(family_of("SkypeCall") == "Teams");
  CHECK(family_of(current_label("STUN.Telegram")) == "Telegram");
  CHECK(activity_of(current_label("STUN.Telegram"), UDP) == "call");
  CHECK(family_of("") == "");
  CHECK(activity_of("", UDP) == "other");
}

TEST_CASE("labels: every row of the shared corpus (when present)", "[labels][corpus]") {
  std::ifstream in(SEALSCOPE_SOURCE_DIR "/../shared/corpus/labels.tsv");
  if (!in) {
    WARN("../shared/corpus/labels.tsv not found: skipped");
    return;
  }
  std::string line;
  std::getline(in, line);  // header
  size_t rows = 0, family_ok = 0, activity_ok = 0;
  std::vector<std::string> wrong;
  while (std::getline(in, line)) {
    std::vector<std::string> col;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, '\t')) col.push_back(c);
    while (col.size() < 10) col.emplace_back();
    const std::string& label = col[6];
    const uint8_t l4 = col[1] == "TCP" ? TCP : col[1] == "UDP" ? UDP : 0;
    ++rows;
    const bool f = family_of(label) == col[7];
    const bool a = activity_of(label, l4) == col[8];
    family_ok += f;
    activity_ok += a;
    if ((!f || !a) && wrong.size() < 20) {
      wrong.push_back(label + " " + col[1] + ": want " + col[7] + "/" + col[8] + ", got " +
                      std::string(family_of(label)) + "/" + std::string(activity_of(label, l4)));
    }
  }
  for (const std::string& w : wrong) UNSCOPED_INFO(w);
  CHECK(rows > 0);
  CHECK(family_ok == rows);
  CHECK(activity_ok == rows);
}

TEST_CASE("labels file: byte-order mark and CRLF accepted, a short row named by file:line", "[labels][eval]") {
  const std::string path = "/tmp/sealscope-labels-test-" + std::to_string(::getpid()) + ".tsv";
  const std::string header =
      "file\tl4\tvlan\tendpoint_a\tendpoint_b\tpackets\texpected_label\tfamily\tactivity\tndpi42_label\r\n";
  const std::string row = "a.pcap\tUDP\t\t10.0.0.1:5000\t10.0.0.2:6000\t30\tRTP\tVoIP\tcall\tUnknown\r\n";
  std::ofstream(path, std::ios::binary) << "\xEF\xBB\xBF" << header << row;
  const auto rows = sealscope::eval::load_labels(path);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].file == "a.pcap");
  CHECK(rows[0].ndpi42_label == "Unknown");  // CR dropped
  CHECK(rows[0].line == 2);
  std::ofstream(path, std::ios::binary) << header << row << "b.pcap\tTCP\n";
  try {
    sealscope::eval::load_labels(path);
    FAIL("a 2-field row was accepted");
  } catch (const sealscope::ConfigError& e) {
    CHECK(e.line() == 3);
    CHECK(std::string(e.what()).find("found 2") != std::string::npos);
  }
  std::remove(path.c_str());
}

TEST_CASE("eval: an IPv6 address printed with two \"::\" is matched under the one reading that fits",
          "[labels][eval]") {
  using sealscope::eval::endpoint_readings;
  // Two runs of zero groups, three zeros to share: 1+2 or 2+1.
  CHECK(endpoint_readings("[2600:1900:4160:5999::19::]:3478") ==
        std::vector<std::string>{"[2600:1900:4160:5999:0:19::]:3478", "[2600:1900:4160:5999::19:0]:3478"});
  // Three runs, two of them at the edges: six zeros for three runs, ten ways, the first 0:1:0:2:0:0:0:0.
  const auto three = endpoint_readings("[::1::2::]:0");
  CHECK(three.size() == 10);
  CHECK(three.front() == "[0:1:0:2::]:0");
  CHECK(three.back() == "[::1:0:2:0]:0");
  // Not ambiguous, or not IPv6: no readings (the text is matched as it is).
  CHECK(endpoint_readings("[2001:db8::1]:53").empty());
  CHECK(endpoint_readings("10.0.0.1:53").empty());
  CHECK(endpoint_readings("[1:2:3:4:5:6::7::]:1").empty());  // seven groups given: no room for two runs
  CHECK(endpoint_readings("[2001:db8::zz::1]:1").empty());   // no reading parses
  CHECK(endpoint_readings("[1::2::3]:http").empty());         // not a port (was an exception)
  CHECK(endpoint_readings("[1::2::3]:65536").empty());
  // Every way of filling the runs gives the same address: one reading, not several.
  CHECK(endpoint_readings("[1::0::2]:1") == std::vector<std::string>{"[1::2]:1"});

  sealscope::eval::LabelRow row;
  row.file = "stun.pcap";
  row.l4 = "UDP";
  row.endpoint_a = "[2600:1900:4160:5999::19::]:3478";
  row.endpoint_b = "[2001:db8::1]:48094";
  row.expected_label = "STUN";
  row.family = "VoIP";
  row.activity = "call";
  const std::vector<sealscope::eval::LabelRow> rows{row};
  std::map<std::string, sealscope::eval::Observed> observed;
  sealscope::eval::Observed o{"STUN", "VoIP", "call", "dpi"};
  sealscope::eval::add_observed(observed, "stun.pcap", "UDP", -1, "[2600:1900:4160:5999:0:19::]:3478",
                                "[2001:db8::1]:48094", o);
  auto rep = sealscope::eval::score(rows, observed);
  REQUIRE(rep.scored.size() == 1);
  CHECK(rep.scored[0].found);
  CHECK(rep.scored[0].family_activity_ok);
  CHECK(rep.scored[0].reading == "[2600:1900:4160:5999:0:19::]:3478 [2001:db8::1]:48094");
  CHECK(rep.reread == 1);
  CHECK(rep.not_found == 0);
  // Readings that are all the same address: found under it.
  {
    sealscope::eval::LabelRow same = row;
    same.endpoint_a = "[1::0::2]:3478";
    std::map<std::string, sealscope::eval::Observed> one;
    sealscope::eval::add_observed(one, "stun.pcap", "UDP", -1, "[1::2]:3478", "[2001:db8::1]:48094", o);
    const std::vector<sealscope::eval::LabelRow> same_rows{same};
    const auto r = sealscope::eval::score(same_rows, one);
    CHECK(r.scored[0].found);
    CHECK(r.reread == 1);
  }
  // Both readings matching a flow: ambiguous, so neither is used.
  sealscope::eval::add_observed(observed, "stun.pcap", "UDP", -1, "[2600:1900:4160:5999::19:0]:3478",
                                "[2001:db8::1]:48094", o);
  rep = sealscope::eval::score(rows, observed);
  CHECK_FALSE(rep.scored[0].found);
  CHECK(rep.reread == 0);
  CHECK(rep.not_found == 1);
}

TEST_CASE("eval: the any-VLAN fallback holds for a flow with several records on its VLAN, not for two VLANs",
          "[labels][eval]") {
  using sealscope::eval::add_observed;
  using sealscope::eval::find_observed;
  std::map<std::string, sealscope::eval::Observed> observed;
  const sealscope::eval::Observed first{"SIP", "VoIP", "call", "dpi"}, second{"Unknown", "", "", "none"};
  // --expiry: the flow is cut into an idle record and an end-of-file record, both on VLAN 1451.
  add_observed(observed, "a.pcap", "UDP", 1451, "10.13.129.30:56295", "10.10.214.6:5093", first);
  add_observed(observed, "a.pcap", "UDP", 1451, "10.10.214.6:5093", "10.13.129.30:56295", second);
  // The labels say VLAN 265 (another reader's tag): found through the fallback, the first record kept.
  const auto* o = find_observed(observed, "a.pcap", "UDP", 265, "10.13.129.30:56295", "10.10.214.6:5093");
  REQUIRE(o != nullptr);
  CHECK(o->label == "SIP");
  o = find_observed(observed, "a.pcap", "UDP", 1451, "10.13.129.30:56295", "10.10.214.6:5093");
  REQUIRE(o != nullptr);
  CHECK(o->label == "SIP");
  // The same endpoints on a second VLAN: which one the labels mean is unknown, so no fallback.
  add_observed(observed, "a.pcap", "UDP", 7, "10.13.129.30:56295", "10.10.214.6:5093", second);
  CHECK(find_observed(observed, "a.pcap", "UDP", 265, "10.13.129.30:56295", "10.10.214.6:5093") == nullptr);
  o = find_observed(observed, "a.pcap", "UDP", 7, "10.13.129.30:56295", "10.10.214.6:5093");
  REQUIRE(o != nullptr);  // the exact key still matches
  CHECK(o->label == "Unknown");
}

TEST_CASE("labels file: a malformed vlan, endpoint or packet count is named by file:line:column", "[labels][eval]") {
  const std::string path = "/tmp/sealscope-labels-bad-" + std::to_string(::getpid()) + ".tsv";
  const std::string header =
      "file\tl4\tvlan\tendpoint_a\tendpoint_b\tpackets\texpected_label\tfamily\tactivity\tndpi42_label\n";
  struct Case {
    std::string a, b, vlan, packets;
    int column;
    std::string field;
  };
  // "a.pcap<TAB>UDP<TAB>" is 11 bytes: the vlan starts at column 12, endpoint_a at 13 when the vlan is empty.
  const std::vector<Case> cases = {
      {"10.0.0.1:abc", "10.0.0.2:53", "", "2", 13, "endpoint_a"},          // port not a number (was an abort)
      {"10.0.0.1:5000", "10.0.0.2:65536", "", "2", 27, "endpoint_b"},      // port out of range
      {"10.0.0.1:5000", "10.0.0.2:99999999999", "", "2", 27, "endpoint_b"},  // was silently cut to 16 bits
      {"10.0.0.1", "10.0.0.2:53", "", "2", 13, "endpoint_a"},              // no port
      {"2001:db8::1:53", "10.0.0.2:53", "", "2", 13, "endpoint_a"},        // IPv6 without brackets
      {"[10.0.0.1]:53", "10.0.0.2:53", "", "2", 13, "endpoint_a"},         // IPv4 in brackets
      {"[2001:db8::zz::1]:53", "10.0.0.2:53", "", "2", 13, "endpoint_a"},  // no reading parses
      {"10.0.0.1:1", "10.0.0.2:2", "12abc", "2", 12, "vlan"},             // was read as 12
      {"10.0.0.1:1", "10.0.0.2:2", "4096", "2", 12, "vlan"},
      {"10.0.0.1:1", "10.0.0.2:2", "", "-3", 35, "packets"},
  };
  for (const auto& c : cases) {
    INFO(c.field << " " << c.a << " " << c.b << " " << c.vlan << " " << c.packets);
    std::ofstream(path, std::ios::binary) << header << "a.pcap\tUDP\t" << c.vlan << '\t' << c.a << '\t' << c.b
                                          << '\t' << c.packets << "\tRTP\tVoIP\tcall\tUnknown\n";
    try {
      sealscope::eval::load_labels(path);
      FAIL("accepted");
    } catch (const sealscope::ConfigError& e) {
      CHECK(e.line() == 2);
      CHECK(e.column() == c.column);
      CHECK(std::string(e.what()).find(c.field + ": expected") != std::string::npos);
    }
  }
  // Columns count characters: a file name with "ü" (2 bytes) before the field moves it by one, not two.
  std::ofstream(path, std::ios::binary) << header << "m\xC3\xBCnchen.pcap\tUDP\t\t10.0.0.1\t10.0.0.2:53\t2\tRTP\tVoIP\tcall\tUnknown\n";
  try {
    sealscope::eval::load_labels(path);
    FAIL("accepted an endpoint without a port");
  } catch (const sealscope::ConfigError& e) {
    CHECK(e.column() == 19);  // "münchen.pcap<TAB>UDP<TAB><TAB>" is 18 characters (19 bytes)
  }
  // Accepted: ports 0 and 65535, a VLAN, no packet count, IPv6 in brackets, the ambiguous "::" form.
  std::ofstream(path, std::ios::binary) << header << "a.pcap\tICMP\t4095\t10.0.0.1:0\t10.0.0.2:65535\t\tICMP\t\tother\tICMP\n"
                                        << "a.pcap\tUDP\t\t[2600:1900:4160:5999::19::]:3478\t[2001:db8::1]:1\t3\tSTUN\tVoIP\tcall\tSTUN\n";
  const auto rows = sealscope::eval::load_labels(path);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].vlan == 4095);
  CHECK(rows[0].packets == 0);
  CHECK(rows[1].vlan == -1);
  std::remove(path.c_str());
}

TEST_CASE("labels file: nine columns, comments and lower-case l4, and scoring ndpi42_label then needs the column",
          "[labels][eval]") {
  const std::string path = "/tmp/sealscope-labels-nine-" + std::to_string(::getpid()) + ".tsv";
  std::ofstream(path, std::ios::binary)
      << "# made by hand\nfile\tl4\tvlan\tendpoint_a\tendpoint_b\tpackets\texpected_label\tfamily\tactivity\n"
      << "# a comment between rows\na.pcap\tudp\t\t10.0.0.1:5000\t10.0.0.2:6000\t30\tRTP\tVoIP\tcall\n";
  const auto rows = sealscope::eval::load_labels(path);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].l4 == "UDP");
  CHECK(rows[0].line == 4);
  CHECK_FALSE(rows[0].has_ndpi42);
  CHECK(sealscope::eval::observed_from_column(rows, "expected_label").size() == 1);
  CHECK_THROWS_AS(sealscope::eval::observed_from_column(rows, "ndpi42_label"), sealscope::UsageError);
  // A row with ten fields under a nine-column header is refused.
  std::ofstream(path, std::ios::binary)
      << "file\tl4\tvlan\tendpoint_a\tendpoint_b\tpackets\texpected_label\tfamily\tactivity\n"
      << "a.pcap\tUDP\t\t10.0.0.1:5000\t10.0.0.2:6000\t30\tRTP\tVoIP\tcall\tRTP\n";
  CHECK_THROWS_AS(sealscope::eval::load_labels(path), sealscope::ConfigError);
  std::remove(path.c_str());
}
