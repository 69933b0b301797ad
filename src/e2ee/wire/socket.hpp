#pragma once

#include "crypto/noise.hpp"
#include "wire/protocol.hpp"

#include <nlohmann/json.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sealscope::e2ee::wire {

using crypto::Bytes;
using crypto::ByteView;

/// A connection-level failure; the message is the reason that gets logged.
class WireError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Owning file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();
    /// The raw descriptor (-1 if none).
    int get() const { return fd_; }
    /// Give up ownership.
    int release();
    /// shutdown(2) both directions, waking any reader.
    void shutdown() const;

private:
    int fd_ = -1;
};

/// "host:port", "[ipv6]:port", or a host alone ("host", "ipv6", "[ipv6]": then `default_port`) split; the port
/// must be 1 to 65535 in digits. Throws WireError naming the address.
std::pair<std::string, std::uint16_t> split_host_port(const std::string& s, std::uint16_t default_port);

/// "host:port", with brackets around an IPv6 address ("[::1]:7000"): what split_host_port() reads.
std::string host_port(const std::string& host, std::uint16_t port);

/// An IPv4 or IPv6 socket address.
struct Endpoint {
    sockaddr_storage addr{};
    socklen_t len = 0;
    int family() const { return addr.ss_family; }
    const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&addr); }
    sockaddr* sa() { return reinterpret_cast<sockaddr*>(&addr); }
    /// The same family, address and port (IPv6: and scope).
    bool operator==(const Endpoint& o) const;
    /// "192.0.2.1:7000" or "[2001:db8::1]:7000".
    std::string str() const;
    /// The same address with another port.
    Endpoint with_port(std::uint16_t port) const;
};

/// The addresses of `host` (an IPv4 or IPv6 literal, or a name looked up with getaddrinfo, in the order it
/// gives: RFC 6724's) with `port`; throws WireError naming the host.
std::vector<Endpoint> resolve(const std::string& host, std::uint16_t port);
/// Blocking TCP connect with a timeout per address, trying each of `host`'s addresses in turn.
Fd tcp_connect(const std::string& host, std::uint16_t port, int timeout_ms = 5000);
/// The same over addresses already resolved; the error says why each failed (naming them when several).
Fd tcp_connect(const std::vector<Endpoint>& to, int timeout_ms);
/// Listening TCP socket on `host`'s first address; port 0 picks one (see bound_port). "::" takes IPv4 too.
Fd tcp_listen(const std::string& host, std::uint16_t port);
/// Bound UDP socket on `host`'s first address; port 0 picks one.
Fd udp_bind(const std::string& host, std::uint16_t port);
/// A UDP socket on any local address and port, of the family that reaches `to`.
Fd udp_socket_for(const Endpoint& to);
/// The local port a socket is bound to.
std::uint16_t bound_port(int fd);
/// The peer of a connected socket; throws WireError if it has none.
Endpoint peer_endpoint(int fd);
/// Endpoint::str() of the peer of a connected socket ("?" if it has none).
std::string peer_name(int fd);

/// Read exactly n bytes; false on timeout before the first byte, throws on EOF/error/partial timeout.
bool read_exact(int fd, std::uint8_t* buf, std::size_t n, int timeout_ms);
/// Write all bytes; throws WireError.
void write_all(int fd, ByteView data);

/// A frame longer than the receiver's limit (a resource bound: the relay logs it as limit_reached).
class FrameTooLarge : public WireError {
public:
    FrameTooLarge(std::size_t length, std::size_t limit);
    std::size_t length, limit;
};

/// What a client's 4-byte prologue asks for.
struct Prologue {
    Channel channel = Channel::chat;
    bool null_cipher = false;  ///< kNullCipherFlag set: plaintext after the handshake (debug mode)
};
/// Check the 4-byte prologue ("SL", version 1, channel, optionally with kNullCipherFlag); throws WireError.
Prologue parse_prologue(ByteView four);
/// The reason a relay gives (and logs) for closing a null-cipher connection it was not told to accept.
inline constexpr const char* kNullCipherRefused =
    "null-cipher client refused: relay not started with --allow-null-cipher";
/// Validate a body length from a 2-byte frame header: at least kMinFrame, exactly `exact_len` if non-zero,
/// at most `max_len`; returns it or throws WireError (FrameTooLarge above `max_len`).
std::size_t check_frame_length(std::size_t len, std::size_t exact_len = 0, std::size_t max_len = kMaxFrame);

/// Splits a byte stream into frames exactly as read_frame does on a socket (no I/O: tests and fuzzing).
class FrameParser {
public:
    explicit FrameParser(std::size_t max_len = kMaxFrame) : max_len_(max_len) {}
    /// Append received bytes.
    void feed(ByteView data);
    /// The next complete frame body (of exactly `exact_len` bytes if non-zero); nullopt when more bytes are
    /// needed; throws WireError on a bad length (the connection is then unusable).
    std::optional<Bytes> next(std::size_t exact_len = 0);
    /// Bytes received but not yet returned as frames.
    std::size_t buffered() const { return buf_.size() - at_; }

private:
    std::size_t max_len_;
    Bytes buf_;
    std::size_t at_ = 0;
};

/// Read one length-prefixed frame (of exactly `exact_len` bytes if non-zero, at most `max_len`); nullopt on
/// idle timeout; throws WireError on bad length or EOF.
std::optional<Bytes> read_frame(int fd, int timeout_ms, std::size_t exact_len = 0, std::size_t max_len = kMaxFrame);
/// Write one length-prefixed frame.
void write_frame(int fd, ByteView body);

/// A Noise_XX session over a framed TCP connection; send() is thread-safe, recv() is for one reader.
/// In the null-cipher debug mode (flag in the prologue) the handshake is the same, but transport messages
/// are the plaintext followed by a 16-byte all-zero "tag": same framing and sizes, no confidentiality.
class SecureChannel {
public:
    /// Client side: send the prologue, run XX as initiator (`null_cipher`: debug mode, plaintext transport).
    static SecureChannel connect(Fd fd, Channel channel, const crypto::DhKeyPair& static_key,
                                 int timeout_ms = 10000, bool null_cipher = false);
    /// Relay side: read and check the prologue, run XX as responder. Both throw WireError on any failure;
    /// a null-cipher prologue is refused (kNullCipherRefused, before the handshake) unless `allow_null_cipher`.
    static SecureChannel accept(Fd fd, const crypto::DhKeyPair& static_key, int timeout_ms = 10000,
                                bool allow_null_cipher = false);

    SecureChannel(SecureChannel&&) noexcept;
    SecureChannel& operator=(SecureChannel&&) = delete;
    ~SecureChannel() = default;

    /// Encrypt and send one message.
    void send(ByteView plaintext);
    /// Send a JSON control message.
    void send_json(const nlohmann::json& j);
    /// Receive one message; nullopt on idle timeout; throws WireError on failure (FrameTooLarge above the limit).
    std::optional<Bytes> recv(int timeout_ms);
    /// Largest frame body recv() accepts (default kMaxFrame).
    void set_max_frame(std::size_t n) { max_frame_ = n; }
    /// The peer's Noise static public key.
    const crypto::Key32& remote_static() const { return remote_static_; }
    /// Which service the client asked for.
    Channel channel() const { return channel_; }
    /// True in the null-cipher debug mode: transport messages are plaintext.
    bool null_cipher() const { return null_cipher_; }
    /// The socket.
    const Fd& fd() const { return fd_; }

private:
    SecureChannel(Fd fd, Channel channel, crypto::noise::HandshakeState& hs, bool null_cipher);
    static SecureChannel connect_impl(Fd fd, Channel channel, const crypto::DhKeyPair& static_key, int timeout_ms,
                                      bool null_cipher);
    static SecureChannel accept_impl(Fd fd, const crypto::DhKeyPair& static_key, int timeout_ms,
                                     bool allow_null_cipher);
    Fd fd_;
    Channel channel_;
    bool null_cipher_ = false;
    crypto::noise::CipherState send_;
    crypto::noise::CipherState recv_;
    crypto::Key32 remote_static_{};
    std::size_t max_frame_ = kMaxFrame;
    std::mutex send_mutex_;
};

/// Parse a JSON control message (first byte '{'); throws WireError.
nlohmann::json parse_json(ByteView plaintext);

} // namespace sealscope::e2ee::wire
