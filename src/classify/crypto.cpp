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
struct Md5Handle {
  gcry_md_hd_t h = nullptr;
  Md5Handle() noexcept {
    if (ready() && gcry_md_open(&h, GCRY_MD_MD5, 0) != 0) h = nullptr;
  }
  ~Md5Handle() {
    if (h != nullptr) gcry_md_close(h);
  }
  Md5Handle(const Md5Handle&) = delete;
  Md5Handle& operator=(const Md5Handle&) = delete;
};
}  // namespace

bool md5(const void* data, std::size_t len, uint8_t out[16]) noexcept {
  thread_local Md5Handle m;
  if (m.h == nullptr) return false;
  gcry_md_reset(m.h);
  gcry_md_write(m.h, data, len);
  const unsigned char* d = gcry_md_read(m.h, GCRY_MD_MD5);
  if (d == nullptr) return false;
  std::memcpy(out, d, 16);
  return true;
}

}  // namespace sealscope::classify::crypto
