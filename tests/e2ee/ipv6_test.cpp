// IPv6 in the e2ee stack: addresses as users write them, both families resolved and printed, connecting
// over several addresses, a relay on ::1, and a relay on :: with an IPv4 and an IPv6 client in one call.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <functional>
#include <optional>

#include "client/scenario.hpp"
#include "support.hpp"
#include "wire/socket.hpp"

using namespace sealscope::e2ee;
using namespace sealscope::e2ee::client;
namespace fs = std::filesystem;

namespace {

/// Whether this machine can bind ::1 (a container without IPv6 cannot: the relay tests then say so).
bool have_ipv6_loopback() {
  try {
    wire::udp_bind("::1", 0);
    return true;
  } catch (const wire::WireError&) {
    return false;
  }
}

/// A message and a call of `seconds` between two new users of relay `r`, who reach it as `host_a` and
/// `host_b`.
void chat_and_call(const relay::Relay& r, const std::string& host_a, const std::string& host_b, double seconds) {
  auto cfg = test::patient_client(r);
  cfg.relay_host = host_a;
  Client alice(cfg, Account::create("alice"));
  cfg.relay_host = host_b;
  Client bob(cfg, Account::create("bob"));
  const std::string host = host_a;
  alice.connect(true);
  bob.connect(true);
  alice.send_text("bob", "hello over " + host);
  auto e = bob.wait_event(5000);
  REQUIRE(e);
  CHECK(e->body.at("body") == "hello over " + host);
  CallStats callee{};
  std::thread answer([&] {
    auto offer = bob.wait_event(10000, [](const Event& ev) { return ev.body.value("k", "") == "call_offer"; });
    if (offer) callee = answer_call(bob, *offer);
  });
  const CallStats caller = place_call(alice, "bob", seconds, false);
  answer.join();
  INFO("relay reached at " << alice.relay_endpoint().str() << " and " << bob.relay_endpoint().str());
  // The synthetic voice's silences (DTX) depend on a random seed: 34 RTP packets in 3 s have been seen.
  CHECK(caller.rtp_sent >= 10);
  CHECK(callee.rtp_received >= caller.rtp_sent * 9 / 10);
  CHECK(caller.rtp_received >= callee.rtp_sent * 9 / 10);
  CHECK(caller.auth_failures == 0);
  CHECK(callee.auth_failures == 0);
  alice.disconnect();
  bob.disconnect();
}

/// Runs `use` with a relay listening on `listen`, then stops it: its log. Nothing, with a warning, when ::1
/// cannot be bound here (the caller then has nothing to check).
std::optional<std::string> relay_log_after(const std::string& tag, const std::string& listen,
                                           const std::function<void(const relay::Relay&)>& use) {
  if (!have_ipv6_loopback()) {
    WARN("::1 cannot be bound here: the relay on " << listen << " is not tested");
    return std::nullopt;
  }
  const fs::path dir = test::temp_dir("ipv6", tag);
  auto rc = test::relay_config(dir);
  rc.listen = listen;
  {
    relay::Relay r(rc);
    r.start();
    use(r);
    r.stop();
  }
  const std::string log = test::slurp(dir / "relay.log");
  fs::remove_all(dir);
  return log;
}

}  // namespace

TEST_CASE("split_host_port: IPv6 literals in brackets, bare, and with a port", "[wire][ipv6]") {
  using P = std::pair<std::string, std::uint16_t>;
  CHECK(wire::split_host_port("[::1]:7000", 5) == P{"::1", 7000});
  CHECK(wire::split_host_port("[2001:db8::7]", 5) == P{"2001:db8::7", 5});
  CHECK(wire::split_host_port("2001:db8::7", 5) == P{"2001:db8::7", 5});  // its last group is no port
  CHECK(wire::split_host_port("::1", 5) == P{"::1", 5});
  CHECK(wire::split_host_port("relay.example:7001", 5) == P{"relay.example", 7001});
  CHECK(wire::split_host_port("192.0.2.1", 5) == P{"192.0.2.1", 5});
  CHECK_THROWS_WITH(wire::split_host_port("[::1", 5), "bad address '[::1': no ']' after the IPv6 address");
  CHECK_THROWS_WITH(wire::split_host_port("[::1]7000", 5), "bad address '[::1]7000': only ':PORT' may follow ']'");
  CHECK_THROWS_WITH(wire::split_host_port("[]:7000", 5), "bad address '[]:7000': no host");
  CHECK_THROWS_WITH(wire::split_host_port("[::1]:70000", 5),
                    "bad address '[::1]:70000': the port must be a number from 1 to 65535");
  // What host_port() writes, split_host_port() reads back.
  for (const std::string h : {"::1", "fe80::1", "192.0.2.1", "relay.example"}) {
    CHECK(wire::split_host_port(wire::host_port(h, 443), 5) == P{h, 443});
  }
  CHECK(wire::host_port("::1", 443) == "[::1]:443");
}

TEST_CASE("Endpoint: both families resolved, printed and compared", "[wire][ipv6]") {
  const auto v6 = wire::resolve("::1", 7000);
  REQUIRE(v6.size() == 1);
  CHECK(v6[0].family() == AF_INET6);
  CHECK(v6[0].str() == "[::1]:7000");
  const auto v4 = wire::resolve("192.0.2.1", 7000);
  REQUIRE(v4.size() == 1);
  CHECK(v4[0].family() == AF_INET);
  CHECK(v4[0].str() == "192.0.2.1:7000");
  CHECK(v6[0] == wire::resolve("0:0::1", 7000)[0]);
  CHECK_FALSE(v6[0] == v6[0].with_port(7001));
  CHECK(v6[0].with_port(7001).str() == "[::1]:7001");
  CHECK_FALSE(v6[0] == v4[0]);
  CHECK_THROWS_WITH(wire::resolve("no-such-host.invalid", 1), Catch::StartsWith("cannot resolve no-such-host.invalid"));
}

TEST_CASE("A relay on ::1 carries chat and a call's media over IPv6", "[relay][ipv6]") {
  const auto log = relay_log_after("relay", "::1", [](const relay::Relay& r) {
    // Nothing listens on IPv4 for it.
    CHECK_THROWS_WITH(wire::tcp_connect("127.0.0.1", r.chat_port(), 1000), Catch::Contains("Connection refused"));
    chat_and_call(r, "::1", "::1", 3);
  });
  if (!log) return;
  // The relay's log names its IPv6 peers as [address]:port.
  CHECK(log->find("peer=[::1]:") != std::string::npos);
}

TEST_CASE("A relay on :: takes both families: an IPv4 and an IPv6 client chat and call", "[relay][ipv6]") {
  // The media legs come from 127.0.0.1 (as ::ffff:127.0.0.1 on the relay's IPv6 socket) and from ::1.
  const auto log =
      relay_log_after("dual", "::", [](const relay::Relay& r) { chat_and_call(r, "127.0.0.1", "::1", 2); });
  if (!log) return;
  CHECK(log->find("peer=[::ffff:127.0.0.1]:") != std::string::npos);
  CHECK(log->find("peer=[::1]:") != std::string::npos);
}

TEST_CASE("tcp_connect tries each address in turn and names every failure", "[wire][ipv6]") {
  // What a name with both families gives (localhost is often ::1 then 127.0.0.1): the first address
  // refuses, the second takes the connection.
  auto listener = wire::tcp_listen("127.0.0.1", 0);
  const std::uint16_t open = wire::bound_port(listener.get());
  std::uint16_t closed = 0;
  {
    auto gone = wire::tcp_listen("127.0.0.1", 0);
    closed = wire::bound_port(gone.get());
  }  // closed: nothing listens there now
  const wire::Endpoint refusing = wire::resolve(have_ipv6_loopback() ? "::1" : "127.0.0.1", closed)[0];
  const wire::Endpoint listening = wire::resolve("127.0.0.1", open)[0];
  auto fd = wire::tcp_connect({refusing, listening}, 1000);
  CHECK(wire::peer_endpoint(fd.get()) == listening);
  const auto other = wire::resolve("127.0.0.1", closed)[0];
  CHECK_THROWS_WITH(wire::tcp_connect({refusing, other}, 1000),
                    "connect: " + refusing.str() + ": Connection refused, " + other.str() + ": Connection refused");
  CHECK_THROWS_WITH(wire::tcp_connect(std::vector<wire::Endpoint>{}, 1000), "connect: no address");
}
