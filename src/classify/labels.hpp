#pragma once
#include <string>
#include <string_view>

namespace sealscope::classify {

/// Label vocabulary (GUIDE §4): current nDPI names, service family and activity.

/// Renames nDPI 4.2 protocol names to current nDPI names, per component ("STUN.Telegram" → "STUN.TelegramVoip").
std::string current_label(std::string_view label);

/// The service family of a label ("WhatsApp", "Signal", …, "VoIP"), empty when none.
std::string_view family_of(std::string_view label);

/// The activity of a label on transport `l4` (6 TCP, 17 UDP): call, files, dns, chat, signalling, other.
std::string_view activity_of(std::string_view label, uint8_t l4);

/// Splits "MASTER.APP" into its parts; a single name is the app with an empty master.
void split_label(std::string_view label, std::string_view& master, std::string_view& app);

/// Every family name, in the GUIDE's order (for lint, did-you-mean and reports).
const std::initializer_list<std::string_view>& families();

}  // namespace sealscope::classify
