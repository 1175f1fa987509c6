-- utsns.lua: a hostname of one's own.
--
-- A new UTS namespace starts as a copy of its parent's hostname and NIS
-- domain name; changing them inside changes nothing outside. Seeds: 003, 004.

section("UTS namespaces: hostname and domainname")
local host_name, host_domain = sys.hostname(), sys.domainname()
local host_uts = ns.id("uts")
say("The host (nsh's UTS namespace uts:[%d]) is called %q, domain %q.", host_uts, host_name, host_domain)

say("\nA child in a new UTS namespace sets its own names (clone(CLONE_NEWUTS)):")
local h = ns.clone("uts", function(name, domain)
  local before = sys.hostname()
  sys.hostname(name)
  sys.domainname(domain)
  local u = sys.uname()
  return {before = before, hostname = sys.hostname(), domainname = sys.domainname(),
          nodename = u.nodename, uts = ns.id("uts")}
end, "container-1", "lab.example")
check(h:wait() == 0, "the child ran")
local r = h:result()
say("  inside: hostname %q (was %q before it changed it), domainname %q, uname nodename %q, uts:[%d]",
    r.hostname, r.before, r.domainname, r.nodename, r.uts)
check(r.before == host_name, "a new UTS namespace starts with a copy of its parent's hostname")
check(r.hostname == "container-1" and r.nodename == "container-1", "inside, the hostname is the one the child set")
check(r.domainname == "lab.example", "inside, the domainname is the one the child set")
check(r.uts ~= host_uts, "the child's UTS namespace inode differs from the host's", r.uts, host_uts)
check(sys.hostname() == host_name, "the host's hostname is unchanged", sys.hostname())
check(sys.domainname() == host_domain, "the host's domainname is unchanged")

say("\nThe shell itself can move too (unshare(CLONE_NEWUTS) on nsh's own thread):")
ns.unshare("uts")
sys.hostname("inside")
print(view.ns())
local out = sys.run("hostname")
check(out == "inside\n", "a command run from the shell now sees the new name", out)
ns.restore("uts")
check(sys.hostname() == host_name, "after ns.restore() the shell is back in the host's UTS namespace, whose name never changed")
finish()
