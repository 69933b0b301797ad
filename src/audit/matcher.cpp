#include "audit/matcher.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <hs/hs.h>

#include "common/errors.hpp"

namespace sealscope::audit {

namespace {

struct Trampoline {
  Matcher::OnMatch cb;
  void* ctx;
};

int on_event(unsigned int id, unsigned long long /*from*/, unsigned long long to, unsigned int /*flags*/,
             void* ctx) {
  auto* t = static_cast<Trampoline*>(ctx);
  t->cb(t->ctx, id, to);
  return 0;  // keep scanning: every occurrence is reported
}

hs_database_t* compile(const std::vector<Pattern>& pats, unsigned mode) {
  std::vector<const char*> exprs;
  std::vector<size_t> lens;
  std::vector<unsigned> flags, ids;
  for (size_t i = 0; i < pats.size(); ++i) {
    exprs.push_back(pats[i].bytes.data());
    lens.push_back(pats[i].bytes.size());
    flags.push_back(0);  // exact bytes; case variants are explicit patterns
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_lit_multi(exprs.data(), flags.data(), ids.data(), lens.data(), static_cast<unsigned>(pats.size()),
                           mode, nullptr, &db, &err) != HS_SUCCESS) {
    std::string msg = err && err->message ? err->message : "unknown error";
    const int which = err ? err->expression : -1;
    hs_free_compile_error(err);
    throw UsageError(fmt::format("canary pattern {} does not compile in Hyperscan: {}", which, msg));
  }
  return db;
}

}  // namespace

Matcher::Matcher(std::vector<Pattern> patterns) : patterns_(std::move(patterns)) {
  if (hs_valid_platform() != HS_SUCCESS) {
    throw UsageError("this CPU lacks SSSE3, which Hyperscan (the canary matcher) needs");
  }
  if (patterns_.empty()) throw UsageError("no canary pattern to search for");
  block_db_ = compile(patterns_, HS_MODE_BLOCK);
  stream_db_ = compile(patterns_, HS_MODE_STREAM);
  if (hs_alloc_scratch(block_db_, &scratch_) != HS_SUCCESS || hs_alloc_scratch(stream_db_, &scratch_) != HS_SUCCESS) {
    throw UsageError("Hyperscan: cannot allocate scratch space");
  }
  hs_stream_size(stream_db_, &stream_bytes_);
}

Matcher::~Matcher() {
  hs_free_scratch(scratch_);
  hs_free_database(block_db_);
  hs_free_database(stream_db_);
}

const char* Matcher::padded(const uint8_t* data, std::size_t len) const {
  if (pad_.size() < len + 2 * kSlack) pad_.resize(len + 2 * kSlack);  // new bytes are zero
  std::copy(data, data + len, pad_.begin() + static_cast<std::ptrdiff_t>(kSlack));
  // Zero the slack after this block again (a longer earlier block left its bytes there).
  std::fill_n(pad_.begin() + static_cast<std::ptrdiff_t>(kSlack + len), kSlack, uint8_t{0});
  return reinterpret_cast<const char*>(pad_.data() + kSlack);
}

void Matcher::scan(const uint8_t* data, std::size_t len, OnMatch cb, void* ctx) const {
  if (len == 0) return;
  Trampoline t{cb, ctx};
  hs_scan(block_db_, padded(data, len), static_cast<unsigned>(len), 0, scratch_, on_event, &t);
}

Matcher::Stream::~Stream() {
  if (s_) hs_close_stream(s_, m_->scratch_, nullptr, nullptr);
}

Matcher::Stream& Matcher::Stream::operator=(Stream&& o) noexcept {
  if (this != &o) {
    if (s_) hs_close_stream(s_, m_->scratch_, nullptr, nullptr);
    m_ = o.m_;
    s_ = o.s_;
    o.s_ = nullptr;
  }
  return *this;
}

void Matcher::Stream::feed(const Matcher& m, const uint8_t* data, std::size_t len, OnMatch cb, void* ctx) {
  if (len == 0) return;
  if (!s_) {
    m_ = &m;
    if (hs_open_stream(m.stream_db_, 0, &s_) != HS_SUCCESS) {
      s_ = nullptr;
      return;
    }
  }
  Trampoline t{cb, ctx};
  hs_scan_stream(s_, m_->padded(data, len), static_cast<unsigned>(len), 0, m_->scratch_, on_event, &t);
}

void Matcher::Stream::reset(OnMatch cb, void* ctx) {
  if (!s_) return;
  Trampoline t{cb, ctx};
  hs_reset_stream(s_, 0, m_->scratch_, on_event, &t);
}

void Matcher::Stream::close(OnMatch cb, void* ctx) {
  if (!s_) return;
  Trampoline t{cb, ctx};
  hs_close_stream(s_, m_->scratch_, on_event, &t);
  s_ = nullptr;
}

}  // namespace sealscope::audit
