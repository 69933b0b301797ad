#pragma once
#include <bitset>
#include <cstdint>
#include <vector>

#include "common/types.hpp"

namespace sealscope::policy {

/// Most regions one policy may define (a region set is a fixed-size bitset: no allocation to match).
inline constexpr std::size_t kMaxRegions = 256;
using RegionSet = std::bitset<kMaxRegions>;

/// An address prefix (IPv4 or IPv6) as parsed from "a.b.c.d/n" or "x::/n".
struct Cidr {
  IpAddr addr;  ///< host bits cleared
  uint8_t len = 0;
  bool host_bits = false;  ///< the text had bits set past the prefix length (lint warns)
};

/// Parses "addr/len" or a bare address (a /32 or /128); false on bad syntax or length.
bool parse_cidr(const std::string& text, Cidr& out);
/// "addr/len" text of a prefix.
std::string to_string(const Cidr& c);
/// True when `outer` contains every address of `inner` (same family).
bool cidr_contains(const Cidr& outer, const Cidr& inner);

/// Binary trie over address bits for one family; each prefix carries a region set, and a lookup ORs the
/// sets of every prefix on the path (longest and shorter matches alike). Lookups never allocate.
/// Hand-written: the packaged prefix libraries answer one longest match (nDPI's Patricia tree, which also
/// stays behind the nDPI adapter) or only manipulate CIDR text (libcidr); none returns every containing
/// prefix, which is what overlapping regions need.
class PrefixTrie {
 public:
  PrefixTrie();
  /// Adds `regions` to the prefix (inserting nodes as needed; control plane).
  void insert(const Cidr& c, const RegionSet& regions);
  /// Regions of every prefix that contains `a` (a must be of this trie's family).
  RegionSet lookup(const IpAddr& a) const;
  bool empty() const { return nodes_.size() == 1 && nodes_[0].regions.none(); }

 private:
  struct Node {
    uint32_t child[2] = {0, 0};  ///< 0 = none (the root is never a child)
    RegionSet regions;
  };
  std::vector<Node> nodes_;
};

/// One trie per family, chosen by the address's version.
class AddressMap {
 public:
  void insert(const Cidr& c, const RegionSet& r) { (c.addr.version == 4 ? v4_ : v6_).insert(c, r); }
  RegionSet lookup(const IpAddr& a) const {
    if (a.version == 4) return v4_.lookup(a);
    if (a.version == 6) return v6_.lookup(a);
    return {};
  }

 private:
  PrefixTrie v4_, v6_;
};

}  // namespace sealscope::policy
