-- nsh's Lua prelude: small helpers every experiment uses. Each global here
-- is documented in __preludedoc, which nsh moves into help().

local failures = 0
local passes = 0

function check(cond, claim, ...)
  if cond then
    passes = passes + 1
    print("  ok    " .. claim)
  else
    failures = failures + 1
    local detail = select("#", ...) > 0 and (" (" .. table.concat({...}, " ") .. ")") or ""
    print("  FAIL  " .. claim .. detail)
  end
  return cond
end

function checks()
  return passes, failures
end

function finish()
  print(string.format("\n%d checks passed, %d failed", passes, failures))
  if failures > 0 then
    os.exit(1)
  end
end

function say(fmt, ...)
  if select("#", ...) > 0 then
    print(string.format(fmt, ...))
  else
    print(fmt)
  end
end

function section(title)
  print("\n== " .. title .. " " .. string.rep("=", math.max(0, 66 - #title)))
end

__preludedoc = {
  check = {args = "(cond, claim, ...)", doc = "Records one claim of an experiment: prints 'ok' or 'FAIL' with the claim (and any details). finish() makes the script fail if any check failed.", example = "check(ns.getpid() == 1, \"the first process of a new PID namespace is PID 1\")"},
  checks = {args = "()", doc = "The numbers of passed and failed checks so far.", example = "local ok, bad = checks()"},
  finish = {args = "()", doc = "Prints the check summary and exits with status 1 if any check failed.", example = "finish()"},
  say = {args = "(fmt, ...)", doc = "Prints a line, formatted with string.format when arguments follow.", example = "say(\"child has PID %d\", h.pid)"},
  section = {args = "(title)", doc = "Prints a section heading.", example = "section(\"PID namespaces\")"},
}
