// Every update rule's hyperparameters, per-tensor scalars and kernel signature.
#pragma once

#include "steepest/optim/adadelta.h"
#include "steepest/optim/adafactor.h"
#include "steepest/optim/adagrad.h"
#include "steepest/optim/adam.h"
#include "steepest/optim/adamax.h"
#include "steepest/optim/asgd.h"
#include "steepest/optim/clip.h"
#include "steepest/optim/lamb.h"
#include "steepest/optim/lars.h"
#include "steepest/optim/lion.h"
#include "steepest/optim/nadam.h"
#include "steepest/optim/radam.h"
#include "steepest/optim/reduce.h"
#include "steepest/optim/rmsprop.h"
#include "steepest/optim/rprop.h"
#include "steepest/optim/sgd.h"
