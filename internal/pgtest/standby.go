package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Replicated is a PostgreSQL primary with a streaming standby made from
// it by pg_basebackup, both real servers of their own (the embedded
// test server runs with wal_level=minimal and cannot feed one).
type Replicated struct {
	PrimaryURL, StandbyURL string // of the database "gridd" (PostGIS installed, not migrated)
	dir                    string
	standby                *exec.Cmd
	standbyPort            int
	bin                    string
	cred                   *syscall.Credential
	t                      testing.TB
}

// StartReplicated starts a primary and a standby in a temporary
// directory, stopped and removed when the test ends.
func StartReplicated(t testing.TB) *Replicated {
	t.Helper()
	bin, err := newestPGBin()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := MkdirShared("gridd-standby-")
	if err != nil {
		t.Fatal(err)
	}
	r := &Replicated{dir: dir, bin: bin, t: t}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres system user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		r.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		os.Chown(dir, uid, gid)
	}
	primary := filepath.Join(dir, "primary")
	r.run("initdb", "-D", primary, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	pport, sport := freeTCPPort(t), freeTCPPort(t)
	r.start(primary, pport)
	r.PrimaryURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/gridd?sslmode=disable", pport)
	admin := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pport)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE gridd`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	conn, err = pgx.Connect(ctx, r.PrimaryURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS postgis`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	standby := filepath.Join(dir, "standby")
	r.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(pport), "-U", "postgres", "-D", standby, "-R", "-X", "stream", "-c", "fast", "--no-sync")
	r.standbyPort = sport
	r.standby = r.start(standby, sport)
	r.StandbyURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/gridd?sslmode=disable", sport)
	return r
}

// StopStandby stops the standby (a fast shutdown).
func (r *Replicated) StopStandby() {
	r.standby.Process.Signal(syscall.SIGINT)
	r.standby.Wait()
}

func (r *Replicated) run(name string, args ...string) {
	r.t.Helper()
	cmd := exec.Command(filepath.Join(r.bin, name), args...)
	cmd.Dir = r.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("%s: %v: %s", name, err, out)
	}
}

// start runs postgres on a data directory and waits until it answers.
func (r *Replicated) start(pgdata string, port int) *exec.Cmd {
	r.t.Helper()
	cmd := exec.Command(filepath.Join(r.bin, "postgres"), "-D", pgdata, "-p", strconv.Itoa(port), "-k", r.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "wal_level=replica", "-c", "max_wal_senders=4", "-c", "hot_standby=on",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "wal_receiver_status_interval=1s",
		"-c", "shared_buffers=128MB", "-c", "work_mem=32MB", "-c", "maintenance_work_mem=128MB")
	cmd.Dir = r.dir
	log, err := os.Create(pgdata + ".log")
	if err != nil {
		r.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGINT)
			cmd.Wait()
		}
	})
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", port)
	for i := 0; i < 300; i++ {
		if conn, err := pgx.Connect(context.Background(), url); err == nil {
			conn.Close(context.Background())
			return cmd
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(pgdata + ".log")
	r.t.Fatalf("postgres on %s did not come up: %s", pgdata, b)
	return nil
}

// newestPGBin is the newest /usr/lib/postgresql/*/bin.
func newestPGBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a < b
	})
	if len(dirs) == 0 {
		return "", fmt.Errorf("no PostgreSQL binaries in /usr/lib/postgresql/*/bin: install postgresql (make test-deps)")
	}
	return dirs[len(dirs)-1], nil
}

func freeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
