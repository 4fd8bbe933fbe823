// ops_softmax.cpp: softmax, log_softmax (over any dim: moved last, computed, moved back) and
// cross-entropy with label smoothing or soft targets. They compute in f32 or f64: bf16 inputs are
// widened first (softmax and log_softmax give bf16 back; the loss stays f32, as under autocast).
//   softmax:       dx = y (g - sum(g y))       saves y
//   log_softmax:   dx = g - exp(y) sum(g)      saves y
//   cross_entropy: dlogits = (g / B) (softmax(x) - q)   saves logits and the row log-sum-exp
#include <algorithm>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/profile.h"
#include "kernels/cpu/softmax.h"

namespace frost {

namespace {

struct SoftmaxBackward : Node {
  bool log_form;
  int64_t dim;
  Tensor y;  // output, contiguous with `dim` last
  SoftmaxBackward(bool lf, int64_t d) : Node(lf ? "log_softmax" : "softmax"), log_form(lf), dim(d) {}
  std::vector<Tensor> backward(const Tensor& g) override {
    const int64_t last = g.dim() - 1;
    const Tensor gc = (dim == last ? g : g.transpose(dim, last)).contiguous();
    const int64_t C = gc.size(-1), rows = gc.numel() / std::max<int64_t>(C, 1);
    Tensor dx = Tensor::empty(gc.shape(), g.dtype(), g.device());
    dispatch_f32_f64(g.dtype(), name().c_str(), [&](auto tag) {
      using T = decltype(tag);
      const T* py = static_cast<const T*>(y.raw_data());
      const T* pg = static_cast<const T*>(gc.raw_data());
      T* pd = static_cast<T*>(dx.raw_data());
      if (log_form)
        FROST_KERNEL(dx, log_softmax_backward<T>)(py, pg, rows, C, pd);
      else
        FROST_KERNEL(dx, softmax_backward<T>)(py, pg, rows, C, pd);
    });
    return {dim == last ? dx : dx.transpose(dim, last)};
  }
  void release_saved() override { y = Tensor(); }
};

Tensor softmax_common(const Tensor& x, int64_t dim, bool log_form) {
  profile::Scope scope(log_form ? "log_softmax" : "softmax", {&x});
  const char* op = log_form ? "log_softmax" : "softmax";
  check_float_operands(op, {&x});
  if (x.dtype() == DType::bf16) return softmax_common(x.to(DType::f32), dim, log_form).to(DType::bf16);
  if (x.dim() == 0) throw std::invalid_argument(std::string(op) + ": needs at least one dim");
  dim = normalize_dim(dim, x.dim(), op);
  const int64_t last = x.dim() - 1;
  const Tensor xc = (dim == last ? x.detach() : x.detach().transpose(dim, last)).contiguous();
  const int64_t C = xc.size(-1), rows = xc.numel() / std::max<int64_t>(C, 1);
  Tensor y = Tensor::empty(xc.shape(), x.dtype(), x.device());
  dispatch_f32_f64(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(xc.raw_data());
    T* py = static_cast<T*>(y.raw_data());
    if (log_form)
      FROST_KERNEL(y, log_softmax_forward<T>)(px, rows, C, py);
    else
      FROST_KERNEL(y, softmax_forward<T>)(px, rows, C, py);
  });
  Tensor out = dim == last ? y : y.transpose(dim, last);
  if (auto node = record<SoftmaxBackward>({&x}, log_form, dim)) {
    node->y = y;
    attach(out, node);
  }
  return out;
}

struct CrossEntropyBackward : Node {
  Tensor logits, lse, labels, soft;
  double smoothing;
  explicit CrossEntropyBackward(double s) : Node("cross_entropy"), smoothing(s) {}
  std::vector<Tensor> backward(const Tensor& g) override {
    const int64_t B = logits.size(0), K = logits.size(1);
    // d(mean)/d(loss_r) times the incoming gradient, per row, computed where g lives (reading g
    // on the host would wait for the device)
    const Tensor row_grad =
        mul(g.detach().to(logits.dtype()), 1.0 / double(std::max<int64_t>(B, 1))).reshape({1}).expand({B}).contiguous();
    Tensor dlogits, dsoft;
    if (needs(0)) {
      dlogits = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
      dispatch_f32_f64(logits.dtype(), "cross_entropy", [&](auto tag) {
        using T = decltype(tag);
        FROST_KERNEL(dlogits, cross_entropy_backward<T>)
        (static_cast<const T*>(logits.raw_data()), lse.typed_data<double>(),
         labels.defined() ? labels.typed_data<int64_t>() : nullptr,
         soft.defined() ? static_cast<const T*>(soft.raw_data()) : nullptr, smoothing, static_cast<const T*>(row_grad.raw_data()),
         B, K, static_cast<T*>(dlogits.raw_data()));
      });
    }
    if (needs(1))
      dsoft = mul(sub(lse.to(logits.dtype()).reshape({B, 1}), logits), row_grad.reshape({B, 1}));  // -log_softmax(x) g / B
    return {dlogits, dsoft};
  }
  void release_saved() override { logits = lse = labels = soft = Tensor(); }
};

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_common(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_common(x, dim, true); }

Tensor cross_entropy(const Tensor& logits_in, const Tensor& target_in, double label_smoothing) {
  profile::Scope scope("cross_entropy", {&logits_in});
  check_float_operands("cross_entropy", {&logits_in});
  const auto widen = [](const Tensor& t) { return t.dtype() == DType::bf16 ? t.to(DType::f32) : t; };
  const Tensor logits = widen(logits_in), target = widen(target_in);  // the loss is f32 under bf16
  if (logits.dim() != 2) throw std::invalid_argument("cross_entropy: logits must be (B, K), got " + logits.describe());
  if (label_smoothing < 0.0 || label_smoothing > 1.0)
    throw std::invalid_argument("cross_entropy: label_smoothing must be in [0, 1], got " + std::to_string(label_smoothing));
  const int64_t B = logits.size(0), K = logits.size(1);
  if (K == 0 && B > 0) throw std::invalid_argument("cross_entropy: logits " + logits.describe() + " have no classes");
  const bool hard = target.dtype() == DType::i64;
  if (hard && (target.dim() != 1 || target.size(0) != B))
    throw std::invalid_argument("cross_entropy: labels " + target.describe() + " do not match logits " + logits.describe());
  if (!hard && target.shape() != logits.shape())
    throw std::invalid_argument("cross_entropy: target " + target.describe() +
                                " must be i64 labels (B) or a distribution shaped like logits " + logits.describe());
  if (!hard) check_float_operands("cross_entropy", {&logits, &target});
  if (target.device() != logits.device())
    throw std::invalid_argument("cross_entropy: target " + target.describe() + " is not on the logits' device (" +
                                logits.describe() + ")");
  const Tensor xc = logits.detach().contiguous();
  const Tensor labels = hard ? target.contiguous() : Tensor();
  const Tensor soft = hard ? Tensor() : target.detach().contiguous();
  // Labels on the host are checked here; on a device they are not read back (that would wait for
  // it): the data loader checks them where they come from, and the kernel turns a label out of
  // range into a NaN loss instead of reading past the row.
  if (hard && labels.device().is_cpu()) {
    for (int64_t i = 0; i < B; ++i) {
      const int64_t y = labels.typed_data<int64_t>()[i];
      if (y < 0 || y >= K)
        throw std::invalid_argument("cross_entropy: label " + std::to_string(y) + " at row " + std::to_string(i) +
                                    " is out of range [0, " + std::to_string(K) + ")");
    }
  }
  Tensor lse = Tensor::empty({B}, DType::f64, logits.device());  // see kernels/cpu/softmax.h
  Tensor rows = Tensor::empty({B}, logits.dtype(), logits.device());
  dispatch_f32_f64(logits.dtype(), "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    FROST_KERNEL(rows, cross_entropy_forward<T>)
    (static_cast<const T*>(xc.raw_data()), hard ? labels.typed_data<int64_t>() : nullptr,
     hard ? nullptr : static_cast<const T*>(soft.raw_data()), label_smoothing, B, K, static_cast<T*>(rows.raw_data()),
     lse.typed_data<double>());
  });
  Tensor loss = B > 0 ? mean(rows) : Tensor::zeros({}, logits.dtype(), logits.device());
  const Tensor soft_input = hard ? Tensor() : target;
  if (auto node = record<CrossEntropyBackward>({&logits, &soft_input}, label_smoothing)) {
    node->logits = xc;
    node->lse = lse;
    node->labels = labels;
    node->soft = soft;
    attach(loss, node);
  }
  return loss;
}

}  // namespace frost
