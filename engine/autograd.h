// autograd.h: the tape. An op records a Node only when grad mode is on and some input requires
// a gradient; the node learns which inputs need one (`needs(i)`) before it saves anything, so
// it keeps only the tensors those gradients read (PyTorch's should_compute_output rule, done by
// hand per op). backward() walks the graph once in dependency order, calls each node with its
// summed output gradient, releases the node's saved tensors right after, and accumulates into
// leaves through their 0/1 gradient masks.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace frost {

class Node;

// Per-tensor autograd identity, shared by all copies of one Tensor handle.
struct AutogradMeta {
  bool requires_grad = false;     // leaves only: set by the user
  std::shared_ptr<Node> grad_fn;  // non-leaves: the node that produced this tensor
  Tensor grad;                    // leaves: accumulated gradient (created on first backward)
  Tensor grad_mask;               // leaves: optional 0/1 mask, same shape and dtype
};

// Where an input's gradient goes: into another node, or into a leaf's .grad.
struct Edge {
  std::shared_ptr<Node> node;
  std::shared_ptr<AutogradMeta> leaf;
  bool valid() const { return node || leaf; }
};

class Node {
 public:
  explicit Node(std::string name);
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& name() const { return name_; }
  bool needs(size_t input) const { return input < inputs_.size() && inputs_[input].valid(); }
  const std::vector<Edge>& inputs() const { return inputs_; }

  // Gradients for each input given the output's gradient; undefined where !needs(i).
  virtual std::vector<Tensor> backward(const Tensor& grad_output) = 0;
  // Drops saved tensors. Called right after backward; a node cannot run twice.
  virtual void release_saved() {}
  // Floating-point operations backward() performs, for the op profiler (engine/profile.h);
  // 0 for nodes whose cost is memory traffic, not arithmetic.
  virtual double backward_flops() const { return 0; }

  static int64_t live_count();  // nodes alive in the process (for tests of pruning)

  // Filled by record(); shape/dtype of the output for checking incoming gradients.
  std::vector<Edge> inputs_;
  Shape output_shape;
  DType output_dtype = DType::f32;
  bool released = false;

 private:
  std::string name_;
  static std::atomic<int64_t> live_;
};

// ---- grad mode ----
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Returns a node of type N wired to `inputs` when recording is on and some input requires a
// gradient, else nullptr (and the op saves nothing). Usage inside an op:
//   if (auto node = record<LinearBackward>({x, w, b})) { if (node->needs(1)) node->x = x.detach(); ...
//     attach(y, node); }
std::vector<Edge> collect_edges(std::initializer_list<const Tensor*> inputs);
template <typename N, typename... Args>
std::shared_ptr<N> record(std::initializer_list<const Tensor*> inputs, Args&&... args) {
  if (!grad_enabled()) return nullptr;
  std::vector<Edge> edges = collect_edges(inputs);
  bool any = false;
  for (const Edge& e : edges) any = any || e.valid();
  if (!any) return nullptr;
  auto node = std::make_shared<N>(std::forward<Args>(args)...);
  node->inputs_ = std::move(edges);
  return node;
}
// Makes `output` the result of `node` (sets grad_fn and the expected gradient shape).
void attach(Tensor& output, const std::shared_ptr<Node>& node);

// Nodes reachable from `root` (for inspection and tests), in no particular order.
std::vector<std::shared_ptr<Node>> graph_nodes(const Tensor& root);

// Runs backward from `root` with `grad_output` (ones for a one-element root when undefined).
void run_backward(const Tensor& root, const Tensor& grad_output);

}  // namespace frost
