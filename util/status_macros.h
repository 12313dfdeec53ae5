// RETURN_IF_ERROR / ASSIGN_OR_RETURN: the early returns every Status-based
// code base writes, spelled once for the whole project.
//
//   RETURN_IF_ERROR(vm.CreateIrqchip());
//   ASSIGN_OR_RETURN(std::unique_ptr<EventLoop> loop, EventLoop::Create());
//
// The error is returned as it is; callers that add context (most errors in
// kuml name the switch or file they concern) write the check out instead.
#ifndef KUML_UTIL_STATUS_MACROS_H_
#define KUML_UTIL_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define RETURN_IF_ERROR(expr)                               \
  do {                                                      \
    const absl::Status kuml_status_macros_status_ = (expr); \
    if (!kuml_status_macros_status_.ok()) {                 \
      return kuml_status_macros_status_;                    \
    }                                                       \
  } while (0)

// `lhs` may declare a variable ("auto x") or name an existing one.
#define ASSIGN_OR_RETURN(lhs, expr) \
  KUML_ASSIGN_OR_RETURN_IMPL_(      \
      KUML_STATUS_MACROS_CONCAT_(kuml_status_or_, __LINE__), lhs, expr)

#define KUML_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)   \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = *std::move(statusor)

#define KUML_STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define KUML_STATUS_MACROS_CONCAT_(a, b) KUML_STATUS_MACROS_CONCAT_INNER_(a, b)

#endif  // KUML_UTIL_STATUS_MACROS_H_
