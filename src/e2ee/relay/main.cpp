// sealrelay: accounts, prekey directory, store-and-forward, blob store and UDP media relay.
#include "relay/relay.hpp"

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
            ("ports-file", po::value<std::string>(), "write the bound ports here once serving");
        po::variables_map vm;
        po::store(po::parse_command_line(argc, argv, opts), vm);
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
    } catch (const std::exception& e) {
        std::cerr << "sealrelay: " << e.what() << "\n";
        return 1;
    }
}
