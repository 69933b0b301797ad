#pragma once
// nDPI 4.2's detection module struct is declared only for the library's own compilation
// (NDPI_LIB_COMPILATION); ndpi_private.cpp is the one place that reads it. Used by NdpiEngine only.

struct ndpi_detection_module_struct;

namespace sealscope::classify::ndpi_private {

/// Frees `borrower`'s Patricia tree of IP lists (protocol by address: ndpi_network_ptree_match) and points
/// it at `owner`'s. Only on nDPI 4.2, and only when this build's view of the private module struct is the
/// library's for both modules (the struct size the library reports, and two fields where the library's own
/// accessors read them); otherwise false, nothing changed.
bool share_ip_list_tree(ndpi_detection_module_struct* borrower, ndpi_detection_module_struct* owner);
/// Before `borrower` (shared from by share_ip_list_tree) is freed: gives it an empty tree of its own, so
/// that ndpi_exit_detection_module frees that, not the owner's.
void unshare_ip_list_tree(ndpi_detection_module_struct* borrower);

}  // namespace sealscope::classify::ndpi_private
