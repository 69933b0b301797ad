#include "classify/classifier.hpp"

#include "classify/labels.hpp"

namespace sealscope::classify {

void Classifier::on_end(flow::Flow& f) {
  on_end_engine(f);
  detectors_.on_end(f, engine_);
}

void Classifier::on_end_engine(flow::Flow& f) {
  const bool was_final = f.cls.final;
  engine_.finish(f);
  if (!was_final) {
    // Decided only at the end (give-up): the whole flow passed before the verdict.
    f.cls.after_packets = f.packets[0] + f.packets[1];
    f.cls.after_bytes = f.bytes[0] + f.bytes[1];
    f.cls.after_us = f.last_seen - f.first_seen;
  }
}

void Classifier::verdict(const flow::Flow& f, Verdict& out) const {
  out.ndpi_label = engine_.label(f.cls.master, f.cls.app);
  out.label = current_label(out.ndpi_label);
  out.confidence = NdpiEngine::confidence_name(f.cls.engine_confidence);
  if (out.label == "Unknown") out.confidence = "unknown";
  out.activity = {};
  detectors_.refine(f, out);
  out.family = family_of(out.label);
  if (out.activity.empty()) out.activity = activity_of(out.label, f.key.l4);
}

}  // namespace sealscope::classify
