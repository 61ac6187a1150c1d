// Output shared by commands: JSON for --json, and the end-of-run summary.
#include <iostream>

#include "cli/commands.hpp"
#include "rebench/session.hpp"

namespace rebench::cli {

void print_json(const nlohmann::json& value) {
  std::cout << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

void print_run_outcome(const nlohmann::json& result, const std::string& run_dir, bool json) {
  if (json)
    print_json(result);
  else
    std::cout << summarize_result(result) << "run directory    " << run_dir << "\n";
}

}  // namespace rebench::cli
