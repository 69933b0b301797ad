// The sealchat command line against an in-process relay: which messages each command takes (and so
// acknowledges), attachments and lost connections in recv, calls by host name, argument checks and
// their exit statuses (sealchat(1) EXIT STATUS).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "client/scenario.hpp"
#include "support.hpp"

using namespace sealscope::e2ee;
using namespace sealscope::e2ee::client;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using test::client_config;
using test::relay_config;
using test::slurp;

struct Run {
    int status = -1;
    std::string out, err;
};

std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

/// Run sealchat with `args` (bounded by timeout(1)); exit status, stdout and stderr.
Run sealchat(const fs::path& dir, const std::vector<std::string>& args, const std::string& tag = "run") {
    std::string cmd = "timeout 90 " + quote(SEALCHAT_BIN);
    for (const auto& a : args) cmd += " " + quote(a);
    const fs::path out = dir / (tag + ".out"), err = dir / (tag + ".err");
    cmd += " >" + quote(out.string()) + " 2>" + quote(err.string());
    const int st = std::system(cmd.c_str());
    Run r;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
}

/// An in-process relay and the sealchat arguments that reach it.
struct Fixture {
    explicit Fixture(const std::string& tag) : dir(test::temp_dir("cli", tag)), relay(relay_config(dir)) {
        relay.start();
        addr = "127.0.0.1:" + std::to_string(relay.chat_port());
    }
    ~Fixture() {
        relay.stop();
        fs::remove_all(dir);
    }
    /// sealchat -r RELAY --blob-port N -s DIR/USER.json ARGS...
    Run as(const std::string& user, std::vector<std::string> args, const std::string& relay_addr = "",
           const std::string& tag = "") {
        std::vector<std::string> a = {"-r", relay_addr.empty() ? addr : relay_addr, "--blob-port",
                                      std::to_string(relay.blob_port()), "-s", (dir / (user + ".json")).string()};
        a.insert(a.end(), args.begin(), args.end());
        return sealchat(dir, a, user + (tag.empty() ? std::to_string(++runs) : tag));
    }
    ClientConfig config() const { return client_config(relay.chat_port(), relay.blob_port()); }
    fs::path dir;
    relay::Relay relay;
    std::string addr;
    std::atomic<int> runs{0};
};

/// The JSON lines of a recv's output.
std::vector<json> lines(const std::string& out) {
    std::vector<json> v;
    std::istringstream in(out);
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) v.push_back(json::parse(l));
    return v;
}

} // namespace

TEST_CASE("sealchat: only recv takes messages, send and send-file leave them at the relay", "[cli][e2e]") {
    Fixture f("keep");
    REQUIRE(f.as("alice", {"register", "alice"}).status == 0);
    REQUIRE(f.as("bob", {"register", "bob"}).status == 0);
    REQUIRE(f.as("alice", {"send", "bob", "IMPORTANT-1"}).status == 0);
    REQUIRE(f.as("alice", {"send", "bob", "IMPORTANT-2"}).status == 0);
    // bob's commands that do not show messages: the relay pushes both texts to each of them.
    REQUIRE(f.as("bob", {"send", "alice", "hi"}).status == 0);
    {
        std::ofstream(f.dir / "doc.txt") << "attachment body";
    }
    REQUIRE(f.as("bob", {"send-file", "alice", (f.dir / "doc.txt").string()}).status == 0);
    const Run r = f.as("bob", {"recv", "--seconds", "1"});
    INFO(r.err);
    CHECK(r.status == 0);
    const auto got = lines(r.out);
    REQUIRE(got.size() == 2);
    CHECK(got[0].at("body") == "IMPORTANT-1");
    CHECK(got[1].at("body") == "IMPORTANT-2");
    // Shown once: a second recv gets nothing.
    CHECK(lines(f.as("bob", {"recv", "--seconds", "0.5"}).out).empty());
    const auto alice_got = lines(f.as("alice", {"recv", "--seconds", "1"}).out);
    REQUIRE(alice_got.size() == 2);
    CHECK(alice_got[0].at("body") == "hi");
    CHECK(alice_got[1].at("received_bytes") == 15);
    // The sessions stayed in step (bob's send did not start a second session beside alice's).
    REQUIRE(f.as("alice", {"send", "bob", "second"}).status == 0);
    const Run r2 = f.as("bob", {"recv", "--seconds", "1"});
    CHECK(r2.err.empty());
    REQUIRE(lines(r2.out).size() == 1);
    CHECK(lines(r2.out)[0].at("body") == "second");
    REQUIRE(f.as("bob", {"send", "alice", "second-back"}).status == 0);
    const auto back = lines(f.as("alice", {"recv", "--seconds", "1"}).out);
    REQUIRE(back.size() == 1);
    CHECK(back[0].at("body") == "second-back");
}

TEST_CASE("sealchat recv: a peer's DEL and C1 controls reach standard output as JSON escapes", "[cli][e2e]") {
    Fixture f("ctl");
    REQUIRE(f.as("alice", {"register", "alice"}).status == 0);
    REQUIRE(f.as("bob", {"register", "bob"}).status == 0);
    // CSI as a C1 control (C2 9B) would start a terminal control sequence; DEL and NEL (C2 85) beside it.
    const std::string text = std::string("red\x7f") + "\xc2\x9b" "31m K\xc3\xb6ln\xc2\x85";
    REQUIRE(f.as("alice", {"send", "bob", text}).status == 0);
    const Run r = f.as("bob", {"recv", "--seconds", "1"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find('\x7f') == std::string::npos);
    CHECK(r.out.find("\xc2\x9b") == std::string::npos);
    CHECK(r.out.find("\xc2\x85") == std::string::npos);
    CHECK(r.out.find("\\u009b") != std::string::npos);
    CHECK(r.out.find("K\xc3\xb6ln") != std::string::npos);  // other text stays as it is
    const auto got = lines(r.out);
    REQUIRE(got.size() == 1);
    CHECK(got[0].at("body") == text);  // and the JSON decodes to the text sent
}

TEST_CASE("Client take filter: a message not taken stays at the relay and is held, later ones still decrypt",
          "[cli][client]") {
    Fixture f("take");
    Client alice(f.config(), Account::create("alice"));
    alice.connect(true);
    ClientConfig cfg = f.config();
    cfg.state_path = (f.dir / "bob.json").string();
    {
        Client bob(cfg, Account::create("bob"));
        bob.connect(true);
    }
    alice.send_text("bob", "left-for-later");
    alice.send("bob", {{"k", "call_answer"}, {"call", "c1"}, {"accept", true}});
    alice.send_text("bob", "also-later");
    ClientConfig picky = cfg;
    picky.take = [](const Event& e) { return e.body.value("k", "") == "call_answer"; };
    {
        Client bob(picky, Account::load(cfg.state_path));
        bob.connect(false);
        const auto ans = bob.wait_event(5000);
        REQUIRE(ans);
        CHECK(ans->body.at("k") == "call_answer");
        CHECK_FALSE(bob.wait_event(500));
        bob.disconnect();
        CHECK(json::parse(slurp(cfg.state_path)).at("held").size() == 2);  // decrypted, kept until shown
    }
    Client bob(cfg, Account::load(cfg.state_path));
    bob.connect(false);
    const auto e1 = bob.wait_event(5000);
    const auto e2 = bob.wait_event(5000);
    REQUIRE(e1);
    REQUIRE(e2);
    CHECK(e1->body.value("body", "") == "left-for-later");
    CHECK(e2->body.value("body", "") == "also-later");
    CHECK_FALSE(bob.wait_event(300));  // the taken call_answer is not delivered again
    CHECK(bob.undecryptable() == 0);
    // Shown now: no longer held in the state file.
    bob.disconnect();
    CHECK(json::parse(slurp(cfg.state_path)).at("held").empty());
}

TEST_CASE("sealchat recv: a bad attachment is reported, later messages still shown, exit status 1", "[cli][e2e]") {
    Fixture f("badfile");
    REQUIRE(f.as("bob", {"register", "bob"}).status == 0);
    Client alice(f.config(), Account::create("alice"));
    alice.connect(true);
    alice.send("bob", {{"k", "file"}, {"blob", std::string(64, '0')}, {"key", "AAAA"}, {"digest", "x"},
                       {"size", 3}, {"name", "evil.bin"}});
    alice.send_text("bob", "after-the-bad-file");
    const Run r = f.as("bob", {"recv", "--seconds", "1.5"});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("evil.bin") && Catch::Contains("alice"));
    const auto got = lines(r.out);
    REQUIRE(got.size() == 2);
    CHECK(got[0].contains("error"));
    CHECK_FALSE(got[0].contains("key"));
    CHECK(got[1].at("body") == "after-the-bad-file");
}

TEST_CASE("sealchat recv and answer report a lost relay connection with exit status 1", "[cli][e2e]") {
    Fixture f("lost");
    REQUIRE(f.as("bob", {"register", "bob"}).status == 0);
    REQUIRE(f.as("carol", {"register", "carol"}).status == 0);
    const auto t0 = std::chrono::steady_clock::now();
    auto recv = std::async(std::launch::async, [&] { return f.as("bob", {"recv", "--seconds", "30"}, "", "recv"); });
    auto answer = std::async(std::launch::async, [&] { return f.as("carol", {"answer", "--seconds", "30"}, "", "ans"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    f.relay.stop();
    for (auto* fut : {&recv, &answer}) {
        const Run r = fut->get();
        INFO(r.err);
        CHECK(r.status == 1);
        CHECK_THAT(r.err, Catch::Contains("lost the connection to the relay " + f.addr));
    }
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
}

TEST_CASE("sealchat call and answer through a relay given by host name, with video counts", "[cli][e2e][call]") {
    Fixture f("host");
    REQUIRE(f.as("alice", {"register", "alice"}).status == 0);
    REQUIRE(f.as("bob", {"register", "bob"}).status == 0);
    const std::string by_name = "localhost:" + std::to_string(f.relay.chat_port());
    auto answer = std::async(std::launch::async, [&] { return f.as("bob", {"answer"}, by_name, "ans"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const Run call = f.as("alice", {"call", "bob", "--seconds", "1.5", "--video"}, by_name, "call");
    const Run ans = answer.get();
    INFO(call.err << ans.err);
    REQUIRE(call.status == 0);
    REQUIRE(ans.status == 0);
    for (const Run* r : {&call, &ans}) {
        const json st = json::parse(r->out);
        CHECK(st.at("rtp_received").get<int>() > 10);
        CHECK(st.at("video_sent").get<int>() > 0);
        CHECK(st.at("video_received").get<int>() > 0);
    }
}

TEST_CASE("sealchat call: a --seconds out of range is refused before anything is sent", "[cli][e2e][call]") {
    Fixture f("len");
    REQUIRE(f.as("alice", {"register", "alice"}).status == 0);
    REQUIRE(f.as("bob", {"register", "bob"}).status == 0);
    CHECK(kMaxCallSeconds == 14400);
    for (const char* s : {"0", "14400.5", "86400"}) {
        const Run r = f.as("alice", {"call", "bob", "--seconds", s});
        INFO(s << ": " << r.err);
        CHECK(r.status == 2);
        CHECK_THAT(r.err, Catch::Contains("--seconds"));
    }
    CHECK(slurp(f.dir / "relay.log").find("call_alloc") == std::string::npos);
    CHECK(lines(f.as("bob", {"recv", "--seconds", "0.5"}).out).empty());  // no offer was sent
}

TEST_CASE("sealchat: usage errors exit 2 with a one-line reason and --help hides internals", "[cli]") {
    const fs::path dir = test::temp_dir("cli", "usage");
    const std::vector<std::vector<std::string>> bad = {
        {"send", "bob"},        {"register"},          {"call"},           {"send-file", "bob"},
        {"recv", "x", "y"},     {"answer", "x"},       {"send-file", "bob", "a", "b"},
        {"-r", "127.0.0.1:70000", "recv"}, {"-r", "127.0.0.1:abc", "recv"}, {"-r", "127.0.0.1:-1", "recv"},
        {"-r", ":5443", "recv"}, {"-r", "127.0.0.1:12x", "recv"}, {"register", "bad name"},
        {"send", "bad/peer", "hi"}, {"frobnicate"}, {"recv", "--seconds", "-1"}};
    for (const auto& args : bad) {
        const Run r = sealchat(dir, args);
        INFO(args.front() << " " << (args.size() > 1 ? args[1] : "") << ": " << r.err);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK_THAT(r.err, Catch::StartsWith("sealchat: "));
    }
    CHECK_THAT(sealchat(dir, {"register", "bad name"}).err, Catch::Contains("letters, digits"));
    CHECK_THAT(sealchat(dir, {"-r", "127.0.0.1:70000", "recv"}).err, Catch::Contains("127.0.0.1:70000"));
    const Run none = sealchat(dir, {});
    CHECK(none.status == 2);
    CHECK(none.out.empty());
    CHECK_THAT(none.err, Catch::Contains("usage: sealchat"));
    const Run help = sealchat(dir, {"--help"});
    CHECK(help.status == 0);
    CHECK_THAT(help.out, Catch::Contains("--relay"));
    CHECK_THAT(help.out, !Catch::Contains("--command") && !Catch::Contains("--args"));
    fs::remove_all(dir);
}

TEST_CASE("sealchat: errors name the file or address, register checks the state path before using the name",
          "[cli][e2e]") {
    Fixture f("names");
    // Refused connection: the address is in the message.
    const Run refused = sealchat(f.dir, {"-r", "127.0.0.1:1", "-s", (f.dir / "x.json").string(), "register", "x"});
    CHECK(refused.status == 1);
    CHECK_THAT(refused.err, Catch::Contains("127.0.0.1:1"));
    // A state file that is not an account: its name is in the message.
    std::ofstream(f.dir / "junk.json") << "{}";
    const Run junk = f.as("junk", {"recv", "--seconds", "0"});
    CHECK(junk.status == 1);
    CHECK_THAT(junk.err, Catch::Contains("junk.json"));
    // Unwritable state path: refused before registering, so the name stays free.
    const Run unwritable = sealchat(f.dir, {"-r", f.addr, "-s", (f.dir / "no" / "such" / "dir.json").string(),
                                            "register", "carol"});
    CHECK(unwritable.status == 1);
    CHECK_THAT(unwritable.err, Catch::Contains("no/such/dir.json"));
    CHECK(f.as("carol", {"register", "carol"}).status == 0);
}

TEST_CASE("sealchat scenario: an unwritable --log fails before the scenario starts", "[cli][scenario]") {
    Fixture f("log");
    std::ofstream(f.dir / "s.yaml") << "relay: " << f.addr << "\nblob_port: " << f.relay.blob_port()
                                    << "\nusers: [alice]\nactions: []\n";
    const Run r = sealchat(f.dir, {"--log", (f.dir / "no" / "log.jsonl").string(), "scenario",
                                   (f.dir / "s.yaml").string()});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("no/log.jsonl"));
    CHECK(slurp(f.dir / "relay.log").find("register") == std::string::npos);
}

TEST_CASE("sealchat scenario: unknown keys and misshapen parts are refused with file:line:column", "[cli][scenario]") {
    const fs::path dir = test::temp_dir("cli", "yaml");
    struct Case {
        std::string yaml, where, what;
    };
    const std::vector<Case> cases = {
        {"relay: 127.0.0.1:1\nusers: [alice, bob]\nactions:\n  - chat: {from: alice, to: bob, mesages: 3}\n",
         ":4:34:", "unknown key 'mesages'"},
        {"relay: 127.0.0.1:1\nusers: [alice, bob]\nactions:\n  chat: {from: alice, to: bob}\n", ":4:3:",
         "'actions' must be a list"},
        {"relay: 127.0.0.1:1\nusres: [alice]\n", ":2:1:", "unknown key 'usres'"},
        {"relay: 127.0.0.1:1\nusers: [alice, alice]\n", ":2:16:", "user alice is listed twice"},
        {"relay: 127.0.0.1:1\nusers: [al/ice]\n", ":2:9:", "not a valid user name"},
        {"relay: 127.0.0.1:1\nusers: [a, b]\nactions:\n  - dance: {}\n", ":4:5:", "unknown action 'dance'"},
        {"relay: 127.0.0.1:1\nusers: [a, b]\nactions:\n  - call: {from: a, to: b, seconds: 20000}\n", ":4:37:",
         "at most 14400"},
        {"relay: 127.0.0.1:1\nusers: [a, b]\nactions:\n  - idle: {seconds: 1}\n  - chat: {from: a, to: b, messages: many}\n",
         ":5:38:", "'messages' must be a whole number"},
        {"relay: 127.0.0.1:1\nusers: [a, b]\nactions:\n  - file: {from: a, to: carol}\n", ":4:25:",
         "'to' must be one of the scenario's users"},
        {"relay: 127.0.0.1:1\nusers: [a, b]\nactions:\n  - call: {from: a}\n", ":4:11:", "'call' needs 'to'"},
        {"relay: 127.0.0.1:1\nseed: x\nusers: [a]\n", ":2:7:", "'seed' must be a whole number"},
        // An unquoted IPv6 relay address is YAML's list syntax: the error says to quote it.
        {"users: [a, b]\nrelay: [::1]:5443\n", ":2:13:", "must be quoted, e.g. relay: \"[::1]:5443\""},
        {"relay: [::1]\nusers: [a, b]\n", ":1:8:", "'relay' must be a string; an IPv6 relay address must be quoted"},
        // Columns count characters, as an editor does: "grüß" is 6 bytes, 4 characters (byte columns 49, 39).
        {"relay: 127.0.0.1:1\nusers: [a, b]\nactions:\n  - file: {from: a, name: grüß, to: b, bytes: lots}\n",
         ":4:47:", "'bytes' must be a whole number"},
        {"\xEF\xBB\xBF{relay: 127.0.0.1:1, users: [grüß], sede: 1}\n", ":1:37:", "unknown key 'sede'"},
    };
    for (const auto& c : cases) {
        std::ofstream(dir / "s.yaml") << c.yaml;
        const Run r = sealchat(dir, {"scenario", (dir / "s.yaml").string()});
        INFO(c.yaml << r.err);
        CHECK(r.status == 1);
        CHECK_THAT(r.err, Catch::Contains("s.yaml" + c.where) && Catch::Contains(c.what));
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
    // A file that cannot be read is named with the reason, not as a YAML position.
    const Run missing = sealchat(dir, {"scenario", (dir / "none.yaml").string()});
    CHECK(missing.status == 1);
    CHECK(missing.err == "sealchat: " + (dir / "none.yaml").string() +
                             ": cannot read the scenario file: No such file or directory\n");
    const Run folder = sealchat(dir, {"scenario", dir.string()});
    CHECK(folder.status == 1);
    CHECK(folder.err == "sealchat: " + dir.string() + ": is a directory, not a scenario file\n");
    fs::remove_all(dir);
}

TEST_CASE("sealchat scenario: a user name already taken at the relay is named", "[cli][scenario][e2e]") {
    Fixture f("taken");
    REQUIRE(f.as("bob", {"register", "bob"}).status == 0);
    std::ofstream(f.dir / "s.yaml") << "relay: " << f.addr << "\nblob_port: " << f.relay.blob_port()
                                    << "\nusers: [alice, bob]\nactions: []\n";
    const Run r = sealchat(f.dir, {"scenario", (f.dir / "s.yaml").string()});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("user bob") && Catch::Contains("name taken"));
}

TEST_CASE("sealchat answer: an offer whose caller is gone gets no media and exits 1, later offers stay queued",
          "[cli][e2e][call]") {
    Fixture f("stale");
    REQUIRE(f.as("bob", {"register", "bob"}).status == 0);
    Client alice(f.config(), Account::create("alice"));
    alice.connect(true);
    // Two offers from a caller that never sends media (as after it gave up waiting for the answer).
    for (const char* id : {"c1", "c2"}) {
        const json tok = alice.request({{"t", "call_alloc"}});
        alice.send("bob", {{"k", "call_offer"}, {"call", id}, {"token", tok.at("token")},
                           {"udp_port", tok.at("udp_port")}, {"srtp", crypto::to_b64(new_srtp_master())},
                           {"seconds", 1}, {"video", false}});
    }
    const Run r = f.as("bob", {"answer", "--seconds", "0"});
    INFO(r.err);
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("call with alice: no media received"));
    CHECK(json::parse(r.out).at("rtp_received") == 0);
    // The answer went back to alice; the second offer was not taken: recv shows it.
    const auto ans = alice.wait_event(5000);
    REQUIRE(ans);
    CHECK(ans->body.at("call") == "c1");
    const auto rest = lines(f.as("bob", {"recv", "--seconds", "0.5"}).out);
    REQUIRE(rest.size() == 1);
    CHECK(rest[0].at("call") == "c2");
}
