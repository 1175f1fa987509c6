-- signals.lua: the signals an init of a PID namespace receives.
--
-- pid_namespaces(7): "the only signals that can be sent to the init
-- process [by members of its namespace] are those for which the init has
-- established a signal handler"; a member's kill() of init succeeds and the
-- signal is dropped. The same holds for a sender in an ancestor namespace,
-- except that SIGKILL and SIGSTOP from there are forcibly delivered. The
-- kernel's siginfo says who sent it: si_pid as the receiver's PID namespace
-- numbers the sender, 0 for a sender outside it. kill(1) is the reference
-- sender.

section("A member's SIGTERM reaches its init only through a handler")
-- The init (PID 1 of a new PID namespace) sets a disposition for SIGTERM,
-- starts a member that runs `kill -TERM 1`, then `kill -KILL 1`, and
-- reports what came.
local function init(disp)
  local got
  if disp == "handler" then
    sys.signal("TERM", function(name) got = name end)
  else
    sys.signal("TERM", disp)
  end
  local term = ns.spawn{"kill", "-TERM", "1"}:wait()
  for _ = 1, 50 do  -- sys.sleep returns early when a handler ran
    if got then break end
    sys.sleep(0.02)
  end
  local killrc = ns.spawn{"kill", "-KILL", "1"}:wait()
  return {me = ns.getpid(), term = term, got = got, killrc = killrc}
end
for _, disp in ipairs{"handler", "ignore", "default"} do
  local h = ns.clone("pid", init, disp)
  local code, how = h:wait()
  local r = h:result()
  local me, term, got, killrc = r.me, r.term, r.got, r.killrc
  say("  %-8s init is PID %s; member's kill -TERM 1 exits %s; the init saw %s; kill -KILL 1 exits %s; init %s",
      disp, tostring(me), tostring(term), tostring(got or "nothing"), tostring(killrc), how == "exit" and "survived" or "died")
  check(me == 1, "the cloned function is PID 1 of its namespace (" .. disp .. ")")
  check(term == 0 and killrc == 0, "kill(2) of the init from a member succeeds (" .. disp .. ")")
  if disp == "handler" then
    check(got == "SIGTERM", "with a handler installed, the member's SIGTERM runs it")
  else
    check(got == nil, "with \"" .. disp .. "\", the member's SIGTERM is dropped")
  end
  check(code == 0 and how == "exit", "even the member's SIGKILL is dropped: the init survives (" .. disp .. ")")
end

section("From the parent namespace: the same rule, but SIGKILL always works")
local function sleeper(disp)
  local got = "nothing"
  sys.signal("TERM", disp == "handler" and function(name) got = name end or disp)
  sys.sleep(10)  -- a handler ends the sleep early
  return got
end
for _, disp in ipairs{"default", "ignore", "handler"} do
  local h = ns.clone("pid", sleeper, disp)
  sys.sleep(0.3)
  h:kill("TERM")
  local code, how = h:wait(0.5)
  local alive = code == nil
  if alive then h:kill("KILL") end
  local _, kh, ksig = h:wait()
  if disp == "handler" then
    say("  %-8s SIGTERM from the parent namespace: the init's handler ran (%s)", disp, tostring(h:result()))
    check(not alive and h:result() == "SIGTERM", "with a handler, the ancestor's SIGTERM runs it")
  else
    say("  %-8s SIGTERM from the parent namespace: the init %s; then SIGKILL: %s %s", disp,
        alive and "is still running" or "ended", kh, tostring(ksig))
    check(alive, "with \"" .. disp .. "\", the ancestor's SIGTERM is dropped too: the init keeps running")
    check(kh == "signal" and ksig == "SIGKILL", "SIGKILL from the ancestor namespace ends the init whatever it set (" .. disp .. ")", ksig)
  end
end

section("Who sent it: si_pid in the receiver's PID namespace")
-- The init blocks SIGUSR1 and waits for it with sigtimedwait(2). A member
-- sends it (kill -USR1 1), then the parent does. The kernel numbers the
-- sender in the init's namespace; the parent has no number there: 0.
local function waiter()
  sys.sigblock("USR1")
  local m = ns.spawn{"/bin/sh", "-c", "while :; do kill -USR1 1; sleep 0.05; done"}
  local si
  repeat si = sys.sigwait("USR1", 5) until si == nil or not si.held  -- a held one has no siginfo
  m:kill("KILL"); m:wait()
  local member = {pid = si and si.pid, code = si and si.code_name, uid = si and si.uid, member = m.pid}
  repeat si = sys.sigwait("USR1", 5) until si == nil or (not si.held and si.pid ~= member.member)
  return member, {pid = si and si.pid, code = si and si.code_name, uid = si and si.uid}
end
local h = ns.clone("pid", waiter)
local sent = 0
while h:alive() do
  sys.sleep(0.05)
  sent = sent + 1
  if sent > 4 then pcall(h.kill, h, "USR1") end  -- after the member's turn
end
h:wait()
local member, parent = h:result()
say("  from the member (PID %s inside): si_pid = %s, si_code = %s, si_uid = %s", tostring(member.member), tostring(member.pid), tostring(member.code), tostring(member.uid))
say("  from the parent (PID %d outside): si_pid = %s, si_code = %s", ns.getpid(), tostring(parent.pid), tostring(parent.code))
check(member.pid == member.member, "a member's si_pid is its PID in the init's namespace", member.pid)
check(member.code == "SI_USER", "kill(2) gives si_code SI_USER", member.code)
check(parent.pid == 0, "a sender from the parent namespace has si_pid 0: it has no number there", parent.pid)
check(parent.code == "SI_USER", "and the parent's signal came by kill(2) too", parent.code)
finish()
