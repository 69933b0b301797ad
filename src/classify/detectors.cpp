#include "classify/detectors.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include "classify/classifier.hpp"
#include "classify/detect_rules.hpp"
#include "classify/detect_voice.hpp"
#include "classify/labels.hpp"
#include "classify/quic.hpp"
#include "classify/rtp.hpp"
#include "classify/stun.hpp"
#include "classify/whatsapp_wire.hpp"

namespace sealscope::classify {
namespace {

/// Per-flow buffers, allocated only for flows that look like one of the protocols that need them.
struct DetState : flow::DetectorState {
  // TCP: the client's first bytes, in sequence order (WhatsApp prologues split across segments).
  std::unique_ptr<WaStreamPrefix> prefix;
  uint32_t next_seq = 0;
  bool seq_known = false;
  // TCP: payload sizes of the first segments per direction (Threema's fixed handshake sizes).
  uint16_t first_len[2][2] = {};
  uint8_t segs[2] = {};
  bool wa_candidate = false, threema_candidate = false;
  // UDP: Mumble ping ident, SealChat relay token.
  uint64_t mumble_ident = 0;
  bool mumble_asked = false;
  uint8_t relay_token[16] = {};
  bool relay_seen = false;
  // UDP: Discord keepalive echo, LINE per-direction sequence runs.
  uint8_t keepalive[8] = {};
  bool keepalive_sent = false;
  uint16_t line_seq[2] = {};
  uint8_t line_run[2] = {};
  // BFCP (UDP or TCP): the first message's ids, primitive and direction, awaiting the answer.
  uint32_t bfcp_conference = 0;
  uint16_t bfcp_user = 0, bfcp_transaction = 0;
  uint8_t bfcp_primitive = 0, bfcp_dir = 0;
  bool bfcp_candidate = false;
  // UDP: TeamSpeak 3 weblist request awaiting its answer.
  uint8_t ts3_req[4] = {};
  bool ts3_asked = false;
  // UDP: QUIC Initial decryption (only while a split ClientHello is being gathered).
  std::unique_ptr<QuicInitialParser> quic;
  // UDP: RTP sequence runs, only for flows nDPI has not named while they send RTP-shaped datagrams.
  std::unique_ptr<RtpStreamTracker> rtp;
};

DetState& state_of(flow::Flow& f) {
  if (!f.det) f.det = std::make_unique<DetState>();
  return static_cast<DetState&>(*f.det);
}
DetState* state_if(flow::Flow& f) { return static_cast<DetState*>(f.det.get()); }

DetApp app_of(const flow::Flow& f) { return static_cast<DetApp>(f.cls.detector_label); }

/// Google's own IPv6 service blocks (its published goog.json, without Google Cloud's customer ranges):
/// nDPI 4.2's network list, which the IPv4 rule uses, has no IPv6. Hand-written: six fixed /32s.
bool google_v6(const IpAddr& a) {
  if (a.version != 6) return false;
  static constexpr uint8_t kBlocks[][4] = {{0x20, 0x01, 0x48, 0x60}, {0x24, 0x04, 0x68, 0x00},
                                           {0x26, 0x07, 0xf8, 0xb0}, {0x28, 0x00, 0x03, 0xf0},
                                           {0x2a, 0x00, 0x14, 0x50}, {0x2c, 0x0f, 0xfb, 0x50}};
  for (const auto& p : kBlocks) {
    if (std::memcmp(a.bytes, p, 4) == 0) return true;
  }
  return false;
}

/// A Teams media relay: 13.107.64.0/18, 52.112.0.0/14, 52.122.0.0/15 or 2603:1063::/38, UDP 3478-3481.
/// Hand-written: four fixed prefixes do not need a prefix-tree library.
bool teams_media_relay(const IpAddr& a, uint16_t port) {
  if (port < 3478 || port > 3481) return false;
  const uint8_t* b = a.bytes;
  if (a.version == 4) {
    return (b[0] == 13 && b[1] == 107 && (b[2] & 0xC0) == 64) || (b[0] == 52 && (b[1] & 0xFC) == 112) ||
           (b[0] == 52 && (b[1] & 0xFE) == 122);
  }
  return a.version == 6 && b[0] == 0x26 && b[1] == 0x03 && b[2] == 0x10 && b[3] == 0x63 && (b[4] & 0xFC) == 0;
}

constexpr std::string_view kGenericMasters[] = {"STUN", "DTLS", "RTP", "RTCP", "SRTP", "TLS", "QUIC", "HTTP"};
constexpr std::string_view kMediaMasters[] = {"STUN", "DTLS", "RTP", "RTCP", "SRTP"};

template <typename C>
bool in(const C& c, std::string_view s) {
  for (std::string_view x : c) {
    if (x == s) return true;
  }
  return false;
}

/// Calls `fn(addr, port)` for each XOR-PEER-ADDRESS (RFC 8656 §18.3) of a STUN message with the magic
/// cookie, padded layout: the peers a TURN client asks its relay to reach are the call's other side.
template <typename Fn>
void for_each_peer(const uint8_t* b, std::size_t n, Fn fn) {
  if (n < 20 || b[4] != 0x21 || b[5] != 0x12 || b[6] != 0xA4 || b[7] != 0x42) return;
  std::size_t off = 20;
  while (off + 4 <= n) {
    const uint16_t type = static_cast<uint16_t>((b[off] << 8) | b[off + 1]);
    const std::size_t len = static_cast<std::size_t>((b[off + 2] << 8) | b[off + 3]);
    if (off + 4 + len > n) return;
    const uint8_t* v = b + off + 4;
    if (type == stun_attr::kXorPeerAddress && len >= 8) {
      const uint16_t port = static_cast<uint16_t>(((v[2] << 8) | v[3]) ^ 0x2112);
      uint8_t raw[16];
      if (v[1] == 1 && len == 8) {
        for (int i = 0; i < 4; ++i) raw[i] = static_cast<uint8_t>(v[4 + i] ^ b[4 + i]);
        fn(IpAddr::v4(raw), port);
      } else if (v[1] == 2 && len == 20) {
        for (int i = 0; i < 16; ++i) raw[i] = static_cast<uint8_t>(v[4 + i] ^ b[4 + i]);
        fn(IpAddr::v6(raw), port);
      }
    }
    off += 4 + ((len + 3) & ~std::size_t{3});
  }
}

/// Keeps a QUIC ClientHello the detectors decrypted for the flow's record, under nDPI's own values (see
/// NdpiEngine::copy_meta): nDPI 4.2 reads a ClientHello only from Initial packets that come in order, and
/// knows no QUIC v2. Written as nDPI writes its own: the server name in lower case with '?' for a byte
/// outside printable ASCII, its last 79 bytes (nDPI's ndpi_hostname_sni_set); the offered ALPN list joined
/// with commas; JA3; the version the hello offers (TLSv1.3 for QUIC). One allocation per flow at most.
void keep_client_hello(flow::Flow& f, const TlsHello& h) {
  if (f.meta && f.meta->has_tls() && f.meta->tls_version() != 0 && !f.meta->server_name().empty() &&
      !f.meta->ja3c().empty() && (h.alpn_count == 0 || !f.meta->alpn().empty())) {
    return;  // nDPI already has all of it: no second allocation
  }
  constexpr std::size_t kNameMax = 79;  // nDPI 4.2's host_server_name[80], NUL included
  char name[kNameMax];
  const std::size_t full = strnlen(h.sni.data(), h.sni.size());
  const std::size_t n = std::min(full, kNameMax);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(h.sni[full - n + i]);
    name[i] = c < 0x20 || c > 0x7E ? '?' : (c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : static_cast<char>(c));
  }
  char alpn[kTlsAlpnMax * kTlsAlpnCap];
  std::size_t an = 0;
  for (uint8_t i = 0; i < h.alpn_count && i < kTlsAlpnMax; ++i) {
    const std::size_t len = strnlen(h.alpn[i].data(), h.alpn[i].size());
    if (an > 0) alpn[an++] = ',';
    std::memcpy(alpn + an, h.alpn[i].data(), len);
    an += len;
  }
  flow::FlowMeta::Fields x;
  x.server_name = std::string_view(name, n);
  x.alpn = std::string_view(alpn, an);
  x.ja3c = std::string_view(h.ja3_md5.data(), strnlen(h.ja3_md5.data(), h.ja3_md5.size()));
  x.has_tls = true;
  x.tls_version = h.version;
  f.meta = flow::FlowMeta::merge(f.meta ? f.meta->fields() : flow::FlowMeta::Fields{}, x);
}

bool looks_bfcp(const uint8_t* b, std::size_t n) {
  uint32_t conference = 0;
  uint16_t user = 0;
  return rules::bfcp_header(b, n, conference, user);
}

/// BFCP: true when this message answers the one remembered (other direction, same conference, user and
/// transaction, another primitive); otherwise remembers it when it is a first message.
bool bfcp_step(DetState& st, const uint8_t* b, std::size_t n, flow::Dir d) {
  uint32_t conference = 0;
  uint16_t user = 0;
  if (!rules::bfcp_header(b, n, conference, user)) return false;
  const uint16_t transaction = static_cast<uint16_t>((b[8] << 8) | b[9]);
  if (st.bfcp_candidate && st.bfcp_dir != d && st.bfcp_conference == conference && st.bfcp_user == user &&
      st.bfcp_transaction == transaction && st.bfcp_primitive != b[1]) {
    return true;
  }
  if (!st.bfcp_candidate) {
    st.bfcp_candidate = true;
    st.bfcp_conference = conference;
    st.bfcp_user = user;
    st.bfcp_transaction = transaction;
    st.bfcp_primitive = b[1];
    st.bfcp_dir = static_cast<uint8_t>(d);
  }
  return false;
}

}  // namespace

void Detectors::decide(flow::Flow& f, const decode::Packet& p, DetApp app, bool done, bool timed) {
  if (app_of(f) == DetApp::None || app_of(f) == DetApp::Stun || app_of(f) == DetApp::Rtp) {
    f.cls.detector_label = static_cast<uint16_t>(app);
    f.cls.detector_confidence = kConfDpi;
    if (timed) Classifier::mark_decided(f, p);
  }
  if (detector_label(app).call) anchor(f, app, p.ts);
  if (done) f.cls.detector_state |= kDone;
}

void Detectors::anchor(const flow::Flow& f, DetApp app, TimestampUs to) {
  const uint32_t s = f.cls.detector_state;
  if (s & kStunSeen) {
    // STUN: participants are the endpoints that send requests; a server only answers.
    if (s & kStunReqUp) cache_.add(f.initiator(), f.initiator_port(), app, f.first_seen, to);
    if (s & kStunReqDown) cache_.add(f.responder(), f.responder_port(), app, f.first_seen, to);
    return;
  }
  cache_.add(f.initiator(), f.initiator_port(), app, f.first_seen, to);
  if (s & kP2p) cache_.add(f.responder(), f.responder_port(), app, f.first_seen, to);
}

void Detectors::on_packet(flow::Flow& f, const decode::Packet& p, flow::Dir d, const NdpiEngine&) {
  if (p.payload == nullptr || p.payload_caplen == 0) return;
  if (p.l4_proto == 17) {
    on_udp(f, p, d);
  } else if (p.l4_proto == 6) {
    on_tcp(f, p, d);
  }
}

void Detectors::on_udp(flow::Flow& f, const decode::Packet& p, flow::Dir d) {
  const uint8_t* b = p.payload;
  const std::size_t n = p.payload_caplen;
  if (auto s = parse_stun(b, n)) {
    const uint32_t before = f.cls.detector_state;
    f.cls.detector_state |= kStunSeen;
    if (s->klass == StunClass::Request) f.cls.detector_state |= d == flow::kUp ? kStunReqUp : kStunReqDown;
    const DetApp a = stun_app(*s);
    if (a != DetApp::None) decide(f, p, a, false);
    if (app_of(f) != DetApp::None && detector_label(app_of(f)).call && s->klass != StunClass::SuccessResponse) {
      const DetApp known = app_of(f);
      for_each_peer(b, n, [&](const IpAddr& peer, uint16_t port) { cache_.add(peer, port, known, p.ts, p.ts); });
    }
    if (a != DetApp::None) {
    } else if (app_of(f) != DetApp::None && before != f.cls.detector_state && detector_label(app_of(f)).call) {
      anchor(f, app_of(f), p.ts);  // a new requesting side of a known call
    }
    return;
  }
  if (app_of(f) != DetApp::None) return;
  // QUIC client Initials (RFC 9000 §14.1: datagrams of at least 1200 bytes, long header, a version whose
  // Initial protection is known): gather a ClientHello split over datagrams, which nDPI 4.2 does not.
  if (d == flow::kUp && n >= 1200 && (b[0] & 0xC0) == 0xC0 && f.packets[flow::kUp] <= 8) {
    const uint32_t version = (uint32_t{b[1]} << 24) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 8) | b[4];
    if (quic_initial_supported(version)) {
      // The first Initial goes through the worker's scratch parser: only a ClientHello that is still
      // incomplete after it costs the flow a parser of its own.
      DetState* st = state_if(f);
      QuicInitialParser* q = st != nullptr ? st->quic.get() : nullptr;
      if (q == nullptr) {
        if (f.cls.detector_state & kQuicDone) return;
        if (!quic_scratch_) quic_scratch_ = std::make_unique<QuicInitialParser>();
        q = quic_scratch_.get();
        q->reset();
      }
      const auto status = q->feed(b, n);
      if (status == QuicInitialParser::Status::NeedMore && q == quic_scratch_.get()) {
        state_of(f).quic = std::make_unique<QuicInitialParser>(*q);
        return;
      }
      if (status == QuicInitialParser::Status::NeedMore) return;
      DetApp named = DetApp::None;
      if (status == QuicInitialParser::Status::Complete && q->hello()) {
        keep_client_hello(f, *q->hello());
        if (q->hello()->sni_len > 0) {
          const auto& sni = q->hello()->sni;
          named = server_name_app(std::string_view(sni.data(), strnlen(sni.data(), sni.size())));
        }
      }
      f.cls.detector_state |= kQuicDone;
      if (st != nullptr) st->quic.reset();
      if (named != DetApp::None) return decide(f, p, named);
      return;
    }
  }
  if (rules::discord_ip_discovery(b, n)) return decide(f, p, DetApp::Discord);
  if (rules::agora_sni(b, n)) return decide(f, p, DetApp::SdRtn);
  if (rules::zoom_p2p_hello(b, n)) {
    f.cls.detector_state |= kP2p;
    return decide(f, p, DetApp::Zoom);
  }
  if (rules::zoom_sfu(b, n)) return decide(f, p, DetApp::Zoom);
  if (rules::oicq(b, n)) return decide(f, p, DetApp::OICQ);
  if (rules::discord_keepalive(b, n)) {
    DetState& st = state_of(f);
    if (d == flow::kDown && st.keepalive_sent && std::equal(b, b + 8, st.keepalive)) {
      return decide(f, p, DetApp::Discord);  // the server echoed the client's keepalive
    }
    if (d == flow::kUp) {
      std::copy(b, b + 8, st.keepalive);
      st.keepalive_sent = true;
    }
    return;
  }
  uint16_t seq = 0;
  if (rules::line_call_header(b, n, seq)) {
    DetState& st = state_of(f);
    st.line_run[d] = (st.line_run[d] > 0 && static_cast<uint16_t>(st.line_seq[d] + 1) == seq)
                         ? static_cast<uint8_t>(st.line_run[d] < 255 ? st.line_run[d] + 1 : 255)
                         : 1;
    st.line_seq[d] = seq;
    if (st.line_run[d] >= 4 && st.line_run[d ^ 1] >= 1) return decide(f, p, DetApp::LineCall);
    return;
  }
  uint64_t ident = 0;
  if (d == flow::kUp && rules::mumble_ping_request(b, n, ident)) {
    DetState& st = state_of(f);
    st.mumble_ident = ident;
    st.mumble_asked = true;
    return;
  }
  if (DetState* st = state_if(f); st != nullptr && st->mumble_asked && d == flow::kDown &&
                                  rules::mumble_ping_answer(b, n, st->mumble_ident)) {
    return decide(f, p, DetApp::Mumble);
  }
  if (rules::mgcp_command(b, n)) return decide(f, p, DetApp::Mgcp);
  if (d == flow::kUp && rules::ts3_weblist_request(b, n)) {
    DetState& st = state_of(f);
    std::copy(b, b + 4, st.ts3_req);
    st.ts3_asked = true;
    return;
  }
  if (DetState* st = state_if(f); st != nullptr && st->ts3_asked && d == flow::kDown &&
                                  rules::ts3_weblist_answer(b, n, st->ts3_req)) {
    return decide(f, p, DetApp::TeamSpeak);
  }
  if (looks_bfcp(b, n)) {
    if (bfcp_step(state_of(f), b, n, d)) return decide(f, p, DetApp::Bfcp);
    return;
  }
  if (rules::sealchat_relay(b, n)) {
    // Two datagrams carrying the same 16-byte call token.
    DetState& st = state_of(f);
    if (st.relay_seen && std::equal(st.relay_token, st.relay_token + 16, b + 4)) {
      return decide(f, p, DetApp::SealChatCall);
    }
    std::copy(b + 4, b + 20, st.relay_token);
    st.relay_seen = true;
    return;
  }
  // RTP that nDPI 4.2 misses: it takes RTP only when the first datagram it sees starts with 0x80 or 0xA0
  // (no contributing sources, no header extension) and rules RTP out for good after any other one, so a
  // mixer's stream (CSRC list) or a stream behind a probe datagram stays Unknown. Five datagrams of one
  // SSRC whose sequence numbers advance in order, timestamps not going back, are RTP here; the label only
  // ever replaces Unknown (refine_app). Flows nDPI has named get no tracker.
  const bool bare_stun = NdpiEngine::bare_stun(f.cls.master, f.cls.app);
  if (n >= 12 && (b[0] & 0xC0) == 0x80 && ((f.cls.master == 0 && f.cls.app == 0) || bare_stun)) {
    DetState& st = state_of(f);
    if (!st.rtp) st.rtp = std::make_unique<RtpStreamTracker>(5, 16);
    if (st.rtp->feed(b, n)) {
      st.rtp.reset();
      // After STUN, RTP only completes the label (STUN.RTP): family and activity were known when nDPI
      // named STUN, so when the verdict was reached (time-to-block) stays as it was, and later STUN
      // packets may still name the call's app.
      return decide(f, p, DetApp::Rtp, !bare_stun, !bare_stun);
    }
  }
}

void Detectors::on_tcp(flow::Flow& f, const decode::Packet& p, flow::Dir d) {
  const uint8_t* b = p.payload;
  const std::size_t n = p.payload_caplen;
  if ((f.cls.detector_state & kTcpChecked) == 0) {
    f.cls.detector_state |= kTcpChecked;
    // The first payload of the connection (either side: captures may start mid-stream).
    if (rules::xmpp_start(b, n)) return decide(f, p, DetApp::Jabber);
    if (auto fr = stun_tcp_frames(b, n)) {
      f.cls.detector_state |= kStunSeen;
      if (fr->first.klass == StunClass::Request) f.cls.detector_state |= d == flow::kUp ? kStunReqUp : kStunReqDown;
      const DetApp a = stun_app(fr->first);
      return decide(f, p, a != DetApp::None ? a : DetApp::Stun);
    }
    if (rules::skinny_messages(b, n)) return decide(f, p, DetApp::Skinny);
    if (looks_bfcp(b, n)) {
      bfcp_step(state_of(f), b, n, d);
      return;
    }
    if (n >= 2 + 12 && static_cast<std::size_t>((b[0] << 8) | b[1]) + 2 == n &&
        classify_rtp_rtcp(b + 2, n - 2) != RtpKind::None) {
      return decide(f, p, DetApp::Rtp);  // RTP/RTCP framed for TCP (RFC 4571)
    }
    if (d != flow::kUp) {
      f.cls.detector_state |= kDone;
      return;
    }
    uint8_t channel = 0;
    if (rules::sealchat_prologue(b, n, channel)) {
      return decide(f, p, channel == 0 ? DetApp::SealChat : DetApp::SealChatFiles);
    }
    const WaWireInfo wa = parse_whatsapp_stream_start(b, n);
    const bool threema = n == 48;
    if (wa.status == WaWireStatus::Match) return decide(f, p, DetApp::WhatsApp);
    if (wa.status == WaWireStatus::NoMatch && !threema) {
      f.cls.detector_state |= kDone;
      return;
    }
    DetState& st = state_of(f);
    st.wa_candidate = wa.status == WaWireStatus::NeedMore;
    st.threema_candidate = threema;
    if (st.wa_candidate) {
      st.prefix = std::make_unique<WaStreamPrefix>();
      st.prefix->append(b, n);
      st.next_seq = p.tcp_seq + static_cast<uint32_t>(n);
      st.seq_known = true;
    }
    st.first_len[0][0] = static_cast<uint16_t>(n);
    st.segs[0] = 1;
    return;
  }
  DetState* st = state_if(f);
  if (st == nullptr) return;
  if (st->segs[d] < 2) st->first_len[d][st->segs[d]] = static_cast<uint16_t>(n < 0xFFFF ? n : 0xFFFF);
  if (st->segs[d] < 255) ++st->segs[d];
  if (st->bfcp_candidate) {
    if (bfcp_step(*st, b, n, d)) return decide(f, p, DetApp::Bfcp);
    if (st->segs[0] + st->segs[1] > 8) st->bfcp_candidate = false;
    return;
  }
  if (st->wa_candidate && d == flow::kUp && st->prefix) {
    if (p.tcp_seq == st->next_seq) {
      st->prefix->append(b, n);
      st->next_seq += static_cast<uint32_t>(n);
      const WaWireInfo wa = parse_whatsapp_stream_start(st->prefix->data(), st->prefix->size());
      if (wa.status == WaWireStatus::Match) {
        st->prefix.reset();
        return decide(f, p, DetApp::WhatsApp);
      }
      if (wa.status == WaWireStatus::NoMatch || st->prefix->full()) {
        st->wa_candidate = false;
        st->prefix.reset();
      }
    }
  }
  if (st->threema_candidate && st->segs[flow::kDown] >= 1) {
    // Threema: client 48 (ephemeral key + cookie), server 80 (cookie + sealed key and cookie).
    if (st->first_len[flow::kDown][0] == 80) return decide(f, p, DetApp::Threema);
    st->threema_candidate = false;
  }
  if (!st->wa_candidate && !st->threema_candidate) f.cls.detector_state |= kDone;
}

void Detectors::on_end(flow::Flow& f, const NdpiEngine& engine) {
  f.det.reset();
  DetApp app = app_of(f);
  if (app == DetApp::None && f.meta && !f.meta->server_name().empty()) {
    const DetApp named = server_name_app(f.meta->server_name());
    const std::string engine_label = current_label(engine.label(f.cls.master, f.cls.app));
    std::string_view em, ea;
    split_label(engine_label, em, ea);
    // A DNS query name is not the flow's service: the name table applies to TLS/QUIC/HTTP server names.
    const bool dns = em == "DNS" || ea == "DNS" || em == "MDNS" || ea == "MDNS" || em == "LLMNR" || ea == "LLMNR";
    if (named != DetApp::None && !dns && family_of(engine_label).empty()) {
      f.cls.detector_label = static_cast<uint16_t>(named);
      f.cls.detector_confidence = kConfDpi;
      app = named;
    }
  }
  if (app == DetApp::None || app == DetApp::Stun || app == DetApp::Rtp) {
    const DetApp owned = media_server_app(f, engine);
    if (owned != DetApp::None) {
      f.cls.detector_label = static_cast<uint16_t>(owned);
      f.cls.detector_confidence = kConfDpi;
      app = owned;
    }
  }
  if (app != DetApp::None && detector_label(app).call) anchor(f, app, f.last_seen);
}

DetApp Detectors::media_server_app(const flow::Flow& f, const NdpiEngine& engine) {
  // WebRTC media (ICE/STUN, DTLS-SRTP) whose server side is in nDPI's own Google network list is a
  // Google Meet/Duo call: Google runs ICE-lite media servers and its public STUN servers itself, and
  // current nDPI names such flows GoogleCall by the same list. nDPI 4.2's "FacebookVoip" on them comes
  // only from attribute 0xC057 (GOOG-NETWORK-INFO), which every libwebrtc client sends, so it yields.
  if (f.key.l4 != 17) return DetApp::None;
  const std::string engine_label = current_label(engine.label(f.cls.master, f.cls.app));
  std::string_view em, ea;
  split_label(engine_label, em, ea);
  const bool media = (f.cls.detector_state & kStunSeen) != 0 || in(kMediaMasters, em) || in(kMediaMasters, ea);
  if (!media) return DetApp::None;
  const bool generic = ea.empty() || ea == "Unknown" || in(kMediaMasters, ea);
  // The server: the side that did not send STUN requests (or the responder when nothing says otherwise).
  const uint32_t s = f.cls.detector_state;
  const bool server_is_initiator = (s & kStunReqDown) != 0 && (s & kStunReqUp) == 0;
  const IpAddr server = server_is_initiator ? f.initiator() : f.responder();
  const uint16_t server_port = server_is_initiator ? f.initiator_port() : f.responder_port();
  // Microsoft's Teams media relays: the ranges and UDP ports 3478-3481 Microsoft publishes for Teams
  // media ("Microsoft 365 URLs and IP address ranges", Teams, optimize category). nDPI 4.2 names such
  // flows after the address's owner (Azure, Microsoft) or Skype.
  if (teams_media_relay(server, server_port) &&
      (generic || ea == "Azure" || ea == "Microsoft" || ea == "Skype_Teams" || ea == "SkypeCall")) {
    return DetApp::TeamsCall;
  }
  if (!(generic || ea == "Google" || ea == "FacebookVoip")) return DetApp::None;
  if (std::string_view(engine.network_owner(server)) == "Google" || google_v6(server)) return DetApp::GoogleCall;
  return DetApp::None;
}

void Detectors::refine(const flow::Flow& f, Verdict& v) const {
  refine_app(f, v);
  // An address list says whose server it is, not that anything was exchanged: a flow that carried no
  // payload at all (a bare handshake, or the FIN/ACK tail of a connection the capture missed) named by
  // nDPI's IP list alone gets no messaging family; it keeps the engine's transport guess ("TLS" for
  // "TLS.WeChat"), the app part is dropped. ndpi_label still shows the list's answer.
  if (std::string_view(v.confidence) == "ip-list" && f.payload[0] + f.payload[1] == 0 && !family_of(v.label).empty() &&
      family_of(v.label) != "VoIP") {
    std::string_view m, a;
    split_label(v.label, m, a);
    if (!m.empty() && family_of(m).empty()) {
      v.label = std::string(m);
      v.confidence = "port";
    } else {
      v.label = "Unknown";
      v.confidence = "unknown";
    }
    v.activity = {};
  }
}

void Detectors::refine_app(const flow::Flow& f, Verdict& v) const {
  DetApp app = app_of(f);
  const char* confidence = "dpi";
  std::string_view nm, na;
  split_label(v.label, nm, na);
  if (app == DetApp::None || app == DetApp::Stun || app == DetApp::Rtp) {
    // Call cache: flows of a known call's participants, when nDPI gave no app-level evidence of its own.
    const bool media = f.key.l4 == 17 || (f.cls.detector_state & kStunSeen);
    const std::string_view conf = v.confidence;
    const bool weak = v.label == "Unknown" || in(kMediaMasters, nm) || in(kMediaMasters, na) || conf == "ip-list" ||
                      conf == "port";
    if (media && weak) {
      DetApp a = cache_.find(f.initiator(), f.initiator_port(), f.first_seen, f.last_seen);
      if (a == DetApp::None) a = cache_.find(f.responder(), f.responder_port(), f.first_seen, f.last_seen);
      if (a != DetApp::None) {
        app = a;
        confidence = "dpi-cache";
      }
    }
  }
  if (app == DetApp::None && v.label == "Unknown" && voice_like(f)) {
    app = DetApp::Rtp;
    confidence = "heuristic";
  }
  if (app == DetApp::None) return;
  if ((app == DetApp::Bfcp || app == DetApp::TeamSpeak) && v.label != "Unknown") {
    return;  // binary headers with few fixed bits: they only name flows nDPI left unknown
  }
  if (app == DetApp::Skinny && v.label != "Unknown" && v.label != "MongoDB") {
    return;  // Skinny's framing only overrides nDPI's silence or its known MongoDB false positive
  }
  if ((app == DetApp::Stun || app == DetApp::Rtp) && confidence != std::string_view("heuristic") &&
      v.label != "Unknown" && !(app == DetApp::Rtp && v.label == "STUN")) {
    return;  // generic carrier evidence adds nothing to what nDPI named (but RTP after bare STUN is STUN.RTP)
  }
  const DetLabel& l = detector_label(app);
  std::string_view master = in(kGenericMasters, nm) ? nm : in(kGenericMasters, na) ? na : l.default_master;
  if (master == l.app) master = {};
  std::string label;
  if (!master.empty()) {
    label.reserve(master.size() + 1 + l.app.size());
    label.append(master);
    label += '.';
  }
  label.append(l.app);
  v.label = std::move(label);
  v.confidence = confidence;
  if (!l.activity.empty()) v.activity = l.activity;
}

}  // namespace sealscope::classify
