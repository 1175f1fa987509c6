-- shaping.lua: a token bucket on a veth gives the rate it was told, what
-- the link sends and nothing else, as a Go iperf between two nodes shows.
--
-- A link's transmit path goes through its root qdisc (queueing discipline).
-- A veth's is noqueue: a packet handed to it goes straight to the peer.
-- `tc qdisc replace dev eth0 root tbf rate 10mbit burst 32kb` puts a token
-- bucket filter there instead: tokens (bytes) fill the bucket at the rate,
-- up to burst; a packet leaves when the bucket holds its size, else waits
-- in tbf's queue (latency sizes it). node:shape asks the kernel for exactly
-- that over rtnetlink, node:qdiscs reads it back as `tc -s qdisc show` does,
-- node:iperf measures it (a TCP stream written in Go, no external tool).
-- netem (delay, loss) is a qdisc too, and kernels may lack it.

local want10 = 10e6 * 1448 / 1514  -- TCP payload of full frames at 10 Mbit/s
local function mbit(r) return string.format("%.2f Mbit/s", r.bits_per_second / 1e6) end
-- A shaper never gives more than its rate (plus one burst); a busy machine
-- may give less, when the sender does not keep the queue full.
local function near(r, rate)
  local want = rate * 1448 / 1514
  return r.bits_per_second <= want * 1.07 and r.bits_per_second >= want * 0.7 -- a busy machine undershoots; tbf never lets it overshoot
end

section("Two nodes on one bridge")
local lab = net.lab{name = "shaping", helpers = false}
lab:bridge("shape0")
local a, b = lab:node("a"), lab:node("b")
lab:link(a, "shape0", {addr = "10.53.57.1/24"})
lab:link(b, "shape0", {addr = "10.53.57.2/24"})
lab:wait()
local q = a:qdiscs("eth0")
print(q)
check(#q == 1 and q[1].kind == "noqueue", "a veth starts with noqueue: no queue, no shaping", q[1].kind)
local free = a:iperf(b, {seconds = 0.5})
print(free)
check(free.bits_per_second > 200e6, "unshaped, a -> b carries hundreds of Mbit/s or more (memory copies between namespaces)", mbit(free))

section("A token bucket: 10 Mbit/s, 32 KiB of burst")
q = a:shape("eth0", {rate = "10mbit", burst = "32kb"})
print(q)
check(q[1].kind == "tbf" and q[1].rate == 10e6 and q[1].parent == "root", "eth0 of a has a tbf at its root, rate 10 Mbit/s")
check(math.abs(q[1].burst - 32768) <= 2, "burst 32kb is 32768 bytes (tc's k is 1024; the kernel keeps it as time, so it reads back rounded)", q[1].burst)
check(q[1].limit == 10e6 / 8 * 0.05 + 32768, "the queue holds 50 ms of the rate plus the burst: 62500 + 32768 bytes (tc's latency 50ms)", q[1].limit)
local r = a:iperf(b)
print(r)
check(near(r, 10e6), string.format("a -> b now gives about %.2f Mbit/s: 10 Mbit/s of frames, 1448 of every 1514 bytes TCP payload", want10 / 1e6), mbit(r))
check(free.bits_per_second > 10 * r.bits_per_second, "far less than unshaped", mbit(free) .. " vs " .. mbit(r))
q = a:qdiscs("eth0")
print(q)
check(q[1].bytes > r.bytes and q[1].overlimits > 0, "tbf counted what it sent, and how often a packet waited for tokens (overlimits)",
  q[1].bytes .. " bytes, " .. q[1].overlimits .. " overlimits")

section("Only what the link sends is shaped")
local back = b:iperf(a, {seconds = 0.5})
print(back)
check(back.bits_per_second > 10 * r.bits_per_second, "b -> a is not limited: the kernel shapes a link's egress, a's tbf never sees what a receives", mbit(back))

section("htb instead: one class at 5 Mbit/s")
q = a:shape("eth0", {qdisc = "htb", rate = "5mbit"})
print(q)
check(#q == 2 and q[1].kind == "htb" and q[2].class and q[2].rate == 5e6, "htb replaced tbf: a qdisc and its class, which all traffic goes to (default 1)")
r = a:iperf(b)
print(r)
check(near(r, 5e6), "a -> b gives about 5 Mbit/s of frames", mbit(r))

section("A link shaped both ways from the start")
local c = lab:node("c")
lab:link(c, "shape0", {addr = "10.53.57.3/24", shape = {rate = "2mbit"}})
lab:wait()
local up, down = c:iperf(a), a:iperf(c)
print(up)
print(down)
check(near(up, 2e6) and near(down, 2e6), "lab:link's shape= limits both directions: c's eth0 and its end in the hub (c-br) each have a tbf",
  mbit(up) .. " / " .. mbit(down))

section("Delay and loss need netem")
local ok, err = pcall(a.shape, a, "eth0", {delay = "20ms", loss = 1})
if ok then
  print(a:qdiscs("eth0"))
  check(a:qdiscs("eth0")[1].kind == "netem", "this kernel has netem: a 20 ms delay and 1% loss are set")
else
  say("%s", err)
  check(tostring(err):find("ENOENT", 1, true) and tostring(err):find("CONFIG_NET_SCH_NETEM", 1, true),
    "this kernel has no netem: the kernel says ENOENT (no qdisc of that kind), the error names the config option")
  check(a:qdiscs("eth0")[1].kind == "htb", "a refused shape changes nothing: htb still shapes eth0")
end

section("Shaping removed")
q = a:shape("eth0", nil)
print(q)
check(#q == 1 and q[1].kind == "noqueue", "nil deletes the root qdisc: eth0 has noqueue again")
r = a:iperf(b, {seconds = 0.5})
print(r)
check(r.bits_per_second > 200e6, "and a -> b is fast again", mbit(r))
lab:close()
finish()
