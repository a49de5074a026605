#include "check.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "steepest/optim/precision.h"

namespace steepest {
namespace bind {

namespace {

constexpr int kFloat32 = 11, kFloat64 = 12;  // NumPy's NPY_FLOAT, NPY_DOUBLE
constexpr int kUint16 = 4, kFloat16 = 23;    // NPY_USHORT, NPY_HALF
constexpr int kUint8 = 2;                    // NPY_UBYTE
constexpr int kUserTypes = 256;              // NPY_USERDEF: ml_dtypes' types are numbered from it

// Whether `type_num` is ml_dtypes.bfloat16, whose number NumPy assigns when ml_dtypes loads:
// found by its name and size once, then by its number.
bool is_bfloat16(int type_num, PyObject* descr) {
  static int known = -1;
  if (type_num == known) return true;
  if (type_num < kUserTypes || known != -1) return false;
  const py::dtype d = py::reinterpret_borrow<py::dtype>(descr);
  if (d.itemsize() != 2 || std::string(py::str(d)) != "bfloat16") return false;
  known = type_num;
  return true;
}

const char* dtype_name(int type_num, PyObject* descr = nullptr) {
  if (descr && is_bfloat16(type_num, descr)) return "bfloat16";
  return type_num == kFloat32 ? "float32" : type_num == kFloat64 ? "float64"
       : type_num == kFloat16 ? "float16" : type_num == kUint16 ? "uint16"
       : type_num == kUint8 ? "uint8" : "other";
}

std::string shape_of(const py::detail::PyArray_Proxy* a) {
  std::string s = "(";
  for (int d = 0; d < a->nd; ++d)
    s += std::to_string(a->dimensions[d]) + (a->nd == 1 || d + 1 < a->nd ? "," : "");
  return s + ")";
}

std::string type_name(py::handle h) { return py::str(py::type::handle_of(h).attr("__name__")); }

bool flag(const py::detail::PyArray_Proxy* a, int f) { return (a->flags & f) != 0; }

int64_t element_count(const py::detail::PyArray_Proxy* a) {
  int64_t n = 1;
  for (int d = 0; d < a->nd; ++d) n *= a->dimensions[d];
  return n;
}
int64_t element_count(py::handle array) {
  return element_count(py::detail::array_proxy(array.ptr()));
}

// The layout every array a kernel touches must have: C-contiguous (indexed flat), aligned (read
// and written by whole elements), writable if written. name() spells the argument.
template <class Name>
void check_layout(const py::detail::PyArray_Proxy* a, bool written, const Name& name) {
  using api = py::detail::npy_api;
  if (!flag(a, api::NPY_ARRAY_C_CONTIGUOUS_))
    throw py::value_error(name() + ": expected a C-contiguous array; steepest never works on "
                                   "a copy");
  if (!flag(a, api::NPY_ARRAY_ALIGNED_))
    throw py::value_error(name() + ": expected an aligned array");
  if (written && !flag(a, api::NPY_ARRAY_WRITEABLE_))
    throw py::value_error(name() + ": the array is read-only, but it is written in place");
}

}  // namespace

std::string arg_name(const char* list, const char* key, size_t k) {
  if (!key) return std::string(list) + "[" + std::to_string(k) + "]";
  return "state[" + std::to_string(k) + "]['" + key + "']";
}

Array StepArrays::check(py::handle h, const char* list, const char* key, size_t k, bool written,
                        bool half, bool bytes) {
  auto name = [&] { return arg_name(list, key, k); };
  if (!py::isinstance<py::array>(h))
    throw py::type_error(name() + ": expected a numpy.ndarray, got " + type_name(h));
  const auto* a = py::detail::array_proxy(h.ptr());
  const auto* d = py::detail::array_descriptor_proxy(a->descr);
  const bool native = d->byteorder == '=' || d->byteorder == '|';
  // 16-bit storage (half): float16, bfloat16 and uint16 (bfloat16 bits), told apart by the
  // caller (check_like_param, state_as).
  Dtype dtype = d->type_num == kFloat32 ? Dtype::f32 : Dtype::f64;
  bool known = d->type_num == kFloat32 || d->type_num == kFloat64;
  if (half && !known) {
    known = true;
    if (d->type_num == kFloat16) dtype = Dtype::f16;
    else if (d->type_num == kUint16) dtype = Dtype::bf16_bits;
    else if (bytes && d->type_num == kUint8) dtype = Dtype::q8;
    else if (is_bfloat16(d->type_num, a->descr)) dtype = Dtype::bf16;
    else known = false;
  }
  if (!known || !native)
    throw py::type_error(name() + ": expected a float32 or float64 array" +
                         (half ? " (or bfloat16, float16)" : "") + " in native byte order, got " +
                         std::string(py::str(py::handle(a->descr))));
  check_layout(a, written, name);
  const int64_t size = element_count(a);
  const size_t item = dtype == Dtype::f32   ? 4
                      : dtype == Dtype::f64 ? 8
                      : dtype == Dtype::q8  ? 1
                                            : 2;
  if (size > 0) {
    // Field by field: a Range built on the stack and copied with 16-byte moves over its 8-byte
    // and 1-byte stores misses store forwarding.
    Range& r = ranges_.emplace_back();
    r.lo = reinterpret_cast<uintptr_t>(a->data);
    r.hi = r.lo + size_t(size) * item;
    r.written = written;
    r.arg.list = list;
    r.arg.key = key;
    r.arg.k = k;
  }
  return {a->data, size, dtype, a->nd};
}

py::array kernel_array(py::handle h, const std::string& name, const py::dtype& want, bool written) {
  if (!py::isinstance<py::array>(h))
    throw py::type_error(name + ": expected a numpy.ndarray, got " + type_name(h));
  const auto* a = py::detail::array_proxy(h.ptr());
  const auto dtype = py::reinterpret_borrow<py::dtype>(a->descr);
  // equal() is NumPy's PyArray_EquivTypes: the same type and byte order, whatever the object.
  if (!dtype.equal(want)) {
    const std::string w = py::str(want);
    throw py::type_error(name + ": expected " + (w[0] == 'i' ? "an " : "a ") + w +
                         " array in native byte order, got " + std::string(py::str(dtype)));
  }
  check_layout(a, written, [&] { return name; });
  return py::reinterpret_borrow<py::array>(h);
}

// An array of tensor k must have the dtype and the shape of params[k] (both already checked).
void StepArrays::check_like_param(py::handle h, const char* list, const char* key,
                                  size_t k) const {
  const auto* a = py::detail::array_proxy(h.ptr());
  const auto* b = py::detail::array_proxy(param_.ptr());
  const int ta = py::detail::array_descriptor_proxy(a->descr)->type_num;
  const int tb = py::detail::array_descriptor_proxy(b->descr)->type_num;
  if (ta != tb)
    throw py::type_error(arg_name(list, key, k) + ": expected dtype " +
                         dtype_name(tb, b->descr) + ", the dtype of " +
                         arg_name("params", nullptr, k) + ", got " + dtype_name(ta, a->descr) +
                         "; steepest never converts arrays");
  check_shape_of_param(h, list, key, k);
}

void StepArrays::check_shape_of_param(py::handle h, const char* list, const char* key,
                                      size_t k) const {
  const auto* a = py::detail::array_proxy(h.ptr());
  const auto* b = py::detail::array_proxy(param_.ptr());
  bool same = a->nd == b->nd;
  for (int i = 0; same && i < a->nd; ++i) same = a->dimensions[i] == b->dimensions[i];
  if (!same)
    throw py::value_error(arg_name(list, key, k) + ": expected shape " +
                          shape_of(b) + ", the shape of " + arg_name("params", nullptr, k) +
                          ", got " + shape_of(a));
}

Array StepArrays::param(py::handle h, size_t k) {
  param_ = h;
  return check(h, "params", nullptr, k, true);
}

Array StepArrays::param_any(py::handle h, size_t k) {
  param_ = h;
  return check(h, "params", nullptr, k, true, true);
}

Array StepArrays::grad_any(py::handle h, size_t k) {
  const Array a = check(h, "grads", nullptr, k, false, true);
  check_like_param(h, "grads", nullptr, k);
  return a;
}

int64_t q8_bytes(int64_t n) { return 4 * ((n + kQuantBlock - 1) / kQuantBlock) + n; }

// An array of at least this many bytes begins inside an allocation of its own, its slot's way
// in (below); at 4 MiB the offset (at most 5 x 68 KiB, a master copy's) costs under 9% more
// memory. A smaller one, which the caches serve mostly, begins on a 64-byte cache line:
// malloc's 16-byte alignment splits every AVX-512 access across two lines (in cache, an AdamW
// step at 16K-64K elements ran about 5% faster aligned, SGD with momentum up to 25%, and no
// longer varied with where malloc put the state).
constexpr int64_t kStaggerMinBytes = int64_t(4) << 20;
// Slot s begins (s + 1) such steps into its allocation: 64 KiB and a page apart.
constexpr int64_t kStaggerStep = (int64_t(64) << 10) + 4096;
constexpr int64_t kLine = 64;

py::array state_array(const py::dtype& dtype, const std::vector<py::ssize_t>& shape, bool zero,
                      int slot) {
  int64_t count = 1;
  for (py::ssize_t d : shape) count *= int64_t(d);
  const int64_t bytes = count * int64_t(dtype.itemsize());
  // A large array keeps its allocation's alignment (the offset is a multiple of any itemsize);
  // a small one is moved up to the next line.
  const bool small = bytes < kStaggerMinBytes;
  const int64_t offset = small ? 0 : (slot + 1) * kStaggerStep;
  py::array memory(py::dtype::of<uint8_t>(),
                   std::vector<py::ssize_t>{py::ssize_t(offset + bytes + (small ? kLine : 0))});
  uint8_t* data = static_cast<uint8_t*>(memory.mutable_data()) + offset;
  if (small) data += (kLine - int64_t(reinterpret_cast<std::uintptr_t>(data) % kLine)) % kLine;
  py::array fresh(dtype, shape, data, memory);
  if (zero) std::memset(fresh.mutable_data(), 0, size_t(bytes));
  return fresh;
}

py::array new_state_as(py::handle param, Dtype as, int slot,
                       const std::vector<py::ssize_t>* shape) {
  const auto* p = py::detail::array_proxy(param.ptr());
  if (as == Dtype::q8)
    return state_array(py::dtype::of<uint8_t>(),
                       std::vector<py::ssize_t>{py::ssize_t(q8_bytes(element_count(param)))},
                       true, slot);
  const py::dtype dtype = as == Dtype::f32   ? py::dtype::of<float>()
                          : as == Dtype::f16 ? py::dtype("float16")
                                             : py::dtype::of<uint16_t>();
  return state_array(dtype,
                     shape ? *shape
                           : std::vector<py::ssize_t>(p->dimensions, p->dimensions + p->nd),
                     true, slot);
}

Array StepArrays::state_as(py::list list, size_t i, const char* key, size_t k, Dtype as,
                           bool& created, int slot, const std::vector<py::ssize_t>* shape) {
  if (py::handle(PyList_GET_ITEM(list.ptr(), i)).is_none()) {
    list[i] = new_state_as(param_, as, slot, shape);
    created = true;
  }
  const py::handle h = PyList_GET_ITEM(list.ptr(), i);  // borrowed: the list holds it
  Array a = check(h, "state", key, k, true, true, as == Dtype::q8);
  if (as == Dtype::q8) {
    const int64_t bytes = q8_bytes(element_count(param_));
    const std::string want = arg_name("state", key, k) + ": expected the uint8 array of int8 "
                             "state of " + arg_name("params", nullptr, k) + ", " +
                             std::to_string(bytes) + " bytes (the absmax of each block of 256, "
                             "then the codes), got ";
    if (a.dtype != Dtype::q8)
      throw py::type_error(want + "dtype " + std::string(py::str(py::handle(
                                                 py::detail::array_proxy(h.ptr())->descr))));
    if (a.ndim != 1 || a.size != bytes)
      throw py::value_error(want + "shape " + shape_of(py::detail::array_proxy(h.ptr())));
    if (reinterpret_cast<uintptr_t>(a.data) % 4 != 0)
      throw py::value_error(arg_name("state", key, k) + ": expected an array whose data is "
                            "aligned to 4 bytes (its float32 absmax)");
    return a;
  }
  // bfloat16 state is uint16 bits or an ml_dtypes.bfloat16 view of them: the same bytes
  const bool ok = as == Dtype::bf16_bits ? a.dtype == Dtype::bf16_bits || a.dtype == Dtype::bf16
                                         : a.dtype == as;
  if (!ok)
    throw py::type_error(arg_name("state", key, k) + ": expected dtype " +
                         (as == Dtype::f32   ? "float32"
                          : as == Dtype::f16 ? "float16"
                                             : "bfloat16 (or its uint16 bits)") +
                         ", got " + std::string(py::str(py::handle(
                                        py::detail::array_proxy(h.ptr())->descr))) +
                         "; steepest never converts arrays");
  if (shape)
    check_shape(py::detail::array_proxy(h.ptr()), *shape, key, k);
  else
    check_shape_of_param(h, "state", key, k);
  a.dtype = as;
  return a;
}

Array StepArrays::like_param(py::handle h, const char* list, size_t k, bool written) {
  const Array a = check(h, list, nullptr, k, written);
  check_like_param(h, list, nullptr, k);
  return a;
}

py::array new_state(py::handle param, const std::vector<py::ssize_t>& shape, bool zero,
                    int slot) {
  const auto* p = py::detail::array_proxy(param.ptr());
  return state_array(py::reinterpret_borrow<py::dtype>(p->descr), shape, zero, slot);
}

py::array new_state(py::handle param, bool zero, int slot) {
  const auto* p = py::detail::array_proxy(param.ptr());
  return new_state(param, std::vector<py::ssize_t>(p->dimensions, p->dimensions + p->nd), zero,
                   slot);
}

Array StepArrays::state(py::list list, size_t i, const char* key, size_t k, bool zero,
                        bool& created, int slot) {
  if (py::handle(PyList_GET_ITEM(list.ptr(), i)).is_none()) {
    list[i] = new_state(param_, zero, slot);
    created = true;
  }
  const py::handle h = PyList_GET_ITEM(list.ptr(), i);  // borrowed: the list holds it
  const Array a = check(h, "state", key, k, true);
  check_like_param(h, "state", key, k);
  return a;
}

Array StepArrays::state_shaped(py::list list, size_t i, const char* key, size_t k,
                               const std::vector<py::ssize_t>& shape, bool zero, bool& created,
                               int slot) {
  const auto* p = py::detail::array_proxy(param_.ptr());
  if (py::handle(PyList_GET_ITEM(list.ptr(), i)).is_none()) {
    list[i] = new_state(param_, shape, zero, slot);
    created = true;
  }
  const py::handle h = PyList_GET_ITEM(list.ptr(), i);  // borrowed: the list holds it
  const Array a = check(h, "state", key, k, true);
  const auto* s = py::detail::array_proxy(h.ptr());
  const int ts = py::detail::array_descriptor_proxy(s->descr)->type_num;
  const int tp = py::detail::array_descriptor_proxy(p->descr)->type_num;
  if (ts != tp)
    throw py::type_error(arg_name("state", key, k) + ": expected dtype " +
                         dtype_name(tp) + ", the dtype of " + arg_name("params", nullptr, k) +
                         ", got " + dtype_name(ts) + "; steepest never converts arrays");
  check_shape(s, shape, key, k);
  return a;
}

void StepArrays::check_shape(const py::detail::PyArray_Proxy* a,
                             const std::vector<py::ssize_t>& shape, const char* key, size_t k) {
  bool same = a->nd == int(shape.size());
  for (int d = 0; same && d < a->nd; ++d) same = a->dimensions[d] == shape[size_t(d)];
  if (!same) {
    std::string want = "(";
    for (size_t d = 0; d < shape.size(); ++d)
      want += std::to_string(shape[d]) + (shape.size() == 1 || d + 1 < shape.size() ? "," : "");
    throw py::value_error(arg_name("state", key, k) + ": expected shape " + want +
                          ")" + ", got " + shape_of(a));
  }
}

void StepArrays::check_no_overlap(StepCache* cache) const {
  const auto same = [](const Range& a, const StepCache::Range& b) {
    return a.lo == b.lo && a.hi == b.hi && a.written == b.written;
  };
  if (cache && cache->passed_.size() == ranges_.size() &&
      std::equal(ranges_.begin(), ranges_.end(), cache->passed_.begin(), same))
    return;
  // Sweep the ranges by start: a range overlaps an earlier one iff it starts before the furthest
  // end seen so far; it is an error when either of the two is written.
  // Sorted as (start, range) pairs: the comparisons read the starts in place.
  std::vector<std::pair<uintptr_t, const Range*>> sorted;
  sorted.reserve(ranges_.size());
  for (const Range& r : ranges_) sorted.emplace_back(r.lo, &r);
  std::sort(sorted.begin(), sorted.end());
  const Range* furthest = nullptr;          // the earlier range reaching furthest
  const Range* furthest_written = nullptr;  // the earlier written range reaching furthest
  for (const auto& [lo, r] : sorted) {
    const Range* hit = nullptr;
    if (furthest_written && r->lo < furthest_written->hi) hit = furthest_written;
    else if (r->written && furthest && r->lo < furthest->hi) hit = furthest;
    if (hit)
      throw py::value_error(arg_name(r->arg.list, r->arg.key, r->arg.k) + " overlaps " +
                            arg_name(hit->arg.list, hit->arg.key, hit->arg.k) +
                            ": an array updated in place must not share memory with another "
                            "array of the step");
    if (!furthest || r->hi > furthest->hi) furthest = r;
    if (r->written && (!furthest_written || r->hi > furthest_written->hi)) furthest_written = r;
  }
  if (cache) {
    cache->passed_.clear();
    for (const Range& r : ranges_) cache->passed_.push_back({r.lo, r.hi, r.written});
  }
}

int64_t* step_counts(py::handle h, size_t count, size_t first_k) {
  using api = py::detail::npy_api;
  const auto* a = py::isinstance<py::array>(h) ? py::detail::array_proxy(h.ptr()) : nullptr;
  const bool ok = a && py::reinterpret_borrow<py::dtype>(a->descr).equal(py::dtype::of<int64_t>()) &&
                  a->nd == 1 && size_t(a->dimensions[0]) == count &&
                  flag(a, api::NPY_ARRAY_C_CONTIGUOUS_) && flag(a, api::NPY_ARRAY_WRITEABLE_) &&
                  flag(a, api::NPY_ARRAY_ALIGNED_);
  if (!ok)
    throw py::type_error("the step counts of the group starting at params[" +
                         std::to_string(first_k) + "] must be a writable int64 array of " +
                         std::to_string(count) + " entries");
  return reinterpret_cast<int64_t*>(a->data);
}

double* scalar_states(py::handle h, size_t count, size_t K, size_t first_k) {
  using api = py::detail::npy_api;
  const auto* a = py::isinstance<py::array>(h) ? py::detail::array_proxy(h.ptr()) : nullptr;
  const bool ok = a && py::reinterpret_borrow<py::dtype>(a->descr).equal(py::dtype::of<double>()) &&
                  a->nd == 2 && size_t(a->dimensions[0]) == count &&
                  size_t(a->dimensions[1]) == K && flag(a, api::NPY_ARRAY_C_CONTIGUOUS_) &&
                  flag(a, api::NPY_ARRAY_WRITEABLE_) && flag(a, api::NPY_ARRAY_ALIGNED_);
  if (!ok)
    throw py::type_error("the per-tensor scalar state of the group starting at params[" +
                         std::to_string(first_k) + "] must be a writable float64 array of shape (" +
                         std::to_string(count) + ", " + std::to_string(K) + ")");
  return reinterpret_cast<double*>(a->data);
}

}  // namespace bind
}  // namespace steepest
