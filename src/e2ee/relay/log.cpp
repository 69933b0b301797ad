#include "relay/log.hpp"

#include "common/display_text.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace sealscope::e2ee::relay {

Log::Log(const std::string& path) : out_(stderr), owned_(false), path_(path.empty() ? "standard error" : path) {
    if (!path.empty()) {
        out_ = std::fopen(path.c_str(), "a");
        if (!out_) throw std::runtime_error("cannot open log file " + path + ": " + std::strerror(errno));
        owned_ = true;
    }
}

Log::~Log() {
    if (owned_) std::fclose(out_);
}

void Log::event(std::string_view name, std::string_view fields) {
    // fmt::gmtime, not the time_point itself: libfmt 9 formats a system_clock time in the local zone, and the
    // line says Z (UTC).
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    // The fields hold what peers sent and the system said (reasons, names): as display text, one line each,
    // so a log on a terminal (standard error) cannot be sent a control sequence or a line of its own.
    const std::string line =
        fmt::format("{:%Y-%m-%dT%H:%M:%S}Z {} {}\n", fmt::gmtime(now), name, sealscope::display_text(fields));
    std::lock_guard lock(mutex_);
    // fwrite, not fmt::print (which throws on a short write): a full disk under the log costs log lines, not
    // the relay. The first loss is said once on standard error (when the log is a file), and counted.
    const bool ok = std::fwrite(line.data(), 1, line.size(), out_) == line.size() && std::fflush(out_) == 0;
    if (ok) return;
    std::clearerr(out_);
    if (lost_++ == 0 && owned_) {
        const std::string warn =
            "sealrelay: log " + sealscope::display_text(path_) +
            ": write failed; events are lost until it can be written\n";
        std::fwrite(warn.data(), 1, warn.size(), stderr);
    }
}

uint64_t Log::lost() const {
    std::lock_guard lock(mutex_);
    return lost_;
}

} // namespace sealscope::e2ee::relay
