// depthwise.h: depthwise convolution (groups == Cin == Cout) as direct loops over (b, c) planes,
// forward and both gradients; conv.cpp routes depthwise geometries here. Same contracts as the
// conv2d_* entry points in conv.h (dw without the bias gradient).
#pragma once
#include "kernels/cpu/conv.h"

namespace frost::cpu {

template <typename T>
void depthwise_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void depthwise_backward_input(const Conv2dGeometry& g, const T* dy, const T* w, T* dx);
template <typename T>
void depthwise_backward_weight(const Conv2dGeometry& g, const T* dy, const T* x, T* dw);

}  // namespace frost::cpu
