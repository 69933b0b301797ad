#include "policy/prefix_trie.hpp"

#include <cstdlib>
#include <string>

namespace sealscope::policy {

namespace {
int bit_at(const uint8_t* bytes, unsigned i) { return (bytes[i / 8] >> (7 - i % 8)) & 1; }
}  // namespace

bool parse_cidr(const std::string& text, Cidr& out) {
  out = Cidr{};
  const size_t slash = text.find('/');
  const std::string addr = text.substr(0, slash);
  if (!parse_ip(addr, out.addr)) return false;
  const unsigned max = out.addr.version == 4 ? 32 : 128;
  unsigned len = max;
  if (slash != std::string::npos) {
    const std::string l = text.substr(slash + 1);
    if (l.empty() || l.size() > 3 || l.find_first_not_of("0123456789") != std::string::npos) return false;
    len = static_cast<unsigned>(std::strtoul(l.c_str(), nullptr, 10));
    if (len > max) return false;
  }
  out.len = static_cast<uint8_t>(len);
  for (unsigned i = len; i < max; ++i) {
    if (bit_at(out.addr.bytes, i)) {
      out.host_bits = true;
      out.addr.bytes[i / 8] = static_cast<uint8_t>(out.addr.bytes[i / 8] & ~(0x80u >> (i % 8)));
    }
  }
  return true;
}

std::string to_string(const Cidr& c) { return sealscope::to_string(c.addr) + "/" + std::to_string(c.len); }

bool cidr_contains(const Cidr& outer, const Cidr& inner) {
  if (outer.addr.version != inner.addr.version || outer.len > inner.len) return false;
  for (unsigned i = 0; i < outer.len; ++i) {
    if (bit_at(outer.addr.bytes, i) != bit_at(inner.addr.bytes, i)) return false;
  }
  return true;
}

PrefixTrie::PrefixTrie() : nodes_(1) {}

void PrefixTrie::insert(const Cidr& c, const RegionSet& regions) {
  uint32_t n = 0;
  for (unsigned i = 0; i < c.len; ++i) {
    const int b = bit_at(c.addr.bytes, i);
    if (nodes_[n].child[b] == 0) {
      nodes_[n].child[b] = static_cast<uint32_t>(nodes_.size());
      nodes_.emplace_back();
    }
    n = nodes_[n].child[b];
  }
  nodes_[n].regions |= regions;
}

RegionSet PrefixTrie::lookup(const IpAddr& a) const {
  RegionSet out = nodes_[0].regions;
  const unsigned max = a.version == 4 ? 32 : 128;
  uint32_t n = 0;
  for (unsigned i = 0; i < max; ++i) {
    n = nodes_[n].child[bit_at(a.bytes, i)];
    if (n == 0) break;
    out |= nodes_[n].regions;
  }
  return out;
}

}  // namespace sealscope::policy
