package postgis_test

import (
	"context"
	"testing"

	"github.com/gridd/gridd/demo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/gridd/gridd/postgis"
)

// loadDemo fills db with the demo city of Yinzhou for seed.
func loadDemo(t *testing.T, db *postgis.DB, seed int) {
	t.Helper()
	city, err := demo.Ningbo(demo.DefaultDistrict)
	if err != nil {
		t.Fatal(err)
	}
	in := postgis.DemoInput{District: city.District, BoundaryGeoJSON: city.BoundaryGeoJSON, Seed: seed, UrbanCentre: city.UrbanCentre}
	in.Divisions = append(append(in.Divisions, city.Streets...), city.Communities...)
	if err := db.GenerateDemo(context.Background(), in); err != nil {
		t.Fatalf("generate demo: %v", err)
	}
}

// layerFingerprint is an md5 over every feature of every layer, in order.
const layerFingerprintSQL = `
SELECT l.level, coalesce(l.dept_code, ''), count(*), md5(string_agg(f.code || ':' || f.name || ':' || encode(ST_AsBinary(f.geom), 'hex'), ',' ORDER BY f.fid))
FROM source_layers l JOIN source_features f ON f.layer_id = l.id
GROUP BY l.level, l.dept_code ORDER BY 1, 2`

type layerPrint struct {
	level, dept string
	n           int
	md5         string
}

func fingerprint(t *testing.T, db *postgis.DB) []layerPrint {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), layerFingerprintSQL)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []layerPrint
	for rows.Next() {
		var p layerPrint
		if err := rows.Scan(&p.level, &p.dept, &p.n, &p.md5); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestDemoDeterministic(t *testing.T) {
	a, b, c := pgtest.NewDB(t), pgtest.NewDB(t), pgtest.NewDB(t)
	loadDemo(t, a, 7)
	loadDemo(t, b, 7)
	loadDemo(t, c, 8)
	pa, pb, pc := fingerprint(t, a), fingerprint(t, b), fingerprint(t, c)
	if len(pa) != 6 {
		t.Fatalf("demo made %d layers, want 6: %+v", len(pa), pa)
	}
	for i := range pa {
		if pa[i] != pb[i] {
			t.Errorf("same seed, different layer: %+v vs %+v", pa[i], pb[i])
		}
	}
	differs := 0
	for i := range pa {
		if pa[i].md5 != pc[i].md5 {
			differs++
		}
	}
	// The district is real and the same for every seed; the rest differ.
	if differs != len(pa)-1 {
		t.Errorf("seeds 7 and 8 differ in %d layers, want %d", differs, len(pa)-1)
	}
	t.Logf("layers: %+v", pa)
}
