// Flow key, flow table (lookup, idle expiry per class, LRU, eviction, linger, drain, index consistency under
// churn, SPLT slab per slot) and the fragment table. Times are chosen here; every expected value follows
// from the options and the timeline the test sets up.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "flow/flow_table.hpp"
#include "flow/fragments.hpp"
#include "packet_builder.hpp"

using namespace sealscope;
using namespace sealscope::flow;
using sealscope::testing::ip;

namespace {

constexpr TimestampUs kSec = 1000000;
constexpr TimestampUs kT0 = 1700000000 * kSec;

decode::Packet pkt(const char* src, uint16_t sport, const char* dst, uint16_t dport, uint8_t l4 = 17,
                   uint16_t vlan = decode::kNoVlan) {
  decode::Packet p;
  p.src = ip(src);
  p.dst = ip(dst);
  p.ip_version = p.src.version;
  p.sport = sport;
  p.dport = dport;
  p.has_ports = l4 == 6 || l4 == 17;
  p.l4_proto = l4;
  p.vlan = vlan;
  return p;
}

/// Distinct keys from a counter: 10.(n>>16).(n>>8).n:1000+(n%7) -> 192.0.2.1:53.
FlowKey key_n(uint32_t n, uint8_t l4 = 17) {
  decode::Packet p;
  uint8_t a[4] = {10, static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
  p.src = IpAddr::v4(a);
  p.dst = ip("192.0.2.1");
  p.ip_version = 4;
  p.sport = static_cast<uint16_t>(1000 + n % 7);
  p.dport = 53;
  p.l4_proto = l4;
  bool a_is_src = false;
  return make_key(p, a_is_src);
}

struct Ended {
  uint64_t id;
  EndReason why;
  FlowKey key;
  TimestampUs last_seen;
  std::vector<SpltEntry> splt;
};

/// FlowSink test double: records every ended flow (and its SPLT entries, read while the slot is still its).
struct Collect : FlowSink {
  std::vector<Ended> ended;
  FlowTable* table = nullptr;
  void flow_ended(Flow& f) override {
    Ended e{f.id, f.end, f.key, f.last_seen, {}};
    if (table != nullptr) table->splt_copy(f, e.splt);
    ended.push_back(std::move(e));
  }
  std::vector<uint64_t> ids() const {
    std::vector<uint64_t> v;
    for (const Ended& e : ended) v.push_back(e.id);
    return v;
  }
};

Flow& create(FlowTable& t, const FlowKey& k, TimestampUs now) {
  bool created = false;
  Flow& f = t.lookup(k, now, created);
  REQUIRE(created);
  return f;
}

FlowTableOptions small_timeouts() {
  FlowTableOptions o;
  o.tcp_idle_s = 30;
  o.udp_idle_s = 20;
  o.other_idle_s = 10;
  o.close_linger_s = 5;
  o.active_s = 0;
  return o;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Flow key

TEST_CASE("flow key: both directions give one key, a_is_src flips", "[flow][key]") {
  bool ab = false, ba = false;
  const FlowKey k1 = make_key(pkt("10.0.0.1", 40000, "10.0.0.2", 80, 6), ab);
  const FlowKey k2 = make_key(pkt("10.0.0.2", 80, "10.0.0.1", 40000, 6), ba);
  CHECK(k1 == k2);
  CHECK(std::memcmp(&k1, &k2, sizeof k1) == 0);
  CHECK(ab);   // 10.0.0.1 < 10.0.0.2: the sender is side A
  CHECK_FALSE(ba);
  CHECK(k1.port_a == 40000);  // port follows its address
  CHECK(k1.port_b == 80);
  CHECK(k1.l4 == 6);
  CHECK(k1.ip_version == 4);

  SECTION("numerically larger sender") {
    bool x = true, y = false;
    const FlowKey a = make_key(pkt("192.168.1.9", 5, "10.0.0.1", 6), x);
    const FlowKey b = make_key(pkt("10.0.0.1", 6, "192.168.1.9", 5), y);
    CHECK(a == b);
    CHECK_FALSE(x);
    CHECK(y);
  }
  SECTION("same address both sides: the port decides") {
    bool x = false, y = true;
    const FlowKey a = make_key(pkt("127.0.0.1", 5000, "127.0.0.1", 6000), x);
    const FlowKey b = make_key(pkt("127.0.0.1", 6000, "127.0.0.1", 5000), y);
    CHECK(a == b);
    CHECK(x);
    CHECK_FALSE(y);
  }
  SECTION("IPv6") {
    bool x = false, y = true;
    const FlowKey a = make_key(pkt("2001:db8::1", 5000, "2001:db8::ff", 443, 6), x);
    const FlowKey b = make_key(pkt("2001:db8::ff", 443, "2001:db8::1", 5000, 6), y);
    CHECK(a == b);
    CHECK(x != y);
    CHECK(a.ip_version == 6);
  }
}

TEST_CASE("flow key: distinct for different ports, VLAN, protocol, IP version", "[flow][key]") {
  bool d = false;
  const FlowKey base = make_key(pkt("10.0.0.1", 1000, "10.0.0.2", 53), d);
  CHECK_FALSE(base == make_key(pkt("10.0.0.1", 1001, "10.0.0.2", 53), d));
  CHECK_FALSE(base == make_key(pkt("10.0.0.1", 1000, "10.0.0.2", 54), d));
  CHECK_FALSE(base == make_key(pkt("10.0.0.1", 1000, "10.0.0.3", 53), d));
  CHECK_FALSE(base == make_key(pkt("10.0.0.1", 1000, "10.0.0.2", 53, 6), d));
  CHECK_FALSE(base == make_key(pkt("10.0.0.1", 1000, "10.0.0.2", 53, 17, 100), d));
  CHECK_FALSE(make_key(pkt("10.0.0.1", 1000, "10.0.0.2", 53, 17, 100), d) ==
              make_key(pkt("10.0.0.1", 1000, "10.0.0.2", 53, 17, 101), d));
  // Swapping only the ports is another flow (1000->53 vs 53->1000 between the same ordered addresses).
  CHECK_FALSE(base == make_key(pkt("10.0.0.1", 53, "10.0.0.2", 1000), d));
  // IPv6 a00:1:: has the same 16 bytes as IPv4 10.0.0.1 (stored first, rest zero): only the version differs.
  const FlowKey v6 = make_key(pkt("a00:1::", 1000, "a00:2::", 53), d);
  CHECK(std::memcmp(v6.addr_a, base.addr_a, 16) == 0);
  CHECK_FALSE(base == v6);
}

TEST_CASE("flow: RunningStats and end reason names", "[flow]") {
  IatStats s;
  uint64_t n = 0;
  for (double x : {3.0, 1.0, 4.0, 2.0}) s.add(x, ++n);
  CHECK(s.mean == Approx(2.5));
  CHECK(s.min == 1.0);
  CHECK(s.max == 4.0);
  CHECK(s.stddev(n) == Approx(std::sqrt(1.25)));  // population: mean of squared deviations (2.25+.25+.25+2.25)/4
  IatStats one;
  one.add(7, 1);
  CHECK(one.stddev(1) == 0.0);
  SizeStats sizes;  // integer min and max, mean and deviation in double
  sizes.add(1500, 1);
  sizes.add(40, 2);
  sizes.add(65535, 3);
  CHECK(sizes.min == 40u);
  CHECK(sizes.max == 65535u);
  CHECK(sizes.mean == Approx((1500.0 + 40 + 65535) / 3));
  CHECK(std::string(end_reason_name(EndReason::Idle)) == "idle");
  CHECK(std::string(end_reason_name(EndReason::Active)) == "active");
  CHECK(std::string(end_reason_name(EndReason::Fin)) == "fin");
  CHECK(std::string(end_reason_name(EndReason::Rst)) == "rst");
  CHECK(std::string(end_reason_name(EndReason::Evicted)) == "evicted");
  CHECK(std::string(end_reason_name(EndReason::Eof)) == "eof");
}

TEST_CASE("flow: the sizes of both directions, combined from each direction's series", "[flow]") {
  // Random sizes, each to one of two directions; the combined series must agree with one series fed
  // every value in arrival order (what a flow kept before), and with the exact two-pass figures.
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    Flow f;
    SizeStats one;
    std::vector<double> xs;
    const int n = 1 + static_cast<int>(rng() % 300);
    for (int i = 0; i < n; ++i) {
      const auto x = static_cast<uint32_t>(20 + rng() % (round % 2 ? 1480 : 65516));
      const int d = static_cast<int>(rng() % (round % 5 == 0 ? 7 : 2)) == 0 ? 0 : 1;  // some rounds: one way mostly
      ++f.packets[d];
      f.bytes[d] += x;  // as Worker::account counts them: the byte counter is the size series' sum
      f.size_dir[d].add(x, f.packets[d]);
      xs.push_back(x);
      one.add(x, xs.size());
    }
    const SizeStats all = f.size_all();
    double sum = 0, sq = 0;
    for (double x : xs) sum += x;
    const double mean = sum / n;
    for (double x : xs) sq += (x - mean) * (x - mean);
    CHECK(f.size_count(0) == static_cast<uint64_t>(n));
    CHECK(all.min == one.min);
    CHECK(all.max == one.max);
    CHECK(all.mean == sum / n);  // exact: the byte count over the packet count
    CHECK(all.stddev(n) == Approx(std::sqrt(sq / n)).epsilon(1e-9).margin(1e-9));
    CHECK(all.stddev(n) == Approx(one.stddev(n)).epsilon(1e-9).margin(1e-9));
  }
  // One direction only: that direction's series itself.
  Flow up;
  up.packets[0] = 2;
  up.bytes[0] = 400;
  up.size_dir[0].add(100, 1);
  up.size_dir[0].add(300, 2);
  CHECK(up.size_all().min == 100u);
  CHECK(up.size_all().max == 300u);
  CHECK(up.size_all().mean == 200.0);
  CHECK(up.size_all().stddev(2) == 100.0);
  Flow down;
  down.packets[1] = 1;
  down.bytes[1] = 60;
  down.size_dir[1].add(60, 1);
  CHECK(down.size_all().min == 60u);
  CHECK(down.size_all().mean == 60.0);
  CHECK(Flow{}.size_count(0) == 0);
}

TEST_CASE("flow: FlowMeta keeps its own copy of each string, apart from its neighbours", "[flow][meta]") {
  std::string name = "chat.example.org", alpn = "h2", ja3c(32, 'c'), ja3s(32, 's');
  FlowMeta::Fields x;
  x.server_name = name;
  x.alpn = alpn;
  x.ja3c = ja3c;
  x.ja3s = ja3s;
  x.has_tls = true;
  x.tls_version = 0x0304;
  x.risk = (uint64_t{1} << 40) | 5;
  const std::unique_ptr<FlowMeta> m = FlowMeta::make(x);
  name.assign(name.size(), 'x');  // the block holds copies: the sources may go away
  alpn = "zz";
  CHECK(m->server_name() == "chat.example.org");
  CHECK(m->alpn() == "h2");
  CHECK(m->ja3c() == std::string(32, 'c'));
  CHECK(m->ja3s() == std::string(32, 's'));
  CHECK(m->has_tls());
  CHECK(m->tls_version() == 0x0304);
  CHECK(m->risk() == ((uint64_t{1} << 40) | 5));

  // Empty strings in between: each view still starts where its own bytes are.
  FlowMeta::Fields y;
  y.alpn = "";
  y.ja3s = "beef";
  const std::unique_ptr<FlowMeta> e = FlowMeta::make(y);
  CHECK(e->server_name().empty());
  CHECK(e->alpn().empty());
  CHECK(e->ja3c().empty());
  CHECK(e->ja3s() == "beef");
  CHECK_FALSE(e->has_tls());
  CHECK(e->tls_version() == 0);
  CHECK(e->risk() == 0);

  // Lengths are 16-bit: a longer string is cut at 65535 bytes, and the next one is not shifted.
  const std::string big(70000, 'n');
  FlowMeta::Fields z;
  z.server_name = big;
  z.alpn = "http/1.1";
  const std::unique_ptr<FlowMeta> c = FlowMeta::make(z);
  CHECK(c->server_name().size() == 65535u);
  CHECK(c->server_name() == std::string_view(big).substr(0, 65535));
  CHECK(c->alpn() == "http/1.1");
}

TEST_CASE("flow: FlowMeta::merge keeps the primary's values and fills only its empty ones", "[flow][meta]") {
  // nDPI's values (primary) over a QUIC ClientHello's (fallback), whichever came first.
  FlowMeta::Fields ndpi;
  ndpi.server_name = "www.example.com";
  ndpi.has_tls = true;
  ndpi.risk = 4;
  FlowMeta::Fields own;
  own.server_name = "other.example";
  own.alpn = "h3";
  own.ja3c = "0123456789abcdef0123456789abcdef";
  own.has_tls = true;
  own.tls_version = 0x0304;
  const std::unique_ptr<FlowMeta> m = FlowMeta::merge(ndpi, own);
  CHECK(m->server_name() == "www.example.com");
  CHECK(m->alpn() == "h3");
  CHECK(m->ja3c() == "0123456789abcdef0123456789abcdef");
  CHECK(m->ja3s().empty());
  CHECK(m->has_tls());
  CHECK(m->tls_version() == 0x0304);
  CHECK(m->risk() == 4);

  // Merging into an existing block: the fallback may view the block being replaced.
  std::unique_ptr<FlowMeta> held = FlowMeta::make(own);
  FlowMeta::Fields plain;  // e.g. a DNS name from nDPI: no TLS of its own
  plain.server_name = "dns.example";
  held = FlowMeta::merge(plain, held->fields());
  CHECK(held->server_name() == "dns.example");
  CHECK(held->alpn() == "h3");
  CHECK(held->has_tls());
  CHECK(held->tls_version() == 0x0304);
  const FlowMeta::Fields back = held->fields();
  CHECK(back.ja3c == "0123456789abcdef0123456789abcdef");
  CHECK(back.risk == 0);
}

// ---------------------------------------------------------------------------------------------------------
// Flow table

TEST_CASE("flow table: lookup creates once, finds again, both directions", "[flow][table]") {
  Collect sink;
  FlowTable t(FlowTableOptions{}, sink, 42);
  bool ab = false, ba = false;
  const FlowKey k = make_key(pkt("10.0.0.1", 40000, "10.0.0.2", 80, 6), ab);
  bool created = false;
  Flow& f = t.lookup(k, kT0, created);
  CHECK(created);
  CHECK(f.in_use);
  CHECK(f.id == 0);
  CHECK(f.first_seen == kT0);
  CHECK(f.last_seen == kT0);
  CHECK(t.size() == 1);
  CHECK(t.created() == 1);

  Flow& g = t.lookup(make_key(pkt("10.0.0.2", 80, "10.0.0.1", 40000, 6), ba), kT0 + kSec, created);
  CHECK_FALSE(created);
  CHECK(&g == &f);
  CHECK(t.size() == 1);
  CHECK(t.find(k) == &f);
  CHECK(t.find(key_n(1)) == nullptr);
  CHECK(sink.ended.empty());

  Flow& h = create(t, key_n(1), kT0);
  CHECK(h.id == 1);
  CHECK(t.size() == 2);
  CHECK(t.peak() == 2);
}

TEST_CASE("flow table: default idle timeouts are TCP 300 s, UDP 120 s, other 60 s", "[flow][table][expiry]") {
  const FlowTableOptions o;
  CHECK(o.tcp_idle_s == 300);
  CHECK(o.udp_idle_s == 120);
  CHECK(o.other_idle_s == 60);
  Collect sink;
  FlowTable t(o, sink, 1);
  create(t, key_n(1, 6), kT0);
  create(t, key_n(2, 17), kT0);
  create(t, key_n(3, 1), kT0);
  t.expire(kT0 + 60 * kSec - 1);
  CHECK(sink.ended.empty());
  t.expire(kT0 + 60 * kSec);
  REQUIRE(sink.ended.size() == 1);
  CHECK(sink.ended[0].key == key_n(3, 1));
  t.expire(kT0 + 120 * kSec - 1);
  CHECK(sink.ended.size() == 1);
  t.expire(kT0 + 120 * kSec);
  REQUIRE(sink.ended.size() == 2);
  CHECK(sink.ended[1].key == key_n(2, 17));
  t.expire(kT0 + 300 * kSec - 1);
  CHECK(sink.ended.size() == 2);
  t.expire(kT0 + 300 * kSec);
  REQUIRE(sink.ended.size() == 3);
  CHECK(sink.ended[2].key == key_n(1, 6));
  for (const Ended& e : sink.ended) CHECK(e.why == EndReason::Idle);
  CHECK(t.size() == 0);
}

TEST_CASE("flow table: idle expiry per class with custom timeouts, exactly at last_seen + timeout", "[flow][table][expiry]") {
  Collect sink;
  FlowTable t(small_timeouts(), sink, 7);
  create(t, key_n(1, 6), kT0);
  create(t, key_n(2, 17), kT0);
  create(t, key_n(3, 58), kT0);
  struct Step {
    TimestampUs at;
    size_t ended;
  };
  // other 10 s, UDP 20 s, TCP 30 s: each ends at, not before, last_seen + timeout.
  for (Step s : {Step{10 * kSec - 1, 0}, Step{10 * kSec, 1}, Step{20 * kSec - 1, 1}, Step{20 * kSec, 2},
                 Step{30 * kSec - 1, 2}, Step{30 * kSec, 3}}) {
    t.expire(kT0 + s.at);
    INFO("at +" << s.at << " us");
    CHECK(sink.ended.size() == s.ended);
  }
  REQUIRE(sink.ended.size() == 3);
  CHECK(sink.ended[0].key.l4 == 58);
  CHECK(sink.ended[1].key.l4 == 17);
  CHECK(sink.ended[2].key.l4 == 6);
  for (const Ended& e : sink.ended) CHECK(e.why == EndReason::Idle);
}

TEST_CASE("flow table: an idle timeout of 0 never expires that class, linger 0 ends a closing flow at once",
          "[flow][table][expiry]") {
  Collect sink;
  FlowTableOptions o = small_timeouts();
  o.tcp_idle_s = 0;
  o.close_linger_s = 0;
  FlowTable t(o, sink, 7);
  create(t, key_n(1, 6), kT0);
  create(t, key_n(2, 17), kT0);
  Flow& closing = create(t, key_n(3, 6), kT0);
  t.mark_closing(closing, EndReason::Rst);
  t.expire(kT0);  // linger 0: the RST flow ends now
  REQUIRE(sink.ended.size() == 1);
  CHECK(sink.ended[0].why == EndReason::Rst);
  t.expire(kT0 + 20 * kSec);  // UDP keeps its 20 s
  REQUIRE(sink.ended.size() == 2);
  CHECK(sink.ended[1].key.l4 == 17);
  t.expire(kT0 + TimestampUs{100} * 365 * 86400 * kSec);  // a century later the TCP flow is still there
  CHECK(sink.ended.size() == 2);
  CHECK(t.size() == 1);
}

TEST_CASE("flow table: touch refreshes last_seen and postpones expiry", "[flow][table][expiry]") {
  Collect sink;
  FlowTable t(small_timeouts(), sink, 7);
  Flow& f = create(t, key_n(1), kT0);
  t.touch(f, kT0 + 15 * kSec);
  CHECK(f.last_seen == kT0 + 15 * kSec);
  t.touch(f, kT0 + 3 * kSec);  // an older timestamp never moves last_seen back
  CHECK(f.last_seen == kT0 + 15 * kSec);
  t.expire(kT0 + 34 * kSec);
  CHECK(sink.ended.empty());  // 15 + 20 = 35 s
  t.expire(kT0 + 35 * kSec);
  REQUIRE(sink.ended.size() == 1);
  CHECK(sink.ended[0].last_seen == kT0 + 15 * kSec);
}

TEST_CASE("flow table: LRU order: expire pops the least recently seen first", "[flow][table][expiry]") {
  Collect sink;
  FlowTable t(small_timeouts(), sink, 7);
  std::vector<Flow*> f;
  for (uint32_t i = 0; i < 5; ++i) f.push_back(&create(t, key_n(i), kT0 + i * kSec));
  t.touch(*f[0], kT0 + 5 * kSec);  // flow 0 becomes the most recent
  t.touch(*f[2], kT0 + 6 * kSec);  // then flow 2
  // UDP 20 s: at +24 s the flows seen at 1, 3, 4 s are due, in that order; 0 (5 s) and 2 (6 s) are not.
  t.expire(kT0 + 24 * kSec);
  CHECK(sink.ids() == std::vector<uint64_t>{1, 3, 4});
  t.expire(kT0 + 26 * kSec);
  CHECK(sink.ids() == std::vector<uint64_t>{1, 3, 4, 0, 2});
}

TEST_CASE("flow table: max_flows evicts the least recently seen flow across classes", "[flow][table][evict]") {
  Collect sink;
  FlowTableOptions o = small_timeouts();
  o.max_flows = 3;
  FlowTable t(o, sink, 7);
  Flow& tcp = create(t, key_n(1, 6), kT0 + 1 * kSec);
  create(t, key_n(2, 17), kT0 + 2 * kSec);
  create(t, key_n(3, 1), kT0 + 3 * kSec);
  t.touch(tcp, kT0 + 4 * kSec);
  create(t, key_n(4, 17), kT0 + 5 * kSec);  // full: the UDP flow (last seen at 2 s) goes
  REQUIRE(sink.ended.size() == 1);
  CHECK(sink.ended[0].key == key_n(2, 17));
  CHECK(sink.ended[0].why == EndReason::Evicted);
  CHECK(t.evictions() == 1);
  CHECK(t.size() == 3);
  CHECK(t.find(key_n(2, 17)) == nullptr);
  create(t, key_n(5, 6), kT0 + 6 * kSec);  // next: the ICMP flow (3 s)
  REQUIRE(sink.ended.size() == 2);
  CHECK(sink.ended[1].key == key_n(3, 1));
  CHECK(sink.ended[1].why == EndReason::Evicted);
  CHECK(t.evictions() == 2);
  CHECK(t.find(key_n(1, 6)) == &tcp);
  CHECK(t.peak() == 3);
}

TEST_CASE("flow table: 100k inserts with max_flows 1000 keep exactly the newest 1000", "[flow][table][evict]") {
  Collect sink;
  FlowTableOptions o;
  o.max_flows = 1000;
  FlowTable t(o, sink, 99);
  const uint32_t n = 100000;
  for (uint32_t i = 0; i < n; ++i) create(t, key_n(i), kT0 + i);
  // Strictly increasing times and no touches: LRU is FIFO, so the victims are the oldest in order.
  CHECK(t.evictions() == n - 1000);
  CHECK(t.size() == 1000);
  REQUIRE(sink.ended.size() == n - 1000);
  bool order_ok = true;
  for (uint32_t i = 0; i < sink.ended.size(); ++i) order_ok = order_ok && sink.ended[i].id == i;
  CHECK(order_ok);
  uint32_t found_live = 0, found_dead = 0;
  for (uint32_t i = 0; i < n; ++i) {
    Flow* f = t.find(key_n(i));
    if (i >= n - 1000) {
      found_live += f != nullptr && f->key == key_n(i) && f->id == i;
    } else {
      found_dead += f != nullptr;
    }
  }
  CHECK(found_live == 1000);
  CHECK(found_dead == 0);
}

TEST_CASE("flow table: mark_closing moves a flow to the linger list: ends Fin/Rst after the linger", "[flow][table][close]") {
  for (EndReason why : {EndReason::Fin, EndReason::Rst}) {
    Collect sink;
    FlowTable t(small_timeouts(), sink, 7);
    Flow& f = create(t, key_n(1, 6), kT0);
    t.touch(f, kT0 + kSec);
    t.mark_closing(f, why);
    t.mark_closing(f, why == EndReason::Fin ? EndReason::Rst : EndReason::Fin);  // the first reason stays
    CHECK(f.closing == why);
    t.expire(kT0 + 6 * kSec - 1);  // linger 5 s from the last packet (1 s)
    CHECK(sink.ended.empty());
    t.touch(f, kT0 + 3 * kSec);    // a stray packet while lingering: linger counts from it
    t.expire(kT0 + 8 * kSec - 1);
    CHECK(sink.ended.empty());
    t.expire(kT0 + 8 * kSec);
    REQUIRE(sink.ended.size() == 1);
    CHECK(sink.ended[0].why == why);
    CHECK(t.size() == 0);
  }
}

TEST_CASE("flow table: drain ends the rest in creation order, Eof unless closing", "[flow][table][drain]") {
  Collect sink;
  FlowTable t(small_timeouts(), sink, 7);
  std::vector<Flow*> f;
  const uint8_t protos[] = {17, 6, 1, 6, 17, 6};
  for (uint32_t i = 0; i < 6; ++i) f.push_back(&create(t, key_n(i, protos[i]), kT0 + i));
  // Scramble the list order: touch in reverse, and move one TCP flow to the closing list.
  for (int i = 5; i >= 0; --i) t.touch(*f[static_cast<size_t>(i)], kT0 + 100 - i);
  t.mark_closing(*f[3], EndReason::Rst);
  t.drain(EndReason::Eof);
  CHECK(sink.ids() == std::vector<uint64_t>{0, 1, 2, 3, 4, 5});
  for (const Ended& e : sink.ended) CHECK(e.why == (e.id == 3 ? EndReason::Rst : EndReason::Eof));
  CHECK(t.size() == 0);
  for (uint32_t i = 0; i < 6; ++i) CHECK(t.find(key_n(i, protos[i])) == nullptr);
}

TEST_CASE("flow table: drain follows creation order, not slot order, also for ids 2^32 apart",
          "[flow][table][drain]") {
  for (const uint64_t gap : {uint64_t{0}, uint64_t{1} << 33}) {
    CAPTURE(gap);
    Collect sink;
    FlowTable t(small_timeouts(), sink, 7);
    std::vector<Flow*> f;
    for (uint32_t i = 0; i < 6; ++i) f.push_back(&create(t, key_n(i), kT0 + i));
    // Free slots 1 and 3: the next flows reuse them (last freed first), so slot order is no longer id order.
    t.end(*f[1], EndReason::Fin);
    t.end(*f[3], EndReason::Fin);
    t.skip_ids_for_test(gap);
    Flow& a = create(t, key_n(6), kT0 + 6);
    Flow& b = create(t, key_n(7), kT0 + 7);
    CHECK(a.slot == 3);
    CHECK(b.slot == 1);
    sink.ended.clear();
    t.drain(EndReason::Eof);
    CHECK(sink.ids() == std::vector<uint64_t>{0, 2, 4, 5, 6 + gap, 7 + gap});
    CHECK(t.size() == 0);
  }
}

TEST_CASE("flow table: after a drain the table takes new flows, finds and expires them", "[flow][table][drain]") {
  Collect sink;
  FlowTable t(small_timeouts(), sink, 7);
  for (uint32_t i = 0; i < 50; ++i) create(t, key_n(i), kT0 + i);
  t.drain(EndReason::Eof);
  REQUIRE(sink.ended.size() == 50);
  REQUIRE(t.size() == 0);
  // The lists and the index were emptied at once, not flow by flow: the same keys are new flows again.
  sink.ended.clear();
  for (uint32_t i = 0; i < 50; i += 2) create(t, key_n(i), kT0 + 1000 + i);
  CHECK(t.size() == 25);
  for (uint32_t i = 0; i < 50; ++i) CHECK((t.find(key_n(i)) != nullptr) == (i % 2 == 0));
  t.expire(kT0 + 1000 + 100 * kSec);  // past the UDP timeout of every one
  CHECK(sink.ended.size() == 25);
  for (const Ended& e : sink.ended) CHECK(e.why == EndReason::Idle);
  CHECK(t.size() == 0);
}

TEST_CASE("flow table: a sink that throws in a drain leaves the rest of the flows in the table",
          "[flow][table][drain]") {
  struct Throwing : Collect {
    size_t fail_at = 0;
    void flow_ended(Flow& f) override {
      if (ended.size() == fail_at) throw std::runtime_error("disk full");
      Collect::flow_ended(f);
    }
  };
  for (size_t fail_at : {size_t{0}, size_t{3}, size_t{9}}) {
    CAPTURE(fail_at);
    Throwing sink;
    sink.fail_at = fail_at;
    FlowTable t(small_timeouts(), sink, 7);
    for (uint32_t i = 0; i < 10; ++i) create(t, key_n(i, i % 2 ? 6 : 17), kT0 + i);
    CHECK_THROWS_WITH(t.drain(EndReason::Eof), "disk full");
    // The first fail_at flows ended (creation order); the one whose record failed and those after it stay.
    REQUIRE(sink.ended.size() == fail_at);
    CHECK(t.size() == 10 - fail_at);
    size_t live = 0;
    t.for_each_live([&](Flow& f) {
      ++live;
      CHECK(f.id >= fail_at);
    });
    CHECK(live == 10 - fail_at);
    for (uint32_t i = 0; i < 10; ++i) CHECK((t.find(key_n(i, i % 2 ? 6 : 17)) != nullptr) == (i >= fail_at));
    // A second drain (the sink works again) ends exactly those, in order.
    sink.fail_at = SIZE_MAX;
    t.drain(EndReason::Eof);
    std::vector<uint64_t> want;
    for (uint64_t i = 0; i < 10; ++i) want.push_back(i);
    CHECK(sink.ids() == want);
    CHECK(t.size() == 0);
  }
}

TEST_CASE("flow table: index stays consistent over 100k inserts and deletes", "[flow][table][stress]") {
  Collect sink;
  FlowTableOptions o;
  o.max_flows = 1u << 20;
  FlowTable t(o, sink, 0x5EED);
  std::mt19937_64 rng(12345);
  std::vector<uint32_t> live;           // counters of live flows
  std::unordered_map<uint32_t, uint64_t> live_id;
  std::vector<uint32_t> dead;
  uint32_t next = 0;
  TimestampUs now = kT0;
  auto verify = [&](bool all_dead) {
    uint64_t bad_live = 0, bad_dead = 0;
    for (uint32_t c : live) {
      Flow* f = t.find(key_n(c));
      bad_live += f == nullptr || !(f->key == key_n(c)) || f->id != live_id[c] || !f->in_use;
    }
    const size_t step = all_dead ? 1 : 97;
    for (size_t i = 0; i < dead.size(); i += step) bad_dead += t.find(key_n(dead[i])) != nullptr;
    CHECK(bad_live == 0);
    CHECK(bad_dead == 0);
    CHECK(t.size() == live.size());
  };
  // 100k inserts interleaved with deletes (inserts 2:1 while the live set is small, then 1:1), then
  // deletes until the table is empty: 100k of each, with the live set in the thousands throughout.
  for (int op = 0; next < 100000 || !live.empty(); ++op) {
    ++now;
    const bool insert = live.empty() || (rng() % 100) < (live.size() < 20000 ? 66u : 50u);
    if (insert && next < 100000) {
      const uint32_t c = next++;
      Flow& f = create(t, key_n(c), now);
      live.push_back(c);
      live_id[c] = f.id;
    } else if (!live.empty()) {
      const size_t i = rng() % live.size();
      const uint32_t c = live[i];
      Flow* f = t.find(key_n(c));
      REQUIRE(f != nullptr);
      t.end(*f, EndReason::Idle);
      live[i] = live.back();
      live.pop_back();
      live_id.erase(c);
      dead.push_back(c);
    }
    if (op % 20000 == 19999) verify(false);
  }
  CHECK(next == 100000);
  CHECK(dead.size() == 100000);
  verify(true);
  CHECK(sink.ended.size() == 100000);
  CHECK(t.evictions() == 0);
  CHECK(t.size() == 0);
  CHECK(t.peak() > 1000);
}

TEST_CASE("flow table: SPLT entries stay with their flow, inline and in overflow slabs, across recycling",
          "[flow][table][splt]") {
  Collect sink;
  FlowTableOptions o = small_timeouts();
  o.splt = 20;  // 8 in the slot, 12 in an overflow slab
  FlowTable t(o, sink, 7);
  sink.table = &t;
  auto fill = [&](Flow& f, uint16_t base, uint16_t n) {
    for (uint16_t i = 0; i < n; ++i) {
      SpltEntry& e = t.splt_entry(f, f.splt_len++);
      e.ip_len = static_cast<uint16_t>(base + i);
      e.dir_ms = base + i;
    }
  };
  auto holds = [&](const Flow& f, uint16_t base, uint16_t n) {
    std::vector<SpltEntry> v;
    t.splt_copy(f, v);
    if (v.size() != n) return false;
    for (uint16_t i = 0; i < n; ++i) {
      if (v[i].ip_len != base + i || v[i].dir_ms != base + i) return false;
    }
    return true;
  };
  constexpr uint32_t kNone = 0xFFFFFFFFu;
  Flow& a = create(t, key_n(1), kT0);
  Flow& b = create(t, key_n(2), kT0);
  Flow& s = create(t, key_n(3), kT0);
  CHECK(a.slot != b.slot);
  fill(a, 100, 20);
  fill(b, 200, 20);
  fill(s, 400, Flow::kSpltInline);  // a short flow fits its slot
  CHECK(s.splt_more == kNone);
  REQUIRE(a.splt_more != kNone);
  REQUIRE(b.splt_more != kNone);
  CHECK(a.splt_more != b.splt_more);
  CHECK(holds(a, 100, 20));
  CHECK(holds(b, 200, 20));
  CHECK(holds(s, 400, Flow::kSpltInline));
  a.fin_seen = 3;
  a.packets[0] = 9;
  const uint32_t a_slot = a.slot, a_slab = a.splt_more;
  t.end(a, EndReason::Idle);
  REQUIRE(sink.ended.size() == 1);
  CHECK(sink.ended[0].splt.size() == 20);
  CHECK(sink.ended[0].splt[3].ip_len == 103);
  CHECK(sink.ended[0].splt[19].ip_len == 119);

  Flow& c = create(t, key_n(4), kT0 + kSec);
  CHECK(c.slot == a_slot);  // the freed slot is reused
  CHECK(c.splt_len == 0);   // … with no SPLT entries of the old flow
  CHECK(c.splt_more == kNone);  // … and no slab until it needs one
  CHECK(c.fin_seen == 0);
  CHECK(c.packets[0] == 0);
  CHECK(c.closing == EndReason::None);
  fill(c, 300, 12);  // 4 beyond the slot: a small slab
  CHECK(holds(c, 300, 12));
  Flow& d = create(t, key_n(5), kT0 + kSec);
  fill(d, 500, 20);
  CHECK(d.splt_more == a_slab);  // the freed slab of all the rest is lent again
  CHECK(holds(d, 500, 20));
  CHECK(holds(c, 300, 12));
  CHECK(holds(b, 200, 20));
  CHECK(holds(s, 400, Flow::kSpltInline));
  t.end(c, EndReason::Idle);
  CHECK(sink.ended.back().splt.size() == 12);
  CHECK(sink.ended.back().splt[0].ip_len == 300);
  CHECK(sink.ended.back().splt[11].ip_len == 311);
}

TEST_CASE("flow table: SPLT entries through the small slab and the slab of all the rest, against a plain list",
          "[flow][table][splt]") {
  // Flows of random lengths, their entries added interleaved, some ended and their slots and slabs reused,
  // some restarted (an active timeout's splt_clear): each flow's entries must read back as a plain list
  // of what was added says, whichever slab they went to.
  for (uint16_t splt : {uint16_t{32}, uint16_t{Flow::kSpltInline + FlowTable::kSpltSmall},
                        uint16_t{Flow::kSpltInline + FlowTable::kSpltSmall + 1}, uint16_t{12}, uint16_t{8},
                        uint16_t{255}}) {
    CAPTURE(splt);
    Collect sink;
    FlowTableOptions o = small_timeouts();
    o.splt = splt;
    FlowTable t(o, sink, 7);
    sink.table = &t;
    std::mt19937 rng(splt);
    struct Live {
      Flow* f;
      std::vector<uint16_t> want;
      size_t target;
    };
    std::vector<Live> live;
    uint32_t next_key = 0;
    size_t checked = 0;
    auto check = [&](const Live& l) {
      std::vector<SpltEntry> v;
      t.splt_copy(*l.f, v);
      REQUIRE(v.size() == l.want.size());
      for (size_t i = 0; i < v.size(); ++i) REQUIRE(v[i].ip_len == l.want[i]);
      ++checked;
    };
    for (int step = 0; step < 20000; ++step) {
      const uint32_t r = rng() % 100;
      if (live.size() < 50 && r < 30) {
        Flow& f = create(t, key_n(next_key++), kT0);
        live.push_back({&f, {}, rng() % (splt + 10)});
      } else if (!live.empty() && r < 40) {
        const size_t k = rng() % live.size();
        check(live[k]);
        Flow& f = *live[k].f;
        t.end(f, EndReason::Idle);
        REQUIRE(sink.ended.back().splt.size() == live[k].want.size());
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
      } else if (!live.empty() && r < 42) {
        const size_t k = rng() % live.size();
        t.splt_clear(*live[k].f);
        CHECK(live[k].f->splt_more == 0xFFFFFFFFu);
        live[k].want.clear();
      } else if (!live.empty()) {
        Live& l = live[rng() % live.size()];
        if (l.f->splt_len < splt && l.want.size() < l.target) {
          const auto x = static_cast<uint16_t>(rng());
          t.splt_entry(*l.f, l.f->splt_len++).ip_len = x;
          l.want.push_back(x);
        }
      }
    }
    for (const Live& l : live) check(l);
    CHECK(checked > 500);
  }
}

TEST_CASE("flow table: a flow trades its small SPLT slab for one of all the rest, and the small one is lent again",
          "[flow][table][splt]") {
  Collect sink;
  FlowTableOptions o = small_timeouts();  // splt 32: 8 in the slot, 8 in a small slab, or 24 in a big one
  FlowTable t(o, sink, 7);
  Flow& a = create(t, key_n(1), kT0);
  auto add = [&](Flow& f, uint16_t n) {
    for (uint16_t i = 0; i < n; ++i) {
      const auto v = static_cast<uint16_t>(1001 + f.splt_len);
      t.splt_entry(f, f.splt_len++).ip_len = v;
    }
  };
  auto in_order = [&](const Flow& f) {
    std::vector<SpltEntry> v;
    t.splt_copy(f, v);
    if (v.size() != f.splt_len) return false;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i].ip_len != 1001 + i) return false;
    }
    return true;
  };
  add(a, Flow::kSpltInline + FlowTable::kSpltSmall);  // 16: the slot and a small slab
  const uint32_t small = a.splt_more;
  CHECK(in_order(a));
  add(a, 1);  // the 17th entry: the small slab's 8 move to a slab of all the rest
  CHECK(in_order(a));
  add(a, 15);
  CHECK(a.splt_len == 32);
  CHECK(in_order(a));
  Flow& b = create(t, key_n(2), kT0);
  add(b, Flow::kSpltInline + 1);
  CHECK(b.splt_more == small);  // the small slab a gave back
  CHECK(in_order(b));
  CHECK(in_order(a));
  // the slot, four index buckets (two per flow at most half full) of slot and tag, the slab
  CHECK(FlowTable::bytes_per_flow(32, 8) == sizeof(Flow) + 32);
  CHECK(FlowTable::bytes_per_flow(32, 9) == sizeof(Flow) + 32 + 8 * sizeof(SpltEntry));
  CHECK(FlowTable::bytes_per_flow(32, 16) == sizeof(Flow) + 32 + 8 * sizeof(SpltEntry));
  CHECK(FlowTable::bytes_per_flow(32, 17) == sizeof(Flow) + 32 + 24 * sizeof(SpltEntry));
  CHECK(FlowTable::bytes_per_flow(32, 1000) == sizeof(Flow) + 32 + 24 * sizeof(SpltEntry));
  CHECK(FlowTable::bytes_per_flow(12, 1000) == sizeof(Flow) + 32 + 4 * sizeof(SpltEntry));
}

TEST_CASE("flow table: SPLT overflow slabs across the 4096-slab chunk boundary", "[flow][table][splt]") {
  Collect sink;
  FlowTableOptions o;
  o.splt = Flow::kSpltInline + 3;
  FlowTable t(o, sink, 7);
  std::vector<Flow*> f;
  for (uint32_t i = 0; i < 4097; ++i) {
    Flow& x = create(t, key_n(i), kT0 + i);
    for (uint16_t k = 0; k < o.splt; ++k) t.splt_entry(x, x.splt_len++).ip_len = static_cast<uint16_t>(i * 7 + k);
    f.push_back(&x);
  }
  REQUIRE(f[4095]->splt_more == 4095);
  REQUIRE(f[4096]->splt_more == 4096);  // the first slab of the second chunk
  for (uint32_t i = 0; i < 4097; ++i) {
    std::vector<SpltEntry> v;
    t.splt_copy(*f[i], v);
    REQUIRE(v.size() == o.splt);
    for (uint16_t k = 0; k < o.splt; ++k) CHECK(v[k].ip_len == static_cast<uint16_t>(i * 7 + k));
  }
}

TEST_CASE("flow table: splt 0 turns the shape off without breaking the table", "[flow][table][splt]") {
  Collect sink;
  FlowTableOptions o;
  o.splt = 0;
  FlowTable t(o, sink, 7);
  sink.table = &t;
  for (uint32_t i = 0; i < 10; ++i) create(t, key_n(i), kT0);
  t.drain(EndReason::Eof);
  CHECK(sink.ended.size() == 10);
  for (const Ended& e : sink.ended) CHECK(e.splt.empty());
}

// ---------------------------------------------------------------------------------------------------------
// Fragment table

namespace {
decode::Packet frag(const char* src, const char* dst, uint32_t id, uint8_t proto = 17) {
  decode::Packet p = pkt(src, 0, dst, 0, proto);
  p.fragmented = true;
  p.frag_id = id;
  return p;
}
}  // namespace

TEST_CASE("fragment table: a datagram is found by (src, dst, proto, id, vlan) within the timeout", "[flow][frag]") {
  FragmentTable ft(64, 30);
  const decode::Packet p = frag("10.0.0.1", "10.0.0.2", 77);
  uint64_t displaced = 9;
  bool fresh = true;
  CHECK(ft.find(p, kT0) == nullptr);
  FragmentTable::Entry* e = ft.upsert(p, kT0, displaced, fresh);
  REQUIRE(e != nullptr);
  CHECK(displaced == 0);
  CHECK_FALSE(fresh);
  CHECK(ft.find(p, kT0 + kSec) == e);
  CHECK(ft.upsert(p, kT0 + kSec, displaced, fresh) == e);
  CHECK(ft.find(frag("10.0.0.1", "10.0.0.2", 78), kT0) == nullptr);
  CHECK(ft.find(frag("10.0.0.2", "10.0.0.1", 77), kT0) == nullptr);
  CHECK(ft.find(frag("10.0.0.1", "10.0.0.2", 77, 6), kT0) == nullptr);
  decode::Packet tagged = p;
  tagged.vlan = 5;
  CHECK(ft.find(tagged, kT0) == nullptr);
  // Refreshed at +1 s by the upsert: gone at +31 s, present just before.
  CHECK(ft.find(p, kT0 + 31 * kSec - 1) == e);
  CHECK(ft.find(p, kT0 + 31 * kSec) == nullptr);
}

TEST_CASE("fragment table: a full set replaces its oldest entry and reports what was lost", "[flow][frag]") {
  FragmentTable ft(1, 30);  // one set of 4 ways: every datagram collides
  uint64_t displaced = 0;
  bool fresh = false;
  for (uint32_t id = 1; id <= 4; ++id) {
    FragmentTable::Entry* e = ft.upsert(frag("10.0.0.1", "10.0.0.2", id), kT0 + id * kSec, displaced, fresh);
    e->npending = 2;  // two later fragments waiting for their first
  }
  CHECK(ft.pending_total() == 8);
  ft.upsert(frag("10.0.0.1", "10.0.0.2", 5), kT0 + 10 * kSec, displaced, fresh);
  CHECK(displaced == 2);  // id 1 (oldest) lost its 2 pending fragments
  CHECK(fresh);           // … and was still within its timeout
  CHECK(ft.find(frag("10.0.0.1", "10.0.0.2", 1), kT0 + 10 * kSec) == nullptr);
  CHECK(ft.find(frag("10.0.0.1", "10.0.0.2", 2), kT0 + 10 * kSec) != nullptr);
  CHECK(ft.pending_total() == 6);
  // Long after: replacing a timed-out entry is not "fresh".
  ft.upsert(frag("10.0.0.1", "10.0.0.2", 6), kT0 + 100 * kSec, displaced, fresh);
  CHECK(displaced == 2);
  CHECK_FALSE(fresh);
}
