// copy.cpp: strided copies and fills on the CPU (copy.h). Rows of merged dims run in parallel;
// a contiguous same-type row is one memcpy, a strided one a gather of same-size words.
#include "kernels/cpu/copy.h"

#include <cstring>

#include "kernels/dtype.h"

namespace frost::cpu {

namespace {

// to[i * ts] = from[i * fs] for n words of W.
template <typename W>
void move_words(const char* from, int64_t fs, char* to, int64_t ts, int64_t n) {
  const W* f = reinterpret_cast<const W*>(from);
  W* t = reinterpret_cast<W*>(to);
  for (int64_t i = 0; i < n; ++i) t[i * ts] = f[i * fs];
}

}  // namespace

void copy_strided(const Dims& shape, void* dst, DType dst_type, const Dims& dst_strides, const void* src, DType src_type,
                  const Dims& src_strides) {
  for (const int64_t d : shape)
    if (d == 0) return;
  const auto layout = merge_dims<2>(shape, {dst_strides, src_strides});
  char* out = static_cast<char*>(dst);
  const char* in = static_cast<const char*>(src);
  const size_t elem = dtype_size(dst_type);
  for_each_row(layout, [&](int64_t, const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& s) {
    if (dst_type != src_type) {
      for (int64_t i = 0; i < n; ++i) convert_value(in, src_type, off[1] + i * s[1], out, dst_type, off[0] + i * s[0]);
      return;
    }
    char* to = out + off[0] * int64_t(elem);
    const char* from = in + off[1] * int64_t(elem);
    if (s[0] == 1 && s[1] == 1) {
      std::memcpy(to, from, size_t(n) * elem);
      return;
    }
    switch (elem) {  // a strided gather or scatter (transposes, broadcasts)
      case 1:
        return move_words<uint8_t>(from, s[1], to, s[0], n);
      case 2:
        return move_words<uint16_t>(from, s[1], to, s[0], n);
      case 4:
        return move_words<uint32_t>(from, s[1], to, s[0], n);
      default:
        return move_words<uint64_t>(from, s[1], to, s[0], n);
    }
  });
}

void fill(void* dst, DType type, int64_t n, double value) {
  if (n == 0) return;
  store_value(dst, type, 0, value);
  const size_t elem = dtype_size(type);
  char* base = static_cast<char*>(dst);
  for (int64_t i = 1; i < n; ++i) std::memcpy(base + i * elem, base, elem);
}

}  // namespace frost::cpu
