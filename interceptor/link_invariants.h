// The move protocol's invariants: when a process away from home, or its deputy at home, may be
// caught and have its link replaced, and which side owns a call in flight. The shim keeps them
// (remote.cc, deputy.cc: the phases it publishes in mosix_shim_info); the agent obeys them
// through the predicates below (arrivals.cc before a guest leaves, checkpoint/deputy.cc before
// a deputy is held or relinked). Header-only, no dependencies: the freestanding shim and the
// agent both include it.
//
// The link is a byte stream of framed messages (forward_protocol.h); call and reply alternate.
//
// I1. Call ids. Each forwarded call has an id (shim_info.call_id, bumped per call). The deputy
//     runs a call once: a call that arrives again with the id it last answered gets that
//     answer again (the deputy keeps it), never a second run. A reply whose id is not the
//     call being waited for is dropped by the remote part.
// I2. Message boundaries. Each side publishes link_phase: SENDING from before its first byte
//     is written until its last one is, RECEIVING from before it reads the first byte of a
//     message until the message is whole (a read that found nothing ends the phase). A link is
//     replaced under a side only when that side is IDLE: no half message can cross links.
//     The deputy waits for a request in poll() while IDLE, never inside a read.
// I3. Who owns a call in flight. Once a request is wholly sent, the deputy owns it: it runs it
//     (once, I1) and answers on whatever link it has when the answer is ready. The remote part
//     only waits. So:
//       - moving on to another node: the deputy is relinked first (IDLE, I2), then the remote
//         part is caught when it is not forwarding or is IDLE (RemoteMayLeave). Restored over
//         there, link_epoch has changed: it sends the call again at once on the new link (I1
//         makes that harmless; an answer sent on the old link is lost, and answered again).
//       - a move that fails after the relink puts the old link back and bumps the epoch of the
//         copy that stays (FinishDeparture), which then sends its call again the same way.
//       - coming home: the deputy is held where it is not running the call (it finished it, or
//         it is blocked in it and the call can restart), and the remote part is caught only if
//         its call was not answered (its answer would be lost with the link) and it is in its
//         wait. Home, it makes the call itself, natively.
// I4. Signals. A signal to the home pid reaches the deputy. While the deputy runs a call for
//     the remote part, the signal interrupts that call and rides back with its answer
//     (mosix_fwd_return.signals). Otherwise the agent sends it to the remote part's node,
//     and the deputy remembers it as sent out of band: a call that starts before the remote
//     part saw that signal is not made but answered "interrupted, wait for these signals"
//     (mosix_fwd_return.outband), so no forwarded call blocks at home while a signal waits
//     over there. The remote part checks for pending signals before it forwards a call, and
//     runs the calls that block locally (futex, pause, sigsuspend, sleeps, sigtimedwait)
//     outside its SIGSYS handler, with the program's own signal mask. A call with a mask of
//     its own (pselect6, ppoll, epoll_pwait) is checked against that mask: a pending signal
//     it lets through interrupts it there and then, handler run (mosix_interrupt_gadget).
//     An end the remote part's node could not tell home (the home agent was down) stays
//     with that node a while, for the home to find when it asks (Mover::DeputyWaits).
// I5. Agent restarts. Through TLS the link runs through a relay in each agent. When the home
//     agent stops, the deputy finds its link closed and its channel gone, and the remote part
//     finds its link closed (its node's agent is alive): each waits, IDLE, up to
//     MOSIX_RELINK_WAIT_S, for link_epoch to change. The restarted home agent, from its table
//     on disk, gives the deputy a new channel and a new link (IDLE, I2) and bumps its epoch;
//     the node puts the other end into the remote part (IDLE) and bumps its epoch; the remote
//     part sends its call again (I1: run once). A side that gets no new link in time ends (the
//     deputy with 112), and the node ends a guest whose link's far end closed longer ago than
//     that. A node agent that stops sends its guests home first. Guests outlive a node
//     agent that dies: the next one takes them back from its records (arrivals_adopt.cc)
//     and tells each home (StillHere), which relinks it through TLS the same way, home's
//     side first; the deputy, its link closed, waits meanwhile (DeputyWaits keeps it
//     waiting while the node's machine refuses connections, up to kAgentRestartGrace).
//     A copy that is a stub or has left and waits to be ended dies with its agent (its
//     lifeline, agent/lifeline.h). When the node stays silent or the grace passes, the
//     home agent brings the process back from a checkpoint or ends its deputy.
// I6. Ends. A remote part that exits tells its deputy how (MOSIX_FWD_EXIT) as it makes a call:
//     it waits for the deputy's answer, and sends it again on a new link (I3, I5), before it
//     ends. So an exit made while its node's agent restarts (the link through it closed) is
//     not lost: the status reaches home on the link the next agent gives it. (It was: a python3
//     that ended in such a gap left its deputy to end as lost, 112.) A death by a signal over
//     there is told by the node's agent, which reaps the guest (Arrivals): not while it is down.
#ifndef MOSIX_INTERCEPTOR_LINK_INVARIANTS_H_
#define MOSIX_INTERCEPTOR_LINK_INVARIANTS_H_

#include <stdint.h>

#include "interceptor/shim_info.h"

namespace mosix::link {

// Why a remote part is being taken off its node.
enum class Departure {
  kBetweenCalls,  // only between forwarded calls
  kOnward,        // to another node: the deputy already answers on the new link
  kIntoDeputy,    // home into its held deputy, or an image that deputy can continue from
};

// Whether a remote part may be caught now (I2, I3). `answered_id` is the last call the held
// deputy finished (kIntoDeputy only); `in_poll_wait` whether it is stopped inside the poll of its
// wait for a reply.
inline bool RemoteMayLeave(const mosix_shim_info& info, Departure why, uint32_t answered_id, bool in_poll_wait) {
  if (!info.forwarding) return true;
  if (info.link_phase != MOSIX_LINK_IDLE) return false;
  switch (why) {
    case Departure::kBetweenCalls:
      return false;
    case Departure::kOnward:
      return true;
    case Departure::kIntoDeputy:
      return info.call_id != answered_id && in_poll_wait;
  }
  return false;
}

// Whether a deputy may be held for its process to come home into it, or for a checkpoint of
// the remote part (I3): not running a call, or blocked inside one that restarts (`in_call`
// and stopped in a restartable system call).
inline bool DeputyMayHold(const mosix_shim_info& info, bool stopped_in_restartable_call) {
  return info.serving_id == 0 || (info.in_call && stopped_in_restartable_call);
}

// Whether a deputy's link may be replaced now (I2).
inline bool DeputyMayRelink(const mosix_shim_info& info) { return info.link_phase == MOSIX_LINK_IDLE; }

}  // namespace mosix::link

#endif  // MOSIX_INTERCEPTOR_LINK_INVARIANTS_H_
