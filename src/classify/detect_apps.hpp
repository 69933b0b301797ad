#pragma once
// Naming rules that turn protocol facts into an application: STUN attributes (RFC 5389/8489 REALM,
// vendor attributes) and TLS/QUIC server names. Pure functions, no allocation.
//
//  - STUN REALM (RFC 8489 §14.9) names the TURN service's authentication realm, which deployed
//    messengers set to their own domain: "signal.org" (Signal's TURN relays), "telegram.org"
//    (Telegram's call relays), "viber.com". The realm must equal the domain or end in ".domain".
//  - Microsoft's STUN/TURN extensions ([MS-TURN] §2.2.2 MS-VERSION 0x8008, MS-SEQUENCE-NUMBER
//    0x8050, MS-SERVICE-QUALITY 0x8055; [MS-ICE2] §2.2.2 IMPLEMENTATION-VERSION 0x8070) are only
//    sent by Skype/Teams/Lync media stacks.
//  - Server names: a suffix table of the messaging services' published domains (label boundary
//    match, case-insensitive), used only where nDPI named no messaging application.

#include <cstdint>
#include <string_view>

#include "classify/stun.hpp"

namespace sealscope::classify {

/// Applications our detectors can name (indices into detector_labels()).
enum class DetApp : uint8_t {
  None = 0,
  WhatsApp,
  WhatsAppFiles,
  SignalVoip,
  TelegramVoip,
  ViberVoip,
  TeamsCall,
  Zoom,
  Discord,
  SdRtn,
  OICQ,
  Threema,
  LineCall,
  Line,
  Mumble,
  Jabber,
  DingTalk,
  GoogleChat,
  Telegram,
  Signal,
  Teams,
  GoogleCall,
  Mgcp,
  Bfcp,
  Skinny,
  TeamSpeak,
  SealChat,
  SealChatFiles,
  SealChatCall,
  Stun,      ///< generic STUN (e.g. over TCP), no app
  Rtp,       ///< generic RTP media, no app
  Count
};

/// How a DetApp is written: the app name (current nDPI vocabulary), the master to use when the flow's
/// own master is not a generic carrier (may be empty), the activity when it is not derived from the
/// label (may be empty), and whether the app is a call (call-cache anchor).
struct DetLabel {
  std::string_view app;
  std::string_view default_master;
  std::string_view activity;
  bool call;
};

/// The label of an app id.
const DetLabel& detector_label(DetApp a) noexcept;

/// The application a STUN message names by REALM or vendor attributes, None when it names none.
DetApp stun_app(const StunInfo& s) noexcept;

/// The application a TLS/QUIC/HTTP server name belongs to, None when the table has no entry.
DetApp server_name_app(std::string_view name) noexcept;

}  // namespace sealscope::classify
