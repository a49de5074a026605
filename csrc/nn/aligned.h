// Scratch of n elements, 64-byte aligned, for the kernels that allocate their own: attention's
// per-problem operands (attention.cc), the GEMM packing spaces of the recurrent layers' parts
// (batch_parts.h, gemm_calls.h) and the recurrent layers' step arrays (gru.cc, lstm.cc).
// malloc gives 16-byte alignment: a 64-byte vector from there straddles two cache lines.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace steepest {

// n elements of T rounded up to whole 64-byte lines: a slot of scratch that keeps the next one
// aligned.
template <class T>
constexpr int64_t whole_lines(int64_t n) {
  constexpr int64_t line = 64 / int64_t(sizeof(T));
  return (n + line - 1) / line * line;
}

// n elements of T, 64-byte aligned, held by buffer.
template <class T>
T* aligned_elements(std::unique_ptr<T[]>& buffer, int64_t n) {
  constexpr int64_t line = 64 / int64_t(sizeof(T));
  buffer.reset(new T[std::size_t(n + line)]);
  const auto at = reinterpret_cast<std::uintptr_t>(buffer.get());
  return buffer.get() + (std::uintptr_t(64) - at % 64) % 64 / sizeof(T);
}

// n elements of T, 64-byte aligned, all `value`: the aligned std::vector of a kernel's scratch.
template <class T>
class AlignedArray {
 public:
  explicit AlignedArray(int64_t n, T value = T(0)) : data_(aligned_elements(buffer_, n)) {
    std::fill(data_, data_ + n, value);
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](int64_t i) { return data_[i]; }

 private:
  std::unique_ptr<T[]> buffer_;
  T* data_;
};

}  // namespace steepest
