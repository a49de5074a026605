// Mini-batch gradient descent on a linear model, a run of batches in one call (the estimators'
// LinearRegressor and LogisticClassifier). For each batch b of the run, its m rows (`rows`, the
// last batch of the data may have fewer) taken in `order` (or in place):
//   out (m, k)      = X_b (m, F) · weight^T (F, k) + bias (k)       dense_forward
//   value, grad     = mean loss(out, T_b), dL/dout (m, k)           the loss kernel
//   dweight (k, F)  = grad^T X_b,  dbias (k) = column sums of grad  dense_backward, written
//   weight, bias   <- the optimizer's rule (sgd or adam), each tensor with its own group's
//                     hyperparameters, state arrays and step count
//   weight          <- sign(weight) * max(|weight| - l1, 0)         if l1 > 0 (proximal L1 step)
//   total          += value * m
// Each line is the kernel the per-batch Python path calls, with the same arguments in the same
// order, so weights, state and total are bitwise that path's, for any thread count.
#pragma once

#include <cstdint>

#include "steepest/nn/losses.h"
#include "steepest/optim/adam.h"
#include "steepest/optim/sgd.h"
#include "steepest/optim/tensor.h"

namespace steepest {

// The rules the run applies: kernels of the kernel table (sgd; adam, also AdamW's).
enum class LinearRule : int { sgd, adam };

template <class T>
struct LinearEpoch {
  T* weight;             // (k, F)
  T* bias;               // (k)
  T* dweight;            // (k, F), written each batch
  T* dbias;              // (k), written each batch
  const T* x;            // (n, F)
  const T* targets;      // (n, k); null for cross_entropy
  const int64_t* labels; // (n) class indices in [0, k), cross_entropy only
  const int64_t* order;  // (n) row indices in [0, n), or null: the rows in order
  int64_t n, features, outputs;
  int64_t rows;                    // per batch
  int64_t first_batch, end_batch;  // the run: batches [first_batch, end_batch)
  LossFunction loss;
  T delta;                         // huber's δ
  double l1;                       // the soft threshold of a step (lr * alpha * l1_ratio), 0: none
  LinearRule rule;
  // Per tensor (0 weight, 1 bias): the hyperparameters of the rule (of its group), its state
  // arrays in the rule's order (null where unused), its step count (adam; null for sgd). The
  // state must exist (the optimizer has stepped before): nothing here is created.
  SgdHyper sgd[2];
  AdamHyper adam[2];
  T* state[2][kMaxStates];
  int64_t* steps[2];
};

// Runs the batches and returns total plus the sum over them of value * m. Does not throw (the
// caller checks every argument).
template <class T>
double linear_epoch(const LinearEpoch<T>& e, double total);

}  // namespace steepest
