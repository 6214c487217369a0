#ifndef ROBOTNI_RUNTIME_PYTHON_ROBOTNI_MODULE_H_
#define ROBOTNI_RUNTIME_PYTHON_ROBOTNI_MODULE_H_

// The built-in `_robotni` module tasks import (docs/robotni-module.md). C API,
// multi-phase init (PEP 489), per-module state and heap types (PEP 630), so every
// sub-interpreter gets its own module, types and state.

#include <Python.h>

#include <atomic>

#include "python/task_context.h"

namespace robotni::python {

// Per-interpreter link from the module to the host: the task that currently runs in
// this interpreter (nullptr between tasks; output then goes to `fallback`).
struct InterpreterSlot {
  std::atomic<TaskContext*> context{nullptr};
  TaskContext* fallback = nullptr;
  TaskContext* current() const {
    TaskContext* c = context.load(std::memory_order_acquire);
    return c ? c : fallback;
  }
};

// Registers `_robotni` as a built-in module. Call before Py_Initialize.
void RegisterRobotniModule();

// Imports `_robotni` in the current interpreter (GIL held): from the inittab when robotni
// started CPython, else built from its definition (a host program started CPython). New
// reference, or nullptr with a Python error set.
PyObject* ImportRobotniModule();

// Links the imported module object of this interpreter to `slot`, and this (executor)
// thread to it (GIL held).
void BindRobotniModule(PyObject* module, InterpreterSlot* slot);

}  // namespace robotni::python

#endif  // ROBOTNI_RUNTIME_PYTHON_ROBOTNI_MODULE_H_
