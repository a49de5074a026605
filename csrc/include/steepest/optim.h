// Every update rule's hyperparameters, per-tensor scalars and kernel signature.
#pragma once

#include "steepest/optim/adafactor.h"
#include "steepest/optim/adam.h"
#include "steepest/optim/lamb.h"
#include "steepest/optim/lars.h"
#include "steepest/optim/reduce.h"
#include "steepest/optim/sgd.h"
