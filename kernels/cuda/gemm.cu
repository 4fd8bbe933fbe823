// gemm.cu: every GEMM of the engine through cuBLASLt (f32 with f32 compute: no TF32, so results
// stay within the CPU's tolerances; f64 for gradient checks; bf16 operands and result with f32
// compute and f32 alpha/beta: the tensor-core path of mixed precision). Row-major C = op(A) op(B) is
// column-major C^T = op(B)^T op(A)^T, so B is cuBLASLt's first operand. An operand whose
// strides are neither row- nor column-major (a broadcast or doubly strided view) is first
// packed into scratch. Bias epilogue: C[i, :] += bias (linear layers). The descriptors, layouts
// and heuristic's algorithm of each distinct problem (shapes, strides, alignments, epilogue) are
// built once and kept in a plan cache; a call sets only its bias pointer. The workspace of each
// device comes from the caching allocator (it counts in live bytes) and is kept for the process.
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <type_traits>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/kernels.h"

namespace frost::cuda {

namespace {

constexpr size_t kWorkspaceBytes = size_t(32) << 20;

struct LtContext {
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
};

// One handle and workspace per device, created on first use and kept for the process.
LtContext& lt_context() {
  static std::mutex mutex;
  static std::map<int, LtContext> contexts;
  const int device = current_device();
  std::lock_guard<std::mutex> lock(mutex);
  LtContext& ctx = contexts[device];
  if (!ctx.handle) {
    FROST_CUBLAS_CHECK(cublasLtCreate(&ctx.handle));
    ctx.workspace = device_allocator(device).allocate(kWorkspaceBytes);
  }
  return ctx;
}

// A column-major view for cuBLASLt: `stored` is rows x cols with leading dimension ld, and the
// operand is stored^T when transpose is set.
struct LtOperand {
  bool transpose = false;
  int64_t rows = 0, cols = 0, ld = 0;
};

// Z (r x c), Z(i, j) at i * s_i + j * s_j, as a column-major operand if its strides allow.
bool column_major(int64_t r, int64_t c, int64_t s_i, int64_t s_j, LtOperand& out) {
  if ((s_i == 1 || r == 1) && (c == 1 || s_j >= std::max<int64_t>(r, 1))) {  // Z itself
    out = {false, r, c, c == 1 ? std::max<int64_t>(r, 1) : s_j};
    return true;
  }
  if ((s_j == 1 || c == 1) && (r == 1 || s_i >= std::max<int64_t>(c, 1))) {  // Z = S^T
    out = {true, c, r, r == 1 ? std::max<int64_t>(c, 1) : s_i};
    return true;
  }
  return false;
}

// An operand packed as contiguous row-major (count, r, c) when its strides do not fit cuBLASLt.
template <typename T>
struct Packed {
  std::unique_ptr<Scratch> scratch;
  const T* data;
  int64_t s_i, s_j, batch_stride;

  Packed(const T* p, int64_t r, int64_t c, int64_t si, int64_t sj, int64_t count, int64_t bs)
      : data(p), s_i(si), s_j(sj), batch_stride(bs) {
    LtOperand probe;
    if (column_major(r, c, si, sj, probe)) return;
    scratch = std::make_unique<Scratch>(size_t(count * r * c) * sizeof(T));
    const DType t = storage_dtype<T>();
    copy_strided({count, r, c}, scratch->as<T>(), t, {r * c, c, 1}, p, t, {bs, si, sj});
    data = scratch->as<T>();
    s_i = c;
    s_j = 1;
    batch_stride = r * c;
  }
};

struct LayoutGuard {
  cublasLtMatrixLayout_t layout = nullptr;
  ~LayoutGuard() {
    if (layout) cublasLtMatrixLayoutDestroy(layout);
  }
};

void make_layout(LayoutGuard& g, cudaDataType_t type, int64_t rows, int64_t cols, int64_t ld, int64_t count,
                 int64_t batch_stride) {
  FROST_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&g.layout, type, uint64_t(rows), uint64_t(cols), ld));
  if (count > 1) {
    const int32_t n = int32_t(count);
    FROST_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(g.layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &n, sizeof(n)));
    FROST_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(g.layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &batch_stride,
                                                        sizeof(batch_stride)));
  }
}

// What cuBLASLt's descriptors, layouts and algorithm depend on: X (N x K) and Y (K x M) as
// column-major operands, C (N x M, ld ldc), the batch, the alignments, the epilogue.
struct PlanKey {
  int device;
  cudaDataType_t type;
  bool ta, tb, bias;
  int64_t n, m, x_rows, x_cols, x_ld, x_stride, y_rows, y_cols, y_ld, y_stride, ldc, c_stride, count;
  uint32_t align_x, align_y, align_c;
  auto tie() const {
    return std::tie(device, type, ta, tb, bias, n, m, x_rows, x_cols, x_ld, x_stride, y_rows, y_cols, y_ld, y_stride, ldc,
                    c_stride, count, align_x, align_y, align_c);
  }
  bool operator<(const PlanKey& o) const { return tie() < o.tie(); }
};

struct LtPlan {
  cublasLtMatmulDesc_t desc = nullptr;
  LayoutGuard lx, ly, lc;
  cublasLtMatmulAlgo_t algo{};
  std::mutex mutex;  // held from setting the bias pointer to the launch
  ~LtPlan() {
    if (desc) cublasLtMatmulDescDestroy(desc);
  }
};

// The preference's limits: the workspace, and the operands' alignment (cuBLASLt assumes 256 bytes
// unless told; views such as narrowed rows, a group's slice of a weight or the next matrix of a
// batch are often less aligned). Then the heuristic's best algorithm; NOT_SUPPORTED is its way
// of saying that none fits, reported like none found.
bool choose_algorithm(cublasLtHandle_t handle, const PlanKey& k, LtPlan& plan) {
  cublasLtMatmulPreference_t pref = nullptr;
  FROST_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  struct PrefGuard {
    cublasLtMatmulPreference_t p;
    ~PrefGuard() { cublasLtMatmulPreferenceDestroy(p); }
  } pref_guard{pref};
  const uint64_t workspace = kWorkspaceBytes;
  FROST_CUBLAS_CHECK(
      cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof(workspace)));
  const std::pair<cublasLtMatmulPreferenceAttributes_t, const uint32_t*> aligns[] = {
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &k.align_x},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &k.align_y},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &k.align_c},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &k.align_c}};
  for (const auto& [attribute, value] : aligns)
    FROST_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attribute, value, sizeof(*value)));
  cublasLtMatmulHeuristicResult_t heuristic{};
  int found = 0;
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(handle, plan.desc, plan.lx.layout, plan.ly.layout, plan.lc.layout,
                                                               plan.lc.layout, pref, 1, &heuristic, &found);
  if (status != CUBLAS_STATUS_NOT_SUPPORTED) FROST_CUBLAS_CHECK(status);
  if (status == CUBLAS_STATUS_NOT_SUPPORTED || found == 0) return false;
  plan.algo = heuristic.algo;
  return true;
}

// The plan of one problem: descriptors and layouts, and the algorithm; null when none fits. The
// heuristic sees the first call's bias pointer (later calls set their own).
std::shared_ptr<LtPlan> build_plan(cublasLtHandle_t handle, const PlanKey& k, const void* bias) {
  auto plan = std::make_shared<LtPlan>();
  const bool f64 = k.type == CUDA_R_64F;
  const cudaDataType_t scale_type = f64 ? CUDA_R_64F : CUDA_R_32F;  // alpha and beta
  FROST_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan->desc, f64 ? CUBLAS_COMPUTE_64F : CUBLAS_COMPUTE_32F, scale_type));
  const cublasOperation_t ta = k.ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb = k.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  FROST_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
  FROST_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
  if (k.bias) {
    const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    FROST_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)));
    FROST_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &k.type, sizeof(k.type)));
    FROST_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  }
  make_layout(plan->lx, k.type, k.x_rows, k.x_cols, k.x_ld, k.count, k.x_stride);
  make_layout(plan->ly, k.type, k.y_rows, k.y_cols, k.y_ld, k.count, k.y_stride);
  make_layout(plan->lc, k.type, k.n, k.m, k.ldc, k.count, k.c_stride);
  return choose_algorithm(handle, k, *plan) ? plan : nullptr;
}

// Plans by problem, for the process (a long run of changing shapes starts the cache over).
std::shared_ptr<LtPlan> cached_plan(cublasLtHandle_t handle, const PlanKey& k, const void* bias) {
  constexpr size_t kMaxPlans = 4096;
  static std::mutex mutex;
  static std::map<PlanKey, std::shared_ptr<LtPlan>> plans;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = plans.find(k); it != plans.end()) return it->second;
  }
  std::shared_ptr<LtPlan> plan = build_plan(handle, k, bias);
  if (!plan) return nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  if (plans.size() >= kMaxPlans) plans.clear();
  return plans.emplace(k, plan).first->second;  // another thread's plan of the same key, if first
}

// The largest power of two (<= 256) dividing the address of every matrix of a batch, in bytes.
template <typename T>
uint32_t alignment(const T* p, int64_t batch_stride, int64_t count) {
  uint64_t bits = reinterpret_cast<uintptr_t>(p) | 256;
  if (count > 1) bits |= uint64_t(batch_stride) * sizeof(T);
  return uint32_t(bits & (~bits + 1));  // lowest set bit
}

// K == 0: C = beta C (+ bias), per batch.
template <typename T>
__global__ void empty_product_kernel(T* C, int64_t M, int64_t N, int64_t ldc, int64_t c_stride, int64_t count, acc_t<T> beta,
                                     const T* bias) {
  using A = acc_t<T>;
  FROST_GRID_LOOP(e, count * M * N) {
    const int64_t j = e % N, i = (e / N) % M, b = e / (M * N);
    T& c = C[b * c_stride + i * ldc + j];
    c = T((beta == A(0) ? A(0) : beta * A(c)) + (bias ? A(bias[j]) : A(0)));
  }
}

// C[i, :] += bias: the epilogue's work when the bias pointer is not aligned for cuBLASLt.
template <typename T>
__global__ void add_bias_kernel(T* C, int64_t M, int64_t N, int64_t ldc, const T* bias) {
  using A = acc_t<T>;
  FROST_GRID_LOOP(e, M * N) {
    const int64_t j = e % N, i = e / N;
    C[i * ldc + j] = T(A(C[i * ldc + j]) + A(bias[j]));
  }
}

}  // namespace

template <typename T>
void gemm(int64_t M, int64_t N, int64_t K, acc_t<T> alpha, MatrixRef A, MatrixRef B, acc_t<T> beta, T* C, int64_t ldc,
          const GemmBatch& batch, const T* bias) {
  if (M == 0 || N == 0 || batch.count == 0) return;
  if (K == 0) {
    empty_product_kernel<T><<<grid_for(batch.count * M * N), kThreads>>>(C, M, N, ldc, batch.c_stride, batch.count, beta, bias);
    FROST_LAUNCH_CHECK();
    return;
  }
  constexpr bool f64 = std::is_same_v<T, double>, bf16_data = std::is_same_v<T, bf16>;
  const cudaDataType_t type = f64 ? CUDA_R_64F : bf16_data ? CUDA_R_16BF : CUDA_R_32F;
  const char* type_name = f64 ? "f64" : bf16_data ? "bf16" : "f32";
  // First operand X = B^T (N x K); second Y = A^T (K x M).
  const Packed<T> b(static_cast<const T*>(B.data), N, K, B.col_stride, B.row_stride, batch.count, batch.b_stride);
  const Packed<T> a(static_cast<const T*>(A.data), K, M, A.col_stride, A.row_stride, batch.count, batch.a_stride);
  LtOperand x, y;
  column_major(N, K, b.s_i, b.s_j, x);
  column_major(K, M, a.s_i, a.s_j, y);

  // cuBLASLt reads the bias with vector loads: a bias that is a view at an odd offset (a slice of
  // a packed parameter) is added by a kernel of its own after the product.
  const bool bias_epilogue = bias && reinterpret_cast<uintptr_t>(bias) % 16 == 0;
  if (bias && batch.count != 1)
    throw std::invalid_argument("cuda::gemm: a bias epilogue with a batch of " + std::to_string(batch.count));
  const PlanKey key{current_device(),
                    type,
                    x.transpose,
                    y.transpose,
                    bias_epilogue,
                    N,
                    M,
                    x.rows,
                    x.cols,
                    x.ld,
                    b.batch_stride,
                    y.rows,
                    y.cols,
                    y.ld,
                    a.batch_stride,
                    ldc,
                    batch.c_stride,
                    batch.count,
                    alignment(b.data, b.batch_stride, batch.count),
                    alignment(a.data, a.batch_stride, batch.count),
                    alignment(C, batch.c_stride, batch.count)};
  LtContext& ctx = lt_context();
  const std::shared_ptr<LtPlan> plan = cached_plan(ctx.handle, key, bias_epilogue ? bias : nullptr);
  if (!plan)
    throw std::runtime_error("cuBLASLt has no algorithm for a " + std::string(type_name) + " GEMM M=" + std::to_string(M) +
                             " N=" + std::to_string(N) + " K=" + std::to_string(K) + " batch=" + std::to_string(batch.count));
  {
    std::lock_guard<std::mutex> lock(plan->mutex);
    if (bias_epilogue)
      FROST_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
    FROST_CUBLAS_CHECK(cublasLtMatmul(ctx.handle, plan->desc, &alpha, b.data, plan->lx.layout, a.data, plan->ly.layout, &beta, C,
                                      plan->lc.layout, C, plan->lc.layout, &plan->algo, ctx.workspace, kWorkspaceBytes, 0));
  }
  FROST_SYNC_CHECK("cublasLtMatmul");
  if (bias && !bias_epilogue) {
    add_bias_kernel<T><<<grid_for(M * N), kThreads>>>(C, M, N, ldc, bias);
    FROST_LAUNCH_CHECK();
  }
}

template void gemm<float>(int64_t, int64_t, int64_t, float, MatrixRef, MatrixRef, float, float*, int64_t, const GemmBatch&,
                          const float*);
template void gemm<double>(int64_t, int64_t, int64_t, double, MatrixRef, MatrixRef, double, double*, int64_t, const GemmBatch&,
                           const double*);
template void gemm<bf16>(int64_t, int64_t, int64_t, float, MatrixRef, MatrixRef, float, bf16*, int64_t, const GemmBatch&,
                         const bf16*);

}  // namespace frost::cuda
