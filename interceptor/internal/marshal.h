// Marshalling of forwarded system calls, driven by the syscall table: the remote side encodes a
// call and applies the return to the program's memory; the deputy decodes, executes, encodes.
// Freestanding (see shim.cc's rules). Internal to interceptor/.
#ifndef MOSIX_INTERCEPTOR_INTERNAL_MARSHAL_H_
#define MOSIX_INTERCEPTOR_INTERNAL_MARSHAL_H_

#include <stddef.h>
#include <stdint.h>

#include "interceptor/syscall_table.h"

namespace mosix::shim {

// Remote side. Encodes nr(args) as a CALL message (header included) into out; returns its
// length, or -1 if it cannot fit. args may be adjusted (lengths clamped to what fits).
long EncodeCall(const SyscallEntry& e, long nr, long args[6], uint32_t id, char* out, size_t cap);
// Copies a RETURN's out data into the program's buffers; returns the call's result. *outband
// is the RETURN's outband (nonzero: the call was not made; see mosix_fwd_return).
long ApplyReturn(const SyscallEntry& e, const long args[6], const char* payload, size_t len, uint32_t* outband);

// Deputy side. While a call runs (mosix_shim_info.in_call), signals are collected here (by the
// deputy's handler) instead of being sent through the agent; ServeCall puts them into the
// RETURN.
extern volatile uint64_t g_signals_while_serving;
// The deputy's count of signals it sent to the remote part out of band (through the agents),
// bumped by its handler; a call whose remote part has not seen them all is not made (I4).
extern volatile uint32_t g_outband_sent;

// The deputy's handler, on a signal that arrived while a call is served: if the call's system
// call has not begun, it will not (it returns -EINTR), so that no signal goes unnoticed between
// the check and the kernel's wait. `rip` is the interrupted instruction pointer, updated.
void CancelCallIfStarting(uint64_t* rip);

// Decodes a CALL payload, runs it, and encodes the RETURN (header included) into out; returns
// its length. fds in `refused` (the deputy's own) answer EBADF. `run`, if given, makes the
// decoded call instead of the kernel (the fuzz test: the bytes come from another machine).
using RunCall = long (*)(long nr, long args[6]);
size_t ServeCall(const char* payload, size_t len, uint32_t id, char* out, size_t cap, int refused_a, int refused_b,
                 RunCall run = nullptr);

}  // namespace mosix::shim

#endif  // MOSIX_INTERCEPTOR_INTERNAL_MARSHAL_H_
