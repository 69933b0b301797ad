// sealchat: register, send text/files, place/answer calls, play scenarios.
#include "client/scenario.hpp"

#include "common/cli_unsigned.hpp"
#include "common/display_text.hpp"
#include "relay/request.hpp"

#include <fmt/format.h>

#include <boost/program_options.hpp>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <iostream>

namespace po = boost::program_options;
using namespace sealscope::e2ee::client;
using nlohmann::json;
using sealscope::display_text;
using sealscope::json_for_terminal;

namespace {

const char* kUsage =
    "usage: sealchat [options] COMMAND [ARGS]\n"
    "commands:\n"
    "  register USER            create keys, register USER with the relay\n"
    "  send PEER TEXT...        send a text message\n"
    "  send-file PEER PATH      send an attachment\n"
    "  recv                     print received messages as JSON lines (see --seconds)\n"
    "  call PEER                place a call of --seconds seconds (more than 0, at most 14400)\n"
    "  answer                   wait up to --seconds + 30 s for a call offer and answer it\n"
    "  scenario FILE.yaml       play a multi-user script (see sealchat(1))\n"
    "Only recv takes (shows and acknowledges) queued messages; the other commands leave them at the relay.\n";

/// A bad command line: exit status 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

void check_user_name(const std::string& name, const char* what) {
    if (!sealscope::e2ee::relay::valid_user(name))
        throw UsageError(std::string(what) + " '" + name + "' is not a valid user name: " +
                         sealscope::e2ee::relay::kUserNameRule);
}

/// Fail before anything happens if `path` cannot be written the way Account::save writes it (PATH.tmp, renamed).
void check_state_writable(const std::string& path) {
    const std::string tmp = path + ".tmp";
    std::ofstream probe(tmp);
    if (!probe) throw std::runtime_error("cannot write state file " + path + ": " + std::strerror(errno));
    probe.close();
    std::filesystem::remove(tmp);
}

Client open_client(const po::variables_map& vm, std::function<bool(const Event&)> take,
                   std::optional<std::string> fresh_user = std::nullopt) {
    ClientConfig cfg;
    std::tie(cfg.relay_host, cfg.chat_port) =
        sealscope::e2ee::wire::split_host_port(vm["relay"].as<std::string>(), cfg.chat_port);
    cfg.blob_port = vm.count("blob-port") ? vm["blob-port"].as<std::uint16_t>()
                                          : static_cast<std::uint16_t>(cfg.chat_port + 1);
    cfg.state_path = vm["state"].as<std::string>();
    cfg.null_cipher = vm.count("null-cipher") != 0;
    cfg.take = std::move(take);
    if (fresh_user) return Client(cfg, Account::create(*fresh_user));
    return Client(cfg, Account::load(cfg.state_path));
}

/// Takes no message: commands that do not show messages leave them queued at the relay.
bool take_none(const Event&) { return false; }

void print_event(const Event& e) {
    json j = e.body;
    j["from"] = e.from;
    j["sealed"] = e.sealed;
    // The text, names and sender come from peers: no control character of theirs reaches the terminal as
    // one, and a byte that is not UTF-8 (in an error text) is replaced rather than ending the program.
    std::cout << json_for_terminal(j.dump(-1, ' ', false, json::error_handler_t::replace)) << std::endl;
}

/// Print a received message; an attachment is downloaded and checked first. False (reason on standard
/// error, and in the printed record as "error") if the attachment could not be fetched.
bool show_event(Client& c, Event e) {
    bool ok = true;
    if (e.body.value("k", "") == "file") {
        try {
            const auto data = c.fetch_file(e.body);
            e.body["received_bytes"] = data.size();
        } catch (const std::exception& x) {
            // The name and sender come from the peer or the relay, the reason may too: shown as display
            // text, so none of them can send the terminal a control sequence.
            std::cerr << "sealchat: attachment '" << display_text(e.body.value("name", "?")) << "' from "
                      << display_text(e.from) << " (env " << e.env_id << "): " << display_text(x.what()) << "\n";
            e.body["error"] = x.what();
            ok = false;
        }
        e.body.erase("key");
    }
    print_event(e);
    return ok;
}

void print_call(const CallStats& st, bool caller, bool video) {
    json j = {{"rtp_sent", st.rtp_sent}, {"rtp_received", st.rtp_received}};
    if (caller) {
        j["rtcp_sent"] = st.rtcp_sent;
        j["rtcp_received"] = st.rtcp_received;
    }
    j["audio_decoded"] = st.audio_decoded;
    j["auth_failures"] = st.auth_failures;
    if (video) {
        j["video_sent"] = st.video_sent;
        j["video_received"] = st.video_received;
    }
    std::cout << j.dump() << "\n";
}

/// Exit status of a call leg: a leg that received no audio did not work (e.g. the peer had given up).
int call_status(const CallStats& st, const std::string& peer) {
    if (st.rtp_received > 0) return 0;
    std::cerr << "sealchat: call with " << display_text(peer) << ": no media received\n";
    return 1;
}

} // namespace

int main(int argc, char** argv) {
    try {
        po::options_description opts("options");
        opts.add_options()("help,h", "show this help")
            ("relay,r", po::value<std::string>()->default_value("127.0.0.1:5443"), "relay chat address host:port ([ipv6]:port)")
            ("blob-port", po::value<std::uint16_t>(),
             "relay blob-store port (default chat port + 1; for a scenario, overrides its blob_port)")
            ("state,s", po::value<std::string>()->default_value("sealchat-state.json"), "account state file")
            ("seconds", po::value<double>()->default_value(10),
             "receive window (0 to 86400) or call length (more than 0, at most 14400) in seconds")
            ("video", "add a synthetic video stream to a call")
            ("sealed", "send with a sealed-sender envelope")
            ("log", po::value<std::string>(), "scenario: write the JSON-lines action log here")
            ("null-cipher",
             "DEBUG ONLY: send messages, files and calls in PLAINTEXT (audit positive control); needs a relay "
             "started with --allow-null-cipher");
        po::options_description hidden;
        hidden.add_options()("command", po::value<std::string>())(
            "args", po::value<std::vector<std::string>>()->default_value({}, ""));
        po::options_description all;
        all.add(opts).add(hidden);
        po::positional_options_description pos;
        pos.add("command", 1).add("args", -1);
        po::variables_map vm;
        const po::parsed_options parsed = po::command_line_parser(argc, argv).options(all).positional(pos).run();
        sealscope::reject_negative_unsigned(parsed);
        po::store(parsed, vm);
        po::notify(vm);
        if (vm.count("help")) {
            std::cout << kUsage << opts;
            return 0;
        }
        if (!vm.count("command")) {
            std::cerr << "sealchat: no command\n" << kUsage << "(see 'sealchat --help')\n";
            return 2;
        }
        const std::string cmd = vm["command"].as<std::string>();
        const auto args = vm["args"].as<std::vector<std::string>>();
        auto need = [&](std::size_t min, std::size_t max) {
            if (args.size() < min || args.size() > max) {
                const std::string n = min == max ? std::to_string(min)
                                      : max == SIZE_MAX ? "at least " + std::to_string(min)
                                                        : std::to_string(min) + " to " + std::to_string(max);
                throw UsageError("'" + cmd + "' takes " + n + " argument(s), not " + std::to_string(args.size()));
            }
        };
        const double seconds = vm["seconds"].as<double>();
        if (!(seconds >= 0 && seconds <= 86400))  // also NaN
            throw UsageError("--seconds must be between 0 and 86400");
        try {
            sealscope::e2ee::wire::split_host_port(vm["relay"].as<std::string>(), 0);
        } catch (const std::exception& e) {
            throw UsageError(std::string("--relay: ") + e.what());
        }
        if (vm.count("null-cipher")) std::cerr << "sealchat: " << kNullCipherWarning << "\n";
        if (cmd == "register") {
            need(1, 1);
            check_user_name(args[0], "user");
            const std::string state = vm["state"].as<std::string>();
            if (std::filesystem::exists(state)) throw std::runtime_error("state file exists already: " + state);
            check_state_writable(state);  // before the relay gives the name to this key
            Client c = open_client(vm, take_none, args[0]);
            c.connect(true);
            std::cout << "registered " << args[0] << "\n";
        } else if (cmd == "send") {
            need(2, SIZE_MAX);
            check_user_name(args[0], "peer");
            std::string text;
            for (std::size_t i = 1; i < args.size(); ++i) text += (i > 1 ? " " : "") + args[i];
            Client c = open_client(vm, take_none);
            c.connect(false);
            const auto id = c.send_text(args[0], text, vm.count("sealed") != 0);
            std::cout << "stored as envelope " << id << "\n";
        } else if (cmd == "send-file") {
            need(2, 2);
            check_user_name(args[0], "peer");
            std::ifstream in(args[1], std::ios::binary);
            if (!in) throw std::runtime_error("cannot read " + args[1] + ": " + std::strerror(errno));
            const std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            Client c = open_client(vm, take_none);
            c.connect(false);
            const json m = c.send_file(args[0], data, std::filesystem::path(args[1]).filename().string());
            std::cout << "sent " << data.size() << " bytes as blob " << display_text(m["blob"].get<std::string>())
                      << "\n";
        } else if (cmd == "recv") {
            need(0, 0);
            Client c = open_client(vm, {});
            c.connect(false);
            int status = 0;
            const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
            while (std::chrono::steady_clock::now() < end && c.connected()) {
                if (auto e = c.wait_event(200)) status |= show_event(c, std::move(*e)) ? 0 : 1;
            }
            const bool lost = !c.connected();
            std::string why;
            if (lost) {
                try {
                    c.check_connected();
                } catch (const std::exception& e) {
                    why = e.what();
                }
            }
            // Stop taking messages, then show every one taken (acknowledged) so far.
            c.disconnect();
            while (auto e = c.wait_event(0)) status |= show_event(c, std::move(*e)) ? 0 : 1;
            if (lost) {
                std::cerr << "sealchat: " << display_text(why) << "\n";
                status = 1;
            }
            return status;
        } else if (cmd == "call") {
            need(1, 1);
            check_user_name(args[0], "peer");
            if (!valid_call_seconds(seconds))
                throw UsageError(fmt::format("call --seconds must be more than 0 and at most {}", kMaxCallSeconds));
            const std::string peer = args[0];
            Client c = open_client(vm, [peer](const Event& e) {
                return e.from == peer && e.body.value("k", "") == "call_answer";
            });
            c.connect(false);
            const bool video = vm.count("video") != 0;
            const CallStats st = place_call(c, peer, seconds, video);
            print_call(st, true, video);
            return call_status(st, peer);
        } else if (cmd == "answer") {
            need(0, 0);
            bool taken = false;  // only the first offer: later ones stay at the relay
            Client c = open_client(vm, [&taken](const Event& e) {
                if (taken || e.body.value("k", "") != "call_offer") return false;
                return taken = true;
            });
            c.connect(false);
            const int wait_ms = static_cast<int>(seconds * 1000) + kAnswerWaitSeconds * 1000;
            auto offer = c.wait_event(wait_ms);
            if (!offer) {
                c.check_connected();
                throw std::runtime_error(fmt::format("no call offer arrived within {} s", wait_ms / 1000));
            }
            const CallStats st = answer_call(c, *offer);
            print_call(st, false, offer->body.value("video", false));
            return call_status(st, offer->from);
        } else if (cmd == "scenario") {
            need(1, 1);
            std::ofstream log_file;
            if (vm.count("log")) {
                log_file.open(vm["log"].as<std::string>());
                if (!log_file)
                    throw std::runtime_error("cannot write the action log " + vm["log"].as<std::string>() + ": " +
                                             std::strerror(errno));
            }
            std::ostream& log = vm.count("log") ? static_cast<std::ostream&>(log_file) : std::cout;
            ScenarioOptions so;
            if (!vm["relay"].defaulted()) so.relay = vm["relay"].as<std::string>();
            if (vm.count("blob-port")) so.blob_port = vm["blob-port"].as<std::uint16_t>();
            so.null_cipher = vm.count("null-cipher") != 0;
            run_scenario(args[0], log, so);
            log.flush();
            if (!log)
                throw std::runtime_error("cannot write the action log " +
                                         (vm.count("log") ? vm["log"].as<std::string>() : "to standard output"));
        } else {
            throw UsageError("unknown command '" + cmd + "'");
        }
        return 0;
    } catch (const po::error& e) {  // an unknown option or a bad value: a usage error
        std::cerr << "sealchat: " << display_text(e.what()) << " (see 'sealchat --help')\n";
        return 2;
    } catch (const UsageError& e) {
        std::cerr << "sealchat: " << display_text(e.what()) << " (see 'sealchat --help')\n";
        return 2;
    } catch (const std::exception& e) {
        // A file name, a relay's or a peer's reason: display text, as sealscope shows names.
        std::cerr << "sealchat: " << display_text(e.what()) << "\n";
        return 1;
    }
}
