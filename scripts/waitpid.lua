-- waitpid.lua: waiting on several cloned children at once.
--
-- Seed 004 asks "howto waitpid on more than one cloned child?". The kernel's
-- answer is waitpid(-1, ...) (any child) or one waitpid per child. Here five
-- children, each in its own set of new namespaces, end at different times
-- with different exit codes; ns.waitany collects them in the order they end.
-- Seed: 004.

section("Waiting for several cloned children")
local plans = {
  {types = "pid", delay = 0.40, code = 11},
  {types = "uts", delay = 0.10, code = 12},
  {types = "pid,uts,ipc", delay = 0.30, code = 13},
  {types = "net", delay = 0.05, code = 14},
  {types = "pid,net,mnt", delay = 0.20, code = 15},
}
local handles, by_pid = {}, {}
for i, p in ipairs(plans) do
  local h = ns.clone(p.types, function(delay, code)
    sys.sleep(delay)
    return code
  end, p.delay, p.code)
  handles[i] = h
  by_pid[h.pid] = p
  say("  child %d: pid %-6d new %-12s sleeps %.2fs, exits %d", i, h.pid, p.types, p.delay, p.code)
end

local nsids = {}
for i, h in ipairs(handles) do nsids[i] = h:ns() end

say("\nCollecting exit statuses as the children end:")
local order, codes = {}, {}
while true do
  local h, code, how = ns.waitany(handles, 10)
  if not h then break end
  say("  pid %-6d ended: %s %d", h.pid, how, code)
  order[#order + 1] = by_pid[h.pid].delay
  codes[by_pid[h.pid].code] = code
end

check(#order == #plans, "every child's exit status was collected", #order)
local all = true
for _, p in ipairs(plans) do if codes[p.code] ~= p.code then all = false end end
check(all, "each child's exit status is the code it returned")
local sorted = true
for i = 2, #order do if order[i] < order[i - 1] then sorted = false end end
check(sorted, "they were collected in the order they ended, not the order they were started")
check(nsids[1].pid ~= nsids[3].pid and nsids[3].pid ~= nsids[5].pid, "each child with \"pid\" got a PID namespace of its own")
check(nsids[4].net ~= nsids[5].net and nsids[4].net ~= ns.id("net"), "each child with \"net\" got a network namespace of its own")
check(nsids[1].pid ~= ns.id("pid"), "and none of them is nsh's own")
check(ns.waitany(handles) == nil, "nothing is left to wait for")
finish()
