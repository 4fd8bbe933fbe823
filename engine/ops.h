// ops.h: every differentiable op. Each is defined in the ops_<family>.cpp named beside it, with
// its backward formula next to its forward and a note of what it saves for which gradient.
// Ops take f32, f64 or bf16 (stored in bf16, computed in f32) on the CPU and on CUDA. Mixed
// precision follows autocast's rule: where bf16 activations meet f32 parameters (linear, conv,
// layer norm, binary ops, attention bias, cat), the parameters are cast to bf16 for the op and
// their gradients come back in f32; softmax and the loss compute in f32.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/tensor.h"

namespace frost {

// ---- element-wise (ops_elementwise.cpp); binary ops broadcast like NumPy ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor gelu(const Tensor& x, bool tanh_approximation = false);  // timm/nn.GELU: erf form
Tensor quick_gelu(const Tensor& x);                             // x * sigmoid(1.702 x)
// In place, outside autograd (gradient accumulation, optimizers): dst += src (src broadcasts).
void add_(Tensor& dst, const Tensor& src);
// t converted to dtype, differentiably (the gradient comes back in t's dtype); t itself when it
// already has that dtype or is undefined.
Tensor cast_to(const Tensor& t, DType dtype);
// Writes src into the (possibly strided) view dst, converting dtype. Outside autograd.
void copy_into(const Tensor& dst, const Tensor& src);
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double s) { return add(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return add(a, -s); }
inline Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
inline Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, double s) { return mul(a, 1.0 / s); }
inline Tensor operator-(const Tensor& x) { return neg(x); }

// ---- reductions (ops_reduce.cpp); empty dims = all dims ----
Tensor sum(const Tensor& x, std::vector<int64_t> dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, std::vector<int64_t> dims = {}, bool keepdim = false);
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);  // values; gradient to the argmax
// Sums a broadcast gradient back to `shape` (the adjoint of expand).
Tensor sum_to_shape(const Tensor& x, const Shape& shape);
// Mean pooling: over tokens of (B, N, C) -> (B, C), or space of (B, C, H, W) -> (B, C).
inline Tensor mean_pool_tokens(const Tensor& x) { return mean(x, {1}); }
inline Tensor mean_pool_spatial(const Tensor& x) { return mean(x, {2, 3}); }

// ---- matrix products (ops_matmul.cpp) ----
// a (..., M, K) x b (..., K, N) -> (..., M, N); batch dims broadcast; transposed views are free.
Tensor matmul(const Tensor& a, const Tensor& b);
// x (..., in), weight (out, in), bias (out) or undefined -> (..., out)
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
// linear(x, weight, bias) + scale * linear(linear(x, a), b) in one op (ops_low_rank.cpp): LoRA's
// update accumulates into the base layer's output. a (r, in), b (out, r).
Tensor linear_low_rank(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& a, const Tensor& b, double scale);

// ---- convolution (ops_conv.cpp) ----
struct Conv2dOptions {
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, groups = 1;
};
// x (B, Cin, H, W), weight (Cout, Cin/groups, kh, kw), bias (Cout) or undefined
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options = {});

// ---- normalisation (ops_norm.cpp) ----
// Over the last dim; weight/bias (C) may be undefined.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);
// Over channels of (B, C, H, W) (timm's LayerNorm2d).
Tensor layer_norm_channels_first(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);

// ---- softmax and loss (ops_softmax.cpp) ----
Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);
// logits (B, K); target: class indices i64 (B) or a distribution (B, K). Mean over the batch.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, double label_smoothing = 0.0);

// ---- attention (ops_attention.cpp) ----
// q (B, H, N, D), k (B, H, M, D), v (B, H, M, Dv); bias broadcastable to (B, H, N, M) or
// undefined (it may require grad: a relative-position table). scale <= 0 means 1/sqrt(D).
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& bias = Tensor(),
                                    double scale = 0.0);
// The same over a fused projection's output: qkv (B, N, 3 C) with C = heads x D laid out as
// (3, heads, D) on its last axis (timm's qkv Linear); returns (B, N, C), the heads side by side.
// On the CPU in f32/f64 nothing is copied either way; elsewhere it runs through views and the op above.
Tensor packed_qkv_attention(const Tensor& qkv, int64_t heads, const Tensor& bias = Tensor(), double scale = 0.0);

// ---- shape (ops_shape.cpp); views are Tensor methods ----
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t dim);  // chunks of `size`
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);
Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int64_t>& dims);
// pads = {last_before, last_after, second_last_before, second_last_after, ...} (torch F.pad)
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value = 0.0);

// ---- indexing (ops_index.cpp) ----
// A constant index (Swin's relative-position table): its values live on the host, their range is
// known once, and the offset tables index_select/gather and their backward run on are built once
// per operand geometry and device, then kept. Copies share those tables; safe to use from several
// threads. The Tensor overloads below build one for each call (reading a device index back).
class IndexTable {
 public:
  struct Plan;  // one geometry's offsets and their inverse, on one device (ops_index.cpp)
  IndexTable() = default;
  IndexTable(std::vector<int64_t> values, Shape shape);  // i64 values, row-major in `shape`
  bool defined() const { return state_ != nullptr; }
  const Shape& shape() const;
  int64_t numel() const;
  // Output element (o, j, i) of [outer, J, inner] reads source (o, k, i) of [outer, D, inner],
  // k = value (o * J + j) * inner + i (per_position: gather) or value j (index_select).
  std::shared_ptr<const Plan> plan(Device device, int64_t outer, int64_t D, int64_t J, int64_t inner, bool per_position) const;
  // Throws naming op and the first value outside [0, limit), if there is one.
  void check_range(int64_t limit, const char* op) const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};
Tensor index_select(const Tensor& x, int64_t dim, const IndexTable& index);  // index: 1-d
Tensor gather(const Tensor& x, int64_t dim, const IndexTable& index);        // index: x's rank
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);      // index: i64 (n)
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);            // index: same rank

// ---- randomness (ops_random.cpp) ----
// A counter-based stream: values depend only on (seed, offset), and each call takes a new offset.
struct Generator {
  uint64_t seed = 0;
  uint64_t offset = 0;
  explicit Generator(uint64_t s = 0) : seed(s) {}
};
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen);
Tensor drop_path(const Tensor& x, double p, bool training, Generator& gen);  // per sample (dim 0)
Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::f32);
Tensor rand(const Shape& shape, Generator& gen, DType dtype = DType::f32);  // uniform [0, 1)

}  // namespace frost
