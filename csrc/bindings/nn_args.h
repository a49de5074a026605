// The argument checker of the nn area's bindings (nn.cpp, conv.cpp, lstm.cpp, gru.cpp,
// attention.cpp, linear_epoch.cpp, trading.cpp). A binding declares each array argument once,
// by name, with its shape and its use, and gets the kernel's pointer back:
//
//   Args<T> args;
//   const T* x = args.read(hx, "x", {B, steps, F});
//   T* y = args.written(hy, "out", {B, steps, H});
//   const T* h0 = args.optional_read(hh0, "h0", {B, H});  // None: nullptr
//   args.check_no_overlap();                               // then release the GIL
//
// Each array is checked as it is declared, by check.h's kernel_array (a numpy.ndarray of dtype T
// compared by value, in native byte order, C-contiguous, aligned, writeable if written), then its
// shape; check_no_overlap() refuses an array written that shares memory with any other argument.
// The checks only read: a call that raises writes nothing. Errors name the argument as the caller
// spells it: "weight: expected a float32 array ...", "out must have shape (4, 2), got (4, 3)",
// "out overlaps x".
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "check.h"

namespace steepest {
namespace bind {

// The dtype of a call's kernels: the first input's, float64 if it is a float64 array (in any byte
// order: Args then refuses a non-native one by name), else float32.
inline bool is_double(pybind11::handle h) {
  constexpr int kFloat64 = 12;  // NumPy's NPY_DOUBLE
  return pybind11::isinstance<pybind11::array>(h) &&
         pybind11::detail::array_descriptor_proxy(
             pybind11::detail::array_proxy(h.ptr())->descr)->type_num == kFloat64;
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

// The shape an argument must have: its dimensions ({} is 0-d), and `of`, the argument it must
// match when it is another's ("out must have x's shape (3, 5), got (3, 4)").
struct Shape {
  std::vector<pybind11::ssize_t> dims;
  const char* of = nullptr;
  Shape() = default;
  Shape(std::initializer_list<pybind11::ssize_t> d) : dims(d) {}
};

// The shape of argument `name`, a (already declared).
inline Shape shape_of(const pybind11::array& a, const char* name) {
  Shape s;
  s.dims.assign(a.shape(), a.shape() + a.ndim());
  s.of = name;
  return s;
}

// ValueError "<name> must have shape <shape>, got <a's>" unless a has that shape; used directly
// for a relation a binding checks itself (an array declared with Args::array).
inline void require_shape(const pybind11::array& a, const char* name, const Shape& shape) {
  if (std::equal(shape.dims.begin(), shape.dims.end(), a.shape(), a.shape() + a.ndim())) return;
  const std::string want = shape.of ? std::string(shape.of) + "'s shape " : "shape ";
  throw pybind11::value_error(std::string(name) + " must have " + want +
                              shape_string(shape.dims) + ", got " + shape_string(a));
}

// How an array argument is used: read by the kernel, or written (then it must be writeable and
// may share memory with no other argument).
enum class Use { read, written };

// The array arguments of one call, of element type T (and int64 for labels, indices and step
// counts). Names must outlive the Args: string literals or static tables.
template <class T>
class Args {
 public:
  // A required array of `shape`, read or written: its data.
  const T* read(pybind11::handle h, const char* name, const Shape& shape) {
    return take<T>(h, name, Use::read, &shape).data();
  }
  T* written(pybind11::handle h, const char* name, const Shape& shape) {
    return take<T>(h, name, Use::written, &shape).mutable_data();
  }
  // An optional array of `shape`: None gives nullptr.
  const T* optional_read(pybind11::handle h, const char* name, const Shape& shape) {
    return h.is_none() ? nullptr : read(h, name, shape);
  }
  T* optional_written(pybind11::handle h, const char* name, const Shape& shape) {
    return h.is_none() ? nullptr : written(h, name, shape);
  }
  // A required array whose shape the binding checks itself (the sizes come from it, or a
  // relation between arguments): the array.
  pybind11::array_t<T> array(pybind11::handle h, const char* name, Use use) {
    return take<T>(h, name, use, nullptr);
  }
  // int64 arrays: class labels or row indices (read), step counts (written).
  const int64_t* read_int64(pybind11::handle h, const char* name, const Shape& shape) {
    return take<int64_t>(h, name, Use::read, &shape).data();
  }
  int64_t* written_int64(pybind11::handle h, const char* name, const Shape& shape) {
    return take<int64_t>(h, name, Use::written, &shape).mutable_data();
  }

  // ValueError "<written> overlaps <other>" if an array written shares memory with any other
  // argument declared (a pair of written arrays is named in the order declared).
  void check_no_overlap() const {
    for (size_t i = 0; i < args_.size(); ++i)
      for (size_t j = i + 1; j < args_.size(); ++j) {
        const Arg &a = args_[i], &b = args_[j];
        if ((a.written || b.written) && overlap(a.array, b.array))
          throw pybind11::value_error(std::string(a.written ? a.name : b.name) + " overlaps " +
                                      (a.written ? b.name : a.name));
      }
  }

 private:
  struct Arg {
    const char* name;
    pybind11::array array;
    bool written;
  };

  static bool overlap(const pybind11::array& x, const pybind11::array& y) {
    const auto* xl = static_cast<const char*>(x.data());
    const auto* yl = static_cast<const char*>(y.data());
    return xl < yl + y.nbytes() && yl < xl + x.nbytes() && x.nbytes() > 0 && y.nbytes() > 0;
  }

  // Checks h as the argument `name` of dtype U (and of `shape` unless null), records it.
  template <class U>
  pybind11::array_t<U> take(pybind11::handle h, const char* name, Use use, const Shape* shape) {
    const bool written = use == Use::written;
    auto a = pybind11::reinterpret_borrow<pybind11::array_t<U>>(
        kernel_array(h, name, pybind11::dtype::of<U>(), written));
    if (shape) require_shape(a, name, *shape);
    args_.push_back({name, a, written});
    return a;
  }

  std::vector<Arg> args_;
};

}  // namespace bind
}  // namespace steepest
