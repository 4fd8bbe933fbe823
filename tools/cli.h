// cli.h: flag parsing for the `frost` subcommands. Flags are `--name value` or `--name=value`;
// every error names the flag and the command, and lists the flags the command accepts.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/tensor.h"

namespace frost::cli {

// One flag of a command: what the parser accepts, what it falls back to, and what the help says.
struct FlagSpec {
  std::string name;           // without the leading --
  std::string value;          // the value's placeholder in the help (N, FILE, SPEC); empty: a switch
  std::string default_value;  // what the command reads when the flag is absent; empty: none
  std::string help;
  bool required = false;  // shown without brackets in the usage, "(required)" in the help
};

// A command's whole interface: the help (-h / --help) and the parser are both generated from it.
struct CommandSpec {
  std::string name;        // "frost bench step"
  std::string summary;     // one line: what it does
  std::string positional;  // the arguments that are not flags ("FILE..."); empty: none allowed
  std::vector<FlagSpec> flags;
  std::vector<std::string> examples;
  std::string details = "";  // an optional paragraph after the flags
};
// The one-line usage ("usage: frost eval [--model NAME|DIR] ...") and the whole help text.
std::string usage_text(const CommandSpec& spec);
std::string help_text(const CommandSpec& spec);
// The flags of `spec` with those of `more` appended (frost pretrain = frost train's + its own).
std::vector<FlagSpec> with_flags(std::vector<FlagSpec> flags, const std::vector<FlagSpec>& more);

// -h or --help among a command's arguments: the caller prints `text` and exits 0.
struct HelpRequested : std::exception {
  std::string text;
  explicit HelpRequested(std::string t) : text(std::move(t)) {}
  const char* what() const noexcept override { return text.c_str(); }
};
// A wrong flag or argument: the message, then the command's usage (`usage`) on stderr, exit 2.
struct UsageError : std::invalid_argument {
  std::string usage;
  UsageError(const std::string& message, std::string u) : std::invalid_argument(message), usage(std::move(u)) {}
};

// A command's parsed arguments. Flags are `--name value` or `--name=value` (a switch: `--name`);
// values not given read as the spec's default, so the help and the parser cannot disagree.
class Flags {
 public:
  Flags(const CommandSpec& spec, const std::vector<std::string>& args);
  bool has(const std::string& name) const;             // given on the command line
  std::string get(const std::string& name) const;      // the value, else the spec's default
  std::string require(const std::string& name) const;  // throws naming the missing flag
  int64_t get_int(const std::string& name, int64_t min_value = 1) const;
  double get_double(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  const CommandSpec& spec() const { return spec_; }

 private:
  const FlagSpec& flag(const std::string& name) const;  // a name the spec lacks is a bug: logic_error
  std::string value_or_default(const std::string& name) const;
  const CommandSpec& spec_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// A JSON-valued flag (--model-args); an empty object when absent; bad JSON names the flag.
nlohmann::json parse_json_flag(const Flags& flags, const std::string& command, const std::string& name);
// --mean / --std: one number or three (R,G,B); empty when the flag is absent.
std::vector<double> parse_rgb_flag(const Flags& flags, const std::string& name);
// --device: "cpu", "cuda" or "cuda:N". Checks that this build and machine have it (the error names
// the value) and makes it the device kernels launch on.
Device parse_device_flag(const std::string& value);
// --precision: "f32" (the default) or "bf16" (mixed precision: bf16 activations and frozen weights,
// f32 master weights, gradients of trainable parameters and optimizer state; Model::set_precision).
DType parse_precision_flag(const std::string& value);
// ||a - b|| / ||b|| over all elements, any devices and dtypes (||a - b|| when b is all zeros;
// +inf for a NaN anywhere or a size mismatch): how benchmarks and tests compare two results.
double relative_error(const Tensor& a, const Tensor& b);

// A flag several commands share (model, model-args, weights, adapter, peft, device, precision,
// threads, batch-size, workers, json): one definition, one help line.
FlagSpec common_flag(const std::string& name);
FlagSpec required(FlagSpec flag);  // the same flag, marked required
// The preprocessing flags of train, eval and predict (--mean ... --max-image-pixels).
std::vector<FlagSpec> preprocessing_flags();
// --threads, when given: OpenMP's thread count.
void apply_threads_flag(const Flags& flags);

// The commands: each one's spec (beside its code) and what runs it with the raw arguments.
struct Command {
  std::string words;  // "train", "bench step"
  const CommandSpec& (*spec)();
  int (*run)(const std::vector<std::string>& args);
};
const std::vector<Command>& all_commands();
std::string global_usage();  // `frost --help`: every command with its summary
// What main() runs: the command the first words name, with -h/--help printed to stdout (exit
// 0) and a wrong flag's message and the command's usage to stderr (exit 2); other errors throw.
int run_command_line(const std::vector<std::string>& args);

const CommandSpec& demo_spec();
const CommandSpec& bench_gemm_spec();
const CommandSpec& bench_model_spec();
const CommandSpec& bench_step_spec();
const CommandSpec& bench_kernels_spec();
const CommandSpec& bench_autograd_spec();
const CommandSpec& inspect_spec();
const CommandSpec& forward_spec();
const CommandSpec& train_spec();
const CommandSpec& pretrain_spec();
const CommandSpec& eval_spec();
const CommandSpec& predict_spec();
const CommandSpec& methods_spec();
const CommandSpec& params_spec();
const CommandSpec& merge_spec();
const CommandSpec& plot_spec();

int run_bench_gemm(const std::vector<std::string>& args);
int bench_model(const std::vector<std::string>& args);
int run_demo(const std::vector<std::string>& args);  // the transfer benchmark (transfer.cpp)
int bench_autograd(const std::vector<std::string>& args);
int run_inspect(const std::vector<std::string>& args);
int run_forward_command(const std::vector<std::string>& args);
int run_train_command(const std::vector<std::string>& args);
int run_pretrain_command(const std::vector<std::string>& args);  // pretrain.cpp
int run_eval_command(const std::vector<std::string>& args);
int run_predict_command(const std::vector<std::string>& args);  // predict.cpp
int run_params_command(const std::vector<std::string>& args);
int run_methods_command(const std::vector<std::string>& args);
int run_plot_command(const std::vector<std::string>& args);  // plot.cpp
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
