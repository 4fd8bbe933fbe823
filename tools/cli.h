// cli.h: flag parsing for the `frost` subcommands. Flags are `--name value` or `--name=value`;
// every error names the flag and the command, and lists the flags the command accepts.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/tensor.h"

namespace frost::cli {

class Flags {
 public:
  // `allowed`: the flag names (without --) this command accepts; `switches`: those of them that
  // take no value (--grads).
  Flags(std::string command, const std::vector<std::string>& args, std::vector<std::string> allowed,
        std::vector<std::string> switches = {});
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback) const;
  std::string require(const std::string& name) const;  // throws naming the missing flag
  int64_t get_int(const std::string& name, int64_t fallback, int64_t min_value = 1) const;
  double get_double(const std::string& name, double fallback) const;

 private:
  std::string command_;
  std::vector<std::string> allowed_;
  std::map<std::string, std::string> values_;
};

// A JSON-valued flag (--model-args); an empty object when absent; bad JSON names the flag.
nlohmann::json parse_json_flag(const Flags& flags, const std::string& command, const std::string& name);
// --device: "cpu", "cuda" or "cuda:N". Checks that this build and machine have it (the error names
// the value) and makes it the device kernels launch on.
Device parse_device_flag(const std::string& value);
// --precision: "f32" (the default) or "bf16" (mixed precision: bf16 activations and frozen weights,
// f32 master weights, gradients of trainable parameters and optimizer state; Model::set_precision).
DType parse_precision_flag(const std::string& value);
// ||a - b|| / ||b|| over all elements, any devices and dtypes (||a - b|| when b is all zeros;
// +inf for a NaN anywhere or a size mismatch): how benchmarks and tests compare two results.
double relative_error(const Tensor& a, const Tensor& b);

int run_bench(const std::vector<std::string>& args);
int bench_model(const std::vector<std::string>& args);
int run_demo(const std::vector<std::string>& args);  // the transfer benchmark (transfer.cpp)
int bench_autograd(const std::vector<std::string>& args);
int run_inspect(const std::vector<std::string>& args);
int run_forward_command(const std::vector<std::string>& args);
int run_train_command(const std::vector<std::string>& args);
int run_pretrain_command(const std::vector<std::string>& args);  // pretrain.cpp
int run_eval_command(const std::vector<std::string>& args);
int run_params_command(const std::vector<std::string>& args);
int run_methods_command(const std::vector<std::string>& args);
// The README's counts table: each method's published-size specs on ViT-B/16, Swin-T, ConvNeXt-T.
std::string counts_markdown();
int run_merge_command(const std::vector<std::string>& args);
// What `frost merge` does, without the printing: returns the merged spec and the tensor count.
struct MergeResult {
  std::string spec;
  int64_t tensors = 0;
};
MergeResult merge_adapter(const std::string& model, const nlohmann::json& model_args, const std::string& weights,
                          const std::string& adapter, const std::string& out);
int bench_step(const std::vector<std::string>& args);
int bench_kernels(const std::vector<std::string>& args);  // bench_kernels.cpp

}  // namespace frost::cli
