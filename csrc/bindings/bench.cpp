// The benchmark's memory ceiling: one pass of a rule's access pattern over given arrays.
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "../runtime/parallel.h"
#include "check.h"
#include "steepest/targets.h"

namespace steepest {
namespace bind {

namespace {

template <class T>
void run_pattern(const std::vector<Array>& arrays, int writes) {
  std::vector<T*> ptrs;
  for (const Array& a : arrays) ptrs.push_back(static_cast<T*>(a.data));
  const auto kernel = kernels<T>().pattern;
  const int reads = int(arrays.size());
  py::gil_scoped_release nogil;
  for_each_range({arrays[0].size}, [&](int64_t, int64_t begin, int64_t end) {
    kernel(ptrs.data(), reads, writes, begin, end);
  });
}

// arrays: R same-shape arrays; the first `writes` are written back in place.
void pattern_pass(py::list arrays, int writes) {
  const int reads = int(arrays.size());
  const int key = reads * 10 + writes;
  if (key != 21 && key != 32 && key != 43 && key != 54 && key != 65 && key != 42 && key != 31 &&
      key != 20 && key != 10)
    throw py::value_error("pattern_pass: (reads, writes) must be (2, 1), (3, 2), (4, 3), "
                          "(5, 4), (6, 5), (4, 2), (3, 1), (2, 0) or (1, 0), got (" + std::to_string(reads) + ", " +
                          std::to_string(writes) + ")");
  StepArrays check;
  std::vector<Array> checked{check.param(arrays[0], 0)};  // the others take its dtype and shape
  for (int i = 1; i < reads; ++i) checked.push_back(check.like_param(arrays[i], "arrays", i, i < writes));
  check.check_no_overlap();
  if (checked[0].dtype == Dtype::f32) run_pattern<float>(checked, writes);
  else run_pattern<double>(checked, writes);
}

}  // namespace

void register_bench(py::module_& m) {
  m.def("pattern_pass", &pattern_pass, py::arg("arrays"), py::arg("writes"),
        "One pass of a step's memory pattern: read every array, write the first `writes` back.");
}

}  // namespace bind
}  // namespace steepest
