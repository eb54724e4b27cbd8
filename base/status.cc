#include "base/status.h"

#include <cstring>

namespace mosix {

absl::Status ErrnoStatus(int err, absl::string_view call, absl::string_view object) {
  std::string msg = object.empty() ? absl::StrCat(call, ": ", strerror(err))
                                   : absl::StrCat(call, " ", object, ": ", strerror(err));
  switch (err) {
    case ENOENT:
    case ESRCH:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case EINVAL:
    case E2BIG:
    case ENAMETOOLONG:
      return absl::InvalidArgumentError(msg);
    case ENOSPC:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
      return absl::ResourceExhaustedError(msg);
    case EAGAIN:
    case EBUSY:
    case ECONNREFUSED:
      return absl::UnavailableError(msg);
    case ENOSYS:
    case EOPNOTSUPP:
      return absl::UnimplementedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

}  // namespace mosix
