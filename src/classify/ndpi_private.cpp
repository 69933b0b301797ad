// Reads nDPI 4.2's private detection module struct, which the installed header declares only under
// NDPI_LIB_COMPILATION (later versions keep it in a header they do not install). Nothing here runs unless
// module_layout_ok() has checked the layout against the library at run time.
#include "classify/ndpi_private.hpp"

#include <ndpi/ndpi_define.h>  // NDPI_MAJOR, NDPI_MINOR
#if NDPI_MAJOR == 4 && NDPI_MINOR == 2
#define NDPI_LIB_COMPILATION 1
#define SEALSCOPE_NDPI_PRIVATE 1
#endif
#include <ndpi/ndpi_api.h>

#include <cstddef>

namespace sealscope::classify::ndpi_private {

bool module_layout_ok(ndpi_detection_module_struct* m) {
#ifdef SEALSCOPE_NDPI_PRIVATE
  if (m == nullptr) return false;
  const auto* base = reinterpret_cast<const char*>(m);
  return ndpi_get_ndpi_detection_module_size() == sizeof(ndpi_detection_module_struct) &&
         reinterpret_cast<const char*>(ndpi_get_proto_defaults(m)) ==
             base + offsetof(ndpi_detection_module_struct, proto_defaults) &&
         ndpi_get_ndpi_num_supported_protocols(m) == m->ndpi_num_supported_protocols;
#else
  (void)m;
  return false;
#endif
}

void* ip_list_tree(ndpi_detection_module_struct* m) {
#ifdef SEALSCOPE_NDPI_PRIVATE
  return m->protocols_ptree;
#else
  (void)m;
  return nullptr;
#endif
}

void* swap_ip_list_tree(ndpi_detection_module_struct* m, void* tree) {
#ifdef SEALSCOPE_NDPI_PRIVATE
  void* old = m->protocols_ptree;
  m->protocols_ptree = tree;
  return old;
#else
  (void)m;
  return tree;
#endif
}

void* new_ip_list_tree() {
#ifdef SEALSCOPE_NDPI_PRIVATE
  return ndpi_patricia_new(32);  // as ndpi_init_detection_module: IPv4 only in 4.2
#else
  return nullptr;
#endif
}

void free_ip_list_tree(void* tree) {
#ifdef SEALSCOPE_NDPI_PRIVATE
  if (tree != nullptr) ndpi_patricia_destroy(static_cast<ndpi_patricia_tree_t*>(tree), nullptr);
#else
  (void)tree;
#endif
}

}  // namespace sealscope::classify::ndpi_private
