// Layer normalization over the last dimension: equations in steepest/nn/layernorm.h.
#include <cmath>

#include "steepest/nn/layernorm.h"
#include "steepest/targets.h"
#include "../runtime/pool.h"

namespace steepest {

int get_num_threads();  // runtime/parallel.h (not included: its inline code is not per target)

namespace STEEPEST_TARGET {

#include "steepest/kernel_math.h"

namespace {

// A chunk holds about this many elements (whole rows; a block of columns for the parameter
// sums); below two chunks' worth one thread does everything. Cuts depend on the sizes only.
constexpr int64_t kChunkElements = int64_t(1) << 13;
constexpr int64_t kColumnBlock = 64;  // columns per chunk of the parameter sums

inline int64_t rows_per_chunk(int64_t cols) {
  return cols >= kChunkElements ? 1 : kChunkElements / cols;
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Runs f(chunk) for chunk in [0, chunks) on the pool (one thread for small work).
template <class F>
void run(int64_t chunks, int64_t elements, const F& f) {
  if (chunks == 1 || elements < 2 * kChunkElements) {
    for (int64_t c = 0; c < chunks; ++c) f(c);
    return;
  }
  const int64_t threads = get_num_threads();
  run_chunks(chunks, int(threads < chunks ? threads : chunks),
             ChunkTask{[](const void* p, int64_t c) { (*static_cast<const F*>(p))(c); }, &f});
}

// mean and rstd of row x (cols): two passes, each summed in double in kLanes lanes
// (kernel_math.h), which vectorize where one running sum is a chain of dependent adds.
template <class T>
inline void moments(const T* __restrict x, int64_t cols, double eps, T& mean, T& rstd) {
  double s[kLanes] = {};
  for_lanes(cols, [&](int64_t j, int l) { s[l] += double(x[j]); });
  const double m = lanes_total(s) / double(cols);
  double v[kLanes] = {};
  for_lanes(cols, [&](int64_t j, int l) {
    const double d = double(x[j]) - m;
    v[l] += d * d;
  });
  mean = T(m);
  rstd = T(1.0 / std::sqrt(lanes_total(v) / double(cols) + eps));
}

template <class T>
void forward_rows(const LayerNormForward<T>& d, int64_t begin, int64_t end) {
  const int64_t cols = d.cols;
  const T* __restrict w = d.weight;
  const T* __restrict b = d.bias;
  for (int64_t r = begin; r < end; ++r) {
    const T* __restrict x = d.x + r * cols;
    T* __restrict y = d.y + r * cols;
    T mean, rstd;
    moments(x, cols, d.eps, mean, rstd);
    if (d.mean) {
      d.mean[r] = mean;
      d.rstd[r] = rstd;
    }
    if (w && b) {
      for (int64_t j = 0; j < cols; ++j) y[j] = (x[j] - mean) * rstd * w[j] + b[j];
    } else if (w) {
      for (int64_t j = 0; j < cols; ++j) y[j] = (x[j] - mean) * rstd * w[j];
    } else {
      for (int64_t j = 0; j < cols; ++j) y[j] = (x[j] - mean) * rstd;
    }
  }
}

template <class T>
void input_grad_rows(const LayerNormBackward<T>& d, int64_t begin, int64_t end) {
  const int64_t cols = d.cols;
  const T* __restrict w = d.weight;
  for (int64_t r = begin; r < end; ++r) {
    const T* __restrict x = d.x + r * cols;
    const T* __restrict dy = d.dy + r * cols;
    T* __restrict dx = d.dx + r * cols;
    const T mean = d.mean[r], rstd = d.rstd[r];
    // sum(g) and sum(g · xhat), g = dy · w, in double in kLanes lanes (as moments())
    double sg[kLanes] = {}, sgx[kLanes] = {};
    for_lanes(cols, [&](int64_t j, int l) {
      const T g = w ? dy[j] * w[j] : dy[j];
      sg[l] += double(g);
      sgx[l] += double(g * ((x[j] - mean) * rstd));
    });
    const T mg = T(lanes_total(sg) / double(cols)), mgx = T(lanes_total(sgx) / double(cols));
    if (w) {
      for (int64_t j = 0; j < cols; ++j)
        dx[j] = rstd * (dy[j] * w[j] - mg - (x[j] - mean) * rstd * mgx);
    } else {
      for (int64_t j = 0; j < cols; ++j) dx[j] = rstd * (dy[j] - mg - (x[j] - mean) * rstd * mgx);
    }
  }
}

// dweight and dbias over columns [begin, end) (at most kColumnBlock), every row in order.
template <class T>
void param_grad_columns(const LayerNormBackward<T>& d, int64_t begin, int64_t end) {
  double sw[kColumnBlock] = {}, sb[kColumnBlock] = {};
  const int64_t n = end - begin;
  for (int64_t r = 0; r < d.rows; ++r) {
    const T* __restrict x = d.x + r * d.cols + begin;
    const T* __restrict dy = d.dy + r * d.cols + begin;
    const T mean = d.mean[r], rstd = d.rstd[r];
    for (int64_t j = 0; j < n; ++j) {
      sw[j] += double(dy[j] * ((x[j] - mean) * rstd));
      sb[j] += double(dy[j]);
    }
  }
  // (+0.0 when written: the sign of a zero sum as if accumulated into a zeroed gradient)
  if (d.dweight)
    for (int64_t j = 0; j < n; ++j)
      d.dweight[begin + j] = T((d.accumulate ? double(d.dweight[begin + j]) : 0.0) + sw[j]);
  if (d.dbias)
    for (int64_t j = 0; j < n; ++j)
      d.dbias[begin + j] = T((d.accumulate ? double(d.dbias[begin + j]) : 0.0) + sb[j]);
}

}  // namespace

template <class T>
void layernorm_forward(const LayerNormForward<T>& d) {
  const int64_t per = rows_per_chunk(d.cols);
  run(ceil_div(d.rows, per), d.rows * d.cols, [&](int64_t c) {
    const int64_t begin = c * per;
    forward_rows(d, begin, begin + per < d.rows ? begin + per : d.rows);
  });
}

template <class T>
void layernorm_backward(const LayerNormBackward<T>& d) {
  // chunks [0, blocks): the parameter sums by column block; then the rows of dx
  const int64_t blocks = (d.dweight || d.dbias) ? ceil_div(d.cols, kColumnBlock) : 0;
  const int64_t per = rows_per_chunk(d.cols);
  const int64_t row_chunks = d.dx ? ceil_div(d.rows, per) : 0;
  run(blocks + row_chunks, d.rows * d.cols * (d.dx ? 2 : 1), [&](int64_t c) {
    if (c < blocks) {
      const int64_t begin = c * kColumnBlock;
      param_grad_columns(d, begin, begin + kColumnBlock < d.cols ? begin + kColumnBlock : d.cols);
    } else {
      const int64_t begin = (c - blocks) * per;
      input_grad_rows(d, begin, begin + per < d.rows ? begin + per : d.rows);
    }
  });
}


STEEPEST_KERNEL_ENTRY(layernorm_forward)
STEEPEST_KERNEL_ENTRY(layernorm_backward)

}  // namespace STEEPEST_TARGET
}  // namespace steepest
