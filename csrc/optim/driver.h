// The drivers of steps that take more than one kernel call per tensor, run on the thread pool:
// LAMB and LARS (per-tensor norms between two passes), Adafactor (three passes over chunks,
// sums between them) and gradient clipping (a norm, then a scale or a clamp). Plain C++, built
// once (not per SIMD target): they call the active target's kernels (targets.h). The bindings
// check the arguments, build these structures with the GIL held, then release it and call.
// Nothing here throws once a step runs: what may fail (allocation) happens in prepare().
#pragma once

#include <cstdint>
#include <vector>

#include "../runtime/parallel.h"
#include "precision.h"
#include "steepest/targets.h"

namespace steepest {

// The tensors of one dtype in a step, with their per-tensor scalars and sizes.
template <class T, class Scalars>
struct Batch {
  struct Item {
    StepTensor<T> tensor;
    Scalars scalars;
  };
  std::vector<Item> items;
  std::vector<int64_t> sizes;
  std::vector<int> ndims;    // the params' dimensions (LARS treats 1-d tensors apart)
  int64_t parallel_min = 0;  // below this many elements one thread runs the batch
  // The last item's per-tensor scalar state row (bindings/step.h) before and after its scalars
  // advanced it: a tensor of the same group and step with the same row shares both.
  static constexpr size_t kMaxScalarStates = 2;
  double row_before[kMaxScalarStates] = {}, row_after[kMaxScalarStates] = {};

  void reserve(size_t n) {
    items.reserve(n);
    sizes.reserve(n);
    ndims.reserve(n);
  }
  size_t size() const { return items.size(); }
  // State array s of item i (created after the item was added).
  void set_state(size_t i, int s, T* data) { items[i].tensor.state[s] = data; }

  // One pass: kernel(tensor, scalars, begin, end) over every element of every item.
  template <class Kernel>
  void run(Kernel kernel) const {
    for_each_range(
        sizes,
        [&](int64_t t, int64_t begin, int64_t end) {
          kernel(items[t].tensor, items[t].scalars, begin, end);
        },
        parallel_min);
  }
};

// LAMB (steepest/optim/lamb.h): pass 1 updates m, v and sums p^2, u^2 per tensor; the trust
// ratio r = min(||p||, max_weight_norm) / ||u|| of each tensor goes into its scalars; pass 2
// applies p <- p - lr r u. Also on 16-bit storage (driver_norms.cc says how).
template <class T>
void lamb_passes(Batch<T, LambScalars<T>>& batch);
void lamb_passes(LowBatch<LambScalars<float>>& batch);

// LARS (steepest/optim/lars.h): pass 1 sums p^2, g^2 per tensor; the trust ratio l of each
// tensor is folded into SGD's scalars; pass 2 is SGD's kernel. Also on 16-bit storage.
template <class T>
void lars_passes(Batch<T, LarsScalars<T>>& batch);
void lars_passes(LowBatch<LarsScalars<float>>& batch);

// sum of x^2 per array, in double; bitwise the same for any thread count.
template <class T>
std::vector<double> sum_squares(const std::vector<const T*>& arrays,
                                const std::vector<int64_t>& sizes);

// Adafactor's step over the tensors of one dtype (steepest/optim/adafactor.h): each tensor
// cut into chunks by its shape alone, three passes over the chunks, the chunks' partial sums
// added in chunk order between them.
template <class T>
struct AdafactorStep {
  std::vector<AdafactorTensor<T>> tensors;  // scratch and cut set by prepare()
  std::vector<AdafactorScalars<T>> scalars;
  std::vector<double> scratch;
  std::vector<size_t> split, whole;  // tensors cut across the threads, and the others
  int64_t whole_total = 0;           // elements of the others
  int threads = 1;
  int64_t parallel_min = 0;  // a tensor, or the whole ones together, of fewer elements: 1 thread

  void reserve(size_t n) {
    tensors.reserve(n);
    scalars.reserve(n);
  }
  size_t size() const { return tensors.size(); }
  // State array s of tensor i (created after the tensor was added), in the order of the
  // binding's state keys: 0 row (row_var), 1 col (col_var), 2 variance.
  void set_state(size_t i, int s, T* data) {
    AdafactorTensor<T>& t = tensors[i];
    (s == 0 ? t.row : s == 1 ? t.col : t.variance) = data;
  }

  // Cuts every tensor into chunks, gives it its scratch and decides how it runs on `threads`
  // threads; allocates (may throw): call it before the step changes anything.
  void prepare(int threads);
  void run() const;
};

// Adafactor on 16-bit storage (precision.h's modes; bindings/step.h gathers the tensors):
// each tensor's 16-bit arrays are widened whole into float32 scratch (its grad, its param or
// nothing where a float32 master copy is updated in place, its row and column variances or its
// variance), the float32 step runs over them, and what it wrote is narrowed back: the state to
// nearest even, the param to nearest even or stochastically (without a master copy). So the
// step is bitwise the float32 step on the widened values, rounded, as every rule's on 16-bit
// storage is. Whole tensors, not precision.h's blocks: Adafactor's passes read each tensor
// three times, its norms and means spanning it.
struct AdafactorLowStep : LowBatch<AdafactorScalars<float>> {
  struct Shape {
    int64_t batches, rows, cols;  // as AdafactorTensor's
    bool factored;
  };
  std::vector<Shape> shapes;  // one per item

  // Sizes the scratch and cuts the tensors (as AdafactorStep::prepare): may throw, so it runs
  // before the step changes anything (the arrays created after it are found by run()).
  void prepare(int threads);
  void run();

 private:
  // Conversions of whole arrays between their storage and float32 scratch, run as one
  // element-wise pass across the threads.
  struct Conversions {
    struct Item {
      void* stored;
      float* wide;
      Storage as;
      bool stochastic;  // a param narrowed stochastically, by the draws of `key`
      uint32_t key;
    };
    std::vector<Item> items;
    std::vector<int64_t> sizes;

    void reserve(size_t n);
    void clear();
    void add(void* stored, float* wide, Storage as, int64_t n, bool stochastic = false,
             uint32_t key = 0);
    void widen(int64_t parallel_min) const;
    void narrow(int64_t parallel_min) const;
  };

  AdafactorStep<float> step_;
  std::vector<float> scratch_;
  Conversions widen_, narrow_;  // of one run, their room reserved by prepare: run never throws
};

// An array of either dtype, for the clipping passes (which take gradients of mixed dtypes).
struct AnyArray {
  void* data;
  bool f64;
};

// Gradient clipping over `arrays` of `sizes` elements:
// the p-norm of them all together, as torch computes it: (sum over tensors of sum |x|^p)^(1/p),
// max |x| for p = inf; in double, bitwise the same for any thread count.
double total_norm(const std::vector<AnyArray>& arrays, const std::vector<int64_t>& sizes,
                  double p);
// x <- factor x, and x <- clamp(x, -bound, bound) (a NaN stays NaN), in place.
void scale_arrays(const std::vector<AnyArray>& arrays, const std::vector<int64_t>& sizes,
                  double factor);
void clamp_arrays(const std::vector<AnyArray>& arrays, const std::vector<int64_t>& sizes,
                  double bound);

}  // namespace steepest
