// A rule's hyperparameters come from one list per rule, X(type, field, name): the struct's
// fields, and the names Python passes them by (also the names an error message gives them:
// "betas[0]", "eps[1]"). C++ exports the names of every rule (_core.rules); Python orders a
// group's values by them, so no positional contract joins the two sides.
//
//   #define STEEPEST_ADAM_HYPER(X) X(double, lr, "lr") X(double, beta1, "betas[0]") ...
//   STEEPEST_HYPER_STRUCT(AdamHyper, STEEPEST_ADAM_HYPER)
//
// declares struct AdamHyper { double lr; double beta1; ... } (an aggregate, fields in the list's
// order) with kNames (the names, in that order) and each(h, f), which calls f(name, h.field)
// for every field in that order.
#pragma once

#define STEEPEST_HYPER_FIELD(type, field, name) type field;
#define STEEPEST_HYPER_VISIT(type, field, name) f(name, h.field);
#define STEEPEST_HYPER_NAME(type, field, name) name,

#define STEEPEST_HYPER_STRUCT(Struct, LIST)  \
  struct Struct {                            \
    LIST(STEEPEST_HYPER_FIELD)               \
    static constexpr const char* kNames[] = { \
        LIST(STEEPEST_HYPER_NAME)};          \
    template <class H, class F>              \
    static void each(H& h, F&& f) {          \
      LIST(STEEPEST_HYPER_VISIT)             \
    }                                        \
  };
