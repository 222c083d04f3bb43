package postgis_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gridd/gridd/demo"
	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/gridd/gridd/postgis"
)

// loadCity fills db with the demo generator's city for a Ningbo district.
func loadCity(t *testing.T, db *postgis.DB, district string, seed int) {
	t.Helper()
	city, err := demo.Ningbo(district)
	if err != nil {
		t.Fatal(err)
	}
	in := postgis.DemoInput{District: city.District, BoundaryGeoJSON: city.BoundaryGeoJSON, Seed: seed, UrbanCentre: city.UrbanCentre}
	in.Divisions = append(append(in.Divisions, city.Streets...), city.Communities...)
	if err := db.GenerateDemo(context.Background(), in); err != nil {
		t.Fatalf("generate city %s seed %d: %v", district, seed, err)
	}
}

func merge(t *testing.T, db *postgis.DB, p geo.MergeParams) geo.MergeReport {
	t.Helper()
	rep, err := db.Merge(context.Background(), p)
	if err != nil {
		t.Fatalf("merge: %v", err)
	}
	return rep
}

// checkCoverage asserts the properties every merged generation must have.
func checkCoverage(t *testing.T, db *postgis.DB, gen int) {
	t.Helper()
	ctx := context.Background()
	vs, err := db.Check(ctx, gen, geo.CheckParams{})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		if i < 10 {
			t.Errorf("generation %d violates %s: %s %s %s %.4f %s", gen, v.Rule, v.Level, v.Code, v.Other, v.Amount, v.Detail)
		}
	}
	// Every departmental grid is in the crosswalk and its shares add up to 1.
	rows, err := db.Pool.Query(ctx, `
		WITH latest AS (SELECT DISTINCT ON (dept_code) id, dept_code FROM source_layers
		                WHERE level = 'grid' AND dept_code IS NOT NULL ORDER BY dept_code, version DESC)
		SELECT l.dept_code, f.code, coalesce(sum(c.source_share), 0)
		FROM latest l JOIN source_features f ON f.layer_id = l.id
		LEFT JOIN crosswalk c ON c.feature_id = f.id AND c.generation = $1
		GROUP BY l.dept_code, f.id, f.code
		HAVING abs(coalesce(sum(c.source_share), 0) - 1) > 0.001`, gen)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var dept, code string
		var sum float64
		rows.Scan(&dept, &code, &sum)
		t.Errorf("generation %d: crosswalk shares of %s grid %s add up to %.5f", gen, dept, code, sum)
	}
}

func TestMergeProperties(t *testing.T) {
	for _, city := range []struct {
		district string
		seed     int
	}{{demo.DefaultDistrict, 7}, {demo.DefaultDistrict, 8}, {"330205", 3}} {
		t.Run(fmt.Sprintf("%s-seed%d", city.district, city.seed), func(t *testing.T) {
			db := pgtest.NewDB(t)
			loadCity(t, db, city.district, city.seed)
			rep := merge(t, db, geo.MergeParams{})
			checkCoverage(t, db, rep.Generation)
			grids := rep.Levels["grid"].Areas
			t.Logf("grids %+v codes %v", *rep.Levels["grid"], rep.Codes)
			if grids == 0 || rep.Codes["kept"]+rep.Codes["source"]+rep.Codes["new"] != grids {
				t.Errorf("codes %v do not account for %d grids", rep.Codes, grids)
			}
			// The demo's 综治 layer drops 2% of grids: their holes become new grids.
			if rep.Levels["grid"].NewGrids == 0 || rep.Levels["grid"].Overlaps == 0 || rep.Levels["grid"].Gaps == 0 {
				t.Errorf("expected overlaps, gaps and new grids to be resolved: %+v", rep.Levels["grid"])
			}
			if z := rep.Crosswalk["zongzhi"]; z == nil || z.Within < z.Grids*3/4 {
				t.Errorf("the base department's grids should mostly lie within one unified grid: %+v", z)
			}
			if len(rep.Crosswalk) != 3 {
				t.Errorf("crosswalk for %d departments, want 3", len(rep.Crosswalk))
			}
		})
	}
}

// codesOf returns code → md5 of the geometry of every grid of gen.
func codesOf(t *testing.T, db *postgis.DB, gen int) map[string]string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT code, md5(ST_AsBinary(ST_Normalize(geom))) FROM areas WHERE generation = $1 AND level = 'grid'`, gen)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var c, h string
		rows.Scan(&c, &h)
		out[c] = h
	}
	return out
}

// shiftLayer stores a new version of a department's grid layer with every
// feature moved by up to maxMetres in a direction of its own.
func shiftLayer(t *testing.T, db *postgis.DB, dept string, maxMetres float64) {
	t.Helper()
	_, err := db.Pool.Exec(context.Background(), `
		WITH old AS (SELECT * FROM source_layers WHERE dept_code = $1 AND level = 'grid' ORDER BY version DESC LIMIT 1),
		ins AS (INSERT INTO source_layers (dept_code, level, version, name, file_name)
		        SELECT dept_code, level, version + 1, name || ' (shifted)', 'test' FROM old RETURNING id)
		INSERT INTO source_features (layer_id, fid, code, name, parent_code, households, population, props, geom)
		SELECT ins.id, f.fid, f.code, f.name, f.parent_code, f.households, f.population, f.props,
		       ST_Transform(ST_Translate(ST_Transform(f.geom, 32651),
		           $2 * sin(f.fid * 1.7) * abs(cos(f.fid * 0.3)), $2 * cos(f.fid * 1.7) * abs(cos(f.fid * 0.3))), 4326)
		FROM ins, old JOIN source_features f ON f.layer_id = old.id`, dept, maxMetres)
	if err != nil {
		t.Fatal(err)
	}
}

func TestMergeStableCodes(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	loadCity(t, db, demo.DefaultDistrict, 7)
	first := merge(t, db, geo.MergeParams{})
	if err := db.Activate(ctx, first.Generation); err != nil {
		t.Fatal(err)
	}
	codes1 := codesOf(t, db, first.Generation)

	// Identical input: identical codes and shapes, every grid kept.
	again := merge(t, db, geo.MergeParams{})
	codes2 := codesOf(t, db, again.Generation)
	if len(codes2) != len(codes1) {
		t.Fatalf("re-merge made %d grids, first %d", len(codes2), len(codes1))
	}
	for c, h := range codes1 {
		if codes2[c] != h {
			t.Errorf("re-merge changed grid %s", c)
			break
		}
	}
	if again.Lineage["kept"] != len(codes1) {
		t.Errorf("lineage of an identical re-merge: %v, want %d kept", again.Lineage, len(codes1))
	}

	// The base department moves its borders by up to 10 m: ≥ 95 % of codes stay.
	shiftLayer(t, db, "zongzhi", 10)
	moved := merge(t, db, geo.MergeParams{})
	checkCoverage(t, db, moved.Generation)
	codes3 := codesOf(t, db, moved.Generation)
	kept := 0
	for c := range codes1 {
		if _, ok := codes3[c]; ok {
			kept++
		}
	}
	if share := float64(kept) / float64(len(codes1)); share < 0.95 {
		t.Errorf("after a 10 m shift %d of %d codes kept (%.1f%%), want ≥ 95%%", kept, len(codes1), 100*share)
	} else {
		t.Logf("after a 10 m shift %d of %d codes kept (%.2f%%); lineage %v", kept, len(codes1), 100*share, moved.Lineage)
	}
}

// TestRetiredCodesNotReused: a grid that disappears retires its code; when
// a grid comes back in its place it gets a new code.
func TestRetiredCodesNotReused(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	loadCity(t, db, "330205", 3)
	first := merge(t, db, geo.MergeParams{})
	if err := db.Activate(ctx, first.Generation); err != nil {
		t.Fatal(err)
	}
	var victim string
	// A grid small enough that, when it is dropped, its neighbours take its
	// area instead of a new grid in its place (which would keep its code).
	if err := db.Pool.QueryRow(ctx, `SELECT a.code FROM areas a WHERE a.generation = $1 AND a.level = 'grid'
		AND a.area_m2 BETWEEN 5000 AND 40000 AND right(a.code, 3) <> '001' ORDER BY a.code LIMIT 1`, first.Generation).Scan(&victim); err != nil {
		t.Fatal(err)
	}
	// Version 2 of 综治 without the victim; version 3 with it again.
	for _, keepVictim := range []bool{false, true} {
		if _, err := db.Pool.Exec(ctx, `
			WITH base AS (SELECT * FROM source_layers WHERE dept_code = 'zongzhi' AND version = 1),
			ins AS (INSERT INTO source_layers (dept_code, level, version, name)
			        SELECT 'zongzhi', 'grid', (SELECT max(version) + 1 FROM source_layers WHERE dept_code = 'zongzhi'), 'edit' RETURNING id)
			INSERT INTO source_features (layer_id, fid, code, name, parent_code, households, geom)
			SELECT ins.id, f.fid, f.code, f.name, f.parent_code, f.households, f.geom
			FROM ins, base JOIN source_features f ON f.layer_id = base.id
			WHERE $1 OR f.code <> $2`, keepVictim, victim); err != nil {
			t.Fatal(err)
		}
		rep := merge(t, db, geo.MergeParams{})
		checkCoverage(t, db, rep.Generation)
		codes := codesOf(t, db, rep.Generation)
		if _, ok := codes[victim]; ok {
			t.Fatalf("keepVictim=%v: retired code %s issued again", keepVictim, victim)
		}
		if !keepVictim && rep.Lineage["retired"] == 0 {
			t.Errorf("dropping grid %s retired nothing: %v", victim, rep.Lineage)
		}
		if err := db.Activate(ctx, rep.Generation); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMergeRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	for _, tt := range []struct {
		p    geo.MergeParams
		want string
	}{
		{geo.MergeParams{}, "grid layer"},
		{geo.MergeParams{Strategy: "magic"}, "strategy"},
		{geo.MergeParams{GridSize: 5}, "too coarse"},
		{geo.MergeParams{MatchShare: 2}, "match share"},
	} {
		_, err := db.Merge(ctx, tt.p)
		if geo.ErrorCode(err) != geo.EINVALID {
			t.Errorf("merge %+v: %v, want invalid", tt.p, err)
		}
	}
	var n int
	db.Pool.QueryRow(ctx, `SELECT count(*) FROM generations`).Scan(&n)
	if n != 0 {
		t.Errorf("failed merges left %d generations", n)
	}
}

// TestMergeOverlay: the overlay strategy makes grids from the common
// refinement of all departments' layers; the coverage rules hold.
func TestMergeOverlay(t *testing.T) {
	db := pgtest.NewDB(t)
	loadCity(t, db, "330205", 3)
	rep := merge(t, db, geo.MergeParams{Strategy: "overlay"})
	checkCoverage(t, db, rep.Generation)
	base := merge(t, db, geo.MergeParams{})
	t.Logf("overlay: %d grids (base strategy: %d); codes %v; timings %v", rep.Levels["grid"].Areas, base.Levels["grid"].Areas, rep.Codes, rep.Timings)
	if rep.Levels["grid"].Areas <= base.Levels["grid"].Areas {
		t.Errorf("the refinement of three layers should make more grids than the base layer alone")
	}
}
