// Input checks for the update bindings. Everything is checked while the GIL is held and before
// any array is touched: a call that raises leaves every array as it was.
//
// A step covers every parameter group of an optimizer; arrays are named as the user sees them,
// by the flat index k of their parameter: params[k], grads[k], state[k]['exp_avg'].
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "steepest/optim/tensor.h"

namespace steepest {
namespace bind {

namespace py = pybind11;

// float32, float64; and the 16-bit storage of csrc/optim/precision.h: bfloat16 (ml_dtypes'),
// float16, and bf16_bits (bfloat16 state kept as uint16 bits, or as an ml_dtypes.bfloat16 view);
// q8, blockwise 8-bit state: one uint8 array of the blocks' float32 absmax, then the bytes
// (q8_bytes).
enum class Dtype { f32, f64, bf16, f16, bf16_bits, q8 };

// The length of the uint8 array of blockwise 8-bit state for a param of n elements: 4 bytes of
// absmax per block of kQuantBlock, then n bytes.
int64_t q8_bytes(int64_t n);

// One float32/float64 (or 16-bit: param_any) C-contiguous array argument, checked.
struct Array {
  void* data;
  int64_t size;
  Dtype dtype;
  int ndim;
};

class StepArrays;

// One optimizer's memory of its last step that passed the overlap check (_core.StepCache, which
// Python keeps beside the optimizer's step counts): a training loop steps the same arrays again
// and again, and when a step's ranges are, in order, those of the last step that passed, they
// pass again. Comparing them costs a fraction of the check's sort. Used with the GIL held.
class StepCache {
  friend class StepArrays;
  struct Range {
    uintptr_t lo, hi;
    bool written;
  };
  std::vector<Range> passed_;
};

// Checks the arrays of one step, tensor by tensor, then that no array written overlaps another
// array of the step (in any group).
class StepArrays {
 public:
  StepArrays() = default;
  explicit StepArrays(size_t arrays) { ranges_.reserve(arrays); }  // how many will be checked
  // params[k], updated in place. Must come first for each tensor.
  Array param(py::handle h, size_t k);
  // grads[k], read: same dtype and shape as the param.
  Array grad(py::handle h, size_t k) { return like_param(h, "grads", k, false); }
  // list[k], read or written: same dtype and shape as the param.
  Array like_param(py::handle h, const char* list, size_t k, bool written);
  // state[k][key], updated in place: same dtype and shape as the param. A None entry of `list`
  // is replaced by a new array of the param's shape and dtype, zeroed if `zero`; `created` is
  // then set.
  Array state(py::list list, size_t i, const char* key, size_t k, bool zero, bool& created,
              int slot);
  // state[k][key] of a shape of its own (Adafactor's row and column variances), with the
  // param's dtype, updated in place. A None entry is replaced by a new array of that shape,
  // zeroed if `zero`; `created` is then set.
  Array state_shaped(py::list list, size_t i, const char* key, size_t k,
                     const std::vector<py::ssize_t>& shape, bool zero, bool& created, int slot);
  // list[k], an array of its own (any shape), read, or updated in place if `written`.
  Array standalone(py::handle h, const char* list, size_t k, bool written) {
    return check(h, list, nullptr, k, written);
  }
  // params[k] and grads[k] of a rule that also runs on 16-bit storage: float32, float64,
  // bfloat16 or float16 (the grad of the param's dtype).
  Array param_any(py::handle h, size_t k);
  Array grad_any(py::handle h, size_t k);
  // state[k][key] of the param's shape (or of `shape`: Adafactor's factors) stored as `as`
  // (f32, f16, or bf16_bits: uint16 or ml_dtypes.bfloat16), or blockwise 8-bit state (q8: a
  // uint8 array of q8_bytes; never of a shape of its own), updated in place; a None entry is
  // replaced by a new zeroed array (8-bit state restores as zeros: every absmax is 0) and
  // `created` is set.
  Array state_as(py::list list, size_t i, const char* key, size_t k, Dtype as, bool& created,
                 int slot, const std::vector<py::ssize_t>* shape = nullptr);
  // Throws ValueError naming two arrays that share memory where one of them is written. With a
  // cache (an optimizer's), a step whose ranges are those of its last step that passed passes.
  void check_no_overlap(StepCache* cache = nullptr) const;

 private:
  // Which argument an array is: "params" / "grads" (key null) or a state key, of tensor k.
  // Names are only spelled out for an error message.
  struct Arg {
    const char* list;
    const char* key;
    size_t k;
  };
  struct Range {
    uintptr_t lo, hi;
    bool written;
    Arg arg;
  };
  // The argument's name is passed as scalars, in registers: an Arg read back from the caller's
  // stack with wider loads than its stores misses store forwarding.
  // half: 16-bit floats pass too; bytes: uint8 too (Dtype::q8).
  Array check(py::handle h, const char* list, const char* key, size_t k, bool written,
              bool half = false, bool bytes = false);
  void check_like_param(py::handle h, const char* list, const char* key, size_t k) const;
  void check_shape_of_param(py::handle h, const char* list, const char* key, size_t k) const;
  // state[k][key] (checked as `a`) must have `shape`.
  static void check_shape(const py::detail::PyArray_Proxy* a,
                          const std::vector<py::ssize_t>& shape, const char* key, size_t k);

  py::handle param_;  // the param of the tensor being checked
  std::vector<Range> ranges_;
};

// The new state arrays of a tensor: `slot` is the state's index among the rule's states, or
// kMasterSlot for a master copy (state_array says why it matters).
constexpr int kMasterSlot = kMaxStates;
// A new array of `shape` and `dtype` (memory of its own), zeroed if `zero`, for state `slot`.
// Why a large one starts inside its allocation, a different way in for each slot: a fresh
// process maps large arrays one below the other, a page more than their size apart, so the
// arrays a step streams through (param, grad, states) begin at nearly the same offsets, and
// the memory then serves them at a fraction of its bandwidth (measured: a 32M-element AdamW
// step at 19 GB/s where the same arrays at other offsets ran at 51).
py::array state_array(const py::dtype& dtype, const std::vector<py::ssize_t>& shape, bool zero,
                      int slot);
// A new state array of `shape` with the dtype of `param`, zeroed if `zero`.
py::array new_state(py::handle param, const std::vector<py::ssize_t>& shape, bool zero, int slot);
// The same with the param's shape.
py::array new_state(py::handle param, bool zero, int slot);
// A new zeroed array of the param's shape (or of `shape`): float32 (as f32), float16 (f16) or
// uint16 (bf16_bits); for q8, a zeroed uint8 array of q8_bytes.
py::array new_state_as(py::handle param, Dtype as, int slot,
                       const std::vector<py::ssize_t>* shape = nullptr);

// One array argument of a kernel, named as the caller spells it ("weight", "arrays[2]"): a
// numpy.ndarray of dtype `want` in native byte order (compared by value: an unpickled array has a
// dtype object of its own), C-contiguous, aligned, and writable if `written`. Else a TypeError or
// ValueError in StepArrays' style, "weight: expected an aligned array". Returns the array.
py::array kernel_array(py::handle h, const std::string& name, const py::dtype& want, bool written);

// "params[3]", "state[3]['exp_avg']".
std::string arg_name(const char* list, const char* key, size_t k);

// A group's per-tensor step counts: a writable C-contiguous int64 array of `count` entries.
int64_t* step_counts(py::handle h, size_t count, size_t first_k);
// A group's per-tensor scalar state (step.h): a writable float64 array of shape (count, K).
double* scalar_states(py::handle h, size_t count, size_t K, size_t first_k);

}  // namespace bind
}  // namespace steepest
