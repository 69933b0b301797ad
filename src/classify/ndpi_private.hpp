#pragma once
// nDPI 4.2's detection module struct is declared only for the library's own compilation
// (NDPI_LIB_COMPILATION); ndpi_private.cpp is the one place that reads it. Used by NdpiEngine only.

#include <cstdint>

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

/// Whether the STUN cache accessors below may be used on `m` (nDPI 4.2, layout checked as above).
bool stun_cache_usable(ndpi_detection_module_struct* m);
/// Entry `slot` of `m`'s STUN cache as nDPI stores it (8 bytes: key, then the in-use bit and value); 0 when
/// the module has no cache yet (nDPI creates it at its first STUN verdict). Requires stun_cache_usable.
uint64_t stun_cache_entry(ndpi_detection_module_struct* m, uint32_t slot);
/// Sets entry `slot`, creating the cache (as nDPI would: 1 024 entries) if the module has none yet.
/// Returns false when the cache cannot be created or has another size. Requires stun_cache_usable.
bool set_stun_cache_entry(ndpi_detection_module_struct* m, uint32_t slot, uint64_t entry);

/// One entry of nDPI 4.2's Teams cache (ndpi_reconcile_protocols): in use, the address, the time in seconds.
struct TeamsEntry {
  bool full = false;
  uint32_t key = 0;
  uint16_t seconds = 0;
};
/// Whether `m`'s Teams cache may be used below (nDPI 4.2, layout checked as above); creates it, as nDPI
/// would at its first Teams verdict (1 024 entries), if the module has none yet. False, nothing changed,
/// when the layout does not check out or the cache cannot be created or has another size.
bool teams_cache_ready(ndpi_detection_module_struct* m);
/// Entry `slot` of the Teams cache; requires teams_cache_ready and slot < 1 024.
TeamsEntry teams_cache_entry(ndpi_detection_module_struct* m, uint32_t slot);
void set_teams_cache_entry(ndpi_detection_module_struct* m, uint32_t slot, const TeamsEntry& e);

}  // namespace sealscope::classify::ndpi_private
