// The attention kernels (steepest/nn/attention.h). Every argument is checked (dtype by value in
// native byte order, shape, C-contiguity, alignment, writeability, no overlap between an array
// written and any other) before any array is touched and before the GIL is released; a call
// that raises writes nothing.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "nn_args.h"

#include "steepest/targets.h"

namespace steepest {
namespace bind {

namespace py = pybind11;

namespace {

// qkv (B, T, 3E) with E = heads * head_dim: the sizes, none empty.
AttentionShape attention_shape(const char* where, const py::array& qkv, int64_t heads,
                               bool causal) {
  if (qkv.ndim() != 3 || qkv.shape(2) % 3 != 0)
    throw py::value_error(std::string(where) + ": qkv must be 3-d (batch, steps, 3 * embed_dim), "
                          "got " + shape_string(qkv));
  const int64_t e = qkv.shape(2) / 3;
  if (heads < 1 || e % heads != 0)
    throw py::value_error(std::string(where) + ": embed_dim " + std::to_string(e) +
                          " must be divisible by num_heads " + std::to_string(heads));
  if (qkv.shape(0) < 1 || qkv.shape(1) < 1 || e < 1)
    throw py::value_error(std::string(where) + ": qkv " + shape_string(qkv) +
                          " must not be empty");
  return {qkv.shape(0), qkv.shape(1), heads, e / heads, causal};
}

template <class T>
void forward_typed(py::handle hout, py::handle hprobs, py::handle hdropped, py::handle hqkv,
                   int64_t heads, bool causal, double p, uint64_t seed) {
  Args<T> args;
  auto qkv = args.array(hqkv, "qkv", Use::read);
  const AttentionShape s = attention_shape("attention_forward", qkv, heads, causal);
  T* out = args.written(hout, "out", {s.batch, s.steps, s.embed()});
  T* probs = args.written(hprobs, "probs", {s.batch, s.heads, s.steps, s.steps});
  T* dropped = args.optional_written(hdropped, "dropped", {s.batch, s.heads, s.steps, s.steps});
  args.check_no_overlap();
  const AttentionForward<T> f{out, probs, dropped, qkv.data(), s, seed,
                              uint32_t(std::lround(p * 16777216.0)),
                              p < 1 ? T(1) / T(1 - p) : T(0)};
  const auto kernel = kernels<T>().attention_forward;
  py::gil_scoped_release nogil;
  kernel(f);
}

void forward(py::handle out, py::handle probs, py::handle dropped, py::handle qkv, int64_t heads,
             bool causal, double p, uint64_t seed) {
  if (!(p >= 0 && p <= 1))
    throw py::value_error("attention_forward: dropout probability has to be between 0 and 1, "
                          "but got " + std::to_string(p));
  if (is_double(qkv)) forward_typed<double>(out, probs, dropped, qkv, heads, causal, p, seed);
  else forward_typed<float>(out, probs, dropped, qkv, heads, causal, p, seed);
}

template <class T>
void backward_typed(py::handle hdqkv, py::handle hdout, py::handle hqkv, py::handle hprobs,
                    py::handle hdropped, int64_t heads, bool causal) {
  Args<T> args;
  auto qkv = args.array(hqkv, "qkv", Use::read);
  const AttentionShape s = attention_shape("attention_backward", qkv, heads, causal);
  const T* dout = args.read(hdout, "dout", {s.batch, s.steps, s.embed()});
  const T* probs = args.read(hprobs, "probs", {s.batch, s.heads, s.steps, s.steps});
  const T* dropped = args.optional_read(hdropped, "dropped", {s.batch, s.heads, s.steps, s.steps});
  T* dqkv = args.written(hdqkv, "dqkv", {s.batch, s.steps, 3 * s.embed()});
  args.check_no_overlap();
  const AttentionBackward<T> d{dqkv, dout, qkv.data(), probs, dropped, s};
  const auto kernel = kernels<T>().attention_backward;
  py::gil_scoped_release nogil;
  kernel(d);
}

void backward(py::handle dqkv, py::handle dout, py::handle qkv, py::handle probs,
              py::handle dropped, int64_t heads, bool causal) {
  if (is_double(qkv)) backward_typed<double>(dqkv, dout, qkv, probs, dropped, heads, causal);
  else backward_typed<float>(dqkv, dout, qkv, probs, dropped, heads, causal);
}

}  // namespace

void register_attention(py::module_& m) {
  m.def("attention_forward", &forward, py::arg("out"), py::arg("probs"), py::arg("dropped"),
        py::arg("qkv"), py::arg("num_heads"), py::arg("causal"), py::arg("p"), py::arg("seed"),
        "Self-attention per (batch, head) on qkv (B, T, 3E): probs (B, H, T, T) the softmax of\n"
        "Q K^T / sqrt(d) (masked above the diagonal if causal), dropped (or None) its dropout\n"
        "with probability p and seed, out (B, T, E) = dropped (or probs) V per head.");
  m.def("attention_backward", &backward, py::arg("dqkv"), py::arg("dout"), py::arg("qkv"),
        py::arg("probs"), py::arg("dropped"), py::arg("num_heads"), py::arg("causal"),
        "dqkv (B, T, 3E) written from dout (B, T, E) and the forward's probs and dropped.");
}

}  // namespace bind
}  // namespace steepest
