// dispatch.cpp: element loads/stores for every dtype and the operand checks shared by all ops.
#include "engine/dispatch.h"

namespace frost {

double load_value(const void* base, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::f32: return static_cast<const float*>(base)[i];
    case DType::f64: return static_cast<const double*>(base)[i];
    case DType::bf16: return bf16_to_f32(static_cast<const uint16_t*>(base)[i]);
    case DType::f16: return f16_to_f32(static_cast<const uint16_t*>(base)[i]);
    case DType::i64: return double(static_cast<const int64_t*>(base)[i]);
    case DType::u8: return static_cast<const uint8_t*>(base)[i];
    case DType::boolean: return static_cast<const uint8_t*>(base)[i] ? 1.0 : 0.0;
  }
  return 0;
}

void store_value(void* base, DType dtype, int64_t i, double v) {
  switch (dtype) {
    case DType::f32: static_cast<float*>(base)[i] = float(v); break;
    case DType::f64: static_cast<double*>(base)[i] = v; break;
    case DType::bf16: static_cast<uint16_t*>(base)[i] = f32_to_bf16(float(v)); break;
    case DType::f16: static_cast<uint16_t*>(base)[i] = f32_to_f16(float(v)); break;
    case DType::i64: static_cast<int64_t*>(base)[i] = int64_t(v); break;
    case DType::u8: static_cast<uint8_t*>(base)[i] = uint8_t(v); break;
    case DType::boolean: static_cast<uint8_t*>(base)[i] = v != 0.0; break;
  }
}

void convert_value(const void* src, DType st, int64_t si, void* dst, DType dt, int64_t di) {
  if (st == DType::i64 && dt == DType::i64) {
    static_cast<int64_t*>(dst)[di] = static_cast<const int64_t*>(src)[si];
    return;
  }
  if (st == dt && dtype_size(st) == 2) {  // bf16 -> bf16, f16 -> f16: bit copy (keeps NaN payloads)
    static_cast<uint16_t*>(dst)[di] = static_cast<const uint16_t*>(src)[si];
    return;
  }
  store_value(dst, dt, di, load_value(src, st, si));
}

void check_device(const char* op, const Tensor& t) {
  if (t.device().is_cpu() || (kCudaBuild && t.device().is_cuda())) return;
  throw std::invalid_argument(std::string(op) + ": no " + t.device().str() +
                              " kernel in this build (tensor " + t.describe() + ")");
}

void check_float_operands(const char* op, const std::vector<const Tensor*>& tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t || !t->defined()) continue;
    check_device(op, *t);
    if (!first) {
      first = t;
      if (!dtype_is_float(t->dtype()) || t->dtype() == DType::f16)
        throw std::invalid_argument(std::string(op) + ": dtype " + dtype_name(t->dtype()) +
                                    " is not supported by the op kernels (convert to f32, f64 or bf16)");
    } else if (t->device() != first->device()) {
      throw std::invalid_argument(std::string(op) + ": operands on different devices: " +
                                  first->describe() + " and " + t->describe());
    } else if (t->dtype() != first->dtype()) {
      throw std::invalid_argument(std::string(op) + ": mixed dtypes " + first->describe() +
                                  " and " + t->describe());
    }
  }
}

bool mixes_bf16_and_f32(const std::vector<const Tensor*>& tensors) {
  bool any_bf16 = false, any_f32 = false;
  for (const Tensor* t : tensors) {
    if (!t || !t->defined()) continue;
    any_bf16 |= t->dtype() == DType::bf16;
    any_f32 |= t->dtype() == DType::f32;
  }
  return any_bf16 && any_f32;
}

DType promote_float_operands(const char* op, const std::vector<const Tensor*>& tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors)
    if (t && t->defined() && !first) first = t;
  if (!first) return DType::f32;
  if (!mixes_bf16_and_f32(tensors)) {
    check_float_operands(op, tensors);
    return first->dtype();
  }
  for (const Tensor* t : tensors) {  // devices and dtypes, with f32 and bf16 both allowed
    if (!t || !t->defined()) continue;
    check_device(op, *t);
    if (t->device() != first->device())
      throw std::invalid_argument(std::string(op) + ": operands on different devices: " + first->describe() +
                                  " and " + t->describe());
    if (t->dtype() != DType::f32 && t->dtype() != DType::bf16)
      throw std::invalid_argument(std::string(op) + ": mixed dtypes " + first->describe() + " and " +
                                  t->describe());
  }
  return DType::bf16;
}

}  // namespace frost
