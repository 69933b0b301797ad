#include "classify/detectors.hpp"

#include "classify/classifier.hpp"

namespace sealscope::classify {

void Detectors::on_packet(flow::Flow&, const decode::Packet&, flow::Dir, const NdpiEngine&) {}

void Detectors::on_end(flow::Flow&, const NdpiEngine&) {}

void Detectors::refine(const flow::Flow&, Verdict&) const {}

}  // namespace sealscope::classify
