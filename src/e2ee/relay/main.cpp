// sealrelay: accounts, prekey directory, store-and-forward, blob store and UDP media relay.
#include "relay/relay.hpp"

#include "common/cli_unsigned.hpp"
#include "common/display_text.hpp"

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <stdexcept>

namespace po = boost::program_options;
using sealscope::e2ee::relay::Relay;
using sealscope::e2ee::relay::RelayConfig;

namespace {

/// A count or a number of seconds given as an unsigned option (so that a negative value is a usage error),
/// kept as the int the configuration holds; a value above INT_MAX becomes INT_MAX, which validate() refuses
/// with the option's range.
int as_int(const po::variables_map& vm, const char* name) {
    return static_cast<int>(std::min<unsigned>(vm[name].as<unsigned>(), INT_MAX));
}

/// Write the bound ports to `path` through `path`.tmp and a rename; throws naming the file and the reason.
void write_ports_file(const std::string& path, const Relay& relay) {
    const std::string tmp = path + ".tmp";
    const std::string text =
        fmt::format("chat={}\nblob={}\nmedia={}\n", relay.chat_port(), relay.blob_port(), relay.media_port());
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    bool ok = f != nullptr && std::fwrite(text.data(), 1, text.size(), f) == text.size();
    int err = errno;
    if (f != nullptr && std::fclose(f) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        std::remove(tmp.c_str());
        throw std::runtime_error(fmt::format("ports file {}: cannot write: {}", path, std::strerror(err)));
    }
}

} // namespace

int main(int argc, char** argv) {
    try {
        po::options_description opts("sealrelay options");
        opts.add_options()("help,h", "show this help")
            ("config,c", po::value<std::string>(), "YAML configuration file")
            ("listen", po::value<std::string>(), "IPv4 or IPv6 address to listen on (default 127.0.0.1; :: = both)")
            ("chat-port", po::value<std::uint16_t>(), "TCP port of the chat service (default 5443, 0 = any)")
            ("blob-port", po::value<std::uint16_t>(), "TCP port of the blob store (default 5444, 0 = any)")
            ("media-port", po::value<std::uint16_t>(), "UDP port of the media relay (default 5445, 0 = any)")
            ("data-dir,d", po::value<std::string>(), "directory for relay.db, blobs/ and the relay key")
            ("log-file,l", po::value<std::string>(), "metadata log file (default stderr)")
            ("idle-timeout", po::value<unsigned>(),
             "seconds before an idle connection is closed (1..86400, default 90)")
            ("send-timeout", po::value<unsigned>(),
             "seconds before a write to a client that does not read fails (1..86400, default 10)")
            ("max-connections", po::value<unsigned>(),
             "concurrent connections; more are refused and logged (1..65536, default 256)")
            ("max-frame-bytes", po::value<std::size_t>(), "largest frame body accepted (32785..65535, default 65535)")
            ("max-queued-envelopes", po::value<std::size_t>(),
             "envelopes queued per recipient; further sends are refused (default 10000)")
            ("max-blob-bytes", po::value<std::uint64_t>(), "largest attachment upload (default 67108864)")
            ("max-prekeys", po::value<std::size_t>(), "one-time prekeys held per account (default 1000)")
            ("max-accounts", po::value<std::size_t>(),
             "accounts; registrations of new names are refused beyond (default 100000)")
            ("max-calls-per-user", po::value<std::size_t>(), "call allocations held at once per user (default 16)")
            ("max-blob-storage", po::value<std::uint64_t>(),
             "bytes of blobs one user's uploads hold at once (default 1073741824)")
            ("blob-ttl", po::value<std::uint64_t>(),
             "delete blobs older than this many seconds, 0 = never (at most 315360000, default 2592000)")
            ("ports-file", po::value<std::string>(), "write the bound ports here once serving; removed at stop")
            ("allow-null-cipher",
             "DEBUG ONLY: accept sealchat clients in --null-cipher mode (messages, files and calls in "
             "plaintext); refused by default");
        po::variables_map vm;
        const po::parsed_options parsed = po::parse_command_line(argc, argv, opts);
        sealscope::reject_negative_unsigned(parsed);
        // Without a positional description Boost keeps stray words and store() drops them: `sealrelay
        // config.yaml` (forgot -c) would start with the defaults.
        for (const std::string& word : po::collect_unrecognized(parsed.options, po::include_positional))
            throw po::error(fmt::format("unexpected argument '{}' (a configuration file is given with -c FILE)",
                                        word));
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
        if (vm.count("idle-timeout")) cfg.idle_timeout_s = as_int(vm, "idle-timeout");
        if (vm.count("send-timeout")) cfg.send_timeout_s = as_int(vm, "send-timeout");
        if (vm.count("max-connections")) cfg.max_connections = as_int(vm, "max-connections");
        if (vm.count("max-frame-bytes")) cfg.max_frame_bytes = vm["max-frame-bytes"].as<std::size_t>();
        if (vm.count("max-queued-envelopes")) cfg.max_queued_envelopes = vm["max-queued-envelopes"].as<std::size_t>();
        if (vm.count("max-blob-bytes")) cfg.max_blob_bytes = vm["max-blob-bytes"].as<std::uint64_t>();
        if (vm.count("max-prekeys")) cfg.max_prekeys_per_account = vm["max-prekeys"].as<std::size_t>();
        if (vm.count("max-accounts")) cfg.max_accounts = vm["max-accounts"].as<std::size_t>();
        if (vm.count("max-calls-per-user")) cfg.max_calls_per_user = vm["max-calls-per-user"].as<std::size_t>();
        if (vm.count("max-blob-storage"))
            cfg.max_blob_storage_per_user = vm["max-blob-storage"].as<std::uint64_t>();
        if (vm.count("blob-ttl"))
            cfg.blob_ttl_s = static_cast<std::int64_t>(std::min<std::uint64_t>(vm["blob-ttl"].as<std::uint64_t>(),
                                                                               INT64_MAX));
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
        std::string ports_file;
        if (vm.count("ports-file")) {
            ports_file = vm["ports-file"].as<std::string>();
            write_ports_file(ports_file, relay);
        }
        int sig = 0;
        sigwait(&set, &sig);
        relay.stop();
        if (!ports_file.empty()) std::remove(ports_file.c_str());  // the ports are no longer served
        return 0;
    } catch (const po::error& e) {  // an unknown option or a bad value: a usage error
        std::cerr << "sealrelay: " << sealscope::display_text(e.what()) << " (see 'sealrelay --help')\n";
        return 2;
    } catch (const std::exception& e) {
        // A file name (config, data directory) as display text, as sealscope shows names.
        std::cerr << "sealrelay: " << sealscope::display_text(e.what()) << "\n";
        return 1;
    }
}
