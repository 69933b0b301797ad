// sealrelay: accounts, prekey directory, store-and-forward, blob store and UDP media relay.
#include "relay/relay.hpp"

#include "common/cli_unsigned.hpp"

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <csignal>
#include <fstream>
#include <iostream>

namespace po = boost::program_options;
using sealscope::e2ee::relay::Relay;
using sealscope::e2ee::relay::RelayConfig;

int main(int argc, char** argv) {
    try {
        po::options_description opts("sealrelay options");
        opts.add_options()("help,h", "show this help")
            ("config,c", po::value<std::string>(), "YAML configuration file")
            ("listen", po::value<std::string>(), "address to listen on (default 127.0.0.1)")
            ("chat-port", po::value<std::uint16_t>(), "TCP port of the chat service (default 5443, 0 = any)")
            ("blob-port", po::value<std::uint16_t>(), "TCP port of the blob store (default 5444, 0 = any)")
            ("media-port", po::value<std::uint16_t>(), "UDP port of the media relay (default 5445, 0 = any)")
            ("data-dir,d", po::value<std::string>(), "directory for relay.db, blobs/ and the relay key")
            ("log-file,l", po::value<std::string>(), "metadata log file (default stderr)")
            ("idle-timeout", po::value<int>(), "seconds before an idle connection is closed (default 90)")
            ("send-timeout", po::value<int>(), "seconds before a write to a client that does not read fails (default 10)")
            ("max-connections", po::value<int>(), "concurrent connections; more are refused and logged (default 256)")
            ("max-frame-bytes", po::value<std::size_t>(), "largest frame body accepted (32785..65535, default 65535)")
            ("max-queued-envelopes", po::value<std::size_t>(),
             "envelopes queued per recipient; further sends are refused (default 10000)")
            ("max-blob-bytes", po::value<std::uint64_t>(), "largest attachment upload (default 67108864)")
            ("max-prekeys", po::value<std::size_t>(), "one-time prekeys held per account (default 1000)")
            ("blob-ttl", po::value<std::int64_t>(), "delete blobs older than this many seconds, 0 = never (default 2592000)")
            ("ports-file", po::value<std::string>(), "write the bound ports here once serving")
            ("allow-null-cipher",
             "DEBUG ONLY: accept sealchat clients in --null-cipher mode (messages, files and calls in "
             "plaintext); refused by default");
        po::variables_map vm;
        const po::parsed_options parsed = po::parse_command_line(argc, argv, opts);
        sealscope::reject_negative_unsigned(parsed);
        po::store(parsed, vm);
        po::notify(vm);
        if (vm.count("help")) {
            std::cout << "usage: sealrelay [options]\n" << opts;
            return 0;
        }
        RelayConfig cfg;
        if (vm.count("config")) cfg = sealscope::e2ee::relay::load_config(vm["config"].as<std::string>());
        if (vm.count("listen")) cfg.listen = vm["listen"].as<std::string>();
        if (vm.count("chat-port")) cfg.chat_port = vm["chat-port"].as<std::uint16_t>();
        if (vm.count("blob-port")) cfg.blob_port = vm["blob-port"].as<std::uint16_t>();
        if (vm.count("media-port")) cfg.media_port = vm["media-port"].as<std::uint16_t>();
        if (vm.count("data-dir")) cfg.data_dir = vm["data-dir"].as<std::string>();
        if (vm.count("log-file")) cfg.log_file = vm["log-file"].as<std::string>();
        if (vm.count("idle-timeout")) cfg.idle_timeout_s = vm["idle-timeout"].as<int>();
        if (vm.count("send-timeout")) cfg.send_timeout_s = vm["send-timeout"].as<int>();
        if (vm.count("max-connections")) cfg.max_connections = vm["max-connections"].as<int>();
        if (vm.count("max-frame-bytes")) cfg.max_frame_bytes = vm["max-frame-bytes"].as<std::size_t>();
        if (vm.count("max-queued-envelopes")) cfg.max_queued_envelopes = vm["max-queued-envelopes"].as<std::size_t>();
        if (vm.count("max-blob-bytes")) cfg.max_blob_bytes = vm["max-blob-bytes"].as<std::uint64_t>();
        if (vm.count("max-prekeys")) cfg.max_prekeys_per_account = vm["max-prekeys"].as<std::size_t>();
        if (vm.count("blob-ttl")) cfg.blob_ttl_s = vm["blob-ttl"].as<std::int64_t>();
        if (vm.count("allow-null-cipher")) {
            cfg.allow_null_cipher = true;
            std::cerr << "sealrelay: WARNING: --allow-null-cipher: clients in null-cipher mode are accepted; their "
                         "messages, files and calls cross the network in PLAINTEXT; debugging/audit positive "
                         "control only\n";
        }
        sealscope::e2ee::relay::validate(cfg);

        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);  // threads inherit the mask; main waits below

        Relay relay(cfg);
        relay.start();
        if (vm.count("ports-file")) {
            const std::string path = vm["ports-file"].as<std::string>();
            {
                std::ofstream out(path + ".tmp");
                out << fmt::format("chat={}\nblob={}\nmedia={}\n", relay.chat_port(), relay.blob_port(),
                                   relay.media_port());
            }
            std::rename((path + ".tmp").c_str(), path.c_str());
        }
        int sig = 0;
        sigwait(&set, &sig);
        relay.stop();
        return 0;
    } catch (const po::error& e) {  // an unknown option or a bad value: a usage error
        std::cerr << "sealrelay: " << e.what() << " (see 'sealrelay --help')\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "sealrelay: " << e.what() << "\n";
        return 1;
    }
}
