package cmd

import (
	"os"

	"golang.org/x/sys/unix"
)

// pipeSize is the capacity growPipe asks for: fs.pipe-max-size's default,
// the most an unprivileged process may set.
const pipeSize = 1 << 20

// growPipe raises the capacity of the pipe behind v, when v is a pipe, so
// that a stream of lines crosses it in fewer and bigger pieces: fewer
// wake-ups for the reader, the writer and nodenet. A pipe's capacity is not
// its contents: a reader still gets whatever has been written at once. Any
// other file, and a refusal (a user over fs.pipe-user-pages-soft), leave it
// as it is.
func growPipe(v any) {
	f, ok := v.(*os.File)
	if !ok {
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		var st unix.Stat_t
		if unix.Fstat(int(fd), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			return
		}
		if n, err := unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0); err == nil && n < pipeSize {
			_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize)
		}
	})
}
