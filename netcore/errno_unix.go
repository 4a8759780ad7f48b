//go:build unix

package netcore

import "syscall"

// errnoNames maps this platform's errno values to libuv's code names and
// uv_strerror texts, which Node puts in err.code and err.message.
var errnoNames = map[syscall.Errno]errnoName{
	syscall.E2BIG:           {"E2BIG", "argument list too long"},
	syscall.EACCES:          {"EACCES", "permission denied"},
	syscall.EADDRINUSE:      {"EADDRINUSE", "address already in use"},
	syscall.EADDRNOTAVAIL:   {"EADDRNOTAVAIL", "address not available"},
	syscall.EAFNOSUPPORT:    {"EAFNOSUPPORT", "address family not supported"},
	syscall.EAGAIN:          {"EAGAIN", "resource temporarily unavailable"},
	syscall.EALREADY:        {"EALREADY", "connection already in progress"},
	syscall.EBADF:           {"EBADF", "bad file descriptor"},
	syscall.EBUSY:           {"EBUSY", "resource busy or locked"},
	syscall.ECANCELED:       {"ECANCELED", "operation canceled"},
	syscall.ECONNABORTED:    {"ECONNABORTED", "software caused connection abort"},
	syscall.ECONNREFUSED:    {"ECONNREFUSED", "connection refused"},
	syscall.ECONNRESET:      {"ECONNRESET", "connection reset by peer"},
	syscall.EEXIST:          {"EEXIST", "file already exists"},
	syscall.EHOSTUNREACH:    {"EHOSTUNREACH", "host is unreachable"},
	syscall.EINTR:           {"EINTR", "interrupted system call"},
	syscall.EINVAL:          {"EINVAL", "invalid argument"},
	syscall.EIO:             {"EIO", "i/o error"},
	syscall.EISCONN:         {"EISCONN", "socket is already connected"},
	syscall.EISDIR:          {"EISDIR", "illegal operation on a directory"},
	syscall.ELOOP:           {"ELOOP", "too many symbolic links encountered"},
	syscall.EMFILE:          {"EMFILE", "too many open files"},
	syscall.EMSGSIZE:        {"EMSGSIZE", "message too long"},
	syscall.ENAMETOOLONG:    {"ENAMETOOLONG", "name too long"},
	syscall.ENETDOWN:        {"ENETDOWN", "network is down"},
	syscall.ENETUNREACH:     {"ENETUNREACH", "network is unreachable"},
	syscall.ENFILE:          {"ENFILE", "file table overflow"},
	syscall.ENOBUFS:         {"ENOBUFS", "no buffer space available"},
	syscall.ENOENT:          {"ENOENT", "no such file or directory"},
	syscall.ENOMEM:          {"ENOMEM", "not enough memory"},
	syscall.ENOSPC:          {"ENOSPC", "no space left on device"},
	syscall.ENOTCONN:        {"ENOTCONN", "socket is not connected"},
	syscall.ENOTDIR:         {"ENOTDIR", "not a directory"},
	syscall.ENOTSOCK:        {"ENOTSOCK", "socket operation on non-socket"},
	syscall.ENOTSUP:         {"ENOTSUP", "operation not supported on socket"},
	syscall.EPERM:           {"EPERM", "operation not permitted"},
	syscall.EPIPE:           {"EPIPE", "broken pipe"},
	syscall.EPROTO:          {"EPROTO", "protocol error"},
	syscall.EPROTONOSUPPORT: {"EPROTONOSUPPORT", "protocol not supported"},
	syscall.EPROTOTYPE:      {"EPROTOTYPE", "protocol wrong type for socket"},
	syscall.EROFS:           {"EROFS", "read-only file system"},
	syscall.ESHUTDOWN:       {"ESHUTDOWN", "cannot send after transport endpoint shutdown"},
	syscall.ETIMEDOUT:       {"ETIMEDOUT", "connection timed out"},
	syscall.ETXTBSY:         {"ETXTBSY", "text file is busy"},
}
