#include "classify/labels.hpp"

#include <cstdint>

namespace sealscope::classify {

namespace {

struct Rename {
  std::string_view from, to;
};
// Whole-label renames first (a 4.2 name whose current form depends on its master), then per-name ones.
constexpr Rename kWholeRenames[] = {
    {"STUN.Telegram", "STUN.TelegramVoip"},
    {"STUN.Viber", "STUN.ViberVoip"},
    {"STUN.Teams", "STUN.Skype_TeamsCall"},
    {"STUN.Skype", "STUN.Skype_TeamsCall"},
};
constexpr Rename kNameRenames[] = {
    {"Messenger", "FacebookMessenger"},
    {"GoogleHangoutDuo", "GoogleCall"},
    {"SkypeCall", "Skype_TeamsCall"},
    {"Skype", "Skype_Teams"},
};

struct FamilyOf {
  std::string_view app, family;
};
constexpr FamilyOf kFamilies[] = {
    {"WhatsApp", "WhatsApp"},         {"WhatsAppCall", "WhatsApp"},     {"WhatsAppFiles", "WhatsApp"},
    {"Signal", "Signal"},             {"SignalVoip", "Signal"},         {"Telegram", "Telegram"},
    {"TelegramVoip", "Telegram"},     {"FacebookMessenger", "Messenger"}, {"Messenger", "Messenger"},
    {"FacebookVoip", "Messenger"},    {"Teams", "Teams"},               {"Skype_Teams", "Teams"},
    {"Skype_TeamsCall", "Teams"},     {"SkypeCall", "Teams"},           {"Skype", "Teams"},
    {"GoogleCall", "GoogleMeet"},     {"GoogleHangoutDuo", "GoogleMeet"}, {"GoogleMeet", "GoogleMeet"},
    {"GoogleChat", "GoogleChat"},     {"Zoom", "Zoom"},                 {"Viber", "Viber"},
    {"ViberVoip", "Viber"},           {"Discord", "Discord"},           {"Line", "Line"},
    {"LineCall", "Line"},             {"Threema", "Threema"},           {"IMO", "IMO"},
    {"WeChat", "WeChat"},             {"KakaoTalk", "KakaoTalk"},       {"KakaoTalk_Voice", "KakaoTalk"},
    {"Snapchat", "Snapchat"},         {"SnapchatCall", "Snapchat"},     {"Webex", "Webex"},
    {"Jabber", "Jabber"},             {"QQ", "QQ"},                     {"OICQ", "QQ"},
    {"DingTalk", "DingTalk"},         {"SD-RTN", "Agora"},              {"Mumble", "Mumble"},
    {"TeamSpeak", "TeamSpeak"},       {"SealChat", "SealChat"},         {"SealChatCall", "SealChat"},
};

// Generic real-time protocols: family "VoIP" when no app names a family.
constexpr std::string_view kVoipMedia[] = {"RTP", "RTCP", "SRTP", "STUN", "DTLS", "IAX"};
constexpr std::string_view kVoipSignalling[] = {"SIP", "H323", "MGCP", "CiscoSkinny", "Skinny", "BFCP", "Megaco"};

template <typename C>
bool in(const C& c, std::string_view s) {
  for (std::string_view x : c) {
    if (x == s) return true;
  }
  return false;
}

std::string_view family_of_name(std::string_view name) {
  for (const auto& f : kFamilies) {
    if (f.app == name) return f.family;
  }
  return {};
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

void split_label(std::string_view label, std::string_view& master, std::string_view& app) {
  const size_t dot = label.find('.');
  if (dot == std::string_view::npos) {
    master = {};
    app = label;
  } else {
    master = label.substr(0, dot);
    app = label.substr(dot + 1);
  }
}

std::string current_label(std::string_view label) {
  for (const auto& r : kWholeRenames) {
    if (r.from == label) return std::string(r.to);
  }
  std::string_view master, app;
  split_label(label, master, app);
  auto rename = [](std::string_view n) {
    for (const auto& r : kNameRenames) {
      if (r.from == n) return r.to;
    }
    return n;
  };
  if (master.empty()) return std::string(rename(app));
  std::string out(rename(master));
  out += '.';
  out += rename(app);
  return out;
}

std::string_view family_of(std::string_view label) {
  std::string_view master, app;
  split_label(label, master, app);
  std::string_view f = family_of_name(app);
  if (f.empty() && !master.empty()) f = family_of_name(master);
  if (!f.empty()) return f;
  if (in(kVoipMedia, app) || in(kVoipSignalling, app) || in(kVoipMedia, master) || in(kVoipSignalling, master)) {
    // A generic VoIP master with a non-family app (e.g. "STUN.AmazonAWS") is still VoIP traffic.
    return "VoIP";
  }
  return {};
}

std::string_view activity_of(std::string_view label, uint8_t l4) {
  std::string_view master, app;
  split_label(label, master, app);
  if (master == "DNS" || master == "MDNS" || master == "LLMNR" || (master.empty() && (app == "DNS"))) {
    return family_of(label).empty() && master.empty() ? "other" : "dns";
  }
  const std::string_view fam = family_of(label);
  if (fam.empty()) return "other";
  if (app == "WhatsAppFiles") return "files";
  if (ends_with(app, "Call") || ends_with(app, "Voip") || ends_with(app, "Voice") || app == "SD-RTN" ||
      app == "Mumble" || app == "TeamSpeak" || master == "Mumble" || master == "TeamSpeak") {
    return "call";
  }
  if (in(kVoipMedia, master) && master != "IAX") return "call";
  if (fam == "VoIP") {
    if (in(kVoipMedia, app)) return "call";
    return "signalling";
  }
  if ((app == "Zoom" || app == "Discord" || app == "Webex") && l4 == 17) return "call";
  return "chat";
}

const std::initializer_list<std::string_view>& families() {
  static const std::initializer_list<std::string_view> kAll = {
      "WhatsApp", "Signal",  "Telegram", "Messenger", "Teams",  "GoogleMeet", "GoogleChat", "Zoom",
      "Viber",    "Discord", "Line",     "Threema",   "IMO",    "WeChat",     "KakaoTalk",  "Snapchat",
      "Webex",    "Jabber",  "QQ",       "DingTalk",  "Agora",  "Mumble",     "TeamSpeak",  "VoIP",
      "SealChat"};
  return kAll;
}

}  // namespace sealscope::classify
