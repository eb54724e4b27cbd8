#!/bin/bash
# Terminal job control through a real terminal: an interactive bash on a pseudo-terminal runs
# `mosrun -r node2 counter`; the program runs on node2 and prints on the terminal at home.
# Ctrl-Z stops it (the shell reports it stopped, and both its parts are stopped), `fg` resumes
# it where it was, and Ctrl-C ends it (the shell sees 130).
source "$(dirname "$0")/lib.sh"
start_cluster pty 2
MOSIX_SOCKET="$MOSIX_LOCALCLUSTER_DIR/node1/mosixd.sock" python3 - "$MOSCTL" "$MOSRUN" "$PROGS/counter" <<'EOF'
import os, pty, re, select, signal, sys, time

mosctl, mosrun, counter = sys.argv[1:4]
DEADLINE = 60

pid, fd = pty.fork()
if pid == 0:
    os.execvp(mosctl, [mosctl, "localcluster", "exec", "node1", "--",
                       "env", "PS1=READY$ ", "TERM=dumb", "bash", "--norc", "--noprofile", "-i"])

seen = b""
consumed = b""  # what the last read_until read up to its match
def read_until(pattern, what):
    global seen, consumed
    end = time.time() + DEADLINE
    while time.time() < end:
        m = re.search(pattern, seen)
        if m:
            consumed, seen = seen[:m.end()], seen[m.end():]
            return m
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    sys.exit("FAIL: timed out waiting for %s; the terminal showed: %r" % (what, seen[-600:]))

def state(p):
    try:
        with open("/proc/%d/status" % p) as f:
            return re.search(r"State:\s+(\S)", f.read()).group(1)
    except OSError:
        return "gone"

def wait_state(pids, ok, what):
    end = time.time() + DEADLINE
    while time.time() < end:
        if all(ok(state(p)) for p in pids):
            return
        time.sleep(0.05)
    sys.exit("FAIL: timed out waiting for %s (states %s)" % (what, [state(p) for p in pids]))

read_until(rb"READY\$ ", "the shell's prompt")
os.write(fd, ("%s -r node2 %s 1000\n" % (mosrun, counter)).encode())
m = read_until(rb"\[pid (\d+)\] step +(\d+)", "the program's first step")
home = int(m.group(1))
# The part on node2: the counter process that is not the home pid.
end = time.time() + DEADLINE
away = None
while time.time() < end and away is None:
    for p in os.listdir("/proc"):
        if p.isdigit() and int(p) != home:
            try:
                cmd = open("/proc/%s/cmdline" % p, "rb").read().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0] == counter.encode() and b"/node2" in open("/proc/%s/cgroup" % p, "rb").read():
                away = int(p)
    time.sleep(0.05)
if away is None:
    sys.exit("FAIL: no part of pid %d on node2" % home)
print("ok: mosrun -r node2 under an interactive bash: pid %d runs on node2 as %d, printing on the terminal" % (home, away))

last = int(m.group(2))
os.write(fd, b"\x1a")  # Ctrl-Z
read_until(rb"Stopped", "the shell to report the job stopped")
printed = [int(x) for x in re.findall(rb"step +(\d+)", consumed)]
last = max([last] + printed)
wait_state([home, away], lambda s: s == "T", "both parts to stop")
seen = b""
time.sleep(0.5)  # a stopped program prints nothing more; wait a little to see that
r, _, _ = select.select([fd], [], [], 0)
quiet = not (r and re.search(rb"step", os.read(fd, 4096)))
if not quiet:
    sys.exit("FAIL: the stopped program kept printing")
print("ok: Ctrl-Z: the shell reports it stopped, both parts are stopped, nothing is printed")

os.write(fd, b"fg\n")
m = read_until(rb"step +(\d+)", "a step after fg")
if int(m.group(1)) != last + 1:
    sys.exit("FAIL: stopped after step %d, resumed at step %s" % (last, m.group(1).decode()))
wait_state([home, away], lambda s: s in ("R", "S"), "both parts to run again")
print("ok: fg: stopped after step %d, it goes on with step %s" % (last, m.group(1).decode()))

os.write(fd, b"\x03")  # Ctrl-C
read_until(rb"READY\$ ", "the prompt after Ctrl-C")
os.write(fd, b"echo status=$?\n")
m = read_until(rb"status=(\d+)", "the exit status")
if m.group(1) != b"130":
    sys.exit("FAIL: after Ctrl-C the shell saw status %s, not 130" % m.group(1).decode())
wait_state([away], lambda s: s in ("gone", "Z"), "the part on node2 to end")
print("ok: Ctrl-C: the program ended on node2 and the shell saw status 130")
os.write(fd, b"exit\n")
os.waitpid(pid, 0)
EOF
