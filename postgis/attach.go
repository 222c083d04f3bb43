package postgis

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/gridd/gridd/geo"
)

// Several gridd processes share one data directory: 'gridd serve' and the
// CLI commands run beside it. Three lock files in the data directory keep
// them apart (flock, released by the kernel when a process dies):
//
//   - start.lock, held exclusively while a process looks for a running
//     postgres and, finding none, starts one: two commands never start two
//     servers on one cluster;
//   - users.lock, held shared by every process using the server (the one
//     that started it and those attached to it); the starter takes it
//     exclusively before stopping postgres, so it waits for attached
//     commands to end instead of pulling the server from under them;
//   - serve.lock, held exclusively by 'gridd serve' (EmbeddedConfig.Serve)
//     for its whole life: a second serve on the same directory is refused.
//
// What an attached process needs is in the data directory already: the
// port in pgdata/postmaster.pid (written by postgres itself), the socket
// in run/, the password in password.

// lockFile opens path and flocks it with how (syscall.LOCK_SH, LOCK_EX,
// optionally |LOCK_NB).
func lockFile(path string, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "cannot open the lock file %s: check the data directory's permissions", path)
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// runningServer reads pgdata/postmaster.pid and returns the pid and port of
// the live postmaster it names; ok is false when none runs.
func runningServer(pgdata string) (pid, port int, ok bool) {
	b, err := os.ReadFile(filepath.Join(pgdata, "postmaster.pid"))
	if err != nil {
		return 0, 0, false
	}
	lines := strings.Split(string(b), "\n")
	pid, err = strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return 0, 0, false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0, 0, false
	}
	if comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); !strings.HasPrefix(string(comm), "postgres") {
		return 0, 0, false
	}
	if len(lines) > 3 {
		port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
	}
	return pid, port, true
}

// takeServeLock is serve's claim on the data directory.
func takeServeLock(dataDir string) (*os.File, error) {
	path := filepath.Join(dataDir, "serve.lock")
	f, err := lockFile(path, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		pid, _ := os.ReadFile(path)
		return nil, geo.Errorf(geo.ECONFLICT, "another gridd serve (pid %s) already serves the data directory %s: stop it first, or use another --data", strings.TrimSpace(string(pid)), dataDir)
	}
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// attach returns an Embedded for the server already running on the
// cluster: this process did not start it and will not stop it.
func attach(ctx context.Context, cfg EmbeddedConfig, binDir, password string, pid, port int) (*Embedded, error) {
	if port == 0 {
		return nil, geo.Errorf(geo.EUNAVAILABLE, "postgres (pid %d) runs on %s but its postmaster.pid names no port: wait until it has started, or stop it", pid, cfg.DataDir)
	}
	e := &Embedded{cfg: cfg, binDir: binDir, port: port, password: password, attachedPID: pid, exited: make(chan struct{})}
	if err := e.waitReady(ctx, filepath.Join(cfg.DataDir, "postgres.log")); err != nil {
		return nil, err
	}
	return e, nil
}

// Attached reports whether the server was already running when this
// process came (Stop leaves it running).
func (e *Embedded) Attached() bool { return e.attachedPID != 0 }

// releaseLocks closes the lock files this Embedded holds.
func (e *Embedded) releaseLocks() {
	for _, f := range []*os.File{e.users, e.serveLock} {
		if f != nil {
			f.Close()
		}
	}
	e.users, e.serveLock = nil, nil
}
