// sealrelay review findings: UTC log times, failed blob writes refused, startup and usage errors, config keys,
// shutdown reasons, file modes.
#include "client/client.hpp"
#include "relay/log.hpp"
#include "relay/relay.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>
#include "support.hpp"

using namespace sealscope::e2ee;
using namespace sealscope::e2ee::client;
namespace fs = std::filesystem;

namespace {

fs::path review_dir(const std::string& tag) { return test::temp_dir("review", tag); }
using test::slurp;

} // namespace

TEST_CASE("Relay log times are UTC whatever TZ says", "[relay][review]") {
    const fs::path dir = review_dir("utc");
    const char* old = std::getenv("TZ");
    const std::string saved = old ? old : "";
    ::setenv("TZ", "Asia/Tokyo", 1);  // UTC+9 all year: a local time can never pass for UTC
    ::tzset();
    const std::time_t before = std::time(nullptr);
    {
        relay::Log log((dir / "log").string());
        log.event("probe");
    }
    const std::time_t after = std::time(nullptr);
    if (old) ::setenv("TZ", saved.c_str(), 1);
    else ::unsetenv("TZ");
    ::tzset();
    const std::string line = slurp(dir / "log");
    std::tm tm{};
    REQUIRE(::strptime(line.c_str(), "%Y-%m-%dT%H:%M:%SZ probe", &tm) != nullptr);
    const std::time_t logged = ::timegm(&tm);
    CHECK(logged >= before);
    CHECK(logged <= after);
    fs::remove_all(dir);
}
