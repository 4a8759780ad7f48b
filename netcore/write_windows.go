package netcore

import "net"

// writeNoticingWait writes p with conn.Write. A Windows named pipe's
// blocking write does not say whether it waited: it never reports one.
func writeNoticingWait(conn net.Conn, p []byte, counted func(int)) (n int, waited bool, err error) {
	n, err = conn.Write(p)
	if n > 0 {
		counted(n)
	}
	return n, false, err
}
