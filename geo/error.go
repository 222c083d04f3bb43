package geo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
)

// Error codes. They say what kind of failure happened, not where; the HTTP
// layer turns each into a status in exactly one place.
const (
	EINVALID      = "invalid"            // the caller sent something wrong
	ENOTFOUND     = "not_found"          // the thing asked for does not exist
	ECONFLICT     = "conflict"           // the request clashes with the current state
	EUNAUTHORIZED = "unauthorized"       // no or bad credentials
	EFORBIDDEN    = "forbidden"          // credentials fine, action not allowed
	EMETHOD       = "method_not_allowed" // the path exists, not for this method
	ETOOLARGE     = "too_large"          // a body or upload beyond the limit
	ETOOMANY      = "too_many"           // a rate limit or a login lockout: retry later
	EEXPIRED      = "expired"            // a link or a window that was valid once is over
	EUNAVAILABLE  = "unavailable"        // a dependency (the database) is down
	EINTERNAL     = "internal"           // a bug or an unexpected failure
)

// Error is gridd's one error type. Message is written for the person who
// has to fix the problem: one line saying what is wrong and how to fix it.
type Error struct {
	Code    string
	Message string
	Err     error // the underlying cause, if any; not shown to API callers
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Message
	}
	cause := oneLine(e.Err.Error())
	if e.Message == "" {
		return cause
	}
	return e.Message + ": " + cause
}

// oneLine folds a multi-line cause (pgx lists every address it tried on a
// line of its own) into one line, dropping repeated parts, because gridd's
// errors are read on one line by the person who has to fix them.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\n\r") {
		return s
	}
	var parts []string
	seen := map[string]bool{}
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		p = strings.TrimSpace(p)
		if p != "" && !seen[p] {
			seen[p] = true
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " ")
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapError returns an *Error with code and message that keeps err as its cause.
func WrapError(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Code
	}
	if _, ok := unavailable(err); ok {
		return EUNAVAILABLE
	}
	return EINTERNAL
}

// unavailable is the one place that recognises a failure of the
// connection to a dependency rather than of gridd: a request's deadline
// passed, a network error (the database is down or restarting), or a
// PostgreSQL error of class 08 (connection exception) or 57 (operator
// intervention: shutting down, starting up). Those are retried by the
// caller later, so they are EUNAVAILABLE (503) whatever code, if any, a
// lower layer gave them.
func unavailable(err error) (string, bool) {
	if errors.Is(err, context.DeadlineExceeded) {
		return "the request took longer than the server's request timeout: retry later", true
	}
	var ne net.Error // not any Timeout() error: fs.PathError has one too
	if errors.As(err, &ne) {
		return "the database cannot be reached: retry shortly", true
	}
	var pe interface{ SQLState() string }
	if errors.As(err, &pe) {
		if s := pe.SQLState(); strings.HasPrefix(s, "08") || strings.HasPrefix(s, "57") {
			return "the database is unavailable (restarting?): retry shortly", true
		}
	}
	return "", false
}

// ErrorMessage returns the human message of the first *Error in err's chain.
// Other errors are internal and their text may leak details, so callers of
// the API get a generic message for them.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	found := errors.As(err, &e)
	if found && e.Code != EINTERNAL && e.Code != EUNAVAILABLE {
		return e.Message
	}
	if msg, ok := unavailable(err); ok {
		if found && e.Message != "" {
			return e.Message + ": " + msg
		}
		return msg
	}
	if found {
		return e.Message
	}
	return "internal error"
}
