// Scratch of n elements, 64-byte aligned, for the kernels that allocate their own: attention's
// per-problem operands (attention.cc) and the GEMM packing spaces of the recurrent layers' parts
// (batch_parts.h, gemm_calls.h).
#pragma once

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

}  // namespace steepest
