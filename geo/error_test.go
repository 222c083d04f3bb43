package geo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"syscall"
	"testing"
)

// sqlStateError stands for a driver's error that carries an SQLSTATE, as
// pgconn.PgError does.
type sqlStateError string

func (e sqlStateError) Error() string    { return "server error (SQLSTATE " + string(e) + ")" }
func (e sqlStateError) SQLState() string { return string(e) }

// TestErrorCodeUnavailable: failures of the connection to the database —
// whatever a lower layer called them — are EUNAVAILABLE (503), other
// unexpected errors stay internal, and a caller's error keeps its code.
func TestErrorCodeUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), EUNAVAILABLE},
		{"refused", fmt.Errorf("failed to connect: %w", refused), EUNAVAILABLE},
		{"starting up", sqlStateError("57P03"), EUNAVAILABLE},
		{"admin shutdown", sqlStateError("57P01"), EUNAVAILABLE},
		{"connection failure", sqlStateError("08006"), EUNAVAILABLE},
		{"internal wrapping a dropped connection", WrapError(EINTERNAL, refused, "export"), EUNAVAILABLE},
		{"unique violation", sqlStateError("23505"), EINTERNAL},
		{"file error", &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrPermission}, EINTERNAL},
		{"plain", errors.New("boom"), EINTERNAL},
		{"caller's error over a deadline", WrapError(EINVALID, context.DeadlineExceeded, "bad"), EINVALID},
		{"unavailable", WrapError(EUNAVAILABLE, sqlStateError("57P03"), "store incident"), EUNAVAILABLE},
	} {
		if got := ErrorCode(c.err); got != c.want {
			t.Errorf("%s: ErrorCode = %s, want %s", c.name, got, c.want)
		}
		if msg := ErrorMessage(c.err); c.want == EUNAVAILABLE && msg == "internal error" {
			t.Errorf("%s: message %q", c.name, msg)
		}
	}
	if msg := ErrorMessage(WrapError(EUNAVAILABLE, sqlStateError("57P03"), "store incident")); msg != "store incident: the database is unavailable (restarting?): retry shortly" {
		t.Errorf("message of a restart: %q", msg)
	}
}
