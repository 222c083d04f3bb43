package pointindex

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

// orient agrees with rational arithmetic, above all where float64 alone
// gets the sign wrong: points on or a few ulps off a line.
func TestOrientExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	type triple struct{ a, b, c orb.Point }
	var cases []triple
	for range 20000 {
		a := orb.Point{116 + rng.Float64(), 39 + rng.Float64()}
		b := orb.Point{116 + rng.Float64(), 39 + rng.Float64()}
		// c on the line through a and b as nearly as float64 allows, then
		// nudged by a few ulps.
		s := rng.Float64()*3 - 1
		c := orb.Point{a[0] + s*(b[0]-a[0]), a[1] + s*(b[1]-a[1])}
		for range rng.IntN(3) {
			c[rng.IntN(2)] = math.Nextafter(c[rng.IntN(2)], math.Inf(2*rng.IntN(2)-1))
		}
		cases = append(cases, triple{a, b, c})
	}
	// Exactly collinear, axis-parallel, repeated points, and magnitudes
	// whose products under- or overflow.
	cases = append(cases,
		triple{orb.Point{0, 0}, orb.Point{1, 1}, orb.Point{0.5, 0.5}},
		triple{orb.Point{116, 40}, orb.Point{117, 40}, orb.Point{116.5, 40}},
		triple{orb.Point{116, 40}, orb.Point{116, 40}, orb.Point{116, 40}},
		triple{orb.Point{116, 40}, orb.Point{116, 40}, orb.Point{117, 41}},
		triple{orb.Point{1e-300, 1e-300}, orb.Point{3e-300, 2e-300}, orb.Point{5e-300, 3e-300}},
		triple{orb.Point{1e-300, 1e-300}, orb.Point{3e-300, 2e-300}, orb.Point{5e-300, 3.0000000001e-300}},
		triple{orb.Point{5e-324, 0}, orb.Point{0, 5e-324}, orb.Point{1e-323, 5e-324}},
		triple{orb.Point{1e200, 1e200}, orb.Point{-1e200, 3e200}, orb.Point{0, 2e200}},
		triple{orb.Point{1e300, 1e300}, orb.Point{-1e300, 1.5e300}, orb.Point{0, 1.25e300}},
		triple{orb.Point{1e300, 1e300}, orb.Point{-1e300, 1.5e300}, orb.Point{0, math.Nextafter(1.25e300, 2e300)}},
	)
	bad := 0
	for _, tc := range cases {
		want := bigOrient(tc.a, tc.b, tc.c)
		got := orient(tc.a[0], tc.a[1], tc.b[0], tc.b[1], tc.c[0], tc.c[1])
		if got != want {
			bad++
			if bad < 10 {
				t.Errorf("orient(%v, %v, %v) = %d, want %d", tc.a, tc.b, tc.c, got, want)
			}
		}
		if e := orientExact(tc.a[0], tc.a[1], tc.b[0], tc.b[1], tc.c[0], tc.c[1]); e != want {
			t.Errorf("orientExact(%v, %v, %v) = %d, want %d", tc.a, tc.b, tc.c, e, want)
		}
	}
}

func TestSegTouchesBox(t *testing.T) {
	tests := []struct {
		name           string
		a, b           orb.Point
		x0, y0, x1, y1 float64
		want           bool
	}{
		{"inside", orb.Point{1, 1}, orb.Point{2, 2}, 0, 0, 3, 3, true},
		{"crossing", orb.Point{-1, 1}, orb.Point{4, 2}, 0, 0, 3, 3, true},
		{"touching corner", orb.Point{3, 4}, orb.Point{4, 3}, 0, 0, 3, 3, false},
		{"through corner", orb.Point{2, 4}, orb.Point{4, 2}, 0, 0, 3, 3, true},
		{"along a side", orb.Point{-1, 3}, orb.Point{5, 3}, 0, 0, 3, 3, true},
		{"ends on a side", orb.Point{3, 1}, orb.Point{5, 1}, 0, 0, 3, 3, true},
		{"beside", orb.Point{3.5, -1}, orb.Point{3.5, 5}, 0, 0, 3, 3, false},
		{"diagonal miss", orb.Point{-1, 2.5}, orb.Point{0.5, 4}, 0, 0, 3, 3, false},
		{"point in box", orb.Point{1, 1}, orb.Point{1, 1}, 0, 0, 3, 3, true},
	}
	for _, tc := range tests {
		if got := segTouchesBox(tc.a[0], tc.a[1], tc.b[0], tc.b[1], tc.x0, tc.y0, tc.x1, tc.y1); got != tc.want {
			t.Errorf("%s: segTouchesBox = %v, want %v", tc.name, got, tc.want)
		}
	}
}
