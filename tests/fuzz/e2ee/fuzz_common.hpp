// Shared helpers of the e2ee libFuzzer targets: a deterministic libsodium RNG (so every input replays
// exactly, including the relay's ephemeral keys), socketpairs, and the seed-writing hook.
#pragma once

#include "crypto/primitives.hpp"
#include "wire/socket.hpp"

#include <sodium.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

namespace e2ee_fuzz {

using sealscope::e2ee::crypto::Bytes;
using sealscope::e2ee::crypto::ByteView;

// SplitMix64 behind randombytes_set_implementation: libsodium 1.0.18 has no seedable stream (its
// randombytes_buf_deterministic returns the same bytes for a seed on every call). std::mt19937_64 would do,
// but the committed handshake and envelope seeds (seeds/*) were made under this generator's exact output;
// with another, the keys regenerated on replay would differ and those seeds would only reach failure paths.
inline std::uint64_t g_rng_state = 0;

inline std::uint64_t splitmix64() {
    std::uint64_t z = (g_rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

inline const char* rng_name() { return "e2ee-fuzz-deterministic"; }
inline std::uint32_t rng_random() { return static_cast<std::uint32_t>(splitmix64()); }
inline void rng_buf(void* const buf, const size_t size) {
    auto* p = static_cast<std::uint8_t*>(buf);
    for (size_t i = 0; i < size; ++i) p[i] = static_cast<std::uint8_t>(splitmix64() >> 24);
}

/// Restart the deterministic RNG (call at the start of every input and before making seeds).
inline void reseed(std::uint64_t seed) { g_rng_state = seed; }

/// Install the deterministic RNG and initialise libsodium; idempotent.
inline void init() {
    static bool done = false;
    if (done) return;
    done = true;
    static randombytes_implementation impl = {rng_name, rng_random, nullptr, nullptr, rng_buf, nullptr};
    randombytes_set_implementation(&impl);
    reseed(1);
    sealscope::e2ee::crypto::init();
}

/// A connected AF_UNIX stream pair: first = the side the code under test uses, second = the peer.
inline std::pair<sealscope::e2ee::wire::Fd, sealscope::e2ee::wire::Fd> socket_pair() {
    int sv[2] = {-1, -1};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
    const int big = 1 << 20;
    ::setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    ::setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    return {sealscope::e2ee::wire::Fd(sv[0]), sealscope::e2ee::wire::Fd(sv[1])};
}

/// Length-prefixed frame.
inline Bytes frame(ByteView body) {
    Bytes out{static_cast<std::uint8_t>(body.size() >> 8), static_cast<std::uint8_t>(body.size())};
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

/// Write one seed file.
inline void write_seed(const std::string& dir, const std::string& name, ByteView data) {
    std::filesystem::create_directories(dir);
    std::ofstream out(std::filesystem::path(dir) / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

/// A property the target checks was violated: crash so libFuzzer keeps the input.
[[noreturn]] inline void violated(const char* what) {
    std::fprintf(stderr, "e2ee fuzz invariant violated: %s\n", what);
    std::abort();
}

} // namespace e2ee_fuzz

/// Defined by every target: write its seed corpus into `dir` (used by the replay driver's --write-seeds).
void e2ee_fuzz_write_seeds(const std::string& dir);
