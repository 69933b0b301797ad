#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "capture/pcap_source.hpp"

struct nfq_handle;
struct nfq_q_handle;
struct nfq_data;
struct nfgenmsg;

namespace sealscope::capture {

/// Decides, for one packet the kernel holds in a queue, whether it goes on (inline enforcement).
class PacketJudge {
 public:
  virtual ~PacketJudge() = default;
  /// True: the packet goes on (NF_ACCEPT); false: it is dropped (NF_DROP). Must not throw.
  virtual bool judge(const RawPacket& p) = 0;
};

/// A netfilter queue (NFQUEUE, libnetfilter_queue): the kernel hands over each packet a firewall rule sends
/// to queue `number` (`iptables ... -j NFQUEUE --queue-num N`) and holds it until a verdict comes. Packets
/// start at their IP header (link type DLT_RAW) and are stamped with the wall clock when they are read.
class NfQueue {
 public:
  struct Options {
    uint16_t number = 0;
    /// When the queue is full, the kernel lets packets through unjudged (NFQA_CFG_F_FAIL_OPEN) instead of
    /// dropping them. It counts only the packets it drops: those it lets through are counted nowhere.
    bool fail_open = false;
    /// Packets the kernel holds at once for this queue before it is full.
    uint32_t max_len = 4096;
  };
  /// Binds the queue; throws InputError with the reason (no permission, the queue bound by another
  /// program, no netfilter queue support).
  static std::unique_ptr<NfQueue> open(const Options& o);

  NfQueue(const NfQueue&) = delete;
  NfQueue& operator=(const NfQueue&) = delete;
  ~NfQueue();

  /// Waits up to `timeout_ms` for packets and gives each one to `judge`, then sends its verdict. Packet when
  /// at least one was judged, Timeout when none came (or a signal interrupted the wait), Error (reason in
  /// error()) when the queue can no longer be read.
  ReadStatus next(PacketJudge& judge, int timeout_ms);

  const std::string& name() const { return name_; }
  const std::string& error() const { return error_; }
  uint64_t packets() const { return packets_; }
  uint64_t accepted() const { return accepted_; }
  uint64_t dropped() const { return dropped_; }
  /// Verdicts the kernel did not take (the packet then waits until the queue is unbound).
  uint64_t verdict_errors() const { return verdict_errors_; }
  /// Messages lost between the kernel and sealscope (the socket's buffer ran over: ENOBUFS).
  uint64_t lost_messages() const { return lost_; }
  /// What the kernel says of this queue (/proc/net/netfilter/nfnetlink_queue): packets it dropped because the
  /// queue was full (never with fail_open: then it lets them through without counting them) and packets it
  /// could not hand over (dropped). `known` is false when the line could not be read.
  struct KernelCounts {
    uint64_t overflow = 0, undelivered = 0;
    bool known = false;
  };
  KernelCounts kernel_counts() const;

 private:
  NfQueue() = default;  // the library's callback keeps `this`: never moved
  static int on_packet(nfq_q_handle* qh, nfgenmsg* msg, nfq_data* nfa, void* self);

  nfq_handle* h_ = nullptr;
  nfq_q_handle* qh_ = nullptr;
  uint16_t number_ = 0;
  int fd_ = -1;
  std::unique_ptr<uint8_t[]> buf_;
  PacketJudge* judge_ = nullptr;
  std::string name_, error_;
  uint64_t packets_ = 0, accepted_ = 0, dropped_ = 0, verdict_errors_ = 0, lost_ = 0;
};

}  // namespace sealscope::capture
