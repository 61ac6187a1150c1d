// The test environment (see test_environment.hpp).
#include "support/test_environment.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "support/temp_dir.hpp"

namespace rebench::testing {

namespace {

class TestEnvironment final : public Environment {
 public:
  explicit TestEnvironment(std::filesystem::path reference_dir)
      : Environment(make_info()), reference_dir_(std::move(reference_dir)) {}

 private:
  static EnvironmentInfo make_info() {
    EnvironmentInfo info;
    info.id = "test_env";
    info.title = "Test environment";
    info.version = "0.0.1";
    info.summary = "Scores the number in solution/value.txt.";
    info.metric_name = "value";
    info.metric_unit = "units";
    info.direction = Direction::kLowerIsBetter;
    info.selection = Selection::kBestValid;
    info.resources = {0, 2.0, 256};
    info.default_time_limit_s = 60;
    info.score_timeout_s = 5;
    info.scorer_reads_private = true;
    info.transform = {"value", [](double v) { return v; }};
    return info;
  }

  void do_provision(const ProvisionRequest& request) const override {
    write_text(request.home / "solution" / "value.txt", std::to_string(kTestStartingValue));
    write_text(request.home / "instructions.md", "Make value.txt small.\n");
    write_text(request.private_dir / "secret.txt", "1.5");
  }

  ScoreResult do_score(const ScoreRequest& request) const override {
    std::string text = read_text(request.solution / "value.txt");
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (text == "crash") std::abort();
    if (text == "hang")
      for (;;) ::pause();
    if (text == "secret") text = read_text(request.private_dir / "secret.txt");
    ScoreResult result;
    try {
      std::size_t used = 0;
      result.raw = std::stod(text, &used);
      if (used != text.size()) throw std::invalid_argument("trailing text");
    } catch (const std::exception&) {
      return ScoreResult::invalid("value.txt does not hold a number");
    }
    result.valid = true;
    result.metrics = {{"value", result.raw, "units"}};
    result.message = "scored " + text;
    return result;
  }

  std::filesystem::path do_reference_solution(const Profile&) const override {
    return reference_dir_;
  }

  std::filesystem::path reference_dir_;
};

}  // namespace

std::unique_ptr<Environment> make_test_environment(const std::filesystem::path& reference_dir) {
  return std::make_unique<TestEnvironment>(reference_dir);
}

}  // namespace rebench::testing
