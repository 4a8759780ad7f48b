//go:build unix

package fdpass

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// Send writes data and attaches fds to it in one sendmsg. data must not
// be empty. The descriptors stay open in the sender; the receiver gets
// duplicates. A short write of data still delivered every descriptor:
// they ride with the first byte.
func Send(c *net.UnixConn, data []byte, fds []int) (int, error) {
	if len(data) == 0 {
		return 0, fmt.Errorf("fdpass: descriptors must ride with at least one byte of data")
	}
	if len(fds) > MaxFDs {
		return 0, fmt.Errorf("fdpass: %d descriptors in one message, at most %d", len(fds), MaxFDs)
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	n, _, err := c.WriteMsgUnix(data, oob, nil)
	return n, err
}

// OOBSize is the ancillary buffer Recv needs for n descriptors.
func OOBSize(n int) int { return unix.CmsgSpace(n * 4) }

// Recv reads into p and returns the descriptors that came with the bytes
// read, close-on-exec. The caller owns them: each must be closed or handed
// on. oob is the ancillary buffer (OOBSize(MaxFDs) holds any message); nil
// allocates one of that size. When the message carried more descriptors
// than oob holds, Recv returns the ones that fit together with
// ErrTruncated.
func Recv(c *net.UnixConn, p, oob []byte) (n int, fds []int, err error) {
	if oob == nil {
		oob = make([]byte, OOBSize(MaxFDs))
	}
	n, oobn, flags, _, err := c.ReadMsgUnix(p, oob)
	if oobn > 0 {
		fds = parseRights(oob[:oobn])
	}
	if err == nil && flags&unix.MSG_CTRUNC != 0 {
		err = ErrTruncated
	}
	return n, fds, err
}

// parseRights returns every descriptor of every SCM_RIGHTS message in oob.
func parseRights(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err == nil {
			fds = append(fds, got...)
		}
	}
	return fds
}

// CloseAll closes every descriptor in fds; for received descriptors that
// nobody takes.
func CloseAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

func kind(fd int) (string, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", fmt.Errorf("fd %d: %w", fd, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFSOCK:
		return "socket", nil
	case unix.S_IFIFO:
		return "pipe", nil
	}
	return "file", nil
}

// Inherited checks that fd is open and was inherited from the parent
// process: it is not close-on-exec, as every descriptor that survived an
// exec is not, and as every one this process opens itself is (Go opens
// them all close-on-exec). So a flag that names a descriptor the caller
// forgot to pass is an error, rather than one of this process's own (the
// runtime's epoll, a config file) that happens to have that number.
func Inherited(fd int) error {
	if fd < 0 {
		return fmt.Errorf("fd %d is not open", fd)
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		return fmt.Errorf("fd %d is not open", fd)
	}
	if flags&unix.FD_CLOEXEC != 0 {
		return fmt.Errorf("fd %d %w", fd, ErrNotInherited)
	}
	return nil
}
