// fix_embedding's subcommands of rebench-lm: `fix-embedding-loss` (check a checkpoint, then its
// held-out loss) and `fix-embedding-reference` (train the reference repair). The torch-free
// environment runs them through model_ops.hpp; their result is one JSON file (--result).
#pragma once

namespace CLI {
class App;
}

namespace rebench::fix_embedding {

void add_torch_commands(CLI::App& app);

}  // namespace rebench::fix_embedding
