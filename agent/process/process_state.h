// Where a process under mosrun is, as its home agent knows it, and how that may change. The
// home agent alone changes it, while it holds the process (ProcessTable::Acquire/Release).
//
//   kHome   --freeze-->          kFrozen   (its image on the home node's disk, the process parked)
//   kFrozen --continue-->        kHome
//   kHome   --move to a node-->  kRemote   (its deputy stays home)
//   kRemote --move on-->         kRemote
//   kRemote --come home, or back from its checkpoint when its node died--> kHome
#pragma once

#include <string_view>

namespace mosix::agent {

enum class ProcState { kHome, kFrozen, kRemote };

// As mosps and migrate show it: "home", "frozen", "remote".
std::string_view StateName(ProcState s);
// Whether a process in `from` may be put in `to` (staying the same is always allowed).
bool MayBecome(ProcState from, ProcState to);

}  // namespace mosix::agent
