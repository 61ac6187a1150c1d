// GPT substrate on a CUDA GPU: bf16 autocast training learns and stays finite, the fused AdamW
// and attention paths agree with the CPU reference, evaluation is deterministic on the GPU.
#include <ucontext.h>
#include <unistd.h>
#include <csignal>
#include <cstring>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "lm/adamw_torch.hpp"
#include "lm/checkpoint_torch.hpp"
#include "lm/gpt_model_torch.hpp"
#include "lm/trainer_torch.hpp"
#include "support/temp_dir.hpp"

namespace rebench::lm {
namespace {

// A crash in libtorch should say where: print the faulting instruction, the top of the stack and
// the executable mappings (for addr2line), then die as before.
void print_crash_and_die(int signal, siginfo_t* info, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  const auto rip = static_cast<unsigned long long>(uc->uc_mcontext.gregs[REG_RIP]);
  const auto* rsp = reinterpret_cast<const unsigned long long*>(uc->uc_mcontext.gregs[REG_RSP]);
  std::fprintf(stderr, "signal %d at rip=0x%llx fault address=%p\n", signal, rip, info->si_addr);
  for (int i = 0; i < 24; ++i) std::fprintf(stderr, "  stack[%d] = 0x%llx\n", i, rsp[i]);
  if (FILE* maps = std::fopen("/proc/self/maps", "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, maps)) {
      if (std::strstr(line, "r-xp")) std::fputs(line, stderr);
    }
    std::fclose(maps);
  }
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}
[[maybe_unused]] const bool kStackOnCrash = [] {
  struct sigaction action {};
  action.sa_sigaction = print_crash_and_die;
  action.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &action, nullptr);
  return true;
}();

GptConfig small_config() {
  GptConfig c;
  c.vocab_size = 512;
  c.block_size = 128;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_embd = 128;
  return c;
}

std::vector<std::uint16_t> patterned_stream(std::size_t n, std::uint16_t vocab) {
  std::vector<std::uint16_t> tokens(n);
  for (std::size_t i = 0; i < n; ++i)
    tokens[i] = static_cast<std::uint16_t>((i * 7 + (i / 5)) % vocab);
  return tokens;
}

class LmGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible to libtorch";
  }
  torch::Device cuda{torch::kCUDA, 0};
};

TEST_F(LmGpuTest, Bf16TrainingLearnsAndStaysFinite) {
  auto stream = patterned_stream(200000, 512);
  TokenSpan train{stream.data(), 150000}, val{stream.data() + 150000, 50000};
  torch::manual_seed(1);
  Gpt model(small_config());
  model->to(cuda);
  const double before = evaluate_loss(model, val, 128, 64, cuda, true);
  TrainConfig config;
  config.steps = 150;
  config.micro_batch = 16;
  config.lr = LrSchedule{3e-3, 3e-4, 10, 150};
  config.bf16 = true;
  config.eval_interval = 50;
  config.eval_windows = 64;
  config.log_interval = 50;
  TrainOptions options;
  options.device = cuda;
  options.peak_flops = 989e12;
  auto result = train_model(model, train, val, config, options);
  EXPECT_TRUE(std::isfinite(result.val_loss));
  EXPECT_LT(result.val_loss, before - 2.0) << "before " << before << " after " << result.val_loss;
  ASSERT_TRUE(result.mfu.has_value());
  EXPECT_GT(*result.mfu, 0.0);
  for (const auto& [name, p] : model->named_tensors()) {
    EXPECT_EQ(p.scalar_type(), torch::kFloat32) << name << ": master weights stay float32";
    EXPECT_TRUE(torch::isfinite(p).all().item<bool>()) << name;
  }
}

TEST_F(LmGpuTest, CpuForwardRunsOnThisLibtorch) {
  torch::manual_seed(2);
  Gpt cpu_model(small_config());
  cpu_model->eval();
  torch::NoGradGuard no_grad;
  auto logits = cpu_model->forward(torch::randint(512, {4, 128}, torch::kLong));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
}

// Float32 attention on the GPU, per SDPA backend (diagnostics for a crash seen on torch 2.11;
// run one per process: a crash takes the process down).
void fp32_gpu_forward(torch::Device cuda) {
  torch::manual_seed(2);
  Gpt model(small_config());
  model->to(cuda);
  model->eval();
  torch::NoGradGuard no_grad;
  auto logits = model->forward(torch::randint(512, {4, 128}, torch::kLong).to(cuda));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
}
TEST_F(LmGpuTest, Fp32ForwardDefaultBackends) { fp32_gpu_forward(cuda); }
TEST_F(LmGpuTest, Fp32ForwardWithoutCudnnAttention) {
#if TORCH_VERSION_MAJOR >= 2
  at::globalContext().setSDPUseCuDNN(false);
#endif
  fp32_gpu_forward(cuda);
}
TEST_F(LmGpuTest, Fp32ForwardMathAttentionOnly) {
#if TORCH_VERSION_MAJOR >= 2
  at::globalContext().setSDPUseCuDNN(false);
  at::globalContext().setSDPUseFlash(false);
  at::globalContext().setSDPUseMemEfficient(false);
#endif
  fp32_gpu_forward(cuda);
}
TEST_F(LmGpuTest, Fp32SaveThenLoadOnGpu) {
  torch::manual_seed(2);
  Gpt cpu_model(small_config());
  rebench::testing::TempDir dir;
  save_gpt(dir.path() / "m.safetensors", cpu_model);
  std::fprintf(stderr, "saved\n");
  Gpt gpu_model = load_gpt(dir.path() / "m.safetensors");
  std::fprintf(stderr, "loaded\n");
  gpu_model->to(cuda);
  std::fprintf(stderr, "moved\n");
}

TEST_F(LmGpuTest, GpuForwardMatchesCpuAndEvaluationIsDeterministic) {
  torch::manual_seed(2);
  Gpt cpu_model(small_config());
  cpu_model->eval();
  rebench::testing::TempDir dir;
  save_gpt(dir.path() / "m.safetensors", cpu_model);
  Gpt gpu_model = load_gpt(dir.path() / "m.safetensors");
  gpu_model->to(cuda);
  gpu_model->eval();
  auto idx = torch::randint(512, {4, 128}, torch::kLong);
  torch::NoGradGuard no_grad;
  auto on_cpu = cpu_model->forward(idx);
  auto on_gpu = gpu_model->forward(idx.to(cuda)).to(torch::kCPU);
  EXPECT_TRUE(torch::allclose(on_cpu, on_gpu, 1e-3, 1e-3))
      << "max difference " << (on_cpu - on_gpu).abs().max().item<double>();
  auto stream = patterned_stream(50000, 512);
  TokenSpan val{stream.data(), stream.size()};
  const double a = evaluate_loss(gpu_model, val, 128, 64, cuda, true);
  const double b = evaluate_loss(gpu_model, val, 128, 64, cuda, true);
  EXPECT_EQ(a, b);
  const double fp32 = evaluate_loss(gpu_model, val, 128, 64, cuda, false);
  const double cpu = evaluate_loss(cpu_model, val, 128, 64, torch::kCPU, false);
  EXPECT_NEAR(fp32, cpu, 1e-3);
  EXPECT_NEAR(a, fp32, 0.05);  // bf16 evaluation is close to float32
}

TEST_F(LmGpuTest, FusedAdamWMatchesReferenceMath) {
  torch::manual_seed(3);
  auto init = torch::randn({64, 32});
  auto on_gpu = init.clone().to(cuda).set_requires_grad(true);
  auto on_cpu = init.clone().set_requires_grad(true);
  AdamW gpu_opt({{{on_gpu}, 0.1}}, 0.9, 0.95);
  AdamW cpu_opt({{{on_cpu}, 0.1}}, 0.9, 0.95);
  for (int step = 0; step < 10; ++step) {
    auto target = torch::randn({64, 32});
    (on_gpu - target.to(cuda)).pow(2).sum().backward();
    (on_cpu - target).pow(2).sum().backward();
    gpu_opt.step(1e-2);
    cpu_opt.step(1e-2);
    gpu_opt.zero_grad();
    cpu_opt.zero_grad();
  }
  EXPECT_TRUE(torch::allclose(on_gpu.detach().cpu(), on_cpu.detach(), 1e-5, 1e-5));
  std::printf("fused AdamW on this libtorch: %s\n", gpu_opt.fused() ? "yes" : "no");
}

}  // namespace
}  // namespace rebench::lm
