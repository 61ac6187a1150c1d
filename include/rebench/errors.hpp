// Exception types of rebench. Library code throws; only main() turns them into exit codes.
#pragma once

#include <stdexcept>
#include <string>

#include "rebench/exit_code.hpp"

namespace rebench {

/// Base of every error rebench reports to the user; carries the exit code it maps to.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ExitCode code = ExitCode::kInternal)
      : std::runtime_error(message), code_(code) {}
  [[nodiscard]] ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

/// Wrong command-line use (bad flag value, missing argument).
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message, ExitCode::kUsage) {}
};

/// A configuration file is unreadable or malformed; names the file, the field and what was
/// expected.
class ConfigError : public Error {
 public:
  ConfigError(const std::string& file, const std::string& field, const std::string& expected)
      : Error(file + ": field '" + field + "': " + expected, ExitCode::kUsage),
        file_(file),
        field_(field) {}
  [[nodiscard]] const std::string& file() const { return file_; }
  [[nodiscard]] const std::string& field() const { return field_; }

 private:
  std::string file_;
  std::string field_;
};

/// The environment id is not registered; the message suggests the closest name.
class UnknownEnvironmentError : public Error {
 public:
  explicit UnknownEnvironmentError(const std::string& message)
      : Error(message, ExitCode::kUnknownEnvironment) {}
};

/// Scoring could not produce a result at all (as opposed to an invalid entry, which is data).
class ScoringError : public Error {
 public:
  explicit ScoringError(const std::string& message) : Error(message, ExitCode::kScoringFailed) {}
};

/// `check` found an anchor outside its tolerance.
class AnchorCheckError : public Error {
 public:
  explicit AnchorCheckError(const std::string& message)
      : Error(message, ExitCode::kAnchorCheckFailed) {}
};

/// The user interrupted the process (SIGINT/SIGTERM).
class InterruptedError : public Error {
 public:
  explicit InterruptedError(const std::string& message) : Error(message, ExitCode::kInterrupted) {}
};

}  // namespace rebench
