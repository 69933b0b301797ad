#pragma once

#include "client/client.hpp"
#include "client/media.hpp"

#include <optional>
#include <ostream>

namespace sealscope::e2ee::client {

/// Longest call a callee accepts from an offer (seconds).
inline constexpr double kMaxCallSeconds = 4 * 3600;

/// Caller side of a call: relay token, offer with a fresh SRTP master, wait for the answer, media, hang-up.
CallStats place_call(Client& c, const std::string& peer, double seconds, bool video);
/// Callee side: accept an offer event and run the media for the offered duration.
CallStats answer_call(Client& c, const Event& offer);

/// How to play a scenario, beyond what its file says.
struct ScenarioOptions {
    std::string relay;                       ///< host:port overriding the file's `relay` (empty: the file's)
    std::optional<std::uint16_t> blob_port;  ///< overrides the file's `blob_port` (and chat port + 1)
    bool null_cipher = false;                ///< DEBUG ONLY: every user in null-cipher mode (ClientConfig)
};

/// Play a scenario YAML file (users and actions) against a relay; writes a JSON-lines action log.
/// Throws std::runtime_error with file:line on malformed scenarios.
void run_scenario(const std::string& path, std::ostream& action_log, const ScenarioOptions& options);
/// The same with only the relay address overridden.
void run_scenario(const std::string& path, std::ostream& action_log, const std::string& relay_override = "");

} // namespace sealscope::e2ee::client
