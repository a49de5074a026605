// The GEMM entries of a SIMD target, defined in gemm.cc, for the kernels of the same target that
// run products (dense, conv1d, lstm, gru, attention). Included inside namespace
// steepest::<target> (as kernel_math.h), after steepest/nn/gemm.h and runtime/pool.h.
//
//   gemm(g)                           one product on the pool; bitwise the same for any thread count
//   gemm_together(first, second, extra)
//                                     first (or null) and second in one pool job, with `extra`
//                                     (call null if none) as one more chunk: in a layer's backward
//                                     dX's last chunks, dW's first and the bias gradient share the
//                                     threads instead of each product waiting for its stragglers
//   gemm_serial_space(g), gemm_serial(g, space)
//                                     one product on the calling thread alone, in `space`
//                                     (gemm_serial_space(g) elements, 64-byte aligned), for kernels
//                                     running many small products in their own pool chunks;
//                                     nothing allocated, nothing thrown, bitwise gemm(g)'s
//   gemm_pack_b_space(g), gemm_pack_b(g, out)
//                                     op(B) of g packed once into out (gemm_pack_b_space(g)
//                                     elements, 64-byte aligned) for products that set
//                                     packed_b = out; for n <= gemm_packed_max_n only
#pragma once

template <class T>
void gemm(const Gemm<T>& g);
template <class T>
void gemm_together(const Gemm<T>* first, const Gemm<T>& second, ChunkTask extra);
template <class T>
int64_t gemm_serial_space(const Gemm<T>& g);
template <class T>
void gemm_serial(const Gemm<T>& g, T* space);
template <class T>
int64_t gemm_pack_b_space(const Gemm<T>& g);
template <class T>
void gemm_pack_b(const Gemm<T>& g, T* out);
constexpr int64_t gemm_packed_max_n = 2048;  // gemm.cc's kMaxCols: one block of columns
