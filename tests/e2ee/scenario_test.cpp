// `sealchat scenario` end to end: real sealrelay and sealchat processes on loopback, verdict from the
// clients' own action log and exit status.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include "support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

fs::path scenario_dir(const std::string& tag) { return sealscope::e2ee::test::temp_dir("scn", tag); }

/// fork+exec with stdout/stderr to files; the child is killed if still running on destruction.
class Child {
public:
    Child(const std::vector<std::string>& argv, const fs::path& out, const fs::path& err) {
        pid_ = ::fork();
        if (pid_ == 0) {
            const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(o, 1);
            ::dup2(e, 2);
            std::vector<char*> args;
            for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            ::execv(args[0], args.data());
            ::_exit(127);
        }
    }
    ~Child() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    /// Exit status, or -1 if still running after `seconds` (then killed).
    int wait(double seconds) {
        const auto end = Clock::now() + std::chrono::duration<double>(seconds);
        while (Clock::now() < end) {
            int st = 0;
            if (::waitpid(pid_, &st, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return -1;
    }
    void terminate() {
        if (pid_ > 0) ::kill(pid_, SIGTERM);
    }

private:
    pid_t pid_ = -1;
};

using sealscope::e2ee::test::slurp;

} // namespace

TEST_CASE("sealchat scenario: 3 users, texts, receipts, typing, a file, a call and keepalives through a real relay",
          "[scenario][e2e]") {
    const auto t0 = Clock::now();
    const fs::path dir = scenario_dir("play");
    Child relay({SEALRELAY_BIN, "-d", (dir / "relay").string(), "-l", (dir / "relay.log").string(), "--chat-port", "0",
                 "--blob-port", "0", "--media-port", "0", "--ports-file", (dir / "ports").string()},
                dir / "relay.out", dir / "relay.err");
    for (int i = 0; i < 100 && !fs::exists(dir / "ports"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE(fs::exists(dir / "ports"));
    std::map<std::string, int> ports;
    {
        std::ifstream in(dir / "ports");
        std::string line;
        while (std::getline(in, line)) ports[line.substr(0, line.find('='))] = std::stoi(line.substr(line.find('=') + 1));
    }
    {
        std::ofstream y(dir / "scenario.yaml");
        y << "relay: 127.0.0.1:" << ports["chat"] << "\n"
          << "blob_port: " << ports["blob"] << "\n"
          << "seed: 5\nkeepalive_s: 1.0\ndrain_s: 12\nusers: [alice, bob, carol]\nactions:\n"
          << "  - chat: {from: alice, to: bob, messages: 3, gap_median_s: 0.2, gap_sigma: 0.6, reply_prob: 0.5,"
             " typing_s_per_char: 0.005}\n"
          << "  - chat: {from: carol, to: alice, messages: 2, gap_median_s: 0.2, gap_sigma: 0.4, sealed: true,"
             " typing_s_per_char: 0.005}\n"
          << "  - file: {from: alice, to: bob, bytes: 30000}\n"
          << "  - call: {from: bob, to: carol, seconds: 2}\n"
          << "  - idle: {seconds: 1.5}\n";
    }
    Child chat({SEALCHAT_BIN, "--log", (dir / "actions.jsonl").string(), "scenario", (dir / "scenario.yaml").string()},
               dir / "chat.out", dir / "chat.err");
    const int status = chat.wait(28);
    INFO("sealchat stderr: " << slurp(dir / "chat.err"));
    REQUIRE(status == 0);

    // The clients' own log: what was scripted and what each recipient decrypted.
    std::map<std::string, int> texts;  // "from>to" -> scripted texts
    std::map<std::string, json> summary;
    int files_received = 0, call_legs_with_media = 0, keepalives = 0;
    std::map<std::string, int> logged_envelopes;  // "from>to" -> log records that stand for one envelope each
    std::map<std::string, int> logged_sealed;     // the same, sealed-sender ones
    std::istringstream log(slurp(dir / "actions.jsonl"));
    for (std::string line; std::getline(log, line);) {
        const json j = json::parse(line);
        const std::string a = j.at("action"), user = j.at("user"), peer = j.at("peer");
        if (a == "text") ++texts[user + ">" + peer];
        if (a == "file_received" && j.at("bytes") == 30000) ++files_received;
        if (a == "call_done" && j.at("rtp_received").get<int>() > 20) ++call_legs_with_media;
        if (a == "keepalive") ++keepalives;
        if (a == "text" || a == "typing" || a == "receipt" || a == "file" || a == "call" || a == "call_answer" ||
            a == "call_end") {
            ++logged_envelopes[user + ">" + peer];
            if (j.at("sealed").get<bool>()) ++logged_sealed[user + ">" + peer];
        }
        if (a == "summary") summary[user] = j;
    }
    REQUIRE(summary.size() == 3);
    CHECK(texts["alice>bob"] == 3);
    CHECK(texts["carol>alice"] == 2);
    // Every scripted text (and reply) was decrypted by its recipient: its summary counts match the log.
    for (const auto& [pair, n] : texts) {
        const std::string from = pair.substr(0, pair.find('>')), to = pair.substr(pair.find('>') + 1);
        INFO(pair);
        CHECK(summary[to]["received"][from].value("text", 0) == n);
        CHECK(summary[from]["sent"][to].value("text", 0) == n);
        // Each text got a delivered and a read receipt, each preceded by a typing indicator (scripted ones).
        CHECK(summary[from]["received"][to].value("receipt", 0) >= 2 * n);
    }
    CHECK(summary["bob"]["received"]["alice"].value("typing", 0) == 3);
    CHECK(summary["alice"]["received"]["carol"].value("typing", 0) == 2);
    CHECK(summary["bob"]["received"]["alice"].value("file", 0) == 1);
    CHECK(files_received == 1);
    CHECK(summary["carol"]["received"]["bob"].value("call_offer", 0) == 1);
    CHECK(summary["bob"]["received"]["carol"].value("call_answer", 0) == 1);
    CHECK(call_legs_with_media == 2);
    // The action log is ground truth for every end-to-end envelope: one record per envelope each user sent.
    for (const auto& [user, s] : summary) {
        for (const auto& [peer, kinds] : s.at("sent").items()) {
            int n = 0;
            for (const auto& [kind, cnt] : kinds.items()) n += cnt.get<int>();
            INFO(user << ">" << peer);
            CHECK(logged_envelopes[user + ">" + peer] == n);
        }
    }
    // The sealed conversation is sealed both ways: carol's typing and texts, alice's receipts (and replies).
    CHECK(logged_sealed["carol>alice"] == logged_envelopes["carol>alice"]);
    CHECK(logged_sealed["carol>alice"] >= 4);
    CHECK(logged_sealed["alice>carol"] == logged_envelopes["alice>carol"]);
    CHECK(logged_sealed["alice>carol"] >= 4);
    CHECK(logged_sealed["alice>bob"] == 0);
    CHECK(keepalives >= 1);
    for (const auto& [user, s] : summary) {
        INFO(user);
        CHECK(s.at("undecryptable") == 0);
        CHECK(s.at("errors") == 0);
    }
    relay.terminate();
    CHECK(relay.wait(10) == 0);
    const std::string rlog = slurp(dir / "relay.log");
    CHECK(rlog.find("blob_put") != std::string::npos);
    CHECK(rlog.find("call_alloc") != std::string::npos);
    // ... and so the relay saw it: nothing stored for carol or alice from the other by name.
    CHECK(rlog.find("to=carol from=alice") == std::string::npos);
    CHECK(rlog.find("to=alice from=carol") == std::string::npos);
    CHECK(rlog.find("to=carol from=sealed") != std::string::npos);
    CHECK(std::chrono::duration<double>(Clock::now() - t0).count() < 30);
    fs::remove_all(dir);
}

TEST_CASE("sealchat scenario exits 1 with a reason when the relay cannot be reached", "[scenario]") {
    const fs::path dir = scenario_dir("bad");
    {
        std::ofstream y(dir / "bad.yaml");
        y << "relay: 127.0.0.1:1\nusers: [alice]\nactions:\n  - idle: {seconds: 0}\n";
    }
    Child chat({SEALCHAT_BIN, "scenario", (dir / "bad.yaml").string()}, dir / "out", dir / "err");
    CHECK(chat.wait(20) == 1);
    CHECK(slurp(dir / "err").find("sealchat:") != std::string::npos);
    fs::remove_all(dir);
}
