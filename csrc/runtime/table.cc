// The kernel table of one SIMD target (compiled once per target, like the kernels).
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {

template <class T>
void sgd(const StepTensor<T>&, const SgdScalars<T>&, int64_t, int64_t);
template <class T>
void adam(const StepTensor<T>&, const AdamScalars<T>&, int64_t, int64_t);
template <class T>
void rmsprop(const StepTensor<T>&, const RmspropScalars<T>&, int64_t, int64_t);
template <class T>
void adagrad(const StepTensor<T>&, const AdagradScalars<T>&, int64_t, int64_t);
template <class T>
void adadelta(const StepTensor<T>&, const AdadeltaScalars<T>&, int64_t, int64_t);
template <class T>
void adamax(const StepTensor<T>&, const AdamaxScalars<T>&, int64_t, int64_t);
template <class T>
void nadam(const StepTensor<T>&, const NadamScalars<T>&, int64_t, int64_t);
template <class T>
void radam(const StepTensor<T>&, const RadamScalars<T>&, int64_t, int64_t);
template <class T>
void rprop(const StepTensor<T>&, const RpropScalars<T>&, int64_t, int64_t);
template <class T>
void asgd(const StepTensor<T>&, const AsgdScalars<T>&, int64_t, int64_t);
template <class T>
void lion(const StepTensor<T>&, const LionScalars<T>&, int64_t, int64_t);
template <class T>
void lamb_moments(const StepTensor<T>&, const LambScalars<T>&, int64_t, int64_t, double*);
template <class T>
void lamb_apply(const StepTensor<T>&, const LambScalars<T>&, int64_t, int64_t);
template <class T>
void sum_squares(const T*, const T*, int64_t, int64_t, double*);
template <class T>
void norm_partial(const T*, int64_t, int64_t, double, double*);
template <class T>
void nonfinite(const T*, int64_t, int64_t, double*);
template <class T>
void scale(T*, int64_t, int64_t, T);
template <class T>
void clamp_abs(T*, int64_t, int64_t, T);
template <class T>
double adafactor_sums(const AdafactorTensor<T>&, const AdafactorScalars<T>&, int64_t);
template <class T>
void adafactor_finish_batch(const AdafactorTensor<T>&, const AdafactorScalars<T>&, int64_t,
                            const double*);
template <class T>
double adafactor_norm(const AdafactorTensor<T>&, const AdafactorScalars<T>&, int64_t);
template <class T>
void adafactor_apply(const AdafactorTensor<T>&, const AdafactorScalars<T>&, T, int64_t);
template <class T>
void pattern(T* const*, int, int, int64_t, int64_t);
template <class T>
void gemm(const Gemm<T>&);
template <class T>
void dense_forward(const DenseForward<T>&);
template <class T>
void dense_backward(const DenseBackward<T>&);
template <class T>
void activation_forward(const ActivationForward<T>&, int64_t, int64_t);
template <class T>
void activation_backward(const ActivationBackward<T>&, int64_t, int64_t);
template <class T>
void approx(ApproxFunction, T*, const T*, int64_t, int64_t);
template <class T>
double loss(const Loss<T>&, int64_t, int64_t);
template <class T>
void dropout(const Dropout<T>&, int64_t, int64_t);
template <class T>
void layernorm_forward(const LayerNormForward<T>&);
template <class T>
void layernorm_backward(const LayerNormBackward<T>&);
template <class T>
void conv1d_forward(const Conv1dForward<T>&);
template <class T>
void conv1d_backward(const Conv1dBackward<T>&);

#define STEEPEST_STR2(x) #x
#define STEEPEST_STR(x) STEEPEST_STR2(x)

extern const KernelTable table = {
    STEEPEST_STR(STEEPEST_TARGET),
    {&sgd<float>, &adam<float>, &rmsprop<float>, &adagrad<float>, &adadelta<float>, &adamax<float>,
     &nadam<float>, &radam<float>, &rprop<float>, &asgd<float>, &lion<float>, &lamb_moments<float>,
     &lamb_apply<float>, &sum_squares<float>, &norm_partial<float>, &nonfinite<float>,
     &scale<float>, &clamp_abs<float>,
     {&adafactor_sums<float>, &adafactor_finish_batch<float>, &adafactor_norm<float>,
      &adafactor_apply<float>},
     &pattern<float>, &gemm<float>,
     &dense_forward<float>, &dense_backward<float>, &activation_forward<float>,
     &activation_backward<float>, &approx<float>, &loss<float>, &dropout<float>,
     &layernorm_forward<float>, &layernorm_backward<float>, &conv1d_forward<float>,
     &conv1d_backward<float>},
    {&sgd<double>, &adam<double>, &rmsprop<double>, &adagrad<double>, &adadelta<double>,
     &adamax<double>, &nadam<double>, &radam<double>, &rprop<double>, &asgd<double>, &lion<double>,
     &lamb_moments<double>, &lamb_apply<double>, &sum_squares<double>, &norm_partial<double>,
     &nonfinite<double>, &scale<double>, &clamp_abs<double>,
     {&adafactor_sums<double>, &adafactor_finish_batch<double>, &adafactor_norm<double>,
      &adafactor_apply<double>},
     &pattern<double>,
     &gemm<double>, &dense_forward<double>, &dense_backward<double>, &activation_forward<double>,
     &activation_backward<double>, &approx<double>, &loss<double>, &dropout<double>,
     &layernorm_forward<double>, &layernorm_backward<double>, &conv1d_forward<double>,
     &conv1d_backward<double>},
};

}  // namespace STEEPEST_TARGET
}  // namespace steepest
