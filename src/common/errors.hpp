#pragma once
#include <stdexcept>
#include <string>

namespace sealscope {

/// Base of the control-plane errors (CLI, configuration, rule loading, opening inputs).
/// Never thrown on the packet path.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Wrong command-line usage: the CLI prints it with a hint and exits 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

/// An input (capture file, interface) that cannot be opened or read.
class InputError : public Error {
 public:
  using Error::Error;
};

/// An error located in a text file: file:line:column: message.
class ConfigError : public Error {
 public:
  ConfigError(std::string file, int line, int column, const std::string& message)
      : Error(file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message),
        file_(std::move(file)),
        line_(line),
        column_(column) {}
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  std::string file_;
  int line_;
  int column_;
};

}  // namespace sealscope
