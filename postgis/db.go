package postgis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DB is the gridd database: a connection pool on a PostGIS ≥ 3.1 database.
type DB struct {
	Pool  *pgxpool.Pool
	tiles tileState // prepared tile geometry built and being built
	read  *readPool // the standby for heavy reads (AttachReader); nil: none
}

// Config is how to reach the database.
type Config struct {
	URL            string        // postgres:// URL or key=value DSN
	MaxConns       int32         // 0: pgx's default (max(4, cores))
	ConnectTimeout time.Duration // 0: 5s
}

// minPostGIS is the oldest PostGIS gridd's SQL runs on (ST_TileEnvelope with
// margin, ST_AsMVT with feature ids, ST_MakeValid with params need 3.1+).
const minPostGIS = "3.1"

// Open connects, checks that PostGIS is there and new enough, and returns
// the pool. It does not migrate.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, geo.Errorf(geo.EINVALID, "bad --db URL: %s (expected postgres://user:password@host:5432/dbname)", cleanParseError(err))
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	// Fail fast while the database is down or restarting: a refused
	// connection fails at once, a silent host after the connect timeout,
	// and a pooled connection that died with the old server is found by
	// the ping on acquire (connections idle ≥ 1 s) within PingTimeout and
	// replaced; the pool needs no restart when the database is back.
	timeout := cfg.ConnectTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	pcfg.ConnConfig.ConnectTimeout = timeout
	pcfg.PingTimeout = 2 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "bad --db URL")
	}
	db := &DB{Pool: pool}
	if err := db.checkPostGIS(ctx, pcfg.ConnConfig.Host, pcfg.ConnConfig.Port, pcfg.ConnConfig.Database); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

// Ping answers whether the database answers, within ctx.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.Pool.Ping(ctx); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "database unavailable")
	}
	return nil
}

func (db *DB) checkPostGIS(ctx context.Context, host string, port uint16, dbname string) error {
	where := fmt.Sprintf("%s/%s", net.JoinHostPort(host, strconv.Itoa(int(port))), dbname)
	var installed, available *string
	err := db.Pool.QueryRow(ctx, `
		SELECT (SELECT extversion FROM pg_extension WHERE extname = 'postgis'),
		       (SELECT default_version FROM pg_available_extensions WHERE name = 'postgis')`).Scan(&installed, &available)
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "cannot reach the database at %s", where)
	}
	version := installed
	if version == nil {
		version = available
	}
	if version == nil {
		return geo.Errorf(geo.EUNAVAILABLE, "the database server at %s has no PostGIS: install it there (Debian: apt-get install postgresql-NN-postgis-3)", where)
	}
	if !versionAtLeast(*version, minPostGIS) {
		return geo.Errorf(geo.EUNAVAILABLE, "PostGIS %s at %s is too old: gridd needs %s or newer", *version, where, minPostGIS)
	}
	if installed == nil {
		if _, err := db.Pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS postgis`); err != nil {
			return geo.WrapError(geo.EUNAVAILABLE, err, "PostGIS is available at %s but not enabled in %s and gridd may not enable it: run 'CREATE EXTENSION postgis' there as a superuser", where, dbname)
		}
	}
	return nil
}

func versionAtLeast(have, want string) bool {
	h, w := strings.Split(have, "."), strings.Split(want, ".")
	for i := 0; i < len(w); i++ {
		var hv int
		if i < len(h) {
			hv, _ = strconv.Atoi(strings.TrimFunc(h[i], func(r rune) bool { return r < '0' || r > '9' }))
		}
		wv, _ := strconv.Atoi(w[i])
		if hv != wv {
			return hv > wv
		}
	}
	return true
}

// cleanParseError drops the connection string (which may hold a password)
// from pgx's parse errors.
func cleanParseError(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return pe.Unwrap().Error()
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}
