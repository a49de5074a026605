// Input checks for the update bindings. Everything is checked while the GIL is held and before
// any array is touched: a call that raises leaves every array as it was.
//
// Arrays are named as the user sees them: params[i] and grads[i] by the flat index i of the
// parameter in the optimizer, state arrays as state[i]['exp_avg'].
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

namespace steepest {
namespace bind {

namespace py = pybind11;

enum class Dtype { f32, f64 };

// One float32/float64 C-contiguous array argument, checked.
struct Array {
  void* data;
  int64_t size;
  Dtype dtype;
};

// Checks the arrays of one step call, tensor by tensor, then that no array written overlaps
// another array of the call.
class StepArrays {
 public:
  explicit StepArrays(py::list indices) : indices_(indices) {}

  // params[k], updated in place. Must come first for each tensor.
  Array param(py::handle h, size_t k);
  // grads[k], read: same dtype and shape as the param.
  Array grad(py::handle h, size_t k);
  // state[k][key], updated in place: same dtype and shape as the param.
  Array state(py::handle h, const char* key, size_t k);
  // Throws ValueError naming two arrays that share memory where one of them is written.
  void check_no_overlap() const;

 private:
  struct Range {
    uintptr_t lo, hi;
    bool written;
    std::string name;
  };
  Array check(py::handle h, const std::string& name, bool written);
  std::string name(const char* list, size_t k) const;

  py::list indices_;
  py::handle param_;  // the param of the tensor being checked
  std::string param_name_;
  std::vector<Range> ranges_;
};

}  // namespace bind
}  // namespace steepest
