// Under ThreadSanitizer only (bazel test --config=tsan): tells it what Debian's Abseil, not built
// with it, does not. absl::Mutex, absl::CondVar and absl::Notification synchronize inside
// libabsl_synchronization.so, where the sanitizer sees nothing, so every piece of data they
// guard would look racy. Each entry point our code calls is defined again here, in the test
// executable (which comes first in symbol lookup): it calls the library's own definition (the
// next one of the same name) and marks the happens-before edge that the call makes
// (__tsan_release before letting go, __tsan_acquire after taking). Test-only: linked into the
// unit tests through catch2_main.
#if defined(__SANITIZE_THREAD__)

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);

#pragma GCC diagnostic ignored "-Wpmf-conversions"

namespace {

// The library's definition of the function whose definition here is at `ours`.
void* Real(void* ours) {
  Dl_info info;
  void* real = dladdr(ours, &info) && info.dli_sname ? dlsym(RTLD_NEXT, info.dli_sname) : nullptr;
  if (!real) {
    fprintf(stderr, "tsan_absl: no library definition behind %p\n", ours);
    abort();
  }
  return real;
}

template <typename Fn, typename Pmf>
Fn RealOf(Pmf pmf) {
  return reinterpret_cast<Fn>(Real(reinterpret_cast<void*>(pmf)));
}

void Acquire(const void* p) { __tsan_acquire(const_cast<void*>(p)); }
void Release(const void* p) { __tsan_release(const_cast<void*>(p)); }

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  static auto real = RealOf<void (*)(Mutex*)>(&Mutex::Lock);
  real(this);
  Acquire(this);
}

void Mutex::Unlock() {
  static auto real = RealOf<void (*)(Mutex*)>(&Mutex::Unlock);
  Release(this);
  real(this);
}

bool Mutex::TryLock() {
  static auto real = RealOf<bool (*)(Mutex*)>(&Mutex::TryLock);
  bool r = real(this);
  if (r) Acquire(this);
  return r;
}

void Mutex::ReaderLock() {
  static auto real = RealOf<void (*)(Mutex*)>(&Mutex::ReaderLock);
  real(this);
  Acquire(this);
}

void Mutex::ReaderUnlock() {
  static auto real = RealOf<void (*)(Mutex*)>(&Mutex::ReaderUnlock);
  Release(this);
  real(this);
}

bool Mutex::ReaderTryLock() {
  static auto real = RealOf<bool (*)(Mutex*)>(&Mutex::ReaderTryLock);
  bool r = real(this);
  if (r) Acquire(this);
  return r;
}

void Mutex::Await(const Condition& cond) {
  static auto real = RealOf<void (*)(Mutex*, const Condition&)>(&Mutex::Await);
  Release(this);
  real(this, cond);
  Acquire(this);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  static auto real = RealOf<bool (*)(Mutex*, const Condition&, absl::Duration)>(&Mutex::AwaitWithTimeout);
  Release(this);
  bool r = real(this, cond, timeout);
  Acquire(this);
  return r;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
  static auto real = RealOf<bool (*)(Mutex*, const Condition&, absl::Time)>(&Mutex::AwaitWithDeadline);
  Release(this);
  bool r = real(this, cond, deadline);
  Acquire(this);
  return r;
}

void Mutex::LockWhen(const Condition& cond) {
  static auto real = RealOf<void (*)(Mutex*, const Condition&)>(&Mutex::LockWhen);
  real(this, cond);
  Acquire(this);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  static auto real = RealOf<void (*)(Mutex*, const Condition&)>(&Mutex::ReaderLockWhen);
  real(this, cond);
  Acquire(this);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  static auto real = RealOf<bool (*)(Mutex*, const Condition&, absl::Duration)>(&Mutex::LockWhenWithTimeout);
  bool r = real(this, cond, timeout);
  Acquire(this);
  return r;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  static auto real = RealOf<bool (*)(Mutex*, const Condition&, absl::Time)>(&Mutex::LockWhenWithDeadline);
  bool r = real(this, cond, deadline);
  Acquire(this);
  return r;
}

void CondVar::Wait(Mutex* mu) {
  static auto real = RealOf<void (*)(CondVar*, Mutex*)>(&CondVar::Wait);
  Release(mu);
  real(this, mu);
  Acquire(mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  static auto real = RealOf<bool (*)(CondVar*, Mutex*, absl::Duration)>(&CondVar::WaitWithTimeout);
  Release(mu);
  bool r = real(this, mu, timeout);
  Acquire(mu);
  return r;
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  static auto real = RealOf<bool (*)(CondVar*, Mutex*, absl::Time)>(&CondVar::WaitWithDeadline);
  Release(mu);
  bool r = real(this, mu, deadline);
  Acquire(mu);
  return r;
}

// HasBeenNotified() is inline: an acquire load of the flag that follows the Notification's
// mutex. Notify releases on that flag's address too.
void Notification::Notify() {
  static auto real = RealOf<void (*)(Notification*)>(&Notification::Notify);
  Release(this);
  Release(reinterpret_cast<const char*>(this) + sizeof(Mutex));
  real(this);
}

void Notification::WaitForNotification() const {
  static auto real = RealOf<void (*)(const Notification*)>(&Notification::WaitForNotification);
  real(this);
  Acquire(this);
}

bool Notification::WaitForNotificationWithTimeout(absl::Duration timeout) const {
  static auto real = RealOf<bool (*)(const Notification*, absl::Duration)>(&Notification::WaitForNotificationWithTimeout);
  bool r = real(this, timeout);
  if (r) Acquire(this);
  return r;
}

bool Notification::WaitForNotificationWithDeadline(absl::Time deadline) const {
  static auto real = RealOf<bool (*)(const Notification*, absl::Time)>(&Notification::WaitForNotificationWithDeadline);
  bool r = real(this, deadline);
  if (r) Acquire(this);
  return r;
}

ABSL_NAMESPACE_END
}  // namespace absl

#endif  // __SANITIZE_THREAD__
