// Package pgtest gives tests a real PostGIS database of their own. Tests
// never mock the database: with GRIDD_TEST_DATABASE_URL set (make test sets
// it to a throwaway embedded server shared by all packages) each test gets a
// fresh database cloned from a migrated template; without it, Main starts an
// embedded server for the package's test binary. When no PostGIS can be had
// the tests fail, they never skip.
package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridd/gridd/postgis"
	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable holding an admin URL of a PostGIS server on
// which tests may create and drop databases.
const EnvURL = "GRIDD_TEST_DATABASE_URL"

// Main runs the package's tests, starting an embedded throwaway PostGIS
// first when EnvURL is not set. Call it from TestMain.
func Main(m *testing.M) {
	if os.Getenv(EnvURL) != "" {
		os.Exit(m.Run())
	}
	dir, err := MkdirShared("gridd-pgtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		os.Exit(2)
	}
	srv, err := postgis.StartEmbedded(context.Background(), postgis.EmbeddedConfig{DataDir: dir, Throwaway: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest: cannot start an embedded PostGIS for the tests:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	os.Setenv(EnvURL, srv.AdminURL())
	code := m.Run()
	srv.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// MkdirShared makes a temporary directory that the postgres system user
// can enter too (t.TempDir's are private to root), for embedded servers.
func MkdirShared(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	return dir, os.Chmod(dir, 0o755)
}

var dbSeq atomic.Int64

// NewDB returns a migrated, empty gridd database that is dropped when the
// test ends.
func NewDB(t testing.TB) *postgis.DB {
	t.Helper()
	url := NewDatabaseURL(t)
	ctx := context.Background()
	db, err := postgis.Open(ctx, postgis.Config{URL: url})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// NewDatabaseURL creates a fresh database from the migrated template and
// returns its URL; the database is dropped when the test ends.
func NewDatabaseURL(t testing.TB) string {
	t.Helper()
	return newDatabaseURL(t, "", nil)
}

// NewFilledDatabaseURL is NewDatabaseURL with data: fill(url) loads a
// migrated database once per test server (and per name), which then serves
// as the template of every database asked for under that name. Tests that
// each need, say, the demo city get a copy in a second instead of loading
// it anew.
func NewFilledDatabaseURL(t testing.TB, name string, fill func(url string) error) string {
	t.Helper()
	return newDatabaseURL(t, name, fill)
}

func newDatabaseURL(t testing.TB, fillName string, fill func(url string) error) string {
	t.Helper()
	admin := os.Getenv(EnvURL)
	if admin == "" {
		t.Fatalf("%s is not set: run the tests with 'make test', or call pgtest.Main from TestMain", EnvURL)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to the test PostGIS at %s: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	tmpl, err := ensureTemplate(ctx, conn, admin)
	if err != nil {
		t.Fatalf("prepare template database: %v", err)
	}
	if fill != nil {
		if tmpl, err = ensureFilledTemplate(ctx, conn, admin, tmpl, fillName, fill); err != nil {
			t.Fatalf("prepare the %s template database: %v", fillName, err)
		}
	}
	name := fmt.Sprintf("gridd_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, dbSeq.Add(1))
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE `+tmpl); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(admin, name)
}

// ensureFilledTemplate makes (once per server) the template named fillName:
// a copy of the migrated template base, filled by fill.
func ensureFilledTemplate(ctx context.Context, conn *pgx.Conn, admin, base, fillName string, fill func(string) error) (string, error) {
	if !validFillName.MatchString(fillName) {
		return "", fmt.Errorf("template name %q: use lower-case letters and digits", fillName)
	}
	name := base + "_" + fillName
	return name, ensureBuilt(ctx, conn, name, `TEMPLATE `+base, func(building string) error {
		return fill(withDatabase(admin, building))
	})
}

var validFillName = regexp.MustCompile(`^[a-z0-9]{1,20}$`)

// ensureTemplate makes (once per server and migration set) a database with
// PostGIS and all migrations applied, from which test databases are cloned.
func ensureTemplate(ctx context.Context, conn *pgx.Conn, admin string) (string, error) {
	name := "gridd_tmpl_" + migrationsHash()
	return name, ensureBuilt(ctx, conn, name, `TEMPLATE template0 ENCODING 'UTF8'`, func(building string) error {
		db, err := postgis.Open(ctx, postgis.Config{URL: withDatabase(admin, building)})
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.Migrate(ctx)
		return err
	})
}

// ensureBuilt makes database name unless it exists: created with the
// options given (CREATE DATABASE … options) under a temporary name, built,
// then renamed, so that nobody ever copies a half-built one. Several test
// binaries run at once: an advisory lock per name lets one build while the
// others wait.
func ensureBuilt(ctx context.Context, conn *pgx.Conn, name, options string, build func(building string) error) error {
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext($1))`, name); err != nil {
		return err
	}
	defer conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtext($1))`, name)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	building := name + "_building"
	conn.Exec(ctx, `DROP DATABASE IF EXISTS `+building+` WITH (FORCE)`)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+building+` `+options); err != nil {
		return err
	}
	if err := build(building); err != nil {
		conn.Exec(ctx, `DROP DATABASE IF EXISTS `+building+` WITH (FORCE)`)
		return err
	}
	// Whatever the build left connected (pools close lazily) must go
	// before the database can be renamed and copied.
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, building); err != nil {
		return err
	}
	_, err := conn.Exec(ctx, `ALTER DATABASE `+building+` RENAME TO `+name)
	return err
}

func migrationsHash() string {
	h := sha256.New()
	fs.WalkDir(postgis.MigrationFS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(postgis.MigrationFS(), path)
			h.Write([]byte(path))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func withDatabase(rawURL, db string) string {
	u, err := url.Parse(rawURL)
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		panic(fmt.Sprintf("%s must be a postgres:// URL", EnvURL))
	}
	u.Path = "/" + db
	return u.String()
}
