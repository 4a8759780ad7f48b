//go:build unix

package ipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// helperReport is what a helper process prints, as JSON, on stdout.
type helperReport struct {
	Modes     []string `json:"modes,omitempty"`     // umask: the socket files' modes, octal
	Networks  []string `json:"networks,omitempty"`  // fd, systemd: each listener's Addr().Network()
	Names     []string `json:"names,omitempty"`     // systemd: the names
	Env       []string `json:"env,omitempty"`       // systemd: LISTEN_* still set afterwards
	FDsClosed bool     `json:"fdsClosed,omitempty"` // fd, systemd: the inherited descriptors are closed after the listeners are
	Err       string   `json:"err,omitempty"`
	NoFDs     bool     `json:"noFDs,omitempty"` // systemd: the error matches ErrNoListenFDs
}

// runHelper runs a helper process's part of a test and returns its exit
// status. It prints one helperReport.
func runHelper(name string) int {
	var r helperReport
	var err error
	switch name {
	case "umask":
		err = helperUmask(&r)
	case "fd":
		err = helperFD(&r)
	case "systemd":
		err = helperSystemd(&r)
	default:
		err = fmt.Errorf("no helper %q", name)
	}
	if err != nil {
		r.Err = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(r)
	return 0
}

// modeCase is one socket for helperUmask to make: under umask Umask
// (octal), at Path, with the flags.
type modeCase struct {
	Umask              string
	Path               string
	Readable, Writable bool
}

// helperUmask listens once per case of the JSON list in $MODES, each
// under its umask, and reports the socket files' modes. Changing the umask
// is safe here: nothing else in this process creates files.
func helperUmask(r *helperReport) error {
	var cases []modeCase
	if err := json.Unmarshal([]byte(os.Getenv("MODES")), &cases); err != nil {
		return err
	}
	for _, c := range cases {
		u, err := strconv.ParseUint(c.Umask, 8, 32)
		if err != nil {
			return err
		}
		syscall.Umask(int(u))
		lc := ListenConfig{ReadableAll: c.Readable, WritableAll: c.Writable}
		ln, err := lc.Listen(context.Background(), c.Path)
		if err != nil {
			return err
		}
		fi, err := os.Lstat(c.Path)
		ln.Close()
		if err != nil {
			return err
		}
		r.Modes = append(r.Modes, fmt.Sprintf("%04o", fi.Mode().Perm()))
	}
	return nil
}

// serveOnce accepts one connection on ln, writes greeting to it and closes
// it.
func serveOnce(ln net.Listener, greeting string) error {
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = io.WriteString(c, greeting)
	return err
}

// fdClosed reports whether descriptor fd is closed.
func fdClosed(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == unix.EBADF
}

// helperFD serves one connection on the listening socket inherited as
// fd 3, then closes it.
func helperFD(r *helperReport) error {
	ln, err := FileListener(3)
	if err != nil {
		return err
	}
	r.Networks = []string{ln.Addr().Network()}
	err = serveOnce(ln, "hello from fd 3\n")
	ln.Close()
	r.FDsClosed = fdClosed(3)
	return err
}

// helperSystemd takes the sockets systemd would pass and serves one
// connection on each, greeting it with the socket's name.
func helperSystemd(r *helperReport) error {
	n, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	lns, err := SystemdListeners()
	for _, k := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		if _, ok := os.LookupEnv(k); ok {
			r.Env = append(r.Env, k)
		}
	}
	if err != nil {
		r.NoFDs = errors.Is(err, ErrNoListenFDs)
		return err
	}
	for _, l := range lns {
		r.Networks = append(r.Networks, l.Addr().Network())
		r.Names = append(r.Names, l.Name)
	}
	for _, l := range lns {
		if err := serveOnce(l, "hello from "+l.Name+"\n"); err != nil {
			return err
		}
		l.Close()
	}
	r.FDsClosed = true
	for fd := 3; fd < 3+n; fd++ {
		r.FDsClosed = r.FDsClosed && fdClosed(fd)
	}
	return nil
}

// startHelper starts the test binary as helper name with env added and
// files inherited as descriptors 3, 4, ...; through /bin/sh when viaShell
// is set, so that LISTEN_PID=$$ names the helper's own process id.
// It returns the command and a function that waits for its report.
func startHelper(t *testing.T, name string, env []string, files []*os.File, viaShell bool) func() helperReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	var cmd *exec.Cmd
	if viaShell {
		// exec keeps the shell's process id, which $$ expanded to.
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", `LISTEN_PID=$$ exec "$0"`, os.Args[0])
	} else {
		cmd = exec.CommandContext(ctx, os.Args[0])
	}
	// The helper's LISTEN_* variables are the test's alone.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LISTEN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, helperEnv+"="+name), env...)
	cmd.ExtraFiles = files
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return func() helperReport {
		t.Helper()
		var r helperReport
		derr := json.NewDecoder(out).Decode(&r)
		werr := cmd.Wait()
		if derr != nil || werr != nil {
			t.Fatalf("helper %s: report: %v, exit: %v", name, derr, werr)
		}
		return r
	}
}
