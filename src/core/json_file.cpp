// Reading config JSON with precise errors, and crash-safe atomic writes.
#include "rebench/json_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "rebench/errors.hpp"

namespace rebench {

Json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in)
    throw ConfigError(path.string(), "(file)",
                      "cannot be opened: " + std::string(std::strerror(errno)));
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return Json::parse(buffer.str());
  } catch (const Json::parse_error& e) {
    throw ConfigError(path.string(), "(file)",
                      "is not valid JSON (byte " + std::to_string(e.byte) + "): " + e.what());
  }
}

void write_all(int fd, const std::string& text, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error("cannot write " + path.string() + ": " + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

namespace {

void fsync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: some filesystems do not allow opening directories
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomic(const std::filesystem::path& path, const std::string& text) {
  write_file_atomic(path,
                    [&](int fd, const std::filesystem::path& temp) { write_all(fd, text, temp); });
}

void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(int fd, const std::filesystem::path& temp)>& fill) {
  std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  std::random_device random;
  std::filesystem::path temp =
      dir / ("." + path.filename().string() + ".tmp" + std::to_string(random()));
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot create " + temp.string() + ": " + std::strerror(errno));
  try {
    fill(fd, temp);
    if (::fsync(fd) != 0)
      throw Error("cannot fsync " + temp.string() + ": " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(temp.c_str());
    throw Error("cannot rename " + temp.string() + " to " + path.string() + ": " +
                std::strerror(saved));
  }
  fsync_directory(dir);
}

void write_json_atomic(const std::filesystem::path& path, const Json& value) {
  // Invalid UTF-8 (e.g. a solution's output in a message) is replaced, never fatal.
  write_file_atomic(path, value.dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
}

ConfigReader::ConfigReader(std::string file, const Json& object, std::string where)
    : file_(std::move(file)), object_(object), where_(std::move(where)) {
  if (!object_.is_object())
    throw ConfigError(file_, where_.empty() ? "/" : where_, "expected an object");
}

void ConfigReader::fail(const std::string& key, const std::string& expected) const {
  throw ConfigError(file_, path_of(key), expected);
}

bool ConfigReader::has(const std::string& key) const { return object_.contains(key); }

const Json& ConfigReader::raw(const std::string& key) const {
  if (!object_.contains(key)) fail(key, "is missing");
  return object_.at(key);
}

const Json& ConfigReader::require(const std::string& key, Json::value_t type,
                                  const char* expected) const {
  const Json& value = raw(key);
  bool ok = value.type() == type;
  if (type == Json::value_t::number_float) ok = value.is_number();
  if (type == Json::value_t::number_integer) ok = value.is_number_integer();
  if (!ok) fail(key, std::string("expected ") + expected + ", found " + value.type_name());
  return value;
}

std::string ConfigReader::string(const std::string& key) const {
  return require(key, Json::value_t::string, "a string").get<std::string>();
}
double ConfigReader::number(const std::string& key) const {
  return require(key, Json::value_t::number_float, "a number").get<double>();
}
long long ConfigReader::integer(const std::string& key) const {
  return require(key, Json::value_t::number_integer, "an integer").get<long long>();
}
bool ConfigReader::boolean(const std::string& key) const {
  return require(key, Json::value_t::boolean, "true or false").get<bool>();
}
ConfigReader ConfigReader::object(const std::string& key) const {
  return ConfigReader(file_, require(key, Json::value_t::object, "an object"), path_of(key));
}

}  // namespace rebench
