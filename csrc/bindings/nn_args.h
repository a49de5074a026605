// Argument checks shared by the nn area's bindings (nn.cpp, conv.cpp, lstm.cpp, gru.cpp,
// attention.cpp, linear_epoch.cpp, trading.cpp): every array is checked by check.h's
// kernel_array before anything is touched.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "check.h"

namespace steepest {
namespace bind {

// A C-contiguous, aligned array of dtype T (no conversion: a wrong dtype is an error).
template <class T>
pybind11::array_t<T> checked(pybind11::handle h, const char* name, bool written) {
  const pybind11::array a = kernel_array(h, name, pybind11::dtype::of<T>(), written);
  return pybind11::reinterpret_borrow<pybind11::array_t<T>>(a);
}

// The dtype of a call's kernels: the first input's, float64 if it is a float64 array (in any byte
// order: checked() then refuses a non-native one by name), else float32.
inline bool is_double(pybind11::handle h) {
  constexpr int kFloat64 = 12;  // NumPy's NPY_DOUBLE
  return pybind11::isinstance<pybind11::array>(h) &&
         pybind11::detail::array_descriptor_proxy(
             pybind11::detail::array_proxy(h.ptr())->descr)->type_num == kFloat64;
}

inline bool overlap(const pybind11::array& x, const pybind11::array& y) {
  const auto* xl = static_cast<const char*>(x.data());
  const auto* yl = static_cast<const char*>(y.data());
  return xl < yl + y.nbytes() && yl < xl + x.nbytes() && x.nbytes() > 0 && y.nbytes() > 0;
}

// A shape as Python writes the tuple: "(3, 4)", "(5,)", "()".
inline std::string shape_string(const std::vector<pybind11::ssize_t>& shape) {
  std::string s = "(";
  for (size_t d = 0; d < shape.size(); ++d)
    s += std::to_string(shape[d]) + (shape.size() == 1 ? "," : d + 1 < shape.size() ? ", " : "");
  return s + ")";
}

inline std::string shape_string(const pybind11::array& a) {
  return shape_string(std::vector<pybind11::ssize_t>(a.shape(), a.shape() + a.ndim()));
}

// ValueError "<name> must have shape <shape>, got <a's>" unless a has that shape.
inline void require_shape(const pybind11::array& a, const std::string& name,
                          const std::vector<pybind11::ssize_t>& shape) {
  if (!std::equal(shape.begin(), shape.end(), a.shape(), a.shape() + a.ndim()))
    throw pybind11::value_error(name + " must have shape " + shape_string(shape) + ", got " +
                                shape_string(a));
}

// The arrays of one call by name; no array written may share memory with any other.
struct Arrays {
  std::vector<std::pair<const char*, pybind11::array>> written, read;
  void check_no_overlap() const {
    for (size_t i = 0; i < written.size(); ++i) {
      for (size_t j = i + 1; j < written.size(); ++j)
        if (overlap(written[i].second, written[j].second))
          throw pybind11::value_error(std::string(written[i].first) + " overlaps " +
                                      written[j].first);
      for (const auto& r : read)
        if (overlap(written[i].second, r.second))
          throw pybind11::value_error(std::string(written[i].first) + " overlaps " + r.first);
    }
  }
};

}  // namespace bind
}  // namespace steepest
