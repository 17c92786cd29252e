package callbox

import (
	"errors"
	"fmt"
)

// Error codes shared by every package; the API maps them to HTTP status codes and the CLI to
// messages. They say what kind of failure happened, not where.
const (
	EINVALID      = "invalid"      // the request or its input is wrong
	ENOTFOUND     = "not_found"    // the thing asked for does not exist
	ECONFLICT     = "conflict"     // the thing exists or is in a state that forbids the action
	EUNAVAILABLE  = "unavailable"  // the box cannot do it now (shutting down, no capacity)
	EINTERNAL     = "internal"     // a bug or an unexpected failure
	EUNAUTHORIZED = "unauthorized" // no or wrong credentials
)

// Error is an error with a code and a message meant for the person who asked.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain, or a generic
// message for other errors (their text may hold internal details).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
