package main

import (
	"context"
	"flag"
	"log/slog"
	"os"

	"github.com/gridd/gridd/postgis"
)

// dbFlags choose the database: an external PostGIS with --db, or the
// embedded one in --data.
type dbFlags struct {
	url     string
	dataDir string
	pgPort  int
	pgBin   string
	// serve: this is 'gridd serve', which claims the data directory (a
	// second serve is refused); every other command attaches to the
	// server running there, if any, and leaves it running.
	serve bool
}

func (f *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "db", os.Getenv("DATABASE_URL"), "external PostGIS URL (postgres://user:pass@host:5432/db); default $DATABASE_URL, else the embedded server")
	fs.StringVar(&f.dataDir, "data", envOr("GRIDD_DATA", "var"), "data directory of the embedded PostgreSQL ($GRIDD_DATA)")
	fs.IntVar(&f.pgPort, "pg-port", 0, "loopback port of the embedded PostgreSQL (0: a free one)")
	fs.StringVar(&f.pgBin, "pg-bin", "", "directory of the PostgreSQL binaries (default: newest /usr/lib/postgresql/*/bin)")
}

// database is an open, migrated gridd database and, when embedded, the
// server under it.
type database struct {
	*postgis.DB
	embedded *postgis.Embedded
}

// Close closes the pool and stops the embedded server, if any.
func (d *database) Close() {
	d.DB.Close()
	if d.embedded != nil {
		if err := d.embedded.Stop(); err != nil {
			slog.Error("stop embedded postgres", "err", err)
		}
	}
}

// open connects to (or starts) the database and migrates it.
func (f *dbFlags) open(ctx context.Context) (*database, error) {
	d := &database{}
	url := f.url
	if url == "" {
		srv, err := postgis.StartEmbedded(ctx, postgis.EmbeddedConfig{DataDir: f.dataDir, Port: f.pgPort, BinDir: f.pgBin, Attach: !f.serve, Serve: f.serve})
		if err != nil {
			return nil, err
		}
		if srv.Attached() {
			slog.Info("attached to the embedded postgres already running", "pid", srv.PID(), "port", srv.Port(), "data", f.dataDir)
		}
		d.embedded = srv
		url = srv.URL()
	}
	db, err := postgis.Open(ctx, postgis.Config{URL: url})
	if err != nil {
		if d.embedded != nil {
			d.embedded.Stop()
		}
		return nil, err
	}
	d.DB = db
	if _, err := db.Migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
