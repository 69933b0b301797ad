#include "client/media.hpp"

#include "wire/protocol.hpp"
#include "wire/socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <opus/opus.h>
#include <srtp2/srtp.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <numbers>
#include <random>
#include <thread>

namespace sealscope::e2ee::client {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kRate = 48000;
constexpr int kFrame = 960;  // 20 ms
constexpr std::uint8_t kAudioPt = 111;
constexpr std::uint8_t kVideoPt = 96;

void srtp_global_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (srtp_init() != srtp_err_status_ok) throw std::runtime_error("libsrtp initialisation failed");
    });
}

/// SRTP session in one direction (libsrtp2, AES_CM_128_HMAC_SHA1_80; NULL cipher + NULL auth in debug mode).
class Srtp {
public:
    Srtp(const crypto::Bytes& master, bool outbound, bool null_cipher = false) {
        srtp_global_init();
        key_ = master;
        srtp_policy_t pol{};
        if (null_cipher) {
            key_.assign(30, 0);  // libsrtp still runs its key derivation; nothing depends on the key
            srtp_crypto_policy_set_null_cipher_hmac_null(&pol.rtp);
            srtp_crypto_policy_set_null_cipher_hmac_null(&pol.rtcp);
        } else {
            srtp_crypto_policy_set_rtp_default(&pol.rtp);
            srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
        }
        pol.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
        pol.key = key_.data();
        pol.window_size = 1024;
        pol.next = nullptr;
        if (srtp_create(&s_, &pol) != srtp_err_status_ok) throw std::runtime_error("srtp_create failed");
    }
    ~Srtp() { srtp_dealloc(s_); }
    Srtp(const Srtp&) = delete;
    Srtp& operator=(const Srtp&) = delete;
    srtp_t get() { return s_; }

private:
    crypto::Bytes key_;
    srtp_t s_ = nullptr;
};

/// Synthetic voice: talkspurts of harmonic "vowels" with syllable envelopes, separated by silence.
class VoiceSource {
public:
    explicit VoiceSource(std::uint32_t seed) : rng_(seed) { next_period(); }
    /// Fill one 20 ms frame; returns true when the frame is speech.
    bool frame(std::array<float, kFrame>& out) {
        if (remaining_ <= 0) next_period();
        remaining_ -= 20;
        std::normal_distribution<float> noise(0.f, 1.f);
        for (int i = 0; i < kFrame; ++i, ++t_) {
            const double t = static_cast<double>(t_) / kRate;
            double s = 0;
            if (talking_) {
                const double f0 = f0_ * (1.0 + 0.04 * std::sin(2 * std::numbers::pi * 5.0 * t));
                phase_ += 2 * std::numbers::pi * f0 / kRate;
                for (int h = 1; h <= 12; ++h) {
                    const double formant = std::exp(-std::pow((h * f0_ - formant_) / 600.0, 2.0));
                    s += (0.6 / h + formant) * std::sin(h * phase_);
                }
                const double syllable = 0.5 * (1 - std::cos(2 * std::numbers::pi * 4.0 * t));
                s = 0.12 * s * syllable + 0.003 * noise(rng_);
            } else {
                s = 0.0005 * noise(rng_);
            }
            out[static_cast<std::size_t>(i)] = static_cast<float>(s);
        }
        return talking_;
    }

private:
    void next_period() {
        talking_ = !talking_;
        // Talkspurts ~1.5 s and pauses ~0.8 s on average (exponential), as in conversational speech models.
        std::exponential_distribution<double> d(talking_ ? 1 / 1500.0 : 1 / 800.0);
        remaining_ = 200 + d(rng_);
        std::uniform_real_distribution<double> f(100, 220), fm(500, 1200);
        f0_ = f(rng_);
        formant_ = fm(rng_);
    }
    std::mt19937 rng_;
    bool talking_ = false;
    double remaining_ = 0;
    double f0_ = 150, formant_ = 800, phase_ = 0;
    std::uint64_t t_ = 0;
};

void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}

} // namespace

crypto::Bytes new_srtp_master() { return crypto::random_bytes(30); }

CallStats run_call(const CallParams& p) {
    if (p.srtp_key.size() != 30 && !p.null_cipher) throw std::runtime_error("SRTP master must be 30 bytes");
    CallStats st;
    Srtp tx(p.srtp_key, true, p.null_cipher);
    Srtp rx(p.srtp_key, false, p.null_cipher);
    if (p.relay.len == 0) throw std::runtime_error("no relay address for the call's media");
    const wire::Endpoint relay = p.relay.with_port(p.udp_port);
    auto sock = wire::udp_socket_for(relay);

    int err = 0;
    OpusEncoder* enc = opus_encoder_create(kRate, 1, OPUS_APPLICATION_VOIP, &err);
    OpusDecoder* dec = opus_decoder_create(kRate, 1, &err);
    if (!enc || !dec) throw std::runtime_error("opus init failed");
    opus_encoder_ctl(enc, OPUS_SET_BITRATE(24000));
    opus_encoder_ctl(enc, OPUS_SET_DTX(1));
    opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(3));

    std::mt19937 rng(p.seed * 7919u + static_cast<std::uint32_t>(p.leg));
    const std::uint32_t ssrc = static_cast<std::uint32_t>(rng());
    const std::uint32_t vssrc = static_cast<std::uint32_t>(rng());
    std::mutex send_mutex;
    auto send_pkt = [&](wire::MediaType type, const std::uint8_t* data, std::size_t len) {
        std::array<std::uint8_t, 1600> out{};
        out[0] = wire::kMediaMagic;
        out[1] = static_cast<std::uint8_t>(type);
        out[2] = static_cast<std::uint8_t>(p.leg);
        out[3] = 0;
        std::copy(p.token.begin(), p.token.end(), out.begin() + 4);
        std::copy(data, data + len, out.begin() + wire::kMediaHeader);
        std::lock_guard lock(send_mutex);
        ::sendto(sock.get(), out.data(), wire::kMediaHeader + len, 0, relay.sa(), relay.len);
    };
    // Bind this leg at the relay before media starts.
    for (int i = 0; i < 3; ++i) send_pkt(wire::MediaType::bind, nullptr, 0);

    std::atomic<bool> done{false};
    std::atomic<bool> got_media{false};
    std::thread sender([&] {
        VoiceSource voice(p.seed + static_cast<std::uint32_t>(p.leg) * 101u);
        std::array<float, kFrame> pcm{};
        std::array<std::uint8_t, 1500> pkt{};
        std::uint16_t seq = static_cast<std::uint16_t>(rng());
        std::uint16_t vseq = static_cast<std::uint16_t>(rng());
        std::uint32_t ts = static_cast<std::uint32_t>(rng());
        std::uint32_t vts = static_cast<std::uint32_t>(rng());
        std::uint64_t octets = 0;
        bool was_silent = true;
        auto last_sent = Clock::now() - std::chrono::seconds(1);
        auto last_rtcp = Clock::now();
        auto last_bind = Clock::now();
        const auto start = Clock::now();
        auto tick = start;
        int frame_no = 0;
        std::uniform_int_distribution<int> delta_size(1500, 6000), key_size(20000, 30000);
        std::uniform_int_distribution<int> byte(0, 255);
        while (!done) {
            tick += std::chrono::milliseconds(20);
            std::this_thread::sleep_until(tick);
            const auto now = Clock::now();
            if (now - start >= std::chrono::duration<double>(p.seconds)) break;
            const bool talking = voice.frame(pcm);
            const int n = opus_encode_float(enc, pcm.data(), kFrame, pkt.data() + 12, 1200);
            ts += kFrame;
            // DTX: frames of 2 bytes or less need not be sent; keep one every 400 ms as comfort noise.
            const bool dtx = n <= 2;
            if (!talking) ++st.silent_frames;
            if (n > 0 && (!dtx || now - last_sent >= std::chrono::milliseconds(400))) {
                pkt[0] = 0x80;
                pkt[1] = static_cast<std::uint8_t>(kAudioPt | ((was_silent && !dtx) ? 0x80 : 0));
                put16(&pkt[2], seq++);
                put32(&pkt[4], ts);
                put32(&pkt[8], ssrc);
                int len = 12 + n;
                if (srtp_protect(tx.get(), pkt.data(), &len) == srtp_err_status_ok) {
                    send_pkt(wire::MediaType::rtp, pkt.data(), static_cast<std::size_t>(len));
                    ++st.rtp_sent;
                    octets += static_cast<std::uint64_t>(n);
                    last_sent = now;
                }
            }
            was_silent = dtx;
            if (p.video && frame_no % 2 == 0) {  // ~25 frames/s: keyframe every 3 s, bursts of MTU-sized packets
                const bool key = frame_no % 150 == 0;
                int remaining = key ? key_size(rng) : delta_size(rng);
                vts += 3600;
                while (remaining > 0) {
                    const int chunk = std::min(remaining, 1100);
                    remaining -= chunk;
                    pkt[0] = 0x80;
                    pkt[1] = static_cast<std::uint8_t>(kVideoPt | (remaining == 0 ? 0x80 : 0));
                    put16(&pkt[2], vseq++);
                    put32(&pkt[4], vts);
                    put32(&pkt[8], vssrc);
                    for (int i = 0; i < chunk; ++i) pkt[static_cast<std::size_t>(12 + i)] = static_cast<std::uint8_t>(byte(rng));
                    int len = 12 + chunk;
                    if (srtp_protect(tx.get(), pkt.data(), &len) == srtp_err_status_ok) {
                        send_pkt(wire::MediaType::rtp, pkt.data(), static_cast<std::size_t>(len));
                        ++st.video_sent;
                    }
                }
            }
            ++frame_no;
            if (now - last_rtcp >= std::chrono::milliseconds(4800 + static_cast<int>(rng() % 400))) {
                last_rtcp = now;
                std::array<std::uint8_t, 128> sr{};
                sr[0] = 0x80;
                sr[1] = 200;  // sender report
                put16(&sr[2], 6);
                put32(&sr[4], ssrc);
                const auto wall = std::chrono::system_clock::now().time_since_epoch();
                const auto secs = std::chrono::duration_cast<std::chrono::seconds>(wall);
                const double frac = std::chrono::duration<double>(wall - secs).count();
                put32(&sr[8], static_cast<std::uint32_t>(secs.count() + 2208988800LL));
                put32(&sr[12], static_cast<std::uint32_t>(frac * 4294967296.0));
                put32(&sr[16], ts);
                put32(&sr[20], static_cast<std::uint32_t>(st.rtp_sent));
                put32(&sr[24], static_cast<std::uint32_t>(octets));
                int len = 28;
                if (srtp_protect_rtcp(tx.get(), sr.data(), &len) == srtp_err_status_ok) {
                    send_pkt(wire::MediaType::rtcp, sr.data(), static_cast<std::size_t>(len));
                    ++st.rtcp_sent;
                }
            }
            if (now - last_bind >= std::chrono::seconds(2) && !got_media) {
                last_bind = now;
                send_pkt(wire::MediaType::bind, nullptr, 0);
            }
        }
        done = true;
    });

    std::array<std::uint8_t, 2048> buf{};
    std::array<float, 5760> out{};
    const auto deadline = Clock::now() + std::chrono::duration<double>(p.seconds + 1.0);
    while (Clock::now() < deadline) {
        pollfd pf{sock.get(), POLLIN, 0};
        if (::poll(&pf, 1, 100) <= 0) continue;
        const ssize_t n = ::recv(sock.get(), buf.data(), buf.size(), 0);
        if (n < static_cast<ssize_t>(wire::kMediaHeader) || buf[0] != wire::kMediaMagic) continue;
        int len = static_cast<int>(n - static_cast<ssize_t>(wire::kMediaHeader));
        std::uint8_t* pkt = buf.data() + wire::kMediaHeader;
        if (buf[1] == static_cast<std::uint8_t>(wire::MediaType::rtp)) {
            if (srtp_unprotect(rx.get(), pkt, &len) != srtp_err_status_ok) {
                ++st.auth_failures;
                continue;
            }
            got_media = true;
            if ((pkt[1] & 0x7F) == kAudioPt) {
                ++st.rtp_received;
                if (opus_decode_float(dec, pkt + 12, len - 12, out.data(), 5760, 0) > 0) ++st.audio_decoded;
            } else {
                ++st.video_received;
            }
        } else if (buf[1] == static_cast<std::uint8_t>(wire::MediaType::rtcp)) {
            if (srtp_unprotect_rtcp(rx.get(), pkt, &len) != srtp_err_status_ok) {
                ++st.auth_failures;
                continue;
            }
            ++st.rtcp_received;
        }
    }
    done = true;
    sender.join();
    opus_encoder_destroy(enc);
    opus_decoder_destroy(dec);
    return st;
}

} // namespace sealscope::e2ee::client
