#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "classify/labels.hpp"
#include "common/nearest_word.hpp"
#include "policy/policy.hpp"

namespace sealscope::policy {

namespace {
std::vector<std::string> build_label_parts() {
  // Protocol and app names as nDPI reports them (current names, GUIDE §4; plus the 4.2 names they replace),
  // the family table of classify/labels.cpp, and sealscope's own detectors.
  std::vector<std::string> v = {
      "WhatsApp", "WhatsAppCall", "WhatsAppFiles", "Signal", "SignalVoip", "Telegram", "TelegramVoip",
      "FacebookMessenger", "Messenger", "FacebookVoip", "Facebook", "Instagram", "Teams", "Skype_Teams",
      "Skype_TeamsCall", "SkypeCall", "Skype", "GoogleCall", "GoogleHangoutDuo", "GoogleMeet", "GoogleChat",
      "Google", "GoogleServices", "Zoom", "Viber", "ViberVoip", "Discord", "Line", "LineCall", "Threema", "IMO",
      "WeChat", "KakaoTalk", "KakaoTalk_Voice", "Snapchat", "SnapchatCall", "Webex", "Jabber", "QQ", "OICQ",
      "DingTalk", "SD-RTN", "Mumble", "TeamSpeak", "SealChat", "SealChatCall",
      // generic real-time and signalling protocols
      "RTP", "RTCP", "SRTP", "STUN", "DTLS", "IAX", "SIP", "H323", "MGCP", "CiscoSkinny", "Skinny", "BFCP",
      "Megaco", "TURN",
      // common transport/application protocols
      "Unknown", "DNS", "MDNS", "LLMNR", "DoH_DoT", "TLS", "QUIC", "HTTP", "HTTP_Proxy", "HTTP_Connect", "SSH",
      "ICMP", "ICMPV6", "IGMP", "NTP", "DHCP", "DHCPV6", "NetBIOS", "SMBv1", "SMBv23", "SNMP", "SMTP", "SMTPS",
      "POP3", "POPS", "IMAP", "IMAPS", "FTP_CONTROL", "FTP_DATA", "RDP", "VNC", "OpenVPN", "WireGuard", "IPsec",
      "GTP", "GTP_U", "GTP_C", "GTP_PRIME", "Tor", "BitTorrent", "YouTube", "Netflix", "Amazon", "AmazonAWS",
      "AmazonVideo", "Apple", "AppleiCloud", "AppleiTunes", "ApplePush", "Microsoft", "Microsoft365", "Azure",
      "Cloudflare", "Twitter", "TikTok", "Spotify", "Dropbox", "Slack", "Wikipedia", "Xbox", "Steam", "Twitch",
      "Tuya_LP", "RTSP", "RTMP", "MQTT", "CoAP", "Radius", "Kerberos", "LDAP", "Syslog", "Modbus", "IEC60870",
      "ICloudPrivateRelay", "Crashlytics", "Playstore", "GoogleDrive", "GoogleDocs", "GMail", "GoogleMaps",
      "Outlook", "Yahoo", "Messenger", "WindowsUpdate", "Ookla", "AJP", "Memcached", "Redis", "MySQL",
      "PostgreSQL", "MsSQL-TDS", "Oracle", "MongoDB", "Whois-DAS", "UPnP", "SSDP", "CAPWAP", "LISP", "Bittorrent"};
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

/// Words people write for the names a rules file uses (other tools' terms, plain English). A word here is
/// suggested as its name wherever that name is a valid choice, before any spelling distance is tried.
const std::vector<std::pair<std::string_view, std::string_view>>& aliases() {
  static const std::vector<std::pair<std::string_view, std::string_view>> v = {
      // rule keys
      {"app", "family"}, {"apps", "family"}, {"application", "family"}, {"applications", "family"},
      {"service", "family"}, {"services", "family"}, {"families", "family"},
      {"protocol", "label"}, {"protocols", "label"}, {"proto", "label"}, {"labels", "label"},
      {"ndpi_label", "label"}, {"activities", "activity"}, {"categories", "category"},
      {"time", "window"}, {"times", "window"}, {"hours", "window"}, {"schedule", "window"},
      {"when", "window"}, {"time_window", "window"}, {"port", "ports"}, {"transport", "l4"},
      {"sni", "server_name"}, {"host", "server_name"}, {"hostname", "server_name"},
      {"domain", "server_name"}, {"server_names", "server_name"}, {"regions", "region"},
      // region keys
      {"prefix", "subscribers"}, {"prefixes", "subscribers"}, {"cidr", "subscribers"},
      {"cidrs", "subscribers"}, {"networks", "subscribers"}, {"subnets", "subscribers"},
      {"addresses", "subscribers"}, {"ips", "subscribers"}, {"cell_sites", "cells"},
      {"sites", "cells"}, {"ecgi", "cells"}, {"cgi", "cells"},
      // window keys
      {"from", "start"}, {"begin", "start"}, {"to", "end"}, {"until", "end"},
      {"timezone", "tz"}, {"time_zone", "tz"}, {"zone", "tz"}, {"weekdays", "days"},
      // activities
      {"messaging", "chat"}, {"message", "chat"}, {"messages", "chat"}, {"text", "chat"},
      {"voice", "call"}, {"video", "call"}, {"voip", "call"}, {"calling", "call"},
      {"file", "files"}, {"file_transfer", "files"}, {"transfer", "files"},
      {"signaling", "signalling"},
      // actions
      {"drop", "block"}, {"deny", "block"}, {"reject", "block"}, {"discard", "block"},
      {"permit", "allow"}, {"accept", "allow"}, {"pass", "allow"},
      {"limit", "throttle"}, {"ratelimit", "throttle"}, {"rate_limit", "throttle"}, {"shape", "throttle"},
      {"alert", "log"}, {"monitor", "log"},
      // sealscope policy sub-commands
      {"lint", "check"}, {"validate", "check"}, {"dry-run", "test"}, {"dryrun", "test"}, {"replay", "test"}};
  return v;
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}
}  // namespace

const std::vector<std::string>& known_label_parts() {
  static const std::vector<std::string> v = build_label_parts();
  return v;
}

const std::vector<std::string>& known_categories() {
  static const std::vector<std::string> v = {
      "Unspecified", "Media",      "VPN",           "Email",          "DataTransfer",  "Web",
      "SocialNetwork", "Download-FileTransfer-FileSharing", "Game", "Chat", "VoIP", "Database",
      "RemoteAccess", "Cloud",     "Network",       "Collaborative",  "RPC",           "Streaming",
      "System",      "SoftwareUpdate", "Music",     "Video",          "Shopping",      "Productivity",
      "FileSharing", "ConnCheck",  "IoT-Scada",     "VirtAssistant",  "Cybersecurity", "AdultContent",
      "Mining",      "Malware",    "Advertisement", "Banned_Site",    "Site_Unavailable", "Allowed_Site",
      "Antimalware", "Crypto_Currency"};
  return v;
}

const std::vector<std::string>& known_activities() {
  static const std::vector<std::string> v = {"call", "files", "dns", "chat", "signalling", "other"};
  return v;
}

bool is_known_label_part(const std::string& name) {
  const auto& v = known_label_parts();
  return std::binary_search(v.begin(), v.end(), name);
}

bool is_known_category(const std::string& name) {
  const auto& v = known_categories();
  return std::find(v.begin(), v.end(), name) != v.end();
}

bool is_known_activity(const std::string& name) {
  const auto& v = known_activities();
  return std::find(v.begin(), v.end(), name) != v.end();
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  for (const auto& [alias, name] : aliases()) {
    if (!iequal(word, alias)) continue;
    for (const auto& c : candidates) {
      if (c == name) return c;
    }
  }
  return nearest_word(word, candidates);
}

std::string suggest(const std::string& word, const std::vector<std::string>& candidates) {
  const std::string s = did_you_mean(word, candidates);
  return s.empty() ? std::string() : " (did you mean '" + s + "'?)";
}

bool glob_match(const std::string& pattern, const std::string& name) {
  // Iterative wildcard match with backtracking to the last '*'. Not fnmatch(3): it would also read '['
  // as a bracket expression, and the rule language (sealscope-rules(5), lint's has_glob) has only * and ?.
  size_t p = 0, n = 0, star = std::string::npos, mark = 0;
  auto eq = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  };
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || eq(pattern[p], name[n]))) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool label_matches(const std::string& want, const std::string& label) {
  if (want == label) return true;
  if (want.find_first_of("*?") != std::string::npos) return glob_match(want, label);
  if (want.find('.') != std::string::npos) return false;
  std::string_view master, app;
  classify::split_label(label, master, app);
  return app == want;
}

}  // namespace sealscope::policy
