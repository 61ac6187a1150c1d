// Machine-readable output shared by every --json command.
#include <iostream>

#include "cli/commands.hpp"

namespace rebench::cli {

void print_json(const nlohmann::json& value) { std::cout << value.dump(2) << std::endl; }

}  // namespace rebench::cli
