// steepest._core: registers each area; the areas check inputs and call the kernels.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "../runtime/parallel.h"
#include "steepest/targets.h"

namespace py = pybind11;

namespace steepest {
namespace bind {
void register_optim(py::module_& m);
void register_norms(py::module_& m);
void register_bench(py::module_& m);
void register_nn(py::module_& m);
void register_clip(py::module_& m);
void register_trading(py::module_& m);
void register_conv(py::module_& m);
void register_linear_epoch(py::module_& m);
void register_attention(py::module_& m);
void register_lstm(py::module_& m);
void register_gru(py::module_& m);
}
}  // namespace steepest

PYBIND11_MODULE(_core, m) {
  using namespace steepest;
  m.doc() = "steepest's compiled kernels. Use the steepest package, not this module.";

  m.def("compiled_targets", &compiled_targets, "SIMD targets compiled in, lowest first.");
  m.def("supported_targets", &supported_targets, "Compiled SIMD targets this CPU can run.");
  m.def("active_target", [] { return std::string(active_kernels().name); },
        "The SIMD target the kernels run on.");
  m.def("conversions", [] { return std::string(kernels<float>().conversions()); },
        "How the active SIMD target converts between float32 and bfloat16/float16.");
  m.def("select_target", &select_target, py::arg("name"),
        "Run the kernels on the named SIMD target (ValueError if unknown or unsupported).");
  m.def("get_num_threads", &get_num_threads, "Threads a kernel may use.");
  m.def("set_num_threads", &set_num_threads, py::arg("n"), "Set the threads a kernel may use.");
  m.def("_cgroup_cpu_limit", &cgroup_cpu_limit, py::arg("root"),
        "Tests only: the CPU limit of the cgroup file system at root (0: none).");
  m.def("_set_parallel_min_override", &set_parallel_min_override, py::arg("n"),
        "Benchmarks only: every loop runs on one thread below n elements (0: each its own).");
#if defined(__clang__)
  m.attr("compiler") = py::str("clang " __clang_version__).attr("strip")();  // ends in a space
#elif defined(__GNUC__)
  m.attr("compiler") = "gcc " __VERSION__;
#else
  m.attr("compiler") = "unknown";
#endif

  bind::register_optim(m);
  bind::register_norms(m);
  bind::register_bench(m);
  bind::register_nn(m);
  bind::register_clip(m);
  bind::register_trading(m);
  bind::register_conv(m);
  bind::register_linear_epoch(m);
  bind::register_attention(m);
  bind::register_lstm(m);
  bind::register_gru(m);
}
