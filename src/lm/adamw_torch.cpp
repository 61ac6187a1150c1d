// AdamW: fused CUDA kernel on libtorch ≥ 2.1, reference math elsewhere (see adamw_torch.hpp).
#include "lm/adamw_torch.hpp"

#include <cmath>

#include <torch/version.h>

namespace rebench::lm {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define REBENCH_HAVE_FUSED_ADAMW 1
#endif

AdamW::AdamW(std::vector<AdamWGroup> groups, double beta1, double beta2, double eps)
    : beta1_(beta1), beta2_(beta2), eps_(eps) {
  bool all_cuda = true;
  for (auto& group : groups) {
    GroupState state;
    for (const auto& p : group.params) {
      state.exp_avg.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
      state.exp_avg_sq.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
      state.steps.push_back(torch::zeros({}, p.options().dtype(torch::kFloat32)));
      all_cuda = all_cuda && p.is_cuda() && p.scalar_type() == torch::kFloat32;
    }
    state.group = std::move(group);
    groups_.push_back(std::move(state));
  }
#ifdef REBENCH_HAVE_FUSED_ADAMW
  fused_ = all_cuda && !groups_.empty();
#else
  (void)all_cuda;
#endif
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++step_count_;
  for (auto& state : groups_) {
    std::vector<torch::Tensor> params, grads, exp_avg, exp_avg_sq, steps;
    for (std::size_t i = 0; i < state.group.params.size(); ++i) {
      const auto& p = state.group.params[i];
      if (!p.grad().defined()) continue;
      params.push_back(p);
      grads.push_back(p.grad());
      exp_avg.push_back(state.exp_avg[i]);
      exp_avg_sq.push_back(state.exp_avg_sq[i]);
      steps.push_back(state.steps[i]);
    }
    if (params.empty()) continue;
    const double wd = state.group.weight_decay;
#ifdef REBENCH_HAVE_FUSED_ADAMW
    if (fused_) {
      // As torch.optim.AdamW(fused=True): the step counters are advanced before the kernel.
      at::_foreach_add_(steps, 1);
      at::_fused_adamw_(params, grads, exp_avg, exp_avg_sq, /*max_exp_avg_sqs=*/{}, steps, lr,
                        beta1_, beta2_, wd, eps_, /*amsgrad=*/false, /*maximize=*/false);
      continue;
    }
#endif
    const double bias1 = 1.0 - std::pow(beta1_, static_cast<double>(step_count_));
    const double bias2 = 1.0 - std::pow(beta2_, static_cast<double>(step_count_));
    for (std::size_t i = 0; i < params.size(); ++i) {
      steps[i].add_(1);
      params[i].mul_(1.0 - lr * wd);
      exp_avg[i].lerp_(grads[i], 1.0 - beta1_);
      exp_avg_sq[i].mul_(beta2_).addcmul_(grads[i], grads[i], 1.0 - beta2_);
      auto denom = (exp_avg_sq[i].sqrt() / std::sqrt(bias2)).add_(eps_);
      params[i].addcdiv_(exp_avg[i], denom, -lr / bias1);
    }
  }
}

void AdamW::zero_grad() {
  for (auto& state : groups_) {
    for (auto& p : state.group.params) {
      if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
    }
  }
}

std::vector<torch::Tensor> AdamW::all_params() const {
  std::vector<torch::Tensor> out;
  for (const auto& state : groups_) {
    out.insert(out.end(), state.group.params.begin(), state.group.params.end());
  }
  return out;
}

std::vector<AdamWGroup> nanogpt_param_groups(
    const std::vector<std::pair<std::string, torch::Tensor>>& named, double weight_decay) {
  AdamWGroup decay{{}, weight_decay};
  AdamWGroup no_decay{{}, 0.0};
  for (const auto& [name, p] : named) {
    if (!p.requires_grad()) continue;
    (p.dim() >= 2 ? decay : no_decay).params.push_back(p);
  }
  std::vector<AdamWGroup> groups;
  if (!decay.params.empty()) groups.push_back(std::move(decay));
  if (!no_decay.params.empty()) groups.push_back(std::move(no_decay));
  return groups;
}

}  // namespace rebench::lm
