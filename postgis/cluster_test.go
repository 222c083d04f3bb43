package postgis_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/postgis"
)

// TestEmbeddedPrivateParent starts the embedded server on a data directory
// under a 0700 folder (a clone under /root). As root, postgres runs as the
// postgres user, who cannot enter it: the cluster then lives under
// /var/lib/gridd, recorded in the data directory, and a restart and an
// attaching command find it again; the folder keeps its mode. As anyone
// else the cluster stays in the data directory.
func TestEmbeddedPrivateParent(t *testing.T) {
	ctx := context.Background()
	parent, err := os.MkdirTemp("", "gridd-private-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(parent, "data")
	cfg := postgis.EmbeddedConfig{DataDir: dataDir, Throwaway: true, Attach: true}

	srv := startEmbedded(t, cfg)
	clusterDir := dataDir
	if os.Geteuid() == 0 {
		b, err := os.ReadFile(filepath.Join(dataDir, "cluster"))
		if err != nil {
			t.Fatalf("no record of where the cluster lives: %v", err)
		}
		clusterDir = strings.TrimSpace(string(b))
		if !strings.HasPrefix(clusterDir, "/var/lib/gridd/") {
			t.Fatalf("the cluster of a data directory postgres cannot enter lives in %q", clusterDir)
		}
		t.Cleanup(func() { os.RemoveAll(clusterDir) })
	}
	if _, err := os.Stat(filepath.Join(clusterDir, "pgdata", "PG_VERSION")); err != nil {
		t.Fatalf("no cluster in %s: %v", clusterDir, err)
	}
	if fi, err := os.Stat(parent); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the private folder's mode changed: %v %v", fi.Mode(), err)
	}

	db, err := postgis.Open(ctx, postgis.Config{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO generations (note) VALUES ('kept in the private folder')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// A second process's start attaches to the running server and leaves
	// it running when it stops.
	other := startEmbedded(t, cfg)
	if !other.Attached() || other.Port() != srv.Port() || other.PID() != srv.PID() {
		t.Errorf("second start: attached %v, port %d pid %d; the server is on port %d pid %d", other.Attached(), other.Port(), other.PID(), srv.Port(), srv.PID())
	}
	if err := other.Stop(); err != nil {
		t.Fatal(err)
	}
	if !alive(srv.PID()) {
		t.Fatal("stopping an attached start stopped the server")
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}

	// Started again: the same cluster, the same data.
	srv2 := startEmbedded(t, cfg)
	if srv2.Attached() {
		t.Error("a start after the stop attached to something")
	}
	db2, err := postgis.Open(ctx, postgis.Config{URL: srv2.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	var note string
	if err := db2.Pool.QueryRow(ctx, `SELECT note FROM generations`).Scan(&note); err != nil || note != "kept in the private folder" {
		t.Fatalf("after a restart: note %q, err %v", note, err)
	}
}

// TestEmbeddedServeClaims: 'gridd serve' (Serve) claims its data
// directory: a second serve is refused, and so is a serve on a server that
// a CLI command started (it would stop the server under the serve); a
// command attaches to a serve's server.
func TestEmbeddedServeClaims(t *testing.T) {
	ctx := context.Background()
	dir := sharedTempDir(t)
	cmd := startEmbedded(t, postgis.EmbeddedConfig{DataDir: dir, Throwaway: true, Attach: true})
	_, err := postgis.StartEmbedded(ctx, postgis.EmbeddedConfig{DataDir: dir, Throwaway: true, Serve: true})
	wantOneLineError(t, err, geo.ECONFLICT, "started by a gridd command")
	if err := cmd.Stop(); err != nil {
		t.Fatal(err)
	}

	serve := startEmbedded(t, postgis.EmbeddedConfig{DataDir: dir, Throwaway: true, Serve: true})
	if serve.Attached() {
		t.Error("serve attached to a server after the command stopped its own")
	}
	_, err = postgis.StartEmbedded(ctx, postgis.EmbeddedConfig{DataDir: dir, Throwaway: true, Serve: true})
	wantOneLineError(t, err, geo.ECONFLICT, "another gridd serve")
	attached := startEmbedded(t, postgis.EmbeddedConfig{DataDir: dir, Throwaway: true, Attach: true})
	if !attached.Attached() || attached.PID() != serve.PID() {
		t.Errorf("a command beside serve: attached %v to pid %d, serve's postgres is %d", attached.Attached(), attached.PID(), serve.PID())
	}
	attached.Stop()
	if !alive(serve.PID()) {
		t.Error("a command ending stopped serve's postgres")
	}
}
