// Several workers' nDPI modules share one copy of nDPI's IP lists (NdpiEngine::share_ip_lists). What must
// hold: a borrowing engine answers by address as its owner does; the borrowed tree is freed once, by its
// owner, whichever engine goes first (the sanitizer build checks the frees); sharing twice, with itself,
// or from an engine that borrows is refused; and the borrower's own copy is freed (less memory in use).
#include <catch2/catch.hpp>

#include <malloc.h>

#include <memory>
#include <string>

#include "classify/ndpi_adapter.hpp"

using namespace sealscope;
using classify::EngineOptions;
using classify::NdpiEngine;

namespace {
IpAddr addr(const char* text) {
  IpAddr a;
  REQUIRE(parse_ip(text, a));
  return a;
}
size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}
}  // namespace

TEST_CASE("nDPI engines share the IP lists: same answers, one copy, freed once", "[classify][ndpi][share]") {
  for (bool owner_first : {true, false}) {
    CAPTURE(owner_first);
    auto owner = std::make_unique<NdpiEngine>(EngineOptions{});
    auto borrower = std::make_unique<NdpiEngine>(EngineOptions{});
    const size_t before = heap_in_use();
    REQUIRE(borrower->share_ip_lists(*owner));  // Debian 12's nDPI 4.2: the layout checks out
    const size_t after = heap_in_use();
    // The borrower's own tree (4.7 MB with malloc's headers) is gone. Only glibc's malloc keeps the books
    // mallinfo2 reads: under AddressSanitizer's allocator it reports nothing, and there is nothing to compare.
    if (before != 0) CHECK(before > after + (2u << 20));
    for (const char* a : {"8.8.8.8", "142.250.180.14", "192.168.1.10", "31.13.64.35"}) {
      CAPTURE(a);
      CHECK(std::string(borrower->network_owner(addr(a))) == owner->network_owner(addr(a)));
    }
    CHECK(std::string(borrower->network_owner(addr("8.8.8.8"))) == "Google");
    CHECK_FALSE(borrower->share_ip_lists(*owner));  // already borrowing
    CHECK_FALSE(owner->share_ip_lists(*borrower));  // a borrower lends nothing
    CHECK_FALSE(owner->share_ip_lists(*owner));
    if (owner_first) {
      owner.reset();
      borrower.reset();  // frees an empty tree of its own, not the owner's (freed already)
    } else {
      borrower.reset();
      CHECK(std::string(owner->network_owner(addr("8.8.8.8"))) == "Google");  // the owner's tree is whole
      owner.reset();
    }
  }
}
