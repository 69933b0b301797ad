#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "classify/labels.hpp"
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

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
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
  std::string best;
  size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

bool glob_match(const std::string& pattern, const std::string& name) {
  // Iterative wildcard match with backtracking to the last '*'.
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
