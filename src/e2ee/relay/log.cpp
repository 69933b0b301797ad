#include "relay/log.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <stdexcept>

namespace sealscope::e2ee::relay {

Log::Log(const std::string& path) : out_(stderr), owned_(false) {
    if (!path.empty()) {
        out_ = std::fopen(path.c_str(), "a");
        if (!out_) throw std::runtime_error("cannot open log file " + path);
        owned_ = true;
    }
}

Log::~Log() {
    if (owned_) std::fclose(out_);
}

void Log::event(std::string_view name, std::string_view fields) {
    const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    std::lock_guard lock(mutex_);
    fmt::print(out_, "{:%Y-%m-%dT%H:%M:%S}Z {} {}\n", now, name, fields);
    std::fflush(out_);
}

} // namespace sealscope::e2ee::relay
