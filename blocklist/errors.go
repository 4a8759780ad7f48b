package blocklist

// Error is a BlockList failure with Node's code: ERR_INVALID_ADDRESS,
// ERR_INVALID_ARG_VALUE, ERR_INVALID_ARG_TYPE or ERR_OUT_OF_RANGE. Message
// is Node's err.message.
type Error struct {
	Code    string
	Message string
	Err     error
}

// Error returns the code and Node's message, as Node prints them.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.Err }
