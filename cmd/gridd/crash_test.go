package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestCrashDuringMergeAndImport crashes PostgreSQL (an immediate
// shutdown, as a power cut of the database host) in the middle of a
// merge and in the middle of an import, starts it again, and shows that
// each left the database as it was before: no draft generation, no new
// layer version, no half-filled partition, the active generation and its
// areas untouched.
func TestCrashDuringMergeAndImport(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	pg := startCrashablePG(t, "gridd-crash-")
	url := pg.URL()
	t.Logf("PostgreSQL up after %.1fs", time.Since(start).Seconds())
	mustGridd(t, "demo", "--db", url, "--people=false", "--register=false")
	t.Logf("demo loaded after %.1fs", time.Since(start).Seconds())

	// state is what must survive a crash unchanged.
	state := func() string {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var s string
		err = conn.QueryRow(ctx, `SELECT concat_ws(' | ',
			(SELECT string_agg(id || ':' || state, ',' ORDER BY id) FROM generations),
			(SELECT string_agg(coalesce(dept_code, '-') || '/' || level || '/v' || version || '/' || feature_count, ',' ORDER BY id) FROM source_layers),
			(SELECT count(*) || ' areas ' || md5(string_agg(code || ST_AsEWKB(geom)::text, ',' ORDER BY generation, code)) FROM areas),
			(SELECT count(*) || ' features' FROM source_features),
			(SELECT count(*) || ' tables' FROM pg_tables WHERE schemaname = 'public'))`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	// crashDuring runs a gridd command, waits until it is working in the
	// database, crashes PostgreSQL, restarts it, and returns the
	// command's error (there must be one: it was cut off).
	crashDuring := func(args ...string) error {
		t.Helper()
		done := make(chan error, 1)
		go func() {
			_, err := gridd(t, args...)
			done <- err
		}()
		watch, err := pgx.Connect(ctx, pg.AdminURL())
		if err != nil {
			t.Fatal(err)
		}
		// Working: a statement of the command's has run for 100 ms.
		deadline := time.Now().Add(60 * time.Second)
		for {
			var busy bool
			err := watch.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = 'gridd'
				AND backend_type = 'client backend' AND state = 'active' AND now() - query_start > interval '100 ms')`).Scan(&busy)
			if err != nil {
				t.Fatal(err)
			}
			if busy {
				break
			}
			select {
			case err := <-done:
				t.Fatalf("gridd %s ended before the crash (%v): make its work bigger", strings.Join(args, " "), err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("gridd %s never got to work", strings.Join(args, " "))
			}
			time.Sleep(50 * time.Millisecond)
		}
		watch.Close(ctx)
		t.Logf("%s at work after %.1fs: crash", args[0], time.Since(start).Seconds())
		pg.crash(t)
		var cmdErr error
		select {
		case cmdErr = <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("gridd %s did not give up within 30 s of the crash", strings.Join(args, " "))
		}
		t.Logf("%s gave up after %.1fs", args[0], time.Since(start).Seconds())
		if err := pg.restart(); err != nil {
			t.Fatalf("restart postgres: %v", err)
		}
		t.Logf("PostgreSQL recovered after %.1fs", time.Since(start).Seconds())
		return cmdErr
	}

	t.Run("merge", func(t *testing.T) {
		before := state()
		if err := crashDuring("merge", "--db", url); err == nil {
			t.Fatal("the merge reported success although the database crashed under it")
		}
		if after := state(); after != before {
			t.Errorf("after a crash during a merge:\n%s\nbefore:\n%s", after, before)
		}
	})

	t.Run("import", func(t *testing.T) {
		// A layer big enough to be caught at work: 200,000 small squares.
		var b strings.Builder
		b.WriteString(`{"type":"FeatureCollection","features":[`)
		for i := 0; i < 200000; i++ {
			x, y := 121.40+float64(i%500)*0.001, 29.60+float64(i/500)*0.001
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"type":"Feature","properties":{"code":"330212001001%03d","name":"格%d"},"geometry":{"type":"Polygon","coordinates":[[[%.4f,%.4f],[%.4f,%.4f],[%.4f,%.4f],[%.4f,%.4f],[%.4f,%.4f]]]}}`,
				i%1000, i, x, y, x+0.0009, y, x+0.0009, y+0.0009, x, y+0.0009, x, y)
		}
		b.WriteString(`]}`)
		file := filepath.Join(t.TempDir(), "big.geojson")
		if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		before := state()
		if err := crashDuring("import", "--db", url, "--level", "grid", "--dept", "gongan", file); err == nil {
			t.Fatal("the import reported success although the database crashed under it")
		}
		if after := state(); after != before {
			t.Errorf("after a crash during an import:\n%s\nbefore:\n%s", after, before)
		}
	})
}
