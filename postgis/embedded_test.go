package postgis_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/gridd/gridd/postgis"
)

func sharedTempDir(t *testing.T) string {
	t.Helper()
	dir, err := pgtest.MkdirShared("gridd-embedded-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func startEmbedded(t *testing.T, cfg postgis.EmbeddedConfig) *postgis.Embedded {
	t.Helper()
	srv, err := postgis.StartEmbedded(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start embedded postgres: %v", err)
	}
	t.Cleanup(func() { srv.Stop() })
	return srv
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// TestEmbeddedLifecycle starts a server, writes, stops it, checks that no
// postgres process is left, starts it again on the same directory and finds
// the data still there.
func TestEmbeddedLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := sharedTempDir(t)
	cfg := postgis.EmbeddedConfig{DataDir: dir, Throwaway: true}

	srv := startEmbedded(t, cfg)
	db, err := postgis.Open(ctx, postgis.Config{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO generations (note) VALUES ('kept across restarts')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	pid := srv.PID()
	children := postgresChildren(pid)
	if len(children) == 0 {
		t.Fatalf("no postgres backends found under pid %d", pid)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	for _, p := range append(children, pid) {
		if alive(p) {
			t.Errorf("postgres process %d still alive after Stop", p)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pgdata", "postmaster.pid")); !os.IsNotExist(err) {
		t.Errorf("postmaster.pid left behind after a clean stop (err=%v)", err)
	}

	srv2 := startEmbedded(t, cfg)
	db2, err := postgis.Open(ctx, postgis.Config{URL: srv2.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	var note string
	if err := db2.Pool.QueryRow(ctx, `SELECT note FROM generations`).Scan(&note); err != nil {
		t.Fatalf("data not kept across restart: %v", err)
	}
	if note != "kept across restarts" {
		t.Fatalf("note = %q", note)
	}
	applied, err := db2.Migrate(ctx)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate applied %v, err %v; want nothing", applied, err)
	}
}

// TestEmbeddedRefusesSecondServer: a data directory in use is refused with
// a clear error instead of corrupting it.
func TestEmbeddedRefusesSecondServer(t *testing.T) {
	dir := sharedTempDir(t)
	cfg := postgis.EmbeddedConfig{DataDir: dir, Throwaway: true}
	startEmbedded(t, cfg)
	_, err := postgis.StartEmbedded(context.Background(), cfg)
	wantOneLineError(t, err, geo.ECONFLICT, "already running")
}

func TestEmbeddedErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	// A bin dir with the real postgres but a share dir without PostGIS.
	noPostGIS := sharedTempDir(t)
	realBin := filepath.Dir(findPostgres(t))
	for _, name := range []string{"postgres", "initdb"} {
		if err := os.Symlink(filepath.Join(realBin, name), filepath.Join(noPostGIS, name)); err != nil {
			t.Fatal(err)
		}
	}
	fakeShare := sharedTempDir(t)
	script := "#!/bin/sh\necho " + fakeShare + "\n"
	if err := os.WriteFile(filepath.Join(noPostGIS, "pg_config"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}

	aFile := filepath.Join(sharedTempDir(t), "file")
	os.WriteFile(aFile, []byte("x"), 0o644)

	tests := []struct {
		name string
		cfg  postgis.EmbeddedConfig
		code string
		want string
	}{
		{"port in use", postgis.EmbeddedConfig{DataDir: sharedTempDir(t), Port: busyPort}, geo.ECONFLICT, "port " + strconv.Itoa(busyPort)},
		{"no PostGIS", postgis.EmbeddedConfig{DataDir: sharedTempDir(t), BinDir: noPostGIS}, geo.EUNAVAILABLE, "postgis-3"},
		{"no binaries", postgis.EmbeddedConfig{DataDir: sharedTempDir(t), BinDir: sharedTempDir(t)}, geo.EINVALID, "no postgres binary"},
		{"data dir is a file", postgis.EmbeddedConfig{DataDir: filepath.Join(aFile, "data")}, geo.EINVALID, "data directory"},
	}
	if os.Geteuid() != 0 {
		// Root reads every directory; what root does with one postgres
		// cannot enter is TestEmbeddedPrivateParent's.
		tests = append(tests, struct {
			name string
			cfg  postgis.EmbeddedConfig
			code string
			want string
		}{"unreadable data dir", postgis.EmbeddedConfig{DataDir: unreadableDir(t)}, geo.EINVALID, ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := postgis.StartEmbedded(context.Background(), tt.cfg)
			wantOneLineError(t, err, tt.code, tt.want)
		})
	}
}

func TestOpenErrors(t *testing.T) {
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	port := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	tests := []struct {
		name, url, want string
	}{
		{"garbage", "postgres://%zz", "bad --db URL"},
		{"unknown option", "postgres://u@127.0.0.1/db?nonsense_param=%", "bad --db URL"},
		{"nobody listening", "postgres://u:p@127.0.0.1:" + strconv.Itoa(port) + "/db?connect_timeout=2", "cannot reach the database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := postgis.Open(context.Background(), postgis.Config{URL: tt.url, ConnectTimeout: 2 * time.Second})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line containing %q", msg, tt.want)
			}
			if strings.Contains(msg, ":p@") {
				t.Fatalf("error leaks the password: %q", msg)
			}
		})
	}
}

// unreadableDir returns a data directory that the server cannot use: for
// root, under a directory the postgres user may not enter; otherwise a
// directory without permissions.
func unreadableDir(t *testing.T) string {
	t.Helper()
	parent := sharedTempDir(t)
	locked := filepath.Join(parent, "locked")
	if err := os.Mkdir(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(locked, 0)
	t.Cleanup(func() { os.Chmod(locked, 0o700) })
	return locked
}

func wantOneLineError(t *testing.T, err error, code, contains string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if got := geo.ErrorCode(err); got != code {
		t.Errorf("code %q, want %q (error: %v)", got, code, err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}
	if !strings.Contains(msg, contains) {
		t.Errorf("error %q does not mention %q", msg, contains)
	}
}

func findPostgres(t *testing.T) string {
	t.Helper()
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(m) == 0 {
		t.Fatal("no PostgreSQL binaries: run make test, which installs them")
	}
	return m[len(m)-1]
}

// postgresChildren lists the processes whose parent is pid.
func postgresChildren(pid int) []int {
	var kids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the ")" that ends the command name: state ppid ...
		s := string(b)
		fields := strings.Fields(s[strings.LastIndex(s, ")")+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			kids = append(kids, p)
		}
	}
	return kids
}
