#pragma once

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace sealscope::e2ee::relay {

/// Line-oriented metadata log: "TIMESTAMP event key=value ...". Never given message contents.
class Log {
public:
    /// Log to `path`, or to stderr when empty.
    explicit Log(const std::string& path = "");
    ~Log();
    Log(const Log&) = delete;
    Log& operator=(const Log&) = delete;
    /// Write one event line; `fields` is pre-formatted "k=v k=v".
    void event(std::string_view name, std::string_view fields = "");
    /// Event lines that could not be written (a full disk): the relay goes on without them.
    uint64_t lost() const;

private:
    std::FILE* out_;
    bool owned_;
    std::string path_;
    uint64_t lost_ = 0;
    mutable std::mutex mutex_;
};

} // namespace sealscope::e2ee::relay
