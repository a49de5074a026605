// The kernel table of one SIMD target (compiled once per target, like the kernels).
#include "steepest/targets.h"

namespace steepest {
namespace STEEPEST_TARGET {

template <class T>
void sgd(const StepTensor<T>&, const SgdScalars<T>&, int64_t, int64_t);
template <class T>
void adam(const StepTensor<T>&, const AdamScalars<T>&, int64_t, int64_t);
template <class T>
void lamb_moments(const StepTensor<T>&, const LambScalars<T>&, int64_t, int64_t, double*);
template <class T>
void lamb_apply(const StepTensor<T>&, const LambScalars<T>&, int64_t, int64_t);
template <class T>
void sum_squares(const T*, const T*, int64_t, int64_t, double*);
template <class T>
void adafactor(const AdafactorTensor<T>&, const AdafactorScalars<T>&);
template <class T>
void pattern(T* const*, int, int, int64_t, int64_t);

#define STEEPEST_STR2(x) #x
#define STEEPEST_STR(x) STEEPEST_STR2(x)

extern const KernelTable table = {
    STEEPEST_STR(STEEPEST_TARGET),
    {&sgd<float>, &adam<float>, &lamb_moments<float>, &lamb_apply<float>, &sum_squares<float>,
     &adafactor<float>, &pattern<float>},
    {&sgd<double>, &adam<double>, &lamb_moments<double>, &lamb_apply<double>,
     &sum_squares<double>, &adafactor<double>, &pattern<double>},
};

}  // namespace STEEPEST_TARGET
}  // namespace steepest
