#pragma once
// libgcrypt for the classifiers: initialised once per process, digests through handles opened once per
// thread, so nothing is allocated per packet.
#include <cstddef>
#include <cstdint>

namespace sealscope::classify::crypto {

/// Initialises libgcrypt unless the program already did; false if the library cannot be used.
bool ready() noexcept;

/// MD5 of `len` bytes (for JA3 digests, which are defined as MD5). False if libgcrypt is unusable (or MD5
/// is disabled, as in FIPS mode); `out` is then untouched.
bool md5(const void* data, std::size_t len, uint8_t out[16]) noexcept;

/// CRC-32 of `len` bytes: the ISO 3309 / ITU-T V.42 one (zlib's, Ethernet's), which STUN's FINGERPRINT
/// uses (RFC 5389 §15.5). False if libgcrypt is unusable (or CRC-32 is disabled, as in FIPS mode); `out`
/// is then untouched.
bool crc32(const void* data, std::size_t len, uint32_t& out) noexcept;

}  // namespace sealscope::classify::crypto
