// Reads nDPI 4.2's private detection module struct, which the installed header declares only under
// NDPI_LIB_COMPILATION (later versions keep it in a header they do not install). Nothing is changed
// unless layout_ok() has checked the layout against the library at run time.
#include "classify/ndpi_private.hpp"

#include <ndpi/ndpi_define.h>  // NDPI_MAJOR, NDPI_MINOR
#if NDPI_MAJOR == 4 && NDPI_MINOR == 2
#define NDPI_LIB_COMPILATION 1
#define SEALSCOPE_NDPI_PRIVATE 1
#endif
#include <ndpi/ndpi_api.h>

#include <cstddef>
#include <cstring>

namespace sealscope::classify::ndpi_private {

#ifdef SEALSCOPE_NDPI_PRIVATE
namespace {
constexpr uint32_t kStunSlots = 1024;  // stun.c and hangout.c: ndpi_lru_cache_init(1024)
constexpr uint32_t kTeamsSlots = 1024;  // ndpi_main.c, ndpi_reconcile_protocols: ndpi_lru_cache_init(1024)
bool layout_ok(ndpi_detection_module_struct* m) {
  if (m == nullptr) return false;
  const auto* base = reinterpret_cast<const char*>(m);
  return ndpi_get_ndpi_detection_module_size() == sizeof(ndpi_detection_module_struct) &&
         reinterpret_cast<const char*>(ndpi_get_proto_defaults(m)) ==
             base + offsetof(ndpi_detection_module_struct, proto_defaults) &&
         ndpi_get_ndpi_num_supported_protocols(m) == m->ndpi_num_supported_protocols;
}
}  // namespace

bool share_ip_list_tree(ndpi_detection_module_struct* borrower, ndpi_detection_module_struct* owner) {
  if (!layout_ok(borrower) || !layout_ok(owner) || owner->protocols_ptree == nullptr) return false;
  // Node values are protocol ids, not pointers: nothing to free but the nodes.
  if (borrower->protocols_ptree != nullptr) {
    ndpi_patricia_destroy(static_cast<ndpi_patricia_tree_t*>(borrower->protocols_ptree), nullptr);
  }
  borrower->protocols_ptree = owner->protocols_ptree;
  return true;
}

void unshare_ip_list_tree(ndpi_detection_module_struct* borrower) {
  borrower->protocols_ptree = ndpi_patricia_new(32);  // as ndpi_init_detection_module: IPv4 only in 4.2
}

bool stun_cache_usable(ndpi_detection_module_struct* m) {
  static_assert(sizeof(ndpi_lru_cache_entry) == sizeof(uint64_t));
  return layout_ok(m) && (m->stun_cache == nullptr || m->stun_cache->num_entries == kStunSlots);
}

uint64_t stun_cache_entry(ndpi_detection_module_struct* m, uint32_t slot) {
  const ndpi_lru_cache* c = m->stun_cache;
  if (c == nullptr || slot >= c->num_entries) return 0;
  uint64_t e = 0;
  std::memcpy(&e, &c->entries[slot], sizeof e);
  return e;
}

bool set_stun_cache_entry(ndpi_detection_module_struct* m, uint32_t slot, uint64_t entry) {
  if (m->stun_cache == nullptr) m->stun_cache = ndpi_lru_cache_init(kStunSlots);  // as stun.c does
  ndpi_lru_cache* c = m->stun_cache;
  if (c == nullptr || c->num_entries != kStunSlots || slot >= c->num_entries) return false;
  std::memcpy(&c->entries[slot], &entry, sizeof entry);
  return true;
}

bool teams_cache_ready(ndpi_detection_module_struct* m) {
  if (!layout_ok(m)) return false;
  if (m->msteams_cache == nullptr) m->msteams_cache = ndpi_lru_cache_init(kTeamsSlots);  // as ndpi_main.c does
  return m->msteams_cache != nullptr && m->msteams_cache->num_entries == kTeamsSlots;
}

TeamsEntry teams_cache_entry(ndpi_detection_module_struct* m, uint32_t slot) {
  const ndpi_lru_cache_entry& e = m->msteams_cache->entries[slot];
  return {e.is_full != 0, e.key, static_cast<uint16_t>(e.value)};
}

void set_teams_cache_entry(ndpi_detection_module_struct* m, uint32_t slot, const TeamsEntry& e) {
  ndpi_lru_cache_entry& x = m->msteams_cache->entries[slot];
  x.is_full = e.full ? 1 : 0;
  x.key = e.key;
  x.value = e.seconds;
}
#else
bool share_ip_list_tree(ndpi_detection_module_struct*, ndpi_detection_module_struct*) { return false; }
void unshare_ip_list_tree(ndpi_detection_module_struct*) {}
bool stun_cache_usable(ndpi_detection_module_struct*) { return false; }
uint64_t stun_cache_entry(ndpi_detection_module_struct*, uint32_t) { return 0; }
bool set_stun_cache_entry(ndpi_detection_module_struct*, uint32_t, uint64_t) { return false; }
bool teams_cache_ready(ndpi_detection_module_struct*) { return false; }
TeamsEntry teams_cache_entry(ndpi_detection_module_struct*, uint32_t) { return {}; }
void set_teams_cache_entry(ndpi_detection_module_struct*, uint32_t, const TeamsEntry&) {}
#endif

}  // namespace sealscope::classify::ndpi_private
