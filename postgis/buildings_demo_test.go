package postgis_test

import (
	"context"
	"testing"

	"github.com/gridd/gridd/demo"
	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/gridd/gridd/postgis"
)

// TestBuildingDemo checks the demo's synthetic buildings on the demo
// district and a second one: deterministic, every grid of the merged
// generation holding buildings, denser in streets than in towns, and the
// grids' households mostly within 300–500, some outside.
func TestBuildingDemo(t *testing.T) {
	ctx := context.Background()
	for _, district := range []string{demo.DefaultDistrict, "330206"} {
		t.Run(district, func(t *testing.T) {
			db := pgtest.NewDB(t)
			city, err := demo.Ningbo(district)
			if err != nil {
				t.Fatal(err)
			}
			in := postgis.DemoInput{District: city.District, BoundaryGeoJSON: city.BoundaryGeoJSON, Seed: 7, UrbanCentre: city.UrbanCentre}
			in.Divisions = append(append(in.Divisions, city.Streets...), city.Communities...)
			if err := db.GenerateDemo(ctx, in); err != nil {
				t.Fatal(err)
			}
			rep, err := db.Merge(ctx, geo.MergeParams{Base: []string{"zongzhi"}})
			if err != nil {
				t.Fatal(err)
			}
			gen := rep.Generation
			var grids, withData, inRange, outside int
			if err := db.Pool.QueryRow(ctx, `
				SELECT count(*), count(c.code), count(*) FILTER (WHERE c.households BETWEEN 300 AND 500),
				       (SELECT count(*) FROM building_grid WHERE generation = $1 AND grid_code IS NULL)
				FROM areas a LEFT JOIN area_counts c ON c.generation = a.generation AND c.code = a.code
				WHERE a.generation = $1 AND a.level = 'grid'`, gen).Scan(&grids, &withData, &inRange, &outside); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d grids, %d with buildings, %d within 300–500 households, %d buildings outside; merge %+v", district, grids, withData, inRange, outside, rep.Buildings)
			var empty int
			if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM area_counts WHERE generation = $1 AND level = 'grid' AND buildings = 0`, gen).Scan(&empty); err != nil {
				t.Fatal(err)
			}
			if withData != grids || empty > grids/50 {
				t.Errorf("%d of %d grids have counts from data, %d of them no building", withData, grids, empty)
			}
			if inRange < grids/2 || inRange == grids {
				t.Errorf("%d of %d grids within 300–500 households: want most, not all", inRange, grids)
			}
			// Streets (街道, township codes below 100) are denser than towns.
			// (Buildings per km², and households per km² far more so.)
			var streetDensity, townDensity, streetHH, townHH float64
			if err := db.Pool.QueryRow(ctx, `
				WITH s AS (SELECT substr(a.code, 7, 3)::int < 100 AS urban, c.buildings, c.households, ST_Area(a.geom::geography) AS m2
				           FROM areas a JOIN area_counts c ON c.generation = a.generation AND c.code = a.code
				           WHERE a.generation = $1 AND a.level = 'street')
				SELECT sum(buildings) FILTER (WHERE urban) / sum(m2) FILTER (WHERE urban), sum(buildings) FILTER (WHERE NOT urban) / sum(m2) FILTER (WHERE NOT urban),
				       sum(households) FILTER (WHERE urban) / sum(m2) FILTER (WHERE urban), sum(households) FILTER (WHERE NOT urban) / sum(m2) FILTER (WHERE NOT urban)
				FROM s`, gen).Scan(&streetDensity, &townDensity, &streetHH, &townHH); err != nil {
				t.Fatal(err)
			}
			if !(streetDensity > townDensity && streetHH > 2*townHH) {
				t.Errorf("per km²: streets %.1f buildings %.0f households, towns %.1f buildings %.0f households; want streets denser",
					streetDensity*1e6, streetHH*1e6, townDensity*1e6, townHH*1e6)
			}
			var bad int
			if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM buildings WHERE (use = '住宅' AND households NOT BETWEEN 20 AND 200) OR (use = '商铺' AND households > 2)`).Scan(&bad); err != nil || bad > 0 {
				t.Errorf("%d buildings with implausible households (%v)", bad, err)
			}
		})
	}
}

func TestBuildingMergeDraftMoves(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	loadDemo(t, db, 7)
	rep, err := db.Merge(ctx, geo.MergeParams{Base: []string{"zongzhi"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Buildings == nil || rep.Buildings.Assigned == 0 || rep.Buildings.Moving != 0 {
		t.Fatalf("first merge: buildings %+v (nothing active: nothing moves)", rep.Buildings)
	}
	if err := db.Activate(ctx, rep.Generation); err != nil {
		t.Fatal(err)
	}
	// Move the edge of one grid far into its neighbour in a copy of the
	// generation: its buildings there change grid.
	var gen int
	if err := db.Pool.QueryRow(ctx, `INSERT INTO generations (note) VALUES ('moved') RETURNING id`).Scan(&gen); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO areas (generation, level, code, name, parent_code, households, population, geom)
		SELECT $1, level, code, name, parent_code, households, population, geom FROM areas WHERE generation = $2`, gen, rep.Generation); err != nil {
		t.Fatal(err)
	}
	a, err := db.AssignBuildings(ctx, gen)
	if err != nil || a.Assigned != rep.Buildings.Assigned {
		t.Fatalf("copy assigned %+v, %v; the draft %+v", a, err, rep.Buildings)
	}
	// The moves a second merge reports are against the active generation.
	rep2, err := db.Merge(ctx, geo.MergeParams{Base: []string{"chengguan"}})
	if err != nil {
		t.Fatal(err)
	}
	m := rep2.Buildings
	var moving, hh int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(b.households), 0) FROM building_grid d
		JOIN building_grid a ON a.building_id = d.building_id AND a.generation = $2 JOIN buildings b ON b.id = d.building_id
		WHERE d.generation = $1 AND d.grid_code IS DISTINCT FROM a.grid_code`, rep2.Generation, rep.Generation).Scan(&moving, &hh); err != nil {
		t.Fatal(err)
	}
	if m == nil || m.Moving == 0 || m.Moving != moving || m.MovingHouseholds != hh {
		t.Fatalf("draft from 城管: moves %+v, want %d buildings, %d households", m, moving, hh)
	}
	t.Logf("draft from 城管: %+v", m)
}
