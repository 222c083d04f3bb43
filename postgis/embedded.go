package postgis

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// EmbeddedConfig says where and how to run the embedded PostgreSQL server.
type EmbeddedConfig struct {
	// DataDir holds everything: the cluster in pgdata/, the socket in run/,
	// the generated password and postgres.log. Created when missing.
	DataDir string
	// Port on 127.0.0.1; 0 picks a free one at each start.
	Port int
	// BinDir holds postgres and initdb; "" picks the newest
	// /usr/lib/postgresql/*/bin.
	BinDir string
	// Throwaway turns off fsync and friends: for tests, never for data
	// anyone wants to keep.
	Throwaway bool
	// StartTimeout bounds the wait for the server to accept connections.
	StartTimeout time.Duration
	// Attach connects to the server already running on the cluster (one
	// that another gridd process started) instead of refusing it; Stop
	// then leaves that server running.
	Attach bool
	// Serve claims the data directory for 'gridd serve': a second Serve
	// on it is refused, and so is attaching to a server that a CLI
	// command started (that command stops it when it ends).
	Serve bool

	// clusterDir holds pgdata/ and run/: DataDir, or the folder under
	// /var/lib/gridd recorded in DataDir/cluster (see clusterHome).
	clusterDir string
}

// Embedded is a running PostgreSQL server this process started, or one it
// attached to (EmbeddedConfig.Attach).
type Embedded struct {
	attachedPID int      // the postmaster of an attached server; 0 if ours
	users       *os.File // users.lock, held shared while we use the server
	serveLock   *os.File // serve.lock, held by gridd serve
	cfg         EmbeddedConfig
	binDir      string
	port        int
	password    string
	cmd         *exec.Cmd
	exited      chan struct{} // closed when the postgres process has exited
	waitErr     error
	logFile     *os.File
}

const (
	embeddedUser = "gridd"
	embeddedDB   = "gridd"
)

// StartEmbedded initialises the cluster on first use, starts postgres, waits
// until it accepts connections and makes sure the gridd database and the
// PostGIS extension exist. Every failure is an *geo.Error with one line that
// says what to do.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig) (*Embedded, error) {
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "data directory %q", cfg.DataDir)
	}
	cfg.DataDir = dataDir

	binDir, err := findBinDir(cfg.BinDir)
	if err != nil {
		return nil, err
	}
	if err := checkPostGISInstalled(binDir); err != nil {
		return nil, err
	}
	owner, err := serverOwner()
	if err != nil {
		return nil, err
	}
	if cfg.clusterDir, err = prepareDirs(dataDir, owner); err != nil {
		return nil, err
	}
	var serveLock *os.File
	if cfg.Serve {
		if serveLock, err = takeServeLock(dataDir); err != nil {
			return nil, err
		}
	}
	e, err := startOrAttach(ctx, cfg, binDir, owner)
	if err != nil {
		if serveLock != nil {
			serveLock.Close()
		}
		return nil, err
	}
	e.serveLock = serveLock
	return e, nil
}

// startOrAttach runs under start.lock: it finds the running server or
// starts one, and leaves users.lock held shared either way.
func startOrAttach(ctx context.Context, cfg EmbeddedConfig, binDir string, owner osUser) (*Embedded, error) {
	dataDir := cfg.DataDir
	startLock, err := lockFile(filepath.Join(dataDir, "start.lock"), syscall.LOCK_EX)
	if err != nil {
		return nil, err
	}
	defer startLock.Close()
	// Blocks while a process that started the server stops it.
	users, err := lockFile(filepath.Join(dataDir, "users.lock"), syscall.LOCK_SH)
	if err != nil {
		return nil, err
	}
	e, err := startLocked(ctx, cfg, binDir, owner)
	if err != nil {
		users.Close()
		return nil, err
	}
	e.users = users
	return e, nil
}

func startLocked(ctx context.Context, cfg EmbeddedConfig, binDir string, owner osUser) (*Embedded, error) {
	dataDir := cfg.DataDir
	password, err := loadOrCreatePassword(filepath.Join(dataDir, "password"))
	if err != nil {
		return nil, err
	}
	pgdata := filepath.Join(cfg.clusterDir, "pgdata")
	if err := initCluster(binDir, pgdata, password, owner); err != nil {
		return nil, err
	}
	if pid, port, ok := runningServer(pgdata); ok {
		switch {
		case cfg.Serve:
			return nil, geo.Errorf(geo.ECONFLICT, "postgres (pid %d) on %s was started by a gridd command that stops it when it ends: start gridd serve again once that command has finished", pid, pgdata)
		case cfg.Attach:
			return attach(ctx, cfg, binDir, password, pid, port)
		}
		return nil, checkNotRunning(pgdata)
	}
	port := cfg.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	} else if err := checkPortFree(port); err != nil {
		return nil, err
	}

	logPath := filepath.Join(dataDir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "cannot write the postgres log %s: check the data directory's permissions", logPath)
	}
	args := []string{
		"-D", pgdata,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port=" + strconv.Itoa(port),
		"-c", "unix_socket_directories=" + filepath.Join(cfg.clusterDir, "run"),
		"-c", "max_connections=200",
		"-c", "shared_buffers=256MB",
		"-c", "work_mem=32MB",
		"-c", "maintenance_work_mem=256MB",
		"-c", "logging_collector=off",
		// No replication from the embedded server: with minimal WAL, bulk
		// loads into tables made in the same transaction (each imported
		// layer gets one) skip the WAL entirely.
		"-c", "wal_level=minimal",
		"-c", "max_wal_senders=0",
	}
	if cfg.Throwaway {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(binDir, "postgres"), args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own process group, so a Ctrl-C at the terminal reaches gridd
		// only and gridd shuts postgres down in order.
		Setpgid: true,
		// If gridd dies without stopping it, the kernel asks postgres for
		// a fast shutdown: no orphaned servers holding the data directory.
		Pdeathsig:  syscall.SIGINT,
		Credential: owner.credential(),
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "cannot start %s", cmd.Path)
	}
	e := &Embedded{cfg: cfg, binDir: binDir, port: port, password: password, cmd: cmd, exited: make(chan struct{}), logFile: logFile}
	go func() {
		e.waitErr = cmd.Wait()
		logFile.Close()
		close(e.exited)
	}()
	if err := e.waitReady(ctx, logPath); err != nil {
		e.Stop()
		return nil, err
	}
	if err := e.ensureDatabase(ctx); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

// URL is the connection string of the gridd database on this server.
func (e *Embedded) URL() string { return e.urlFor(embeddedDB) }

// AdminURL is the connection string of the maintenance database, from which
// tests create and drop their own databases.
func (e *Embedded) AdminURL() string { return e.urlFor("postgres") }

func (e *Embedded) urlFor(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(embeddedUser, e.password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(e.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port is the loopback TCP port the server listens on.
func (e *Embedded) Port() int { return e.port }

// PID is the postmaster's process id.
func (e *Embedded) PID() int {
	if e.cmd == nil {
		return e.attachedPID
	}
	return e.cmd.Process.Pid
}

// Exited is closed when the postgres process has exited, for whatever reason.
func (e *Embedded) Exited() <-chan struct{} { return e.exited }

// Stop asks postgres for a fast shutdown (disconnect clients, checkpoint,
// exit) and waits for it; after a grace period it escalates to an immediate
// shutdown and finally a kill. Safe to call more than once. A server this
// process attached to is left running; one it started waits first for the
// gridd commands attached to it to end.
func (e *Embedded) Stop() error {
	defer e.releaseLocks()
	if e.cmd == nil {
		return nil
	}
	if e.users != nil {
		fd := int(e.users.Fd())
		if syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			slog.Info("waiting for the gridd commands attached to the embedded postgres to end", "data", e.cfg.DataDir)
			for syscall.Flock(fd, syscall.LOCK_EX) == syscall.EINTR {
			}
		}
	}
	select {
	case <-e.exited:
		return nil
	default:
	}
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGINT, 30 * time.Second}, {syscall.SIGQUIT, 10 * time.Second}, {syscall.SIGKILL, 10 * time.Second}}
	for _, s := range steps {
		_ = e.cmd.Process.Signal(s.sig)
		select {
		case <-e.exited:
			if s.sig != syscall.SIGINT {
				return fmt.Errorf("postgres did not stop on a fast shutdown; sent %v", s.sig)
			}
			return nil
		case <-time.After(s.wait):
		}
	}
	return fmt.Errorf("postgres pid %d did not exit", e.cmd.Process.Pid)
}

func (e *Embedded) waitReady(ctx context.Context, logPath string) error {
	deadline := time.Now().Add(e.cfg.StartTimeout)
	for {
		select {
		case <-e.exited:
			return geo.Errorf(geo.EUNAVAILABLE, "postgres exited while starting: %s (full log: %s)", lastLogLine(logPath), logPath)
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, e.AdminURL())
		cancel()
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return geo.Errorf(geo.EUNAVAILABLE, "postgres did not accept connections within %v: %s (full log: %s)", e.cfg.StartTimeout, lastLogLine(logPath), logPath)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *Embedded) ensureDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, e.AdminURL())
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "cannot connect to the embedded postgres")
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, embeddedDB).Scan(&exists); err != nil {
		return fmt.Errorf("look up database: %w", err)
	}
	if !exists {
		// The identifier is a constant of this package, not input.
		if _, err := conn.Exec(ctx, `CREATE DATABASE `+embeddedDB+` ENCODING 'UTF8' TEMPLATE template0`); err != nil {
			return fmt.Errorf("create database: %w", err)
		}
	}
	db, err := pgx.Connect(ctx, e.URL())
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "cannot connect to the embedded gridd database")
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS postgis`); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "cannot create the PostGIS extension; install it with: apt-get install postgresql-%s-postgis-3", filepath.Base(filepath.Dir(e.binDir)))
	}
	return nil
}

// findBinDir returns dir if given, else the newest Debian PostgreSQL bin dir.
func findBinDir(dir string) (string, error) {
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err != nil {
			return "", geo.Errorf(geo.EINVALID, "no postgres binary in %s: point --pg-bin at the directory holding postgres and initdb", dir)
		}
		return dir, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(matches) == 0 {
		return "", geo.Errorf(geo.EUNAVAILABLE, "PostgreSQL server not found in /usr/lib/postgresql/*/bin: install it with 'apt-get install postgresql postgresql-15-postgis-3' (or 'make run'), or give an external database with --db")
	}
	sort.Slice(matches, func(i, j int) bool { return pgMajor(matches[i]) > pgMajor(matches[j]) })
	return filepath.Dir(matches[0]), nil
}

func pgMajor(postgresPath string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(postgresPath))))
	return n
}

// checkPostGISInstalled looks for postgis.control in the server's share dir
// (Debian: /usr/share/postgresql/NN/extension).
func checkPostGISInstalled(binDir string) error {
	out, err := exec.Command(filepath.Join(binDir, "pg_config"), "--sharedir").Output()
	share := strings.TrimSpace(string(out))
	major := filepath.Base(filepath.Dir(binDir))
	if err != nil || share == "" {
		share = filepath.Join("/usr/share/postgresql", major)
	}
	if _, err := os.Stat(filepath.Join(share, "extension", "postgis.control")); err != nil {
		return geo.Errorf(geo.EUNAVAILABLE, "the PostGIS extension is not installed for PostgreSQL %s: install it with 'apt-get install postgresql-%s-postgis-3'", major, major)
	}
	return nil
}

// osUser is who runs postgres: this process's user, or the postgres system
// user when gridd runs as root (initdb and postgres refuse to run as root).
type osUser struct {
	uid, gid int
	name     string
	switchTo bool
}

func (u osUser) credential() *syscall.Credential {
	if !u.switchTo {
		return nil
	}
	return &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid)}
}

func serverOwner() (osUser, error) {
	if os.Geteuid() != 0 {
		return osUser{uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return osUser{}, geo.Errorf(geo.EUNAVAILABLE, "gridd runs as root, so it runs postgres as the 'postgres' user, which does not exist: install the postgresql package (it creates the user) or run gridd as an ordinary user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return osUser{uid: uid, gid: gid, name: "postgres", switchTo: true}, nil
}

// prepareDirs creates the data directory layout and, when running as root,
// hands the parts postgres writes to the postgres user. It returns the
// directory that holds the cluster (pgdata/ and run/).
func prepareDirs(dataDir string, owner osUser) (string, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", geo.WrapError(geo.EINVALID, err, "cannot create data directory %s: choose a writable one with --data", dataDir)
	}
	if _, err := os.ReadDir(dataDir); err != nil {
		return "", geo.WrapError(geo.EINVALID, err, "cannot read data directory %s: fix its permissions or choose another with --data", dataDir)
	}
	probe := filepath.Join(dataDir, ".write-test")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		return "", geo.WrapError(geo.EINVALID, err, "cannot write in data directory %s: fix its permissions or choose another with --data", dataDir)
	}
	os.Remove(probe)
	clusterDir, err := clusterHome(dataDir, owner)
	if err != nil {
		return "", err
	}
	for _, sub := range []string{"pgdata", "run"} {
		p := filepath.Join(clusterDir, sub)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return "", geo.WrapError(geo.EINVALID, err, "cannot create %s", p)
		}
		if owner.switchTo {
			if err := os.Chown(p, owner.uid, owner.gid); err != nil {
				return "", geo.WrapError(geo.EINVALID, err, "cannot give %s to the postgres user", p)
			}
		}
	}
	if owner.switchTo {
		if dir := untraversable(clusterDir, owner); dir != "" {
			return "", geo.Errorf(geo.EINVALID, "the postgres user cannot enter %s (mode %s): gridd runs as root and postgres as 'postgres', so choose a data directory under world-readable directories or 'chmod o+x %s'", dir, modeOf(dir), dir)
		}
	}
	return clusterDir, nil
}

// clusterRoot holds the clusters of data directories that the postgres
// user cannot enter.
const clusterRoot = "/var/lib/gridd"

// clusterHome is where the cluster of dataDir lives: dataDir itself, or —
// when gridd runs as root and postgres may not enter dataDir (a clone
// under /root, mode 0700) — a folder of its own under /var/lib/gridd,
// named after the data directory's path and recorded in DataDir/cluster
// so that every later start, and every command attaching, finds it even
// if the data directory moves. The user's own folders keep their modes.
func clusterHome(dataDir string, owner osUser) (string, error) {
	record := filepath.Join(dataDir, "cluster")
	if b, err := os.ReadFile(record); err == nil {
		if dir := strings.TrimSpace(string(b)); dir != "" {
			slog.Info("the embedded postgres cluster lives outside the data directory", "cluster", dir, "data", dataDir)
			return dir, nil
		}
	}
	if !owner.switchTo || untraversable(dataDir, owner) == "" {
		return dataDir, nil
	}
	sum := sha256.Sum256([]byte(dataDir))
	dir := filepath.Join(clusterRoot, hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", geo.WrapError(geo.EINVALID, err, "the postgres user cannot enter %s, and gridd cannot create %s for the cluster instead: choose a data directory under world-readable directories", dataDir, dir)
	}
	if err := os.WriteFile(record, []byte(dir+"\n"), 0o644); err != nil {
		return "", geo.WrapError(geo.EINVALID, err, "cannot write %s", record)
	}
	slog.Info("the postgres user cannot enter the data directory, so the embedded postgres cluster lives in "+dir+" (recorded in "+record+")", "data", dataDir)
	return dir, nil
}

// untraversable returns the first directory from / down to dir that owner
// may not enter, or "".
func untraversable(dir string, owner osUser) string {
	var chain []string
	for d := dir; ; d = filepath.Dir(d) {
		chain = append(chain, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		fi, err := os.Stat(chain[i])
		if err != nil {
			return chain[i]
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			continue
		}
		mode := fi.Mode().Perm()
		switch {
		case int(st.Uid) == owner.uid && mode&0o100 != 0:
		case int(st.Gid) == owner.gid && mode&0o010 != 0:
		case mode&0o001 != 0:
		default:
			return chain[i]
		}
	}
	return ""
}

func modeOf(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "unknown"
	}
	return fi.Mode().Perm().String()
}

func loadOrCreatePassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", geo.WrapError(geo.EINVALID, err, "cannot read %s", path)
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	pw := hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", geo.WrapError(geo.EINVALID, err, "cannot write %s: check the data directory's permissions", path)
	}
	return pw, nil
}

// initCluster runs initdb once; a cluster of another major version is refused.
func initCluster(binDir, pgdata, password string, owner osUser) error {
	versionFile := filepath.Join(pgdata, "PG_VERSION")
	if b, err := os.ReadFile(versionFile); err == nil {
		have := strings.TrimSpace(string(b))
		want := filepath.Base(filepath.Dir(binDir))
		if have != want {
			return geo.Errorf(geo.EINVALID, "the cluster in %s was made by PostgreSQL %s but the binaries are %s: use --pg-bin /usr/lib/postgresql/%s/bin or a new --data", pgdata, have, want, have)
		}
		return nil
	}
	entries, _ := os.ReadDir(pgdata)
	if len(entries) > 0 {
		return geo.Errorf(geo.EINVALID, "%s is not empty but holds no PostgreSQL cluster (no PG_VERSION): empty it or choose another --data", pgdata)
	}
	// initdb reads the superuser password from a file, which the postgres
	// user must be able to read; it lives next to the cluster for a moment.
	pwfile := filepath.Join(filepath.Dir(pgdata), "run", "initdb.pw")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		return geo.WrapError(geo.EINVALID, err, "cannot write %s", pwfile)
	}
	defer os.Remove(pwfile)
	if owner.switchTo {
		if err := os.Chown(pwfile, owner.uid, owner.gid); err != nil {
			return geo.WrapError(geo.EINVALID, err, "cannot give %s to the postgres user", pwfile)
		}
	}
	cmd := exec.Command(filepath.Join(binDir, "initdb"),
		"-D", pgdata, "-U", embeddedUser, "--pwfile="+pwfile,
		"--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
		"-E", "UTF8", "--locale=C", "--no-instructions")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: owner.credential()}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "initdb failed in %s: %s", pgdata, lastLine(string(out)))
	}
	return nil
}

// checkNotRunning refuses a data directory whose postmaster.pid names a live
// process: another gridd (or an orphan) still runs postgres on it.
func checkNotRunning(pgdata string) error {
	b, err := os.ReadFile(filepath.Join(pgdata, "postmaster.pid"))
	if err != nil {
		return nil
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return nil
	}
	if syscall.Kill(pid, 0) == nil || errors.Is(syscall.Kill(pid, 0), syscall.EPERM) {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.HasPrefix(string(comm), "postgres") {
			return geo.Errorf(geo.ECONFLICT, "postgres (pid %d) is already running on %s, probably another gridd: stop it first, or use another --data", pid, pgdata)
		}
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, geo.WrapError(geo.EUNAVAILABLE, err, "cannot find a free loopback port")
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func checkPortFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return geo.Errorf(geo.ECONFLICT, "port %d on 127.0.0.1 is in use: stop what listens there or choose another with --pg-port (0 picks a free one)", port)
	}
	l.Close()
	return nil
}

func lastLogLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "no log"
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > 4096 {
		f.Seek(-4096, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return lastLine(string(b))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return "(no output)"
}
