#include "agent/process/process_state.h"

namespace mosix::agent {

std::string_view StateName(ProcState s) {
  switch (s) {
    case ProcState::kHome:
      return "home";
    case ProcState::kFrozen:
      return "frozen";
    case ProcState::kRemote:
      return "remote";
  }
  return "unknown";
}

bool MayBecome(ProcState from, ProcState to) {
  if (from == to) return true;
  switch (from) {
    case ProcState::kHome:
      return true;  // frozen, or away
    case ProcState::kFrozen:
      return to == ProcState::kHome;  // continued (a frozen process moves only once back)
    case ProcState::kRemote:
      return to == ProcState::kHome;
  }
  return false;
}

}  // namespace mosix::agent
