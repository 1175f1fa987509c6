package netlab

import (
	"bufio"
	"compress/gzip"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// KernelConfig tells how the running kernel was built for one option
// ("CONFIG_NET_SCH_NETEM"): "y", "m", "n" (not set) or "" (no config to
// read), and the file it read: /proc/config.gz (CONFIG_IKCONFIG_PROC) or
// /boot/config-RELEASE. Only error messages use it: whether a feature works
// is the kernel's answer to the request itself.
func KernelConfig(option string) (value, source string) {
	var uts unix.Utsname
	release := ""
	if unix.Uname(&uts) == nil {
		release = unix.ByteSliceToString(uts.Release[:])
	}
	for _, p := range []string{"/proc/config.gz", "/boot/config-" + release} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		var r io.Reader = f
		if strings.HasSuffix(p, ".gz") {
			zr, err := gzip.NewReader(f)
			if err != nil {
				f.Close()
				continue
			}
			r = zr
		}
		v := configValue(r, option)
		f.Close()
		return v, p
	}
	return "", ""
}

func configValue(r io.Reader, option string) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "# "+option+" is not set" {
			return "n"
		}
		if v, ok := strings.CutPrefix(line, option+"="); ok {
			return v
		}
	}
	return "n" // a config lists every option it knows; one it lacks is off
}
