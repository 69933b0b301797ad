// reject_negative_unsigned(): Boost.Program_options alone turns "-5" into 2^32 - 5 for an unsigned option.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "common/cli_unsigned.hpp"

namespace po = boost::program_options;

namespace {
struct Opts {
  uint32_t u32 = 7;
  uint16_t port = 7;
  std::size_t size = 7;
  int signed_int = 7;
  double real = 7;
  std::string text;
};

po::options_description describe(Opts& o) {
  po::options_description d;
  d.add_options()("u32", po::value(&o.u32))("port,p", po::value(&o.port))("size", po::value(&o.size))(
      "signed", po::value(&o.signed_int))("real", po::value(&o.real))("text", po::value(&o.text));
  return d;
}

/// Parses `args` as a command line with the check, stores and notifies; returns the error text or "".
std::string parse(const std::vector<std::string>& args, Opts& o) {
  const po::options_description d = describe(o);
  try {
    const po::parsed_options parsed = po::command_line_parser(args).options(d).run();
    sealscope::reject_negative_unsigned(parsed);
    po::variables_map vm;
    po::store(parsed, vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("cli: without the check, Boost reads -5 into an unsigned option as a huge number", "[cli]") {
  // The reason the check exists: if this ever starts failing, Boost rejects negatives itself.
  Opts o;
  const po::options_description d = describe(o);
  po::variables_map vm;
  po::store(po::command_line_parser(std::vector<std::string>{"--u32", "-5"}).options(d).run(), vm);
  po::notify(vm);
  CHECK(o.u32 == 4294967291u);
}

TEST_CASE("cli: a negative value for an unsigned option is refused, naming the option", "[cli]") {
  struct Case {
    std::vector<std::string> args;
    std::string option;  // the name the message must give
  };
  for (const Case& c : std::vector<Case>{{{"--u32", "-5"}, "--u32"},
                                         {{"--u32=-1"}, "--u32"},
                                         {{"-p", "-1"}, "--port"},
                                         {{"--port", " -80"}, "--port"},
                                         {{"--size", "-0"}, "--size"}}) {
    Opts o;
    const std::string err = parse(c.args, o);
    INFO(c.args[0]);
    CHECK(err.find("expected a whole number, 0 or more") != std::string::npos);
    CHECK(err.find(c.option) != std::string::npos);
    CHECK(o.u32 == 7);
    CHECK(o.port == 7);
    CHECK(o.size == 7);
  }
}

TEST_CASE("cli: other values and other types pass through the check unchanged", "[cli]") {
  Opts o;
  CHECK(parse({"--u32", "0", "--port", "443", "--size", "65536", "--signed", "-5", "--real", "-1.5", "--text", "-x"},
              o) == "");
  CHECK(o.u32 == 0);
  CHECK(o.port == 443);
  CHECK(o.size == 65536);
  CHECK(o.signed_int == -5);
  CHECK(o.real == -1.5);
  CHECK(o.text == "-x");
  // Values Boost itself refuses still get Boost's own error.
  Opts bad;
  CHECK(parse({"--port", "70000"}, bad).find("is invalid") != std::string::npos);
  CHECK(parse({"--u32", "1.5"}, bad).find("is invalid") != std::string::npos);
}
