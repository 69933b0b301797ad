#pragma once

#include "client/client.hpp"
#include "client/media.hpp"

#include <optional>
#include <ostream>

namespace sealscope::e2ee::client {

/// Longest call (seconds): the most `call --seconds` and a scenario's call accept, and a callee accepts
/// from an offer. A call lasts more than 0 seconds.
inline constexpr double kMaxCallSeconds = 4 * 3600;
/// True for a call length in (0, kMaxCallSeconds] (false for NaN).
inline bool valid_call_seconds(double s) { return s > 0 && s <= kMaxCallSeconds; }
/// How long place_call waits for the answer (seconds).
inline constexpr int kAnswerWaitSeconds = 30;

/// Caller side of a call: relay token, offer with a fresh SRTP master, wait for the answer, media, hang-up.
/// Checks `seconds` (valid_call_seconds) and that the relay's address resolves before sending anything.
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
