#pragma once
// What the e2ee tests share: fresh temporary folders, relay and client configurations for in-process
// relays on ephemeral ports, reading a file whole, waiting for a condition.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

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

/// Polls `pred` every 20 ms for up to `ms`; whether it became true.
template <class F>
bool eventually(int ms, F pred) {
  for (int i = 0; i < ms / 20; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

/// A client of relay `r` that waits up to 5 s for a reply.
inline client::ClientConfig patient_client(const relay::Relay& r) {
  client::ClientConfig c = client_config(r.chat_port(), r.blob_port());
  c.request_timeout_ms = 5000;
  return c;
}

}  // namespace sealscope::e2ee::test
