// sealchat: register, send text/files, place/answer calls, play scenarios.
#include "client/scenario.hpp"

#include "common/cli_unsigned.hpp"

#include <boost/program_options.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>

namespace po = boost::program_options;
using namespace sealscope::e2ee::client;
using nlohmann::json;

namespace {

const char* kUsage =
    "usage: sealchat [options] COMMAND [ARGS]\n"
    "commands:\n"
    "  register USER            create keys, register USER with the relay\n"
    "  send PEER TEXT...        send a text message\n"
    "  send-file PEER PATH      send an attachment\n"
    "  recv                     print received messages as JSON lines (see --seconds)\n"
    "  call PEER                place a call of --seconds seconds\n"
    "  answer                   wait for a call offer and answer it\n"
    "  scenario FILE.yaml       play a multi-user script (see sealchat(1))\n";

Client open_client(const po::variables_map& vm, bool fresh_user = false, const std::string& user = "") {
    ClientConfig cfg;
    std::tie(cfg.relay_host, cfg.chat_port) =
        sealscope::e2ee::wire::split_host_port(vm["relay"].as<std::string>(), cfg.chat_port);
    cfg.blob_port = vm.count("blob-port") ? vm["blob-port"].as<std::uint16_t>()
                                          : static_cast<std::uint16_t>(cfg.chat_port + 1);
    cfg.state_path = vm["state"].as<std::string>();
    cfg.null_cipher = vm.count("null-cipher") != 0;
    if (fresh_user) return Client(cfg, Account::create(user));
    return Client(cfg, Account::load(cfg.state_path));
}

void print_event(const Event& e) {
    json j = e.body;
    j["from"] = e.from;
    j["sealed"] = e.sealed;
    std::cout << j.dump() << std::endl;
}

} // namespace

int main(int argc, char** argv) {
    try {
        po::options_description opts("options");
        opts.add_options()("help,h", "show this help")
            ("relay,r", po::value<std::string>()->default_value("127.0.0.1:5443"), "relay chat address host:port")
            ("blob-port", po::value<std::uint16_t>(),
             "relay blob-store port (default chat port + 1; for a scenario, overrides its blob_port)")
            ("state,s", po::value<std::string>()->default_value("sealchat-state.json"), "account state file")
            ("seconds", po::value<double>()->default_value(10), "call length / receive window in seconds, 0 to 86400")
            ("video", "add a synthetic video stream to a call")
            ("sealed", "send with a sealed-sender envelope")
            ("log", po::value<std::string>(), "scenario: write the JSON-lines action log here")
            ("null-cipher",
             "DEBUG ONLY: send messages, files and calls in PLAINTEXT (audit positive control); needs a relay "
             "started with --allow-null-cipher")
            ("command", po::value<std::string>(), "command")
            ("args", po::value<std::vector<std::string>>()->default_value({}, ""), "arguments");
        po::positional_options_description pos;
        pos.add("command", 1).add("args", -1);
        po::variables_map vm;
        const po::parsed_options parsed = po::command_line_parser(argc, argv).options(opts).positional(pos).run();
        sealscope::reject_negative_unsigned(parsed);
        po::store(parsed, vm);
        po::notify(vm);
        if (vm.count("help") || !vm.count("command")) {
            std::cout << kUsage << opts;
            return vm.count("help") ? 0 : 2;
        }
        if (vm.count("null-cipher")) std::cerr << "sealchat: " << kNullCipherWarning << "\n";
        const std::string cmd = vm["command"].as<std::string>();
        const auto args = vm["args"].as<std::vector<std::string>>();
        auto need = [&](std::size_t n) {
            if (args.size() < n) throw std::runtime_error("'" + cmd + "' needs " + std::to_string(n) + " argument(s)");
        };
        const double seconds = vm["seconds"].as<double>();
        if (!(seconds >= 0 && seconds <= 86400)) {  // also NaN
            std::cerr << "sealchat: --seconds must be between 0 and 86400 (see 'sealchat --help')\n";
            return 2;
        }
        if (cmd == "register") {
            need(1);
            if (std::filesystem::exists(vm["state"].as<std::string>()))
                throw std::runtime_error("state file exists already: " + vm["state"].as<std::string>());
            Client c = open_client(vm, true, args[0]);
            c.connect(true);
            std::cout << "registered " << args[0] << "\n";
        } else if (cmd == "send") {
            need(2);
            std::string text;
            for (std::size_t i = 1; i < args.size(); ++i) text += (i > 1 ? " " : "") + args[i];
            Client c = open_client(vm);
            c.connect(false);
            const auto id = c.send_text(args[0], text, vm.count("sealed") != 0);
            std::cout << "stored as envelope " << id << "\n";
        } else if (cmd == "send-file") {
            need(2);
            std::ifstream in(args[1], std::ios::binary);
            if (!in) throw std::runtime_error("cannot read " + args[1]);
            const std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            Client c = open_client(vm);
            c.connect(false);
            const json m = c.send_file(args[0], data, std::filesystem::path(args[1]).filename().string());
            std::cout << "sent " << data.size() << " bytes as blob " << m["blob"].get<std::string>() << "\n";
        } else if (cmd == "recv") {
            Client c = open_client(vm);
            c.connect(false);
            const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
            while (std::chrono::steady_clock::now() < end) {
                auto e = c.wait_event(200);
                if (!e) continue;
                if (e->body.value("k", "") == "file") {
                    const auto data = c.fetch_file(e->body);
                    e->body["received_bytes"] = data.size();
                    e->body.erase("key");
                }
                print_event(*e);
            }
        } else if (cmd == "call") {
            need(1);
            Client c = open_client(vm);
            c.connect(false);
            const CallStats st = place_call(c, args[0], seconds, vm.count("video") != 0);
            std::cout << json{{"rtp_sent", st.rtp_sent}, {"rtp_received", st.rtp_received},
                              {"rtcp_sent", st.rtcp_sent}, {"rtcp_received", st.rtcp_received},
                              {"audio_decoded", st.audio_decoded}, {"auth_failures", st.auth_failures}}
                             .dump()
                      << "\n";
        } else if (cmd == "answer") {
            Client c = open_client(vm);
            c.connect(false);
            auto offer = c.wait_event(static_cast<int>(seconds * 1000) + 30000,
                                      [](const Event& e) { return e.body.value("k", "") == "call_offer"; });
            if (!offer) throw std::runtime_error("no call offer arrived");
            const CallStats st = answer_call(c, *offer);
            std::cout << json{{"rtp_sent", st.rtp_sent}, {"rtp_received", st.rtp_received},
                              {"audio_decoded", st.audio_decoded}, {"auth_failures", st.auth_failures}}
                             .dump()
                      << "\n";
        } else if (cmd == "scenario") {
            need(1);
            std::ofstream log_file;
            if (vm.count("log")) log_file.open(vm["log"].as<std::string>());
            std::ostream& log = vm.count("log") ? static_cast<std::ostream&>(log_file) : std::cout;
            ScenarioOptions so;
            if (!vm["relay"].defaulted()) so.relay = vm["relay"].as<std::string>();
            if (vm.count("blob-port")) so.blob_port = vm["blob-port"].as<std::uint16_t>();
            so.null_cipher = vm.count("null-cipher") != 0;
            run_scenario(args[0], log, so);
        } else {
            std::cerr << kUsage;
            return 2;
        }
        return 0;
    } catch (const po::error& e) {  // an unknown option or a bad value: a usage error
        std::cerr << "sealchat: " << e.what() << " (see 'sealchat --help')\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "sealchat: " << e.what() << "\n";
        return 1;
    }
}
