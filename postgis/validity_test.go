package postgis_test

import (
	"context"
	"math"
	"math/rand"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// TestProvablyValidAgreesWithGEOS checks geo.ProvablyValid, which lets
// imports skip GEOS's validity check, against ST_IsValid on thousands of
// seeded random polygons, many of them degenerate (coordinates snapped to
// a coarse grid make collinear runs, repeated points, spikes and touching
// vertices): whatever it vouches for, GEOS must find valid. It must also
// vouch for most plain star-shaped rings, or imports gain nothing.
func TestProvablyValidAgreesWithGEOS(t *testing.T) {
	db := pgtest.NewDB(t)
	rng := rand.New(rand.NewSource(7))
	type sample struct {
		g    orb.Geometry
		kind string
	}
	var samples []sample
	star := func(cx, cy float64, n int, snap float64) orb.Ring {
		var r orb.Ring
		for i := 0; i < n; i++ {
			a := (float64(i) + 0.8*rng.Float64()) / float64(n) * 2 * math.Pi
			rad := 0.5 + rng.Float64()
			p := orb.Point{cx + rad*math.Cos(a), cy + rad*math.Sin(a)}
			if snap > 0 {
				p = orb.Point{math.Round(p[0]/snap) * snap, math.Round(p[1]/snap) * snap}
			}
			r = append(r, p)
		}
		return append(r, r[0])
	}
	for i := 0; i < 3000; i++ {
		n := 3 + rng.Intn(50)
		switch i % 5 {
		case 0: // plain star-shaped rings, some long enough to be swept
			samples = append(samples, sample{orb.Polygon{star(121, 29, n, 0)}, "star"})
		case 1: // snapped coarse: collinear runs, repeats, spikes
			samples = append(samples, sample{orb.Polygon{star(0, 0, n, 0.25)}, "snapped"})
		case 2: // a random walk: mostly self-crossing
			var r orb.Ring
			for j := 0; j < n; j++ {
				r = append(r, orb.Point{float64(rng.Intn(6)), float64(rng.Intn(6))})
			}
			samples = append(samples, sample{orb.Polygon{append(r, r[0])}, "walk"})
		case 3: // two parts, near or far
			d := rng.Float64() * 4
			samples = append(samples, sample{orb.MultiPolygon{{star(0, 0, n, 0)}, {star(d, 0, 3+rng.Intn(10), 0)}}, "multi"})
		case 4: // a star with a vertex pulled onto another's segment
			r := star(0, 0, n, 0)
			if len(r) > 5 {
				k := 2 + rng.Intn(len(r)-4)
				j := (k + 2 + rng.Intn(len(r)-3)) % (len(r) - 1)
				a, b := r[j], r[j+1]
				f := rng.Float64()
				r[k] = orb.Point{a[0] + f*(b[0]-a[0]), a[1] + f*(b[1]-a[1])}
				if k == 0 {
					r[len(r)-1] = r[0]
				}
			}
			samples = append(samples, sample{orb.Polygon{r}, "touching"})
		}
	}
	wkbs := make([][]byte, len(samples))
	for i, s := range samples {
		b, err := wkb.Marshal(s.g)
		if err != nil {
			t.Fatal(err)
		}
		wkbs[i] = b
	}
	rows, err := db.Pool.Query(context.Background(),
		`SELECT ST_IsValid(ST_GeomFromWKB(w)) FROM unnest($1::bytea[]) WITH ORDINALITY AS u(w, i) ORDER BY i`, wkbs)
	if err != nil {
		t.Fatal(err)
	}
	var valid []bool
	for rows.Next() {
		var v bool
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		valid = append(valid, v)
	}
	if err := rows.Err(); err != nil || len(valid) != len(samples) {
		t.Fatalf("%d answers for %d polygons: %v", len(valid), len(samples), err)
	}
	proven, validCount := map[string]int{}, map[string]int{}
	for i, s := range samples {
		p := geo.ProvablyValid(s.g)
		if p && !valid[i] {
			t.Errorf("%s polygon %d vouched for, but GEOS finds it invalid: %v", s.kind, i, s.g)
		}
		if p {
			proven[s.kind]++
		}
		if valid[i] {
			validCount[s.kind]++
		}
	}
	t.Logf("valid by GEOS / vouched for: %v / %v", validCount, proven)
	if proven["star"] < validCount["star"]*95/100 {
		t.Errorf("only %d of %d valid star-shaped rings vouched for", proven["star"], validCount["star"])
	}
	if validCount["walk"] == len(samples)/5 || validCount["touching"] == len(samples)/5 {
		t.Errorf("the degenerate samples are all valid: the generator is broken")
	}
}
