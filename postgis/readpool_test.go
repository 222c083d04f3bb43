package postgis_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gridd/gridd/demo"
	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/gridd/gridd/postgis"
	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// TestReadStandby runs the heavy reads against a real streaming standby
// (pg_basebackup of a real primary): tiles, features and metrics go to it
// while it is current, to the primary while it has not replayed the
// latest activation, and to the primary when it is down.
func TestReadStandby(t *testing.T) {
	ctx := context.Background()
	r := pgtest.StartReplicated(t)
	db, err := postgis.Open(ctx, postgis.Config{URL: r.PrimaryURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	city, err := demo.Ningbo("330206") // not the demo's district
	if err != nil {
		t.Fatal(err)
	}
	in := postgis.DemoInput{District: city.District, BoundaryGeoJSON: city.BoundaryGeoJSON, Seed: 7, GridScale: 0.3}
	in.Divisions = append(append(in.Divisions, city.Streets...), city.Communities...)
	if err := db.GenerateDemo(ctx, in); err != nil {
		t.Fatal(err)
	}
	rep, err := db.Merge(ctx, geo.MergeParams{Base: []string{"zongzhi"}})
	if err != nil {
		t.Fatal(err)
	}
	gen := rep.Generation
	if err := db.Activate(ctx, gen); err != nil {
		t.Fatal(err)
	}
	t.Logf("generation %d of %s merged and active", gen, city.District.Name)
	if err := db.PrepareTiles(ctx, gen, geo.DatumWGS84); err != nil {
		t.Fatal(err)
	}
	var c orb.Point
	if err := db.Pool.QueryRow(ctx, `SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(ST_Union(geom)) p FROM areas WHERE generation = $1 AND level = 'grid') x`, gen).Scan(&c[0], &c[1]); err != nil {
		t.Fatal(err)
	}
	tq := func(g int) geo.TileQuery {
		tl := maptile.At(c, 12)
		return geo.TileQuery{Layer: "grids", Generation: g, Z: 12, X: int(tl.X), Y: int(tl.Y)}
	}
	want, err := db.Tile(ctx, tq(gen))
	if err != nil || len(want) == 0 {
		t.Fatalf("the primary's tile: %d bytes, %v", len(want), err)
	}

	reader, err := postgis.Open(ctx, postgis.Config{URL: r.PrimaryURL})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := reader.AttachReader(rctx, postgis.ReadConfig{URL: r.StandbyURL, Every: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, ok func(postgis.ReadStats) bool) postgis.ReadStats {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			st := reader.ReadStats()
			if ok(st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: never (%+v)", what, st)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("the standby in use", func(s postgis.ReadStats) bool { return s.Usable })
	// The tile build reaches the standby with the rest of the WAL.
	var st postgis.ReadStats
	deadline := time.Now().Add(20 * time.Second)
	for {
		before := reader.ReadStats()
		got, err := reader.Tile(ctx, tq(gen))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("the tile through the reader differs: %d bytes (want %d), %v", len(got), len(want), err)
		}
		st = reader.ReadStats()
		if st.Standby > before.Standby {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no tile read went to the standby: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	page, err := reader.Features(ctx, geo.FeatureQuery{Generation: gen, Level: geo.Grid, Limit: 5})
	if err != nil || page.Matched == 0 || len(page.Features) != 5 {
		t.Fatalf("features from the standby: %d matched, %d returned, %v", page.Matched, len(page.Features), err)
	}
	if after := reader.ReadStats(); after.Standby <= st.Standby {
		t.Fatalf("the features did not come from the standby: %+v", after)
	}

	// Replay paused, then an activation on the primary: the standby still
	// has the old generation active and must not serve.
	sconn, err := pgx.Connect(ctx, r.StandbyURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sconn.Exec(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO generations (id, note) VALUES ($1, 'copy')`, gen+1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO areas (generation, level, code, name, parent_code, households, population, geom)
		SELECT $1, level, code, name, parent_code, households, population, geom FROM areas WHERE generation = $2`, gen+1, gen); err != nil {
		t.Fatal(err)
	}
	if err := db.Activate(ctx, gen+1); err != nil {
		t.Fatal(err)
	}
	behind := waitFor("the lagging standby left out", func(s postgis.ReadStats) bool { return !s.Usable })
	if !strings.Contains(behind.Why, "activation") {
		t.Fatalf("why not used: %q", behind.Why)
	}
	if got, err := reader.Tile(ctx, tq(gen+1)); err != nil || len(got) == 0 {
		t.Fatalf("the new generation's tile from the primary: %d bytes, %v", len(got), err)
	}
	if _, err := sconn.Exec(ctx, `SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
	waitFor("the standby back in use after replay", func(s postgis.ReadStats) bool { return s.Usable })

	// Down: reads fall back at once, before the next check notices.
	sconn.Close(ctx)
	r.StopStandby()
	for i := 0; i < 3; i++ {
		if got, err := reader.Tile(ctx, tq(gen)); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("with the standby down: %d bytes, %v", len(got), err)
		}
	}
	if m, err := reader.Metrics(ctx, geo.MetricsQuery{Area: city.District.Code, From: time.Now().Add(-time.Hour), To: time.Now()}); err != nil {
		t.Fatalf("metrics with the standby down: %v %v", m, err)
	}
	down := waitFor("the stopped standby left out", func(s postgis.ReadStats) bool { return !s.Usable })
	if !strings.Contains(down.Why, "does not answer") && !strings.Contains(down.Why, "failed") {
		t.Fatalf("why not used: %q", down.Why)
	}
}
