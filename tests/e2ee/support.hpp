#pragma once
// What the e2ee tests share: fresh temporary folders, relay and client configurations for in-process
// relays on ephemeral ports, reading a file whole.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "client/client.hpp"
#include "relay/relay.hpp"

namespace sealscope::e2ee::test {

namespace fs = std::filesystem;

/// An empty folder of its own under the temporary directory: sealchat-PREFIX-TAG-PID.
inline fs::path temp_dir(const std::string& prefix, const std::string& tag) {
  fs::path p = fs::temp_directory_path() / ("sealchat-" + prefix + "-" + tag + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

/// A relay on ephemeral ports with its data and log under `dir`.
inline relay::RelayConfig relay_config(const fs::path& dir) {
  relay::RelayConfig c;
  c.chat_port = 0;
  c.blob_port = 0;
  c.media_port = 0;
  c.data_dir = (dir / "relay").string();
  c.log_file = (dir / "relay.log").string();
  return c;
}

/// A client of a relay on these ports.
inline client::ClientConfig client_config(std::uint16_t chat, std::uint16_t blob) {
  client::ClientConfig c;
  c.chat_port = chat;
  c.blob_port = blob;
  return c;
}

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace sealscope::e2ee::test
