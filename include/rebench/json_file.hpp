// Reading configuration JSON with errors that name file and field; atomic, durable JSON writes.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace rebench {

using Json = nlohmann::json;

/// Parses a JSON file. Throws ConfigError naming the file (and the parse position) on failure.
Json read_json_file(const std::filesystem::path& path);

/// Writes all of `text` to `fd` (retrying short writes and EINTR); Error naming `what` on failure.
void write_all(int fd, const std::string& text, const std::filesystem::path& what);

/// Writes `text` to `path` atomically: temp file in the same directory, fsync, rename, fsync dir.
/// A crash leaves either the old or the new content, never a torn file.
void write_file_atomic(const std::filesystem::path& path, const std::string& text);

/// The same for content written by `fill` into the temporary file's descriptor (`temp` names it in
/// messages), e.g. large binary files streamed from memory without building one string.
void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(int fd, const std::filesystem::path& temp)>& fill);

/// write_file_atomic of the JSON pretty-printed with a trailing newline.
void write_json_atomic(const std::filesystem::path& path, const Json& value);

/// Typed access to a required field of a config object, with ConfigError on absence or type
/// mismatch. `where` is the JSON path of `object` (e.g. "/anchors/optimize_kernel") for messages.
class ConfigReader {
 public:
  ConfigReader(std::string file, const Json& object, std::string where);

  [[nodiscard]] std::string string(const std::string& key) const;
  [[nodiscard]] double number(const std::string& key) const;
  [[nodiscard]] long long integer(const std::string& key) const;
  [[nodiscard]] bool boolean(const std::string& key) const;
  [[nodiscard]] bool has(const std::string& key) const;
  /// A nested object, as a reader whose messages carry the nested path.
  [[nodiscard]] ConfigReader object(const std::string& key) const;
  [[nodiscard]] const Json& raw(const std::string& key) const;
  [[nodiscard]] const Json& json() const { return object_; }
  [[nodiscard]] const std::string& file() const { return file_; }
  [[nodiscard]] std::string path_of(const std::string& key) const { return where_ + "/" + key; }
  /// Throws ConfigError for `key` with the given expectation.
  [[noreturn]] void fail(const std::string& key, const std::string& expected) const;

 private:
  const Json& require(const std::string& key, Json::value_t type, const char* expected) const;
  std::string file_;
  const Json& object_;
  std::string where_;
};

}  // namespace rebench
