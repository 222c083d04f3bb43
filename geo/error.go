package geo

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. They say what kind of failure happened, not where; the HTTP
// layer turns each into a status in exactly one place.
const (
	EINVALID      = "invalid"      // the caller sent something wrong
	ENOTFOUND     = "not_found"    // the thing asked for does not exist
	ECONFLICT     = "conflict"     // the request clashes with the current state
	EUNAUTHORIZED = "unauthorized" // no or bad credentials
	EFORBIDDEN    = "forbidden"    // credentials fine, action not allowed
	ETOOLARGE     = "too_large"    // a body or upload beyond the limit
	ETOOMANY      = "too_many"     // a rate limit or a login lockout: retry later
	EUNAVAILABLE  = "unavailable"  // a dependency (the database) is down
	EINTERNAL     = "internal"     // a bug or an unexpected failure
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
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain.
// Other errors are internal and their text may leak details, so callers of
// the API get a generic message for them.
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
