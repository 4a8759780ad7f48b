//go:build windows

package netcore

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// errnoNames maps Windows error values to libuv's code names and
// uv_strerror texts. Go's syscall.ECONNREFUSED and friends are invented
// values on Windows that no system call ever returns, so the table is keyed
// by the Winsock (WSAE*) and Win32 (ERROR_*) codes that libuv translates.
var errnoNames = map[syscall.Errno]errnoName{
	windows.WSAEACCES:                        {"EACCES", "permission denied"},
	windows.WSAEADDRINUSE:                    {"EADDRINUSE", "address already in use"},
	windows.WSAEADDRNOTAVAIL:                 {"EADDRNOTAVAIL", "address not available"},
	windows.WSAEAFNOSUPPORT:                  {"EAFNOSUPPORT", "address family not supported"},
	windows.WSAECONNABORTED:                  {"ECONNABORTED", "software caused connection abort"},
	windows.WSAECONNREFUSED:                  {"ECONNREFUSED", "connection refused"},
	windows.WSAECONNRESET:                    {"ECONNRESET", "connection reset by peer"},
	windows.WSAEHOSTUNREACH:                  {"EHOSTUNREACH", "host is unreachable"},
	windows.WSAEINVAL:                        {"EINVAL", "invalid argument"},
	windows.WSAEISCONN:                       {"EISCONN", "socket is already connected"},
	windows.WSAEMFILE:                        {"EMFILE", "too many open files"},
	windows.WSAEMSGSIZE:                      {"EMSGSIZE", "message too long"},
	windows.WSAENETDOWN:                      {"ENETDOWN", "network is down"},
	windows.WSAENETUNREACH:                   {"ENETUNREACH", "network is unreachable"},
	windows.WSAENOBUFS:                       {"ENOBUFS", "no buffer space available"},
	windows.WSAENOTCONN:                      {"ENOTCONN", "socket is not connected"},
	windows.WSAENOTSOCK:                      {"ENOTSOCK", "socket operation on non-socket"},
	windows.WSAESHUTDOWN:                     {"EPIPE", "broken pipe"},
	windows.WSAETIMEDOUT:                     {"ETIMEDOUT", "connection timed out"},
	windows.ERROR_ACCESS_DENIED:              {"EPERM", "operation not permitted"},
	windows.ERROR_ADDRESS_ALREADY_ASSOCIATED: {"EADDRINUSE", "address already in use"},
	windows.ERROR_BROKEN_PIPE:                {"EOF", "end of file"},
	windows.ERROR_CONNECTION_REFUSED:         {"ECONNREFUSED", "connection refused"},
	windows.ERROR_FILE_NOT_FOUND:             {"ENOENT", "no such file or directory"},
	windows.ERROR_INVALID_NAME:               {"ENOENT", "no such file or directory"},
	windows.ERROR_NETNAME_DELETED:            {"ECONNRESET", "connection reset by peer"},
	windows.ERROR_NO_DATA:                    {"EPIPE", "broken pipe"},
	windows.ERROR_OPERATION_ABORTED:          {"ECANCELED", "operation canceled"},
	windows.ERROR_PATH_NOT_FOUND:             {"ENOENT", "no such file or directory"},
	windows.ERROR_PIPE_BUSY:                  {"EBUSY", "resource busy or locked"},
	windows.ERROR_PIPE_NOT_CONNECTED:         {"EPIPE", "broken pipe"},
	windows.ERROR_SEM_TIMEOUT:                {"ETIMEDOUT", "connection timed out"},
	windows.ERROR_TOO_MANY_OPEN_FILES:        {"EMFILE", "too many open files"},
	windows.WSAEWOULDBLOCK:                   {"EAGAIN", "resource temporarily unavailable"},
}
