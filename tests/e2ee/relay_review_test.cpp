// sealrelay review findings: UTC log times, failed blob writes refused, startup and usage errors, config keys,
// shutdown reasons, file modes.
#include "client/client.hpp"
#include "relay/log.hpp"
#include "relay/relay.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
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

/// Run `args` through /bin/sh with standard error to `err`; the exit status.
int run(const std::string& args, const fs::path& err) {
    const std::string cmd = "timeout 20 " + std::string(SEALRELAY_BIN) + " " + args + " 2>" + err.string();
    const int st = std::system(cmd.c_str());
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

using test::eventually;

} // namespace

TEST_CASE("Relay log times are UTC whatever TZ says", "[relay][review]") {
    const fs::path dir = review_dir("utc");
    const char* old = std::getenv("TZ");
    const std::string saved = old ? old : "";
    ::setenv("TZ", "Asia/Tokyo", 1);  // UTC+9 all year: a local time can never pass for UTC
    ::tzset();
    // The clock the log reads (system_clock, i.e. CLOCK_REALTIME), not std::time(): glibc's time() reads the
    // coarse clock, which can lag by a tick, so across a second boundary the line could be a second past "after".
    const auto wall = [] { return std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()); };
    const std::time_t before = wall();
    {
        relay::Log log((dir / "log").string());
        log.event("probe");
    }
    const std::time_t after = wall();
    if (old) ::setenv("TZ", saved.c_str(), 1);
    else ::unsetenv("TZ");
    ::tzset();
    const std::string line = slurp(dir / "log");
    CHECK_THROWS_WITH(relay::Log((dir / "no-such-dir" / "log").string()),
                      "cannot open log file " + (dir / "no-such-dir" / "log").string() +
                          ": No such file or directory");
    std::tm tm{};
    REQUIRE(::strptime(line.c_str(), "%Y-%m-%dT%H:%M:%SZ probe", &tm) != nullptr);
    const std::time_t logged = ::timegm(&tm);
    CHECK(logged >= before);
    CHECK(logged <= after);
    fs::remove_all(dir);
}

namespace {

/// A sealrelay child on free ports (read from its ports file), optionally with a file size limit: writes past
/// it fail with EFBIG (SIGXFSZ ignored), as on a full disk.
class Child {
public:
    Child(const fs::path& dir, rlim_t fsize_limit = RLIM_INFINITY) : dir_(dir) {
        const std::string data = (dir / "relay").string(), log = (dir / "relay.log").string(),
                          ports = (dir / "ports").string();
        pid_ = ::fork();
        if (pid_ == 0) {
            ::signal(SIGXFSZ, SIG_IGN);
            const rlimit lim{fsize_limit, fsize_limit};
            ::setrlimit(RLIMIT_FSIZE, &lim);
            ::execl(SEALRELAY_BIN, "sealrelay", "-d", data.c_str(), "-l", log.c_str(), "--chat-port", "0",
                    "--blob-port", "0", "--media-port", "0", "--ports-file", ports.c_str(), nullptr);
            ::_exit(127);
        }
        REQUIRE(eventually(5000, [&] { return fs::exists(dir / "ports"); }));
        std::ifstream in(dir / "ports");
        std::string line;
        while (std::getline(in, line)) {
            const auto v = static_cast<std::uint16_t>(std::stoi(line.substr(line.find('=') + 1)));
            if (line.rfind("chat=", 0) == 0) chat_ = v;
            if (line.rfind("blob=", 0) == 0) blob_ = v;
        }
    }
    ~Child() {
        if (pid_ > 0) stop();
    }
    /// SIGTERM, then the exit status.
    int stop() {
        ::kill(pid_, SIGTERM);
        int st = 0;
        ::waitpid(pid_, &st, 0);
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }
    ClientConfig client() const {
        ClientConfig c = test::client_config(chat_, blob_);
        c.request_timeout_ms = 10000;
        return c;
    }

private:
    fs::path dir_;
    pid_t pid_ = -1;
    std::uint16_t chat_ = 0, blob_ = 0;
};

} // namespace

TEST_CASE("sealrelay: the ports file is removed at stop, and one it cannot write stops the start", "[relay][review]") {
    const fs::path dir = review_dir("ports");
    {
        Child relay(dir);
        CHECK(fs::exists(dir / "ports"));
        CHECK(relay.stop() == 0);
        CHECK_FALSE(fs::exists(dir / "ports"));
    }
    CHECK(run("-d " + (dir / "d").string() + " --chat-port 0 --blob-port 0 --media-port 0 --ports-file " +
                  (dir / "no-such-dir" / "ports").string(),
              dir / "err") == 1);
    const std::string err = slurp(dir / "err");
    CHECK(err.find("ports file " + (dir / "no-such-dir" / "ports").string() + ": cannot write: No such file") !=
          std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("sealrelay: negative counts and stray arguments are usage errors, huge timeouts are out of range",
          "[relay][review]") {
    const fs::path dir = review_dir("usage");
    const std::string base = "-d " + (dir / "d").string() + " --chat-port 0 --blob-port 0 --media-port 0 ";
    for (const char* opt : {"--max-connections -1", "--idle-timeout -5", "--send-timeout -1", "--blob-ttl -1"}) {
        INFO(opt);
        CHECK(run(base + opt, dir / "err") == 2);
        CHECK(slurp(dir / "err").find("expected a whole number, 0 or more") != std::string::npos);
    }
    CHECK(run(base + "config.yaml", dir / "err") == 2);
    CHECK(slurp(dir / "err").find("unexpected argument 'config.yaml'") != std::string::npos);
    // 4294968 s would be 704 ms once multiplied into an int of milliseconds.
    CHECK(run(base + "--idle-timeout 4294968", dir / "err") == 1);
    CHECK(slurp(dir / "err").find("idle_timeout_s must be between 1 and 86400 seconds (got 4294968)") !=
          std::string::npos);
    CHECK(run(base + "--blob-ttl 99999999999999999", dir / "err") == 1);
    CHECK(slurp(dir / "err").find("blob_ttl_s must be 0 (never expire) or up to") != std::string::npos);
    relay::RelayConfig c;
    c.send_timeout_s = relay::kMaxTimeoutS;
    CHECK_NOTHROW(relay::validate(c));
    c.send_timeout_s = relay::kMaxTimeoutS + 1;
    CHECK_THROWS_WITH(relay::validate(c), Catch::Contains("send_timeout_s must be between"));
    fs::remove_all(dir);
}

TEST_CASE("Relay config: an unknown key or a wrong type names file:line:column", "[relay][review]") {
    const fs::path dir = review_dir("keys");
    auto load_error = [&](const std::string& yaml) {
        {
            std::ofstream y(dir / "relay.yaml");
            y << yaml;
        }
        try {
            (void)relay::load_config((dir / "relay.yaml").string());
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
        return std::string("(loaded)");
    };
    const std::string f = (dir / "relay.yaml").string();
    CHECK(load_error("listen: 127.0.0.1\nchat-port: 6000\n") ==
          f + ":2:1: unknown key 'chat-port' (did you mean 'chat_port'?)");
    CHECK(load_error("max_conections: 5\n") ==
          f + ":1:1: unknown key 'max_conections' (did you mean 'max_connections'?)");
    const std::string far = load_error("colour: blue\n");
    CHECK(far.rfind(f + ":1:1: unknown key 'colour'; expected one of: listen, chat_port,", 0) == 0);
    CHECK(load_error("idle_timeout_s: soon\n") == f + ":1:17: idle_timeout_s: expected a whole number");
    CHECK(load_error("chat_port: 70000\n") == f + ":1:12: chat_port: expected a port number (0..65535)");
    CHECK(load_error("- a\n- b\n") == f + ":1:1: expected a mapping of settings (key: value)");
    CHECK(load_error("listen: 127.0.0.1\nmax_queued_envelopes: 0\n") ==
          f + ":2:23: max_queued_envelopes must be at least 1");
    CHECK(load_error("idle_timeout_s: 100000\n") ==
          f + ":1:17: idle_timeout_s must be between 1 and 86400 seconds (got 100000)");
    CHECK(load_error("idle_timeout_s: 30\n") == "(loaded)");
    // Columns count characters, as an editor does ("é" is two bytes: byte column 27), also after a BOM.
    CHECK(load_error("{listen: \"é\", chat_port: x}\n") == f + ":1:26: chat_port: expected a port number (0..65535)");
    CHECK(load_error("\xEF\xBB\xBF{listen: \"é\", chat_port: x}\n") ==
          f + ":1:26: chat_port: expected a port number (0..65535)");
    CHECK_THROWS_WITH(relay::load_config((dir / "none.yaml").string()),
                      (dir / "none.yaml").string() + ": cannot read the config file: No such file or directory");
    CHECK_THROWS_WITH(relay::load_config(dir.string()), dir.string() + ": is a directory, not a config file");
    fs::remove_all(dir);
}

TEST_CASE("A blob the relay cannot write is refused, not confirmed, and no partial file stays", "[relay][review]") {
    const fs::path dir = review_dir("fullblob");
    Child relay(dir, 400 * 1024);  // files of at most 400 KB: a 600 KB upload cannot be written whole
    Client alice(relay.client(), Account::create("alice"));
    alice.connect(true);
    crypto::Bytes big(600 * 1024);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 31);
    CHECK_THROWS_WITH(alice.upload_blob(big), Catch::Contains("blob upload refused: blob not stored: write: File too large"));
    // Nothing half-written is left; the relay (and the connection) go on: a small upload still works.
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir / "relay" / "blobs")) ++files;
    CHECK(files == 0);
    const crypto::Bytes small(1000, 7);
    CHECK(alice.download_blob(alice.upload_blob(small)) == small);
    alice.disconnect();
    CHECK(relay.stop() == 0);
    const std::string log = slurp(dir / "relay.log");
    CHECK(log.find("blob_put_failed") != std::string::npos);
    CHECK(log.find("reason=\"write: File too large\"") != std::string::npos);
    CHECK(log.find("bytes=" + std::to_string(big.size()) + "\n") == std::string::npos);  // no blob_put for it
    fs::remove_all(dir);
}

TEST_CASE("Relay start and stop: the port in a bind error, no stop without a start, stop named", "[relay][review]") {
    const fs::path dir = review_dir("stop");
    {
        auto taken = wire::tcp_listen("127.0.0.1", 0);
        const auto port = wire::bound_port(taken.get());
        auto cfg = test::relay_config(dir);
        cfg.blob_port = port;
        relay::Relay r(cfg);
        CHECK_THROWS_WITH(r.start(), "blob port: bind 127.0.0.1:" + std::to_string(port) +
                                         "/tcp: Address already in use");
    }
    std::string log = slurp(dir / "relay.log");
    CHECK(log.find("Z start ") == std::string::npos);
    CHECK(log.find("Z stop") == std::string::npos);

    relay::Relay r(test::relay_config(dir));
    r.start();
    Client alice(test::client_config(r.chat_port(), r.blob_port()), Account::create("alice"));
    alice.connect(true);
    alice.ping();
    r.stop();
    log = slurp(dir / "relay.log");
    CHECK(log.find("conn_close peer=127.0.0.1:") != std::string::npos);
    CHECK(log.find("reason=\"relay stopping\"") != std::string::npos);
    CHECK(log.find("closed by peer") == std::string::npos);
    CHECK(log.find("Z stop") != std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("Relay files: the key is created 0600, a bad key or database is named", "[relay][review]") {
    const fs::path dir = review_dir("files");
    const auto cfg = test::relay_config(dir);
    const fs::path key = fs::path(cfg.data_dir) / "relay_static.key", db = fs::path(cfg.data_dir) / "relay.db";
    const mode_t old = ::umask(0);  // even so, never readable by others
    { relay::Relay r(cfg); }
    ::umask(old);
    struct stat st{};
    REQUIRE(::stat(key.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    {
        std::ofstream(key, std::ios::trunc) << "not-hex\n";
    }
    CHECK_THROWS_WITH(relay::Relay(cfg), Catch::StartsWith("relay key " + key.string() + ": "));
    fs::remove(key);
    {
        std::ofstream(db, std::ios::trunc) << std::string(4096, 'x');
    }
    fs::remove(db.string() + "-wal");
    fs::remove(db.string() + "-shm");
    CHECK_THROWS_WITH(relay::Relay(cfg),
                      Catch::StartsWith("database " + db.string() + ": ") && Catch::Contains("not a database"));
    fs::remove_all(dir);
}

TEST_CASE("Relay limits: accounts and call allocations per user", "[relay][review][limits]") {
    const fs::path dir = review_dir("caps");
    auto cfg = test::relay_config(dir);
    cfg.max_accounts = 2;
    cfg.max_calls_per_user = 2;
    relay::Relay r(cfg);
    r.start();
    const ClientConfig cc = test::patient_client(r);
    Client alice(cc, Account::create("alice"));
    Client bob(cc, Account::create("bob"));
    alice.connect(true);
    bob.connect(true);
    Client carol(cc, Account::create("carol"));
    CHECK_THROWS_WITH(carol.connect(true), Catch::Contains("too many accounts"));
    bob.disconnect();
    bob.connect(false);  // an existing account still logs in
    bob.ping();

    (void)alice.request({{"t", "call_alloc"}});
    (void)alice.request({{"t", "call_alloc"}});
    CHECK_THROWS_WITH(alice.request({{"t", "call_alloc"}}), Catch::Contains("too many calls"));
    alice.ping();  // refused, not disconnected
    CHECK(bob.request({{"t", "call_alloc"}}).at("t") == "call_token");  // per user
    alice.disconnect();
    bob.disconnect();
    r.stop();
    const std::string log = slurp(dir / "relay.log");
    CHECK(log.find("limit_reached limit=max_accounts") != std::string::npos);
    CHECK(log.find("limit_reached limit=max_calls_per_user") != std::string::npos);
    // Both are config keys.
    {
        std::ofstream y(dir / "caps.yaml");
        y << "max_accounts: 7\nmax_calls_per_user: 3\n";
    }
    const auto c = relay::load_config((dir / "caps.yaml").string());
    CHECK(c.max_accounts == 7);
    CHECK(c.max_calls_per_user == 3);
    fs::remove_all(dir);
}

TEST_CASE("Relay limit: blob storage per user, given back when blobs expire", "[relay][review][limits]") {
    const fs::path dir = review_dir("storage");
    auto cfg = test::relay_config(dir);
    cfg.max_blob_storage_per_user = 10000;
    cfg.blob_ttl_s = 2;
    relay::Relay r(cfg);
    r.start();
    const ClientConfig cc = test::patient_client(r);
    Client alice(cc, Account::create("alice"));
    Client bob(cc, Account::create("bob"));
    alice.connect(true);
    bob.connect(true);
    const std::string first = alice.upload_blob(crypto::Bytes(4000, 1));
    (void)alice.upload_blob(crypto::Bytes(4000, 2));
    CHECK_THROWS_WITH(alice.upload_blob(crypto::Bytes(4000, 3)), Catch::Contains("blob storage full"));
    CHECK(alice.download_blob(first) == crypto::Bytes(4000, 1));  // refused, the connection still serves
    (void)bob.upload_blob(crypto::Bytes(4000, 4));                // per user
    // Once alice's blobs have expired, their bytes count no more.
    REQUIRE(eventually(8000, [&] { return !fs::exists(dir / "relay" / "blobs" / first); }));
    REQUIRE(eventually(8000, [&] {
        try {
            (void)alice.upload_blob(crypto::Bytes(4000, 5));
            return true;
        } catch (const ClientError&) {
            return false;
        }
    }));
    alice.disconnect();
    bob.disconnect();
    r.stop();
    const std::string log = slurp(dir / "relay.log");
    CHECK(log.find("limit_reached limit=max_blob_storage_per_user") != std::string::npos);
    CHECK(log.find("bytes=4000 used=8000 max=10000") != std::string::npos);
    fs::remove_all(dir);
}

namespace {

/// A child process holding a TCP connection to 127.0.0.1:`port` until killed (its descriptors are not
/// this process's, so the relay's accept() gets the numbers this process frees).
pid_t connected_child(std::uint16_t port) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int s = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(s, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) ::_exit(1);
        for (;;) ::pause();
    }
    return pid;
}

void end_child(pid_t pid) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
}

} // namespace

TEST_CASE("Relay stop shuts down a connection that reused a closing one's descriptor number", "[relay][review]") {
    // The log is a pipe the test fills, so the relay's thread for the first connection stalls in its
    // conn_close line right after closing the socket; a second connection accepted then gets the same
    // descriptor number. stop() must still shut that one down rather than wait for its handshake timeout.
    const fs::path dir = review_dir("fdreuse");
    auto cfg = test::relay_config(dir);
    cfg.handshake_timeout_s = 30;
    const fs::path fifo = dir / "log.fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    cfg.log_file = fifo.string();
    const int rd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    REQUIRE(rd >= 0);
    std::string seen;
    auto drain = [&] {
        char b[65536];
        ssize_t n;
        while ((n = ::read(rd, b, sizeof b)) > 0) seen.append(b, static_cast<std::size_t>(n));
    };
    relay::Relay r(cfg);
    r.start();
    const pid_t first = connected_child(r.chat_port());
    REQUIRE(eventually(3000, [&] {
        drain();
        return seen.find("conn_open") != std::string::npos;
    }));
    const int wr = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    REQUIRE(wr >= 0);
    const std::string junk(4096, 'j');
    while (::write(wr, junk.data(), junk.size()) > 0) {
    }
    while (::write(wr, "j", 1) > 0) {
    }
    end_child(first);  // its handshake fails; the relay closes the socket and stalls logging conn_close
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const pid_t second = connected_child(r.chat_port());
    std::this_thread::sleep_for(std::chrono::milliseconds(600));  // accepted: the accept loop polls every 250 ms
    std::atomic<bool> done{false};
    std::thread reader([&] {
        while (!done) {
            drain();
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    });
    const auto t0 = std::chrono::steady_clock::now();
    r.stop();
    const auto took = std::chrono::steady_clock::now() - t0;
    done = true;
    reader.join();
    drain();
    end_child(second);
    ::close(wr);
    ::close(rd);
    CHECK(took < std::chrono::seconds(5));
    CHECK(seen.find("reason=\"relay stopping\"") != std::string::npos);
    fs::remove_all(dir);
}
