// ThreadSanitizer's suppressions for the unit tests (bazel test --config=tsan), linked into every
// test through catch2_main; the runtime asks for them through this hook, and nothing else calls
// it. absl::Mutex evaluates a waiter's Condition in whichever thread lets the lock go, inside
// Debian's Abseil, after that thread's release (tsan_absl.cc) and before the waiter's acquire:
// no point in between can tell ThreadSanitizer so. Only races reported through a Condition's
// call are suppressed.
extern "C" const char* __tsan_default_suppressions() { return "race:CastAndCall\n"; }
