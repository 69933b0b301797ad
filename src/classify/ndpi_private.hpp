#pragma once
// nDPI 4.2's detection module struct is declared only for the library's own compilation
// (NDPI_LIB_COMPILATION); ndpi_private.cpp is the one place that reads it. Used by NdpiEngine only.

struct ndpi_detection_module_struct;

namespace sealscope::classify::ndpi_private {

/// True when this build's view of the module struct is the library's: nDPI 4.2, the same struct size as
/// the library reports, and two fields at the places the library's own accessors read them from. False
/// on any other version (the functions below then do nothing).
bool module_layout_ok(ndpi_detection_module_struct* m);

/// The Patricia tree of nDPI's IP lists (protocol by address: ndpi_network_ptree_match), or null.
void* ip_list_tree(ndpi_detection_module_struct* m);
/// Puts `tree` in its place; returns the one that was there.
void* swap_ip_list_tree(ndpi_detection_module_struct* m, void* tree);
/// A new, empty tree of the kind ip_list_tree() holds.
void* new_ip_list_tree();
/// Frees a tree (nodes only: their values are not pointers).
void free_ip_list_tree(void* tree);

}  // namespace sealscope::classify::ndpi_private
