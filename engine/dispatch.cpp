// dispatch.cpp: element loads/stores for every dtype and the operand checks shared by all ops.
#include "engine/dispatch.h"

namespace frost {

void check_device(const char* op, const Tensor& t) {
  if (t.device().is_cpu() || (kCudaBuild && t.device().is_cuda())) return;
  throw std::invalid_argument(std::string(op) + ": no " + t.device().str() + " kernel in this build (tensor " + t.describe() +
                              ")");
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
      throw std::invalid_argument(std::string(op) + ": operands on different devices: " + first->describe() + " and " +
                                  t->describe());
    } else if (t->dtype() != first->dtype()) {
      throw std::invalid_argument(std::string(op) + ": mixed dtypes " + first->describe() + " and " + t->describe());
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
      throw std::invalid_argument(std::string(op) + ": operands on different devices: " + first->describe() + " and " +
                                  t->describe());
    if (t->dtype() != DType::f32 && t->dtype() != DType::bf16)
      throw std::invalid_argument(std::string(op) + ": mixed dtypes " + first->describe() + " and " + t->describe());
  }
  return DType::bf16;
}

}  // namespace frost
