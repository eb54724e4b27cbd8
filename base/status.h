// Error handling helpers: errno -> absl::Status at the syscall boundary, and the propagation
// macros that Abseil 20220623 does not ship.
#pragma once

#include <cerrno>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace mosix {

// A Status for a failed system call: "CALL OBJECT: strerror(err)", with a code that matches err.
absl::Status ErrnoStatus(int err, absl::string_view call, absl::string_view object);

// Same, with errno as it is now.
inline absl::Status ErrnoStatus(absl::string_view call, absl::string_view object) {
  return ErrnoStatus(errno, call, object);
}

// Prefixes a status message with context, keeping its code.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

}  // namespace mosix

#define MOSIX_CONCAT_INNER(a, b) a##b
#define MOSIX_CONCAT(a, b) MOSIX_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::absl::Status _mosix_status = (expr);     \
    if (!_mosix_status.ok()) return _mosix_status; \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(MOSIX_CONCAT(_mosix_statusor_, __LINE__), lhs, expr)

#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
