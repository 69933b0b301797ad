#include "classify/detect_apps.hpp"

#include <array>

namespace sealscope::classify {
namespace {

constexpr std::array<DetLabel, static_cast<std::size_t>(DetApp::Count)> kLabels = {{
    {"", "", "", false},                       // None
    {"WhatsApp", "", "", false},               // WhatsApp
    {"WhatsAppFiles", "", "", false},          // WhatsAppFiles
    {"SignalVoip", "STUN", "", true},          // SignalVoip
    {"TelegramVoip", "STUN", "", true},        // TelegramVoip
    {"ViberVoip", "STUN", "", true},           // ViberVoip
    {"Skype_TeamsCall", "STUN", "", true},     // TeamsCall
    {"Zoom", "", "", true},                    // Zoom
    {"Discord", "", "", true},                 // Discord
    {"SD-RTN", "", "", true},                  // SdRtn
    {"OICQ", "", "", false},                   // OICQ
    {"Threema", "", "", false},                // Threema
    {"LineCall", "", "", true},                // LineCall
    {"Line", "", "", false},                   // Line
    {"Mumble", "", "", true},                  // Mumble
    {"Jabber", "", "", false},                 // Jabber
    {"DingTalk", "", "", false},               // DingTalk
    {"GoogleChat", "", "", false},             // GoogleChat
    {"Telegram", "", "", false},               // Telegram
    {"Signal", "", "", false},                 // Signal
    {"Skype_Teams", "", "", false},            // Teams
    {"GoogleCall", "STUN", "", true},          // GoogleCall
    {"MGCP", "", "", false},                   // Mgcp
    {"BFCP", "", "", false},                   // Bfcp
    {"CiscoSkinny", "", "", false},            // Skinny
    {"TeamSpeak", "", "", true},               // TeamSpeak
    {"SealChat", "", "", false},               // SealChat
    {"SealChat", "", "files", false},          // SealChatFiles
    {"SealChatCall", "", "", true},            // SealChatCall
    {"STUN", "", "", false},                   // Stun
    {"RTP", "", "", false},                    // Rtp
}};

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

/// name == domain or name ends with "." + domain (case-insensitive).
bool in_domain(std::string_view name, std::string_view domain) noexcept {
  if (name.size() < domain.size()) return false;
  const std::size_t off = name.size() - domain.size();
  for (std::size_t i = 0; i < domain.size(); ++i) {
    if (lower(name[off + i]) != domain[i]) return false;
  }
  return off == 0 || name[off - 1] == '.';
}

struct DomainApp {
  std::string_view domain;
  DetApp app;
};
// Published service domains (the vendors' own documentation and network requirement pages).
constexpr DomainApp kRealms[] = {
    {"signal.org", DetApp::SignalVoip},
    {"telegram.org", DetApp::TelegramVoip},
    {"viber.com", DetApp::ViberVoip},
};
// Most specific first. Beside the vendors' own domains: t.me and telegram.me (Telegram's link and
// web-client domains), line.naver.jp (LINE's original NAVER-hosted service domain, still used by its
// desktop clients for object storage), and the Microsoft 365 endpoint list's Teams entries
// teams.microsoft.com, teams.live.com, microsoftstream.com (meeting recordings) and hockeyapp.net (the
// Teams clients' crash and telemetry service); nDPI's own Teams host list carries the same names.
constexpr DomainApp kServerNames[] = {
    {"cdn.whatsapp.net", DetApp::WhatsAppFiles}, {"mmg.whatsapp.net", DetApp::WhatsAppFiles},
    {"whatsapp.net", DetApp::WhatsApp},          {"whatsapp.com", DetApp::WhatsApp},
    {"chat.google.com", DetApp::GoogleChat},     {"line-apps.com", DetApp::Line},
    {"line.me", DetApp::Line},                   {"line-scdn.net", DetApp::Line},
    {"dingtalk.com", DetApp::DingTalk},          {"mumble.info", DetApp::Mumble},
    {"threema.ch", DetApp::Threema},             {"discord.com", DetApp::Discord},
    {"discordapp.com", DetApp::Discord},         {"discord.gg", DetApp::Discord},
    {"discord.media", DetApp::Discord},          {"telegram.org", DetApp::Telegram},
    {"signal.org", DetApp::Signal},              {"t.me", DetApp::Telegram},
    {"telegram.me", DetApp::Telegram},
    {"line.naver.jp", DetApp::Line},             {"teams.microsoft.com", DetApp::Teams},
    {"teams.live.com", DetApp::Teams},           {"microsoftstream.com", DetApp::Teams},
    {"hockeyapp.net", DetApp::Teams},
};

}  // namespace

const DetLabel& detector_label(DetApp a) noexcept {
  const auto i = static_cast<std::size_t>(a);
  return kLabels[i < kLabels.size() ? i : 0];
}

DetApp stun_app(const StunInfo& s) noexcept {
  if (s.has_realm && s.realm_len > 0) {
    const std::string_view realm(s.realm.data(), s.realm_len < kStunTextCap ? s.realm_len : kStunTextCap - 1);
    for (const auto& r : kRealms) {
      if (in_domain(realm, r.domain)) return r.app;
    }
  }
  if (s.has_attr(0x8008) || s.has_attr(0x8050) || s.has_attr(0x8055) || s.has_attr(0x8070)) {
    return DetApp::TeamsCall;
  }
  return DetApp::None;
}

DetApp server_name_app(std::string_view name) noexcept {
  // WhatsApp's media hosts are named media-<site>.cdn.whatsapp.net or media.<site>.fna.whatsapp.net.
  if (in_domain(name, "whatsapp.net") && name.size() > 6 && lower(name[0]) == 'm' && lower(name[1]) == 'e' &&
      lower(name[2]) == 'd' && lower(name[3]) == 'i' && lower(name[4]) == 'a' && (name[5] == '.' || name[5] == '-')) {
    return DetApp::WhatsAppFiles;
  }
  for (const auto& d : kServerNames) {
    if (in_domain(name, d.domain)) return d.app;
  }
  return DetApp::None;
}

}  // namespace sealscope::classify
