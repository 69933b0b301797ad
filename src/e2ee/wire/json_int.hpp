#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

namespace sealscope::e2ee::wire {

/// An integer field of a JSON message from the network, range-checked. nlohmann's get<T>() converts a
/// float with a C++ cast (undefined behaviour when out of range, found by fuzz_relay_request) and wraps
/// negative or large integers; this accepts only JSON integers that fit T, else throws
/// nlohmann::json::type_error (callers already map JSON errors to "malformed ...").
template <class T>
T json_int(const nlohmann::json& v) {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
    using L = std::numeric_limits<T>;
    bool ok = false;
    T out{};
    if (v.is_number_unsigned()) {
        const auto u = v.get<std::uint64_t>();
        ok = u <= static_cast<std::uint64_t>(L::max());
        if (ok) out = static_cast<T>(u);
    } else if (v.is_number_integer()) {
        const auto s = v.get<std::int64_t>();
        if constexpr (L::is_signed) ok = s >= static_cast<std::int64_t>(L::min()) && s <= static_cast<std::int64_t>(L::max());
        else ok = s >= 0 && static_cast<std::uint64_t>(s) <= static_cast<std::uint64_t>(L::max());
        if (ok) out = static_cast<T>(s);
    }
    if (!ok)
        throw nlohmann::json::type_error::create(302, "expected an integer in range, got " + std::string(v.type_name()),
                                                 &v);
    return out;
}

} // namespace sealscope::e2ee::wire
