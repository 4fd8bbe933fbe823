// autograd.cpp: grad mode, node bookkeeping, the backward walk and Tensor's autograd methods.
#include "engine/autograd.h"

#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/profile.h"

namespace frost {

std::atomic<int64_t> Node::live_{0};

Node::Node(std::string name) : name_(std::move(name)) { live_.fetch_add(1); }
Node::~Node() { live_.fetch_sub(1); }
int64_t Node::live_count() { return live_.load(); }

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

std::vector<Edge> collect_edges(std::initializer_list<const Tensor*> inputs) {
  std::vector<Edge> edges;
  edges.reserve(inputs.size());
  for (const Tensor* t : inputs) {
    Edge e;
    if (t && t->defined() && t->requires_grad()) {
      if (t->meta()->grad_fn)
        e.node = t->meta()->grad_fn;
      else
        e.leaf = t->meta();
    }
    edges.push_back(std::move(e));
  }
  return edges;
}

void attach(Tensor& output, const std::shared_ptr<Node>& node) {
  if (!node) return;
  node->output_shape = output.shape();
  node->output_dtype = output.dtype();
  // The output gets a fresh identity: it may be a view sharing storage with an input.
  output = output.detach();
  output.ensure_meta().grad_fn = node;
}

std::vector<std::shared_ptr<Node>> graph_nodes(const Tensor& root) {
  std::vector<std::shared_ptr<Node>> nodes;
  if (!root.defined() || !root.grad_fn()) return nodes;
  std::unordered_set<Node*> seen{root.grad_fn().get()};
  nodes.push_back(root.grad_fn());
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const Edge& e : nodes[i]->inputs())
      if (e.node && seen.insert(e.node.get()).second) nodes.push_back(e.node);
  return nodes;
}

namespace {

// leaf.grad += grad * mask (masked entries stay exactly zero).
void accumulate_into_leaf(AutogradMeta& leaf, Tensor grad) {
  profile::Scope scope("accumulate_grad", {&grad});
  if (leaf.grad_mask.defined()) grad = mul(grad, leaf.grad_mask);
  if (!leaf.grad.defined()) {
    const bool owned =
        grad.is_contiguous() && grad.offset() == 0 && grad.storage().use_count() == 1 && grad.storage()->bytes == grad.nbytes();
    leaf.grad = owned ? grad.detach() : grad.clone();
    return;
  }
  add_(leaf.grad, grad);
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad_output) {
  if (!root.defined() || !root.requires_grad())
    throw std::invalid_argument("backward(): tensor " + root.describe() +
                                " does not require grad (nothing upstream is trainable)");
  Tensor seed = grad_output;
  if (!seed.defined()) {
    if (root.numel() != 1)
      throw std::invalid_argument("backward(): a gradient is needed for non-scalar output " + root.describe());
    seed = Tensor::ones(root.shape(), root.dtype(), root.device());
  } else if (seed.shape() != root.shape()) {
    throw std::invalid_argument("backward(): gradient " + seed.describe() + " does not match output " + root.describe());
  }
  NoGradGuard no_grad;
  if (!root.grad_fn()) {
    accumulate_into_leaf(*root.meta(), seed);
    return;
  }
  // Dependency counts: how many consumers inside this graph feed each node.
  std::vector<std::shared_ptr<Node>> nodes = graph_nodes(root);
  std::unordered_map<Node*, int> pending_consumers;
  for (const auto& n : nodes)
    for (const Edge& e : n->inputs())
      if (e.node) ++pending_consumers[e.node.get()];
  std::unordered_map<Node*, Tensor> grads;
  grads[root.grad_fn().get()] = seed;
  profile::Phase phase("backward");
  std::vector<std::shared_ptr<Node>> ready{root.grad_fn()};
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    if (node->released)
      throw std::logic_error("backward(): node " + node->name() + " already ran; its saved tensors are released");
    Tensor g = std::move(grads[node.get()]);
    grads.erase(node.get());
    if (g.shape() != node->output_shape)
      throw std::logic_error("backward(): " + node->name() + " got gradient " + g.describe() + ", expected shape " +
                             shape_str(node->output_shape));
    std::vector<Tensor> input_grads;
    {
      profile::Scope scope(node->name(), {&g});
      scope.add_flops(node->backward_flops());
      input_grads = node->backward(g);
    }
    g = Tensor();
    node->release_saved();
    node->released = true;
    for (size_t i = 0; i < node->inputs().size(); ++i) {
      const Edge& e = node->inputs()[i];
      if (!e.valid()) continue;
      if (i >= input_grads.size() || !input_grads[i].defined())
        throw std::logic_error("backward(): " + node->name() + " gave no gradient for input " + std::to_string(i));
      if (e.leaf) {
        accumulate_into_leaf(*e.leaf, std::move(input_grads[i]));
        continue;
      }
      Tensor& slot = grads[e.node.get()];
      slot = slot.defined() ? add(slot, input_grads[i]) : std::move(input_grads[i]);
      if (--pending_consumers[e.node.get()] == 0) ready.push_back(e.node);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Tensor's autograd surface

AutogradMeta& Tensor::ensure_meta() {
  if (!meta_) meta_ = std::make_shared<AutogradMeta>();
  return *meta_;
}

bool Tensor::requires_grad() const { return meta_ && (meta_->requires_grad || meta_->grad_fn); }
bool Tensor::is_leaf() const { return !meta_ || !meta_->grad_fn; }
std::shared_ptr<Node> Tensor::grad_fn() const { return meta_ ? meta_->grad_fn : nullptr; }
Tensor Tensor::grad() const { return meta_ ? meta_->grad : Tensor(); }
Tensor Tensor::grad_mask() const { return meta_ ? meta_->grad_mask : Tensor(); }

Tensor& Tensor::set_requires_grad(bool value) {
  if (!is_leaf())
    throw std::invalid_argument("set_requires_grad(): " + describe() +
                                " is the result of an op; only leaves can be made trainable");
  if (value && !dtype_is_float(dtype()))
    throw std::invalid_argument("set_requires_grad(): dtype " + std::string(dtype_name(dtype())) + " cannot have gradients");
  ensure_meta().requires_grad = value;
  if (!value) meta_->grad = Tensor();
  return *this;
}

void Tensor::zero_grad() {
  if (meta_) meta_->grad = Tensor();
}

void Tensor::set_grad_mask(const Tensor& mask) {
  if (!mask.defined()) {
    if (meta_) meta_->grad_mask = Tensor();
    return;
  }
  if (mask.shape() != shape_)
    throw std::invalid_argument("set_grad_mask(): mask " + mask.describe() + " does not match parameter " + describe());
  for (double v : mask.to_doubles())
    if (v != 0.0 && v != 1.0)
      throw std::invalid_argument("set_grad_mask(): mask values must be 0 or 1, got " + std::to_string(v));
  ensure_meta().grad_mask = copy_contiguous(mask.to(device()), dtype());
}

Tensor Tensor::detach() const {
  if (!defined()) return Tensor();
  return make_view(*this, shape_, strides_, offset_);
}

void Tensor::backward() const { run_backward(*this, Tensor()); }
void Tensor::backward(const Tensor& grad_output) const { run_backward(*this, grad_output); }

}  // namespace frost
