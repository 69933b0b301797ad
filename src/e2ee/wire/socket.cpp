#include "wire/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sealscope::e2ee::wire {

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

int Fd::release() {
    const int f = fd_;
    fd_ = -1;
    return f;
}

void Fd::shutdown() const {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

std::pair<std::string, std::uint16_t> split_host_port(const std::string& s, std::uint16_t default_port) {
    std::string host = s, rest;
    if (!s.empty() && s[0] == '[') {
        // RFC 3986's IP-literal: brackets around an IPv6 address, so its colons are not the port's.
        const auto close = s.find(']');
        if (close == std::string::npos) throw WireError("bad address '" + s + "': no ']' after the IPv6 address");
        host = s.substr(1, close - 1);
        rest = s.substr(close + 1);
        if (!rest.empty() && rest[0] != ':')
            throw WireError("bad address '" + s + "': only ':PORT' may follow ']'");
    } else if (const auto colon = s.find(':'); colon != std::string::npos && s.find(':', colon + 1) == std::string::npos) {
        host = s.substr(0, colon);
        rest = s.substr(colon);
    }  // else: no colon, or an IPv6 address without brackets (its last group is no port)
    if (host.empty()) throw WireError("bad address '" + s + "': no host");
    if (rest.empty()) return {host, default_port};
    const std::string digits = rest.substr(1);
    const bool numeric = !digits.empty() && digits.size() <= 5 &&
                         std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    const long port = numeric ? std::stol(digits) : 0;
    if (port < 1 || port > 65535) throw WireError("bad address '" + s + "': the port must be a number from 1 to 65535");
    return {host, static_cast<std::uint16_t>(port)};
}

std::string host_port(const std::string& host, std::uint16_t port) {
    const bool ipv6 = host.find(':') != std::string::npos;
    return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool Endpoint::operator==(const Endpoint& o) const {
    if (family() != o.family()) return false;
    if (family() == AF_INET) {
        const auto& x = reinterpret_cast<const sockaddr_in&>(addr);
        const auto& y = reinterpret_cast<const sockaddr_in&>(o.addr);
        return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
    }
    if (family() == AF_INET6) {
        const auto& x = reinterpret_cast<const sockaddr_in6&>(addr);
        const auto& y = reinterpret_cast<const sockaddr_in6&>(o.addr);
        return x.sin6_port == y.sin6_port && x.sin6_scope_id == y.sin6_scope_id &&
               std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
    }
    return false;
}

std::string Endpoint::str() const {
    char host[NI_MAXHOST] = {}, serv[NI_MAXSERV] = {};
    if (len == 0 || ::getnameinfo(sa(), len, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return "?";
    return family() == AF_INET6 ? "[" + std::string(host) + "]:" + serv : std::string(host) + ":" + serv;
}

Endpoint Endpoint::with_port(std::uint16_t port) const {
    Endpoint e = *this;
    if (family() == AF_INET6) reinterpret_cast<sockaddr_in6&>(e.addr).sin6_port = htons(port);
    else reinterpret_cast<sockaddr_in&>(e.addr).sin_port = htons(port);
    return e;
}

std::vector<Endpoint> resolve(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;  // one entry per address (the protocol does not change the address)
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0 || !res)
        throw WireError("cannot resolve " + host + (rc != 0 ? std::string(": ") + gai_strerror(rc) : ""));
    std::vector<Endpoint> out;
    for (const addrinfo* ai = res; ai; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
        Endpoint e;
        std::memcpy(&e.addr, ai->ai_addr, ai->ai_addrlen);
        e.len = ai->ai_addrlen;
        out.push_back(e);
    }
    ::freeaddrinfo(res);
    if (out.empty()) throw WireError("cannot resolve " + host + ": no IPv4 or IPv6 address");
    return out;
}

namespace {
std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

/// One connect attempt; the reason it failed, or empty.
std::string try_connect(int fd, const Endpoint& a, int timeout_ms) {
    if (::connect(fd, a.sa(), a.len) == 0) return {};
    if (errno != EINPROGRESS) return std::strerror(errno);
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return "timeout";
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return err != 0 ? std::strerror(err) : std::string();
}
} // namespace

Fd tcp_connect(const std::string& host, std::uint16_t port, int timeout_ms) {
    return tcp_connect(resolve(host, port), timeout_ms);
}

Fd tcp_connect(const std::vector<Endpoint>& to, int timeout_ms) {
    std::string failures;
    for (const Endpoint& a : to) {
        Fd fd(::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (fd.get() < 0) throw WireError(errno_text("socket"));
        const std::string why = try_connect(fd.get(), a, timeout_ms);
        if (!why.empty()) {
            // One address: the caller names it; several: which failed how.
            failures += (failures.empty() ? "" : ", ") + (to.size() == 1 ? why : a.str() + ": " + why);
            continue;
        }
        const int flags = ::fcntl(fd.get(), F_GETFL);
        ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
        const int one = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return fd;
    }
    throw WireError("connect: " + (failures.empty() ? std::string("no address") : failures));
}

Fd tcp_listen(const std::string& host, std::uint16_t port) {
    const Endpoint a = resolve(host, port).front();
    Fd fd(::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) throw WireError(errno_text("socket"));
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), a.sa(), a.len) != 0) {
        const int e = errno;  // the address in the message: "bind: Address already in use" does not say which
        throw WireError("bind " + a.str() + "/tcp: " + std::strerror(e));
    }
    if (::listen(fd.get(), 128) != 0) throw WireError(errno_text("listen"));
    return fd;
}

Fd udp_bind(const std::string& host, std::uint16_t port) {
    const Endpoint a = resolve(host, port).front();
    Fd fd(::socket(a.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) throw WireError(errno_text("socket"));
    if (::bind(fd.get(), a.sa(), a.len) != 0) {
        const int e = errno;  // the address in the message: "bind: Address already in use" does not say which
        throw WireError("bind " + a.str() + "/udp: " + std::strerror(e));
    }
    return fd;
}

Fd udp_socket_for(const Endpoint& to) { return udp_bind(to.family() == AF_INET6 ? "::" : "0.0.0.0", 0); }

std::uint16_t bound_port(int fd) {
    Endpoint a;
    a.len = sizeof a.addr;
    ::getsockname(fd, a.sa(), &a.len);
    if (a.family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a.addr).sin6_port);
    return ntohs(reinterpret_cast<const sockaddr_in&>(a.addr).sin_port);
}

namespace {
/// The peer of a connected socket, or nothing (errno says why).
std::optional<Endpoint> peer_of(int fd) {
    Endpoint a;
    a.len = sizeof a.addr;
    if (::getpeername(fd, a.sa(), &a.len) != 0) return std::nullopt;
    return a;
}
} // namespace

Endpoint peer_endpoint(int fd) {
    const std::optional<Endpoint> a = peer_of(fd);
    if (!a) throw WireError(errno_text("getpeername"));
    return *a;
}

std::string peer_name(int fd) {
    const std::optional<Endpoint> a = peer_of(fd);
    return a ? a->str() : "?";
}

bool read_exact(int fd, std::uint8_t* buf, std::size_t n, int timeout_ms) {
    std::size_t got = 0;
    while (got < n) {
        pollfd p{fd, POLLIN, 0};
        const int r = ::poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) throw WireError(errno_text("poll"));
        if (r == 0) {
            if (got == 0) return false;
            throw WireError("timeout inside a frame");
        }
        const ssize_t k = ::recv(fd, buf + got, n - got, 0);
        if (k == 0) throw WireError("connection closed by peer");
        if (k < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            throw WireError(errno_text("recv"));
        }
        got += static_cast<std::size_t>(k);
    }
    return true;
}

void write_all(int fd, ByteView data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        const ssize_t k = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR) continue;
            throw WireError(errno_text("send"));
        }
        sent += static_cast<std::size_t>(k);
    }
}

FrameTooLarge::FrameTooLarge(std::size_t len, std::size_t lim)
    : WireError("frame length " + std::to_string(len) + " above limit " + std::to_string(lim)), length(len),
      limit(lim) {}

Prologue parse_prologue(ByteView pro) {
    const std::uint8_t ch = pro.size() == 4 ? static_cast<std::uint8_t>(pro[3] & ~kNullCipherFlag) : 0xFF;
    if (pro.size() != 4 || pro[0] != kPrologueHead[0] || pro[1] != kPrologueHead[1] ||
        pro[2] != kPrologueHead[2] || ch > static_cast<std::uint8_t>(Channel::blob))
        throw WireError("handshake: bad prologue " + crypto::to_hex(pro));
    return {static_cast<Channel>(ch), (pro[3] & kNullCipherFlag) != 0};
}

std::size_t check_frame_length(std::size_t len, std::size_t exact_len, std::size_t max_len) {
    if (len < kMinFrame) throw WireError("frame length " + std::to_string(len) + " below minimum");
    if (exact_len != 0 && len != exact_len)
        throw WireError("handshake frame length " + std::to_string(len) + ", expected " + std::to_string(exact_len));
    if (len > max_len) throw FrameTooLarge(len, max_len);
    return len;
}

void FrameParser::feed(ByteView data) {
    if (at_ > 0 && at_ == buf_.size()) {
        buf_.clear();
        at_ = 0;
    }
    crypto::append(buf_, data);
}

std::optional<Bytes> FrameParser::next(std::size_t exact_len) {
    if (buffered() < kFrameHeader) return std::nullopt;
    const std::size_t len = check_frame_length((std::size_t{buf_[at_]} << 8) | buf_[at_ + 1], exact_len, max_len_);
    if (buffered() < kFrameHeader + len) return std::nullopt;
    const auto first = buf_.begin() + static_cast<std::ptrdiff_t>(at_ + kFrameHeader);
    Bytes body(first, first + static_cast<std::ptrdiff_t>(len));
    at_ += kFrameHeader + len;
    return body;
}

std::optional<Bytes> read_frame(int fd, int timeout_ms, std::size_t exact_len, std::size_t max_len) {
    std::uint8_t hdr[kFrameHeader];
    if (!read_exact(fd, hdr, kFrameHeader, timeout_ms)) return std::nullopt;
    const std::size_t len = check_frame_length((std::size_t{hdr[0]} << 8) | hdr[1], exact_len, max_len);
    Bytes body(len);
    if (!read_exact(fd, body.data(), len, timeout_ms)) throw WireError("timeout inside a frame");
    return body;
}

void write_frame(int fd, ByteView body) {
    if (body.size() > kMaxFrame || body.size() < kMinFrame) throw WireError("frame length out of range");
    Bytes out;
    out.reserve(body.size() + kFrameHeader);
    out.push_back(static_cast<std::uint8_t>(body.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(body.size()));
    crypto::append(out, body);
    write_all(fd, out);
}

SecureChannel::SecureChannel(Fd fd, Channel channel, crypto::noise::HandshakeState& hs, bool null_cipher)
    : fd_(std::move(fd)), channel_(channel), null_cipher_(null_cipher), remote_static_(hs.remote_static()) {
    std::tie(send_, recv_) = hs.split();
}

SecureChannel::SecureChannel(SecureChannel&& o) noexcept
    : fd_(std::move(o.fd_)), channel_(o.channel_), null_cipher_(o.null_cipher_), send_(o.send_), recv_(o.recv_),
      remote_static_(o.remote_static_), max_frame_(o.max_frame_) {}

SecureChannel SecureChannel::connect(Fd fd, Channel channel, const crypto::DhKeyPair& static_key, int timeout_ms,
                                     bool null_cipher) {
    try {
        return connect_impl(std::move(fd), channel, static_key, timeout_ms, null_cipher);
    } catch (const crypto::CryptoError& e) {
        throw WireError(std::string("handshake: ") + e.what());
    } catch (const WireError& e) {
        if (!null_cipher) throw;
        // A relay closes a null-cipher connection right after the prologue unless it allows the mode.
        throw WireError(std::string(e.what()) +
                        " (null-cipher mode: the relay must be started with --allow-null-cipher)");
    }
}

SecureChannel SecureChannel::accept(Fd fd, const crypto::DhKeyPair& static_key, int timeout_ms,
                                    bool allow_null_cipher) {
    try {
        return accept_impl(std::move(fd), static_key, timeout_ms, allow_null_cipher);
    } catch (const crypto::CryptoError& e) {
        throw WireError(std::string("handshake: ") + e.what());
    }
}

SecureChannel SecureChannel::connect_impl(Fd fd, Channel channel, const crypto::DhKeyPair& static_key,
                                          int timeout_ms, bool null_cipher) {
    const auto pro = prologue(channel, null_cipher);
    crypto::noise::HandshakeState hs(true, pro, static_key);
    // The prologue bytes go on the wire first, in the same segment as message 1.
    Bytes first(pro.begin(), pro.end());
    const Bytes m1 = hs.write_message({});
    first.push_back(static_cast<std::uint8_t>(m1.size() >> 8));
    first.push_back(static_cast<std::uint8_t>(m1.size()));
    crypto::append(first, m1);
    write_all(fd.get(), first);
    auto m2 = read_frame(fd.get(), timeout_ms, kHandshake2);
    if (!m2) throw WireError("handshake: timeout waiting for message 2");
    if (m2->size() != kHandshake2 || !hs.read_message(*m2)) throw WireError("handshake: message 2 rejected");
    write_frame(fd.get(), hs.write_message({}));
    return SecureChannel(std::move(fd), channel, hs, null_cipher);
}

SecureChannel SecureChannel::accept_impl(Fd fd, const crypto::DhKeyPair& static_key, int timeout_ms,
                                         bool allow_null_cipher) {
    std::array<std::uint8_t, 4> pro{};
    if (!read_exact(fd.get(), pro.data(), pro.size(), timeout_ms)) throw WireError("handshake: no prologue");
    const auto [channel, null_cipher] = parse_prologue(pro);
    if (null_cipher && !allow_null_cipher) throw WireError(kNullCipherRefused);
    crypto::noise::HandshakeState hs(false, pro, static_key);
    auto m1 = read_frame(fd.get(), timeout_ms, kHandshake1);
    if (!m1) throw WireError("handshake: timeout waiting for message 1");
    if (m1->size() != kHandshake1 || !hs.read_message(*m1)) throw WireError("handshake: message 1 rejected");
    write_frame(fd.get(), hs.write_message({}));
    auto m3 = read_frame(fd.get(), timeout_ms, kHandshake3);
    if (!m3) throw WireError("handshake: timeout waiting for message 3");
    if (m3->size() != kHandshake3 || !hs.read_message(*m3)) throw WireError("handshake: message 3 rejected");
    return SecureChannel(std::move(fd), channel, hs, null_cipher);
}

void SecureChannel::send(ByteView plaintext) {
    if (plaintext.size() + crypto::noise::kTagLen > kMaxFrame) throw WireError("message too large for one frame");
    std::lock_guard lock(send_mutex_);
    if (null_cipher_) {
        // Debug mode: the plaintext itself, then an all-zero tag, so frame sizes are those of normal mode.
        Bytes body(plaintext.begin(), plaintext.end());
        body.resize(body.size() + crypto::noise::kTagLen, 0);
        write_frame(fd_.get(), body);
        return;
    }
    write_frame(fd_.get(), send_.encrypt_with_ad({}, plaintext));
}

void SecureChannel::send_json(const nlohmann::json& j) { send(crypto::view(j.dump())); }

std::optional<Bytes> SecureChannel::recv(int timeout_ms) {
    auto frame = read_frame(fd_.get(), timeout_ms, 0, max_frame_);
    if (!frame) return std::nullopt;
    if (null_cipher_) {
        const auto tag = frame->end() - static_cast<std::ptrdiff_t>(crypto::noise::kTagLen);
        if (std::any_of(tag, frame->end(), [](std::uint8_t b) { return b != 0; }))
            throw WireError("null-cipher transport message with a non-zero tag");
        frame->erase(tag, frame->end());
        return frame;
    }
    auto pt = recv_.decrypt_with_ad({}, *frame);
    if (!pt) throw WireError("transport message failed authentication");
    return pt;
}

nlohmann::json parse_json(ByteView plaintext) {
    if (plaintext.empty() || plaintext[0] != kKindJson) throw WireError("expected a JSON control message");
    auto j = nlohmann::json::parse(plaintext.begin(), plaintext.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("t") || !j["t"].is_string())
        throw WireError("malformed control message");
    return j;
}

} // namespace sealscope::e2ee::wire
