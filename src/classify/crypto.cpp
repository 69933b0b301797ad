#include "classify/crypto.hpp"

#include <gcrypt.h>

#include <cstring>

namespace sealscope::classify::crypto {

bool ready() noexcept {
  static const bool ok = [] {
    if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P) != 0) return true;  // the program did it
    if (gcry_check_version(GCRYPT_VERSION) == nullptr) return false;
    gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    return true;
  }();
  return ok;
}

namespace {
/// One digest handle per thread and algorithm, opened at first use and reset for each message.
template <int Algo>
struct Handle {
  gcry_md_hd_t h = nullptr;
  Handle() noexcept {
    if (ready() && gcry_md_open(&h, Algo, 0) != 0) h = nullptr;
  }
  ~Handle() {
    if (h != nullptr) gcry_md_close(h);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  /// The digest of one message, or null; valid until the thread's next use of this algorithm.
  const unsigned char* digest(const void* data, std::size_t len) noexcept {
    if (h == nullptr) return nullptr;
    gcry_md_reset(h);
    gcry_md_write(h, data, len);
    return gcry_md_read(h, Algo);
  }
};
}  // namespace

bool md5(const void* data, std::size_t len, uint8_t out[16]) noexcept {
  thread_local Handle<GCRY_MD_MD5> m;
  const unsigned char* d = m.digest(data, len);
  if (d == nullptr) return false;
  std::memcpy(out, d, 16);
  return true;
}

bool crc32(const void* data, std::size_t len, uint32_t& out) noexcept {
  thread_local Handle<GCRY_MD_CRC32> c;
  const unsigned char* d = c.digest(data, len);
  if (d == nullptr) return false;
  out = (uint32_t{d[0]} << 24) | (uint32_t{d[1]} << 16) | (uint32_t{d[2]} << 8) | uint32_t{d[3]};  // big-endian
  return true;
}

}  // namespace sealscope::classify::crypto
