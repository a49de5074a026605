#include "check.h"

#include <algorithm>

namespace steepest {
namespace bind {

namespace {

constexpr int kFloat32 = 11, kFloat64 = 12;  // NumPy's NPY_FLOAT, NPY_DOUBLE

const char* dtype_name(int type_num) {
  return type_num == kFloat32 ? "float32" : type_num == kFloat64 ? "float64" : "other";
}

std::string shape_of(const py::detail::PyArray_Proxy* a) {
  std::string s = "(";
  for (int d = 0; d < a->nd; ++d)
    s += std::to_string(a->dimensions[d]) + (a->nd == 1 || d + 1 < a->nd ? "," : "");
  return s + ")";
}

std::string type_name(py::handle h) { return py::str(py::type::handle_of(h).attr("__name__")); }

}  // namespace

std::string StepArrays::name(const char* list, size_t k) const {
  return std::string(list) + "[" + std::string(py::str(indices_[k])) + "]";
}

Array StepArrays::check(py::handle h, const std::string& name, bool written) {
  if (!py::isinstance<py::array>(h))
    throw py::type_error(name + ": expected a numpy.ndarray, got " + type_name(h));
  const auto* a = py::detail::array_proxy(h.ptr());
  const auto* d = py::detail::array_descriptor_proxy(a->descr);
  const bool native = d->byteorder == '=' || d->byteorder == '|';
  if ((d->type_num != kFloat32 && d->type_num != kFloat64) || !native)
    throw py::type_error(name + ": expected a float32 or float64 array in native byte order, got " +
                         std::string(py::str(py::handle(a->descr))));
  const int flags = a->flags;
  if (!(flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_))
    throw py::value_error(name + ": expected a C-contiguous array; updates are made in place, "
                                 "so steepest never works on a copy");
  if (!(flags & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
    throw py::value_error(name + ": expected an aligned array");
  if (written && !(flags & py::detail::npy_api::NPY_ARRAY_WRITEABLE_))
    throw py::value_error(name + ": the array is read-only, but it is updated in place");
  int64_t size = 1;
  for (int i = 0; i < a->nd; ++i) size *= a->dimensions[i];
  const size_t item = d->type_num == kFloat32 ? 4 : 8;
  if (size > 0) {
    const auto lo = reinterpret_cast<uintptr_t>(a->data);
    ranges_.push_back({lo, lo + size_t(size) * item, written, name});
  }
  return {a->data, size, d->type_num == kFloat32 ? Dtype::f32 : Dtype::f64};
}

Array StepArrays::param(py::handle h, size_t k) {
  param_ = h;
  param_name_ = name("params", k);
  return check(h, param_name_, true);
}

namespace {
// `like` must have the dtype and the shape of the param `p` (both already checked arrays).
void check_like(py::handle like, const std::string& like_name, py::handle p,
                const std::string& p_name) {
  const auto* a = py::detail::array_proxy(like.ptr());
  const auto* b = py::detail::array_proxy(p.ptr());
  const int ta = py::detail::array_descriptor_proxy(a->descr)->type_num;
  const int tb = py::detail::array_descriptor_proxy(b->descr)->type_num;
  if (ta != tb)
    throw py::type_error(like_name + ": expected dtype " + dtype_name(tb) + ", the dtype of " +
                         p_name + ", got " + dtype_name(ta) + "; steepest never converts arrays");
  bool same = a->nd == b->nd;
  for (int i = 0; same && i < a->nd; ++i) same = a->dimensions[i] == b->dimensions[i];
  if (!same)
    throw py::value_error(like_name + ": expected shape " + shape_of(b) + ", the shape of " +
                          p_name + ", got " + shape_of(a));
}
}  // namespace

Array StepArrays::grad(py::handle h, size_t k) {
  const std::string n = name("grads", k);
  Array a = check(h, n, false);
  check_like(h, n, param_, param_name_);
  return a;
}

Array StepArrays::state(py::handle h, const char* key, size_t k) {
  const std::string n = name("state", k) + "['" + key + "']";
  Array a = check(h, n, true);
  check_like(h, n, param_, param_name_);
  return a;
}

void StepArrays::check_no_overlap() const {
  // Sweep the ranges by start: a range overlaps an earlier one iff it starts before the furthest
  // end seen so far; it is an error when either of the two is written.
  std::vector<const Range*> sorted;
  sorted.reserve(ranges_.size());
  for (const Range& r : ranges_) sorted.push_back(&r);
  std::sort(sorted.begin(), sorted.end(),
            [](const Range* a, const Range* b) { return a->lo < b->lo; });
  const Range* furthest = nullptr;          // the earlier range reaching furthest
  const Range* furthest_written = nullptr;  // the earlier written range reaching furthest
  for (const Range* r : sorted) {
    const Range* hit = nullptr;
    if (furthest_written && r->lo < furthest_written->hi) hit = furthest_written;
    else if (r->written && furthest && r->lo < furthest->hi) hit = furthest;
    if (hit)
      throw py::value_error(r->name + " overlaps " + hit->name +
                            ": an array updated in place must not share memory with another "
                            "array of the step");
    if (!furthest || r->hi > furthest->hi) furthest = r;
    if (r->written && (!furthest_written || r->hi > furthest_written->hi)) furthest_written = r;
  }
}

}  // namespace bind
}  // namespace steepest
