// A typed address in another process's memory (rr style): it can be compared, offset and
// printed, never dereferenced here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_format.h"

namespace mosix {

template <typename T>
class RemotePtr {
 public:
  constexpr RemotePtr() = default;
  constexpr explicit RemotePtr(uint64_t addr) : addr_(addr) {}

  template <typename U>
  RemotePtr<U> cast() const { return RemotePtr<U>(addr_); }

  constexpr uint64_t addr() const { return addr_; }
  constexpr bool null() const { return addr_ == 0; }
  // Pointer arithmetic in units of T (bytes for void).
  RemotePtr operator+(ptrdiff_t n) const { return RemotePtr(addr_ + n * Size()); }
  bool operator==(RemotePtr o) const { return addr_ == o.addr_; }
  bool operator!=(RemotePtr o) const { return addr_ != o.addr_; }
  std::string ToString() const { return absl::StrFormat("%#x", addr_); }

 private:
  static constexpr size_t Size() {
    if constexpr (std::is_void_v<T>) {
      return 1;
    } else {
      return sizeof(T);
    }
  }
  uint64_t addr_ = 0;
};

}  // namespace mosix
