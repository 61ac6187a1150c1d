// Prints GPT-2 tokenizer encode throughput on one core (MB/s, tokens/s) for a text file (default:
// the tokenizer test vectors' texts repeated), cold (empty word cache) and warm. Both wall time
// and the thread's CPU time are shown: on a busy machine only the CPU time means much.
#include <time.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "lm/corpus_fetch.hpp"
#include "lm/gpt2_tokenizer.hpp"
#include "rebench/errors.hpp"
#include "rebench/json_file.hpp"
#include "rebench/paths.hpp"

namespace {

std::string default_text() {
  // English prose with some code and Unicode: the vector texts plus a prose paragraph, repeated
  // with a counter so the word cache sees new numbers.
  const rebench::Json vectors =
      rebench::read_json_file(rebench::data_root() / "tests/lm/tokenizer_vectors.json");
  std::string base;
  for (const auto& c : vectors.at("cases")) base += c.at("text").get<std::string>() + "\n";
  std::string text;
  for (int i = 0; text.size() < (64u << 20); ++i) text += base + std::to_string(i) + "\n";
  return text;
}

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Timing {
  double wall_s;
  double cpu_s;
};

Timing encode_seconds(const rebench::lm::Gpt2Tokenizer& tokenizer, const std::string& text,
                      std::size_t& tokens) {
  std::vector<std::uint32_t> ids;
  ids.reserve(text.size() / 3);
  const double cpu_start = thread_cpu_s();
  const auto start = std::chrono::steady_clock::now();
  tokenizer.encode(text, ids);
  const auto end = std::chrono::steady_clock::now();
  const double cpu_end = thread_cpu_s();
  tokens = ids.size();
  return {std::chrono::duration<double>(end - start).count(), cpu_end - cpu_start};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    rebench::lm::ensure_gpt2_tokenizer_files();
    auto tokenizer = rebench::lm::Gpt2Tokenizer::load_cached();
    std::string text;
    std::string label = "test-vector texts (repeated)";
    if (argc > 1) {
      std::ifstream in(argv[1], std::ios::binary);
      if (!in) throw rebench::Error(std::string("cannot read ") + argv[1]);
      std::ostringstream buffer;
      buffer << in.rdbuf();
      text = buffer.str();
      label = argv[1];
    } else {
      text = default_text();
    }
    const double mb = static_cast<double>(text.size()) / 1e6;
    std::size_t tokens = 0;
    const Timing cold = encode_seconds(*tokenizer, text, tokens);
    const Timing warm = encode_seconds(*tokenizer, text, tokens);
    std::cout << fmt::format(
        "GPT-2 encode, 1 thread, {} ({:.1f} MB, {} tokens, {:.2f} bytes/token)\n", label, mb,
        tokens, static_cast<double>(text.size()) / tokens);
    for (const auto& [name, t] : {std::pair{"first pass (cold cache)", cold},
                                  std::pair{"second pass (warm cache)", warm}}) {
      std::cout << fmt::format(
          "  {}: wall {:.2f} s = {:.1f} MB/s; CPU {:.2f} s = {:.1f} MB/s, {:.2f} M tokens/s\n",
          name, t.wall_s, mb / t.wall_s, t.cpu_s, mb / t.cpu_s, tokens / t.cpu_s / 1e6);
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
