// Command floor is the start-up floor of make bench: an empty Go program,
// built as nsh is (static, -trimpath -s -w), so that `nsh -e ""` against
// lua5.4 can be read against what any Go program costs to start and exit
// on this machine (the runtime's own start: its threads, its heap, its
// reading of the cgroup's CPU limit, cpuid).
package main

func main() {}
