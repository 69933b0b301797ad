#include "capture/nfqueue.hpp"

// In this order: libnetfilter_queue's header needs the socket types, and <linux/netfilter.h> (NF_ACCEPT)
// must come after the C library's <netinet/in.h>, whose types it would otherwise define a second time.
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>

#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/errors.hpp"

namespace sealscope::capture {

namespace {
/// One netlink message holds one packet of at most 64 KiB and its attributes.
constexpr size_t kBufBytes = 128u << 10;
/// The socket's receive buffer: room for a burst while verdicts are being made.
constexpr unsigned kSocketBytes = 8u << 20;
}  // namespace

std::unique_ptr<NfQueue> NfQueue::open(const Options& o) {
  std::unique_ptr<NfQueue> q(new NfQueue());
  q->number_ = o.number;
  q->name_ = "nfqueue " + std::to_string(o.number);
  auto fail = [&](const char* step) {
    const int e = errno;
    std::string why = std::strerror(e);
    if (e == EPERM) {
      why += " (binding a queue needs root or CAP_NET_ADMIN, and no other program may hold the same queue)";
    }
    throw InputError(q->name_ + ": cannot " + step + ": " + why);
  };
  q->h_ = nfq_open();
  if (q->h_ == nullptr) fail("open a netfilter queue socket");
  q->qh_ = nfq_create_queue(q->h_, o.number, &NfQueue::on_packet, q.get());
  if (q->qh_ == nullptr) fail("bind the queue");
  if (nfq_set_mode(q->qh_, NFQNL_COPY_PACKET, 0xFFFF) < 0) fail("ask for whole packets");
  if (nfq_set_queue_maxlen(q->qh_, o.max_len) < 0) fail("set the queue's length");
  if (o.fail_open && nfq_set_queue_flags(q->qh_, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN) < 0) {
    fail("make the queue fail open");
  }
  nfnl_rcvbufsiz(nfq_nfnlh(q->h_), kSocketBytes);
  q->fd_ = nfq_fd(q->h_);
  q->buf_ = std::make_unique<uint8_t[]>(kBufBytes);
  return q;
}

NfQueue::~NfQueue() {
  if (qh_ != nullptr) nfq_destroy_queue(qh_);
  if (h_ != nullptr) nfq_close(h_);
}

int NfQueue::on_packet(nfq_q_handle* qh, nfgenmsg*, nfq_data* nfa, void* data) {
  auto* self = static_cast<NfQueue*>(data);
  const nfqnl_msg_packet_hdr* ph = nfq_get_msg_packet_hdr(nfa);
  if (ph == nullptr) return 0;  // no packet id: nothing a verdict could name
  const uint32_t id = ntohl(ph->packet_id);
  unsigned char* payload = nullptr;
  const int len = nfq_get_payload(nfa, &payload);
  RawPacket p;
  p.ts = wall_clock_us();
  p.data = payload;
  p.caplen = len > 0 ? static_cast<uint32_t>(len) : 0;
  p.wirelen = p.caplen;  // the whole packet is copied (NFQNL_COPY_PACKET, 64 KiB: an IP packet's limit)
  ++self->packets_;
  const bool accept = p.caplen == 0 || self->judge_->judge(p);
  ++(accept ? self->accepted_ : self->dropped_);
  if (nfq_set_verdict(qh, id, accept ? NF_ACCEPT : NF_DROP, 0, nullptr) < 0) ++self->verdict_errors_;
  return 0;
}

ReadStatus NfQueue::next(PacketJudge& judge, int timeout_ms) {
  judge_ = &judge;
  pollfd pfd{fd_, POLLIN, 0};
  const int r = ::poll(&pfd, 1, timeout_ms);
  if (r < 0) {
    if (errno == EINTR) return ReadStatus::Timeout;
    error_ = std::string("poll: ") + std::strerror(errno);
    return ReadStatus::Error;
  }
  if (r == 0) return ReadStatus::Timeout;
  const uint64_t before = packets_;
  // Every message waiting, then back to the caller (its clock and stop checks).
  for (int i = 0; i < 256; ++i) {
    const ssize_t n = ::recv(fd_, buf_.get(), kBufBytes, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
      if (errno == ENOBUFS) {  // the kernel's messages ran over the socket's buffer: some were lost
        ++lost_;
        continue;
      }
      error_ = std::string("recv: ") + std::strerror(errno);
      return ReadStatus::Error;
    }
    nfq_handle_packet(h_, reinterpret_cast<char*>(buf_.get()), static_cast<int>(n));
  }
  return packets_ > before ? ReadStatus::Packet : ReadStatus::Timeout;
}

NfQueue::KernelCounts NfQueue::kernel_counts() const {
  // One line per bound queue: number, peer port id, queued now, copy mode, copy range, dropped because the
  // queue was full, dropped because the message could not be sent, last packet id, 1.
  KernelCounts c;
  std::ifstream in("/proc/net/netfilter/nfnetlink_queue");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    uint64_t num = 0, portid = 0, total = 0, mode = 0, range = 0, qdrop = 0, udrop = 0;
    if (!(ls >> num >> portid >> total >> mode >> range >> qdrop >> udrop)) continue;
    if (num != number_) continue;
    c.overflow = qdrop;
    c.undelivered = udrop;
    c.known = true;
  }
  return c;
}

}  // namespace sealscope::capture
