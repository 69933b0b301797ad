#include "export/ipfix_exporter.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <thread>

#include "common/display_text.hpp"
#include "common/errors.hpp"

namespace sealscope::ipfix {

Collector resolve_collector(std::string_view spec) {
  const std::string s(spec);
  auto bad = [&](const char* why) {
    return UsageError(format_text("--ipfix '{}': ", s) + why);
  };
  std::string host, port;
  if (!spec.empty() && spec.front() == '[') {
    const size_t close = spec.find(']');
    if (close == std::string_view::npos || close + 1 >= spec.size() || spec[close + 1] != ':') {
      throw bad("expected [IPv6-ADDRESS]:PORT");
    }
    host = spec.substr(1, close - 1);
    port = spec.substr(close + 2);
    if (host.find(':') == std::string::npos) throw bad("brackets are for an IPv6 address, as in [::1]:4739");
  } else {
    const size_t colon = spec.rfind(':');
    if (colon == std::string_view::npos) throw bad("expected HOST:PORT (IPFIX collectors often listen on 4739)");
    host = spec.substr(0, colon);
    port = spec.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      throw bad("an IPv6 address is written in brackets, as in [::1]:4739");
    }
  }
  if (host.empty()) throw bad("no host before the port");
  unsigned p = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) {
    throw bad("the port must be a number from 1 to 65535");
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    throw UsageError(format_text("--ipfix '{}': cannot resolve '{}': {}", s, host,
                                 std::string(rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc))));
  }
  Collector c;
  c.spec = s;
  std::memcpy(&c.addr, res->ai_addr, res->ai_addrlen);  // the first address the resolver prefers
  c.addr_len = res->ai_addrlen;
  freeaddrinfo(res);
  return c;
}

Exporter::Exporter(const Collector& c, const Options& o) : spec_(c.spec), opt_(o), enc_(o.domain) {
  fd_ = ::socket(c.addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  // Connected, so an ICMP port unreachable from the collector's host comes back as ECONNREFUSED.
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<const sockaddr*>(&c.addr), c.addr_len) != 0) {
    const int e = errno;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    throw Error(format_text("--ipfix {}: cannot open a UDP socket to it: {}", spec_, std::string(std::strerror(e))));
  }
}

Exporter::~Exporter() {
  if (fd_ >= 0) ::close(fd_);
}

void Exporter::start() {
  const auto now = std::chrono::steady_clock::now();
  const bool templates = counts_.messages + counts_.failed_messages == 0 ||
                         since_templates_ >= kTemplateEveryMessages ||
                         now - templates_at_ >= std::chrono::seconds(kTemplateEverySeconds);
  if (templates) {
    since_templates_ = 0;
    templates_at_ = now;
  }
  enc_.start(static_cast<uint32_t>(std::time(nullptr)), templates);
}

void Exporter::send() {
  const size_t n = enc_.records();
  const bool templates = enc_.has_templates();
  const auto msg = enc_.finish();
  if (opt_.max_rate > 0) {
    // Pacing: a file is read much faster than real time, and a collector's socket buffer overflows
    // silently; this spaces messages at least 1/max_rate seconds apart.
    const auto now = std::chrono::steady_clock::now();
    if (next_send_ > now) std::this_thread::sleep_until(next_send_);
    next_send_ = std::max(now, next_send_) + std::chrono::microseconds(1000000 / opt_.max_rate);
  }
  ssize_t sent;
  do {
    sent = ::send(fd_, msg.data(), msg.size(), 0);
  } while (sent < 0 && errno == EINTR);
  if (sent == static_cast<ssize_t>(msg.size())) {
    ++counts_.messages;
    counts_.records += n;
    ++since_templates_;
  } else {
    if (counts_.error.empty()) counts_.error = sent < 0 ? std::strerror(errno) : "short send";
    ++counts_.failed_messages;
    counts_.failed_records += n;
    // The templates may not have arrived: send them again with the next message.
    if (templates) since_templates_ = kTemplateEveryMessages;
  }
}

void Exporter::write(const stats::FlowRecord& r) {
  if (closed_) return;
  if (!Encoder::exportable(r)) {
    ++counts_.skipped;
    return;
  }
  if (!enc_.started()) start();
  if (!enc_.add(r)) {
    send();
    start();
    enc_.add(r);  // always fits an empty message (the Encoder's minimum size)
  }
  if (opt_.send_each) send();
}

void Exporter::close() {
  if (closed_) return;
  closed_ = true;
  if (enc_.started() && enc_.records() > 0) send();
  if (counts_.messages == 0) return;
  // A refusal of the last message(s) arrives as an ICMP error after send() returned; wait briefly for it.
  pollfd p{fd_, 0, 0};
  if (::poll(&p, 1, kLateErrorMs) > 0 && (p.revents & POLLERR) != 0) {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
      counts_.refused_after = true;
      if (counts_.error.empty()) counts_.error = std::strerror(err);
    }
  }
}

}  // namespace sealscope::ipfix
