#pragma once
#include <string>
#include <string_view>

#include "classify/detectors.hpp"
#include "classify/ndpi_adapter.hpp"
#include "decode/packet.hpp"
#include "flow/flow.hpp"

namespace sealscope::classify {

/// The final classification of a flow, in the output vocabulary (GUIDE §3–4).
struct Verdict {
  std::string ndpi_label;        ///< what the nDPI engine reported (its own names)
  std::string label;             ///< current nDPI names, after our own detectors
  std::string_view family;       ///< service family or empty
  std::string_view activity;     ///< call, files, dns, chat, signalling, other (a detector may set it)
  const char* confidence = "unknown";
};

/// Per-worker classifier: nDPI (through the one adapter) plus our own detectors. Not thread-safe.
class Classifier {
 public:
  explicit Classifier(const EngineOptions& opts) : engine_(opts) {}

  /// Hot path: feeds a packet while the flow still needs classification.
  void on_packet(flow::Flow& f, const decode::Packet& p, flow::Dir d) {
    if (p.later_fragment || p.l3 == nullptr) return;
    if ((!f.cls.final || f.cls.extra_dissection) && engine_.process(f, p.l3, p.l3_caplen, p.ts)) mark_decided(f, p);
    if (Detectors::wants(f)) {
      detectors_.on_packet(f, p, d, engine_);
      // Done for good (kDone is never cleared): their per-flow state goes now rather than at the flow's end.
      if ((f.cls.detector_state & Detectors::kDone) && f.det) f.det.reset();
    }
  }

  /// Records that nDPI's label became final (or was revised by extra dissection) on packet `p`: the
  /// record's classified_after (sealscope-flows(5)).
  static void mark_decided(flow::Flow& f, const decode::Packet& p) {
    f.cls.after_packets = f.packets[0] + f.packets[1];
    f.cls.after_bytes = f.bytes[0] + f.bytes[1];
    f.cls.after_us = p.ts - f.first_seen;
  }

  /// Flow end: finishes engine dissection and frees its state.
  void on_end(flow::Flow& f);

  /// The flow has been idle for the give-up time while still classifying: decide now (nDPI gives up, with
  /// its guess) and free the engine state; the flow itself goes on.
  void give_up_idle(flow::Flow& f) { on_end_engine(f); }

  /// Computes the flow's verdict strings.
  void verdict(const flow::Flow& f, Verdict& out) const;

  /// Compacts the engine state of a flow gone quiet (NdpiEngine::park); restored on its next packet.
  void park(flow::Flow& f) { engine_.park(f); }

  const NdpiEngine& engine() const { return engine_; }
  NdpiEngine& engine() { return engine_; }
  /// Frees engine state of a flow that is dropped without a record (teardown).
  void discard(flow::Flow& f) { engine_.discard(f); }

 private:
  void on_end_engine(flow::Flow& f);

  NdpiEngine engine_;
  Detectors detectors_;
};

}  // namespace sealscope::classify
