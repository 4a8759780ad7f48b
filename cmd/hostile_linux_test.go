package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// memCap is the most memory a nodenet process may take for any input, as
// peak RSS: 64 MiB, or more under the race detector, whose shadow memory
// grows with the heap (a regression that holds a 200 MB line still fails).
func memCap() int64 {
	if raceEnabled {
		return 256 << 20
	}
	return 64 << 20
}

// rssWrapper runs its arguments as a child and writes the child's peak
// RSS (KiB, from wait4) to the file named first. The second argument, when
// not 0, is the child's RLIMIT_AS: a regression that reads without bound
// then fails in seconds instead of swapping. The child must be forked
// from a small process: Linux counts in a child's peak the memory of the
// process that forked it (a vfork from the test binary shares its
// memory, which holds the test's buffers), but not that of its parent's
// parent.
const rssWrapper = `
import os, resource, sys
pid = os.fork()
if pid == 0:
    limit = int(sys.argv[2])
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.execv(sys.argv[3], sys.argv[3:])
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(ru.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
`

// cappedRun runs nodenet with args, stdin from in, and returns its output,
// exit status and peak RSS, as wait4 reports it for the child. It stops
// the process after a minute.
func cappedRun(t *testing.T, in io.Reader, args ...string) (stdout, stderr []byte, code int, rss int64) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is not installed: it measures the peak memory of nodenet")
		}
		t.Skip("python3 is not installed: it measures the peak memory of nodenet")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	rssFile := filepath.Join(dir, ".rss")
	// The race detector maps terabytes of address space for its shadow
	// memory: no RLIMIT_AS then. Otherwise 4 GiB, room for Go's runtime
	// (which cannot start under about 1 GiB) and far from swapping.
	asLimit := "4294967296"
	if raceEnabled {
		asLimit = "0"
	}
	c := exec.CommandContext(ctx, py, append([]string{"-c", rssWrapper, rssFile, asLimit, nodenetPath(t)}, args...)...)
	c.Dir = dir
	// On the deadline the wrapper and nodenet go together: nodenet
	// holds the output pipes.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = 5 * time.Second
	c.Stdin = in
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	err = c.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		code = ee.ExitCode()
	default:
		t.Fatalf("nodenet %s: %v (stderr %.300q)", strings.Join(args, " "), err, errOut.Bytes())
	}
	kib, err := os.ReadFile(rssFile)
	if err != nil {
		t.Fatalf("nodenet %s: no peak RSS: %v (stderr %.300q)", strings.Join(args, " "), err, errOut.Bytes())
	}
	if _, err := fmt.Sscan(string(kib), &rss); err != nil {
		t.Fatalf("peak RSS %q: %v", kib, err)
	}
	rss <<= 10
	if bytes.Contains(errOut.Bytes(), []byte("goroutine ")) || bytes.Contains(errOut.Bytes(), []byte("panic:")) {
		t.Errorf("nodenet %s printed a Go stack trace: %.500q", strings.Join(args, " "), errOut.Bytes())
	}
	return out.Bytes(), errOut.Bytes(), code, rss
}

// repeatReader reads n bytes: head, then c over and over, then tail.
func repeatReader(head string, c byte, n int64, tail string) io.Reader {
	return io.MultiReader(strings.NewReader(head), io.LimitReader(byteRepeater(c), n), strings.NewReader(tail))
}

type byteRepeater byte

func (b byteRepeater) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// TestMemoryBoundedByLine checks that one huge line takes isip and block
// import neither the memory of the line nor a stack trace: isip answers
// it (0, or 6 for an IPv6 address with a zone that long, as Node does),
// import refuses it where it starts and quotes a bounded prefix.
func TestMemoryBoundedByLine(t *testing.T) {
	if testing.Short() {
		t.Skip("pipes hundreds of MB through nodenet")
	}
	limit := memCap()
	check := func(what string, rss int64) {
		t.Helper()
		if rss > limit {
			t.Errorf("%s: peak RSS %d MiB, over the cap of %d MiB", what, rss>>20, limit>>20)
		}
		t.Logf("%s: peak RSS %.1f MiB", what, float64(rss)/(1<<20))
	}

	out, _, code, rss := cappedRun(t, repeatReader("", 'a', 200<<20, "\n::1\n"), "isip")
	if string(out) != "0\n6\n" || code != 1 {
		t.Errorf("isip of a 200 MiB line and ::1: %q, exit %d; want \"0\\n6\\n\", exit 1", out, code)
	}
	check("isip, a 200 MiB line", rss)

	out, _, code, rss = cappedRun(t, repeatReader("fe80::1%", 'z', 50<<20, "\r\n"), "isip", "-6")
	if string(out) != "true\n" || code != 0 {
		t.Errorf("isip -6 of fe80::1%%zzz... (50 MiB): %q, exit %d; want true, exit 0", out, code)
	}
	check("isip -6, an address with a 50 MiB zone", rss)

	out, _, code, rss = cappedRun(t, repeatReader("fe80::1%", 'z', 20<<20, ""), "isip", "--json")
	want := `{"input":"fe80::1%` + strings.Repeat("z", 20<<20) + `","isIP":6}` + "\n"
	if string(out) != want || code != 0 {
		t.Errorf("isip --json of a 20 MiB line: %d bytes ending %q, exit %d; want %d bytes", len(out), out[max(len(out)-20, 0):], code, len(want))
	}
	check("isip --json, a 20 MiB line", rss)

	rules := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(rules, []byte(`["Subnet: IPv6 fe80::/64"]`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code, rss = cappedRun(t, repeatReader("fe80::1%", 'z', 100<<20, "\n::1\n"), "-q", "block", "check", "--file", rules)
	if len(out) != 0 || code != 1 {
		t.Errorf("block check -q of fe80::1%%zzz... (100 MiB) and ::1: %q, exit %d; want exit 1", out, code)
	}
	check("block check, a 100 MiB line", rss)

	_, errOut, code, rss := cappedRun(t, repeatReader("", '1', 50<<20, "\n"), "block", "import", "--file", "rules.json", "-")
	if code != 2 || !bytes.Contains(errOut, []byte("stdin:1: a line longer than 64 KiB")) || len(errOut) > 512 {
		t.Errorf("import of a 50 MiB line: exit %d, %d bytes of stderr %.300q; want exit 2 and a short message naming line 1", code, len(errOut), errOut)
	}
	check("block import, a 50 MiB line", rss)

	_, errOut, code, rss = cappedRun(t, repeatReader("[\"1.2.3.4\",\n\"", 'x', 20<<20, "\"]"), "block", "import", "--file", "rules.json", "-")
	if code != 2 || !bytes.Contains(errOut, []byte("stdin:2: a string longer than 64 KiB")) || len(errOut) > 512 {
		t.Errorf("import of a 20 MiB JSON string: exit %d, %d bytes of stderr %.300q; want exit 2 and a short message naming line 2", code, len(errOut), errOut)
	}
	check("block import, a 20 MiB JSON string", rss)

	// A bad rule within the line limit is quoted in part.
	_, errOut, code, _ = cappedRun(t, repeatReader("1.2.3.4\n1.2.3.4-", 'z', 60<<10, "\n"), "block", "import", "--file", "rules.json", "-")
	if code != 2 || !bytes.Contains(errOut, []byte("stdin:2: \"1.2.3.4-zzz")) || !bytes.Contains(errOut, []byte("more bytes)")) || len(errOut) > 512 {
		t.Errorf("import of a 60 KiB bad rule: exit %d, %d bytes of stderr %.300q; want exit 2, a bounded quote", code, len(errOut), errOut)
	}

	// A full rule file: 200,000 address rules, the shortest there are, so
	// the most a file of MaxFileSize holds.
	var full bytes.Buffer
	for i := range 200_000 {
		fmt.Fprintf(&full, "10.%d.%d.%d\n", i>>16, i>>8&255, i&255)
	}
	fullFile := filepath.Join(t.TempDir(), "full.json")
	_, errOut, code, rss = cappedRun(t, &full, "block", "import", "--file", fullFile, "-")
	if code != 0 {
		t.Errorf("import of 200,000 rules: exit %d, stderr %.300q; want exit 0", code, errOut)
	}
	check("block import, 200,000 rules", rss)

	// A change to a full rule file: read, laid out as Node's table, written.
	_, errOut, code, rss = cappedRun(t, nil, "block", "add", "--file", fullFile, "192.0.2.1", "2001:db8::1")
	if code != 0 {
		t.Errorf("add to 200,000 rules: exit %d, stderr %.300q; want exit 0", code, errOut)
	}
	check("block add, to 200,000 rules", rss)

	// Millions of valid rules: refused once more than a rule file holds.
	var many bytes.Buffer
	for i := range 1_000_000 {
		fmt.Fprintf(&many, "10.%d.%d.%d\n", i>>16, i>>8&255, i&255)
	}
	_, errOut, code, rss = cappedRun(t, &many, "block", "import", "--file", "rules.json", "-")
	if code != 2 || !bytes.Contains(errOut, []byte("more rules than a rule file holds")) {
		t.Errorf("import of 1,000,000 rules: exit %d, stderr %.300q; want exit 2, too many rules", code, errOut)
	}
	check("block import, 1,000,000 rules", rss)
}

// TestRuleFileNotRegularCLI checks the commands on rule files that are not
// regular files: refused at once, saying what they are, exit 1, no
// stack trace; a FIFO does not hang `block add` and leaves the lock free.
func TestRuleFileNotRegularCLI(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "rules.json")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"block", "list", "--file", "/dev/zero"},
		{"block", "check", "--file", "/dev/zero", "1.2.3.4"},
		{"block", "add", "--file", fifo, "1.2.3.4"},
		{"block", "add", "--file", fifo, "1.2.3.5"}, // the lock is free again
		{"block", "list", "--file", dir},
		{"echo", "0", "--blocklist", "/dev/zero"},
	} {
		_, errOut, code, rss := cappedRun(t, nil, args...)
		if code != 1 || !bytes.Contains(errOut, []byte("not a regular file")) {
			t.Errorf("nodenet %s: exit %d, stderr %q; want exit 1 saying it is not a regular file", strings.Join(args, " "), code, errOut)
		}
		if rss > memCap() {
			t.Errorf("nodenet %s: peak RSS %d MiB", strings.Join(args, " "), rss>>20)
		}
	}
}

// TestBlockAddKillStorm starts 40 `block add` runs on one rule file, a
// few at a time, and kills most of them with SIGKILL at random moments:
// every address whose add reported success is in the file, and once one
// more add has run no temporary file is left.
func TestBlockAddKillStorm(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.json")
	bin := nodenetPath(t)
	const runs, parallel = 40, 8
	var mu sync.Mutex
	var added []string
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range runs {
		addr := fmt.Sprintf("10.9.%d.%d", i/250, i%250+1)
		delay := time.Duration(rng.IntN(60)) * time.Millisecond
		kill := rng.IntN(4) != 0 // three in four are killed, some after they finished
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c := exec.Command(bin, "block", "add", "--file", path, addr)
			if err := c.Start(); err != nil {
				t.Error(err)
				return
			}
			done := make(chan error, 1)
			go func() { done <- c.Wait() }()
			var err error
			if kill {
				select {
				case err = <-done:
				case <-time.After(delay):
					c.Process.Signal(syscall.SIGKILL) //nolint:errcheck // it may have exited
					err = <-done
				}
			} else {
				select {
				case err = <-done:
				case <-time.After(time.Minute):
					c.Process.Kill() //nolint:errcheck // stuck
					t.Errorf("block add %s: still running after a minute", addr)
					return
				}
			}
			if err == nil {
				mu.Lock()
				added = append(added, addr)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if out, err := exec.Command(bin, "block", "add", "--file", path, "10.9.255.1").CombinedOutput(); err != nil {
		t.Fatalf("the add after the storm: %v: %s", err, out)
	}
	out, err := exec.Command(bin, "block", "list", "--file", path).Output()
	if err != nil {
		t.Fatalf("block list: %v", err)
	}
	for _, a := range append(added, "10.9.255.1") {
		if !bytes.Contains(out, []byte("Address: IPv4 "+a+"\n")) {
			t.Errorf("%s: its add exited 0, and the rule is missing", a)
		}
	}
	t.Logf("%d of %d adds reported success", len(added), runs)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".rules.json.tmp") {
			t.Errorf("%s left after the next add", e.Name())
		}
	}
}
