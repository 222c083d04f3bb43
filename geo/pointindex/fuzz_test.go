package pointindex

import (
	"math"
	"sync"
	"testing"

	"github.com/paulmach/orb"
)

var (
	fuzzOnce  sync.Once
	fuzzIx    *Index
	fuzzRef   *brute
	fuzzItems []Item
)

// FuzzLocate compares Locate with the brute-force reference on a small
// fixed tiling (with an overlapping item for the tie rule) at fuzzed points,
// snapped onto the tiling's lattice half the time so borders get hit.
func FuzzLocate(f *testing.F) {
	fuzzOnce.Do(func() {
		fuzzItems = overlapped(tiling{nx: 5, ny: 4, sub: 3, x0: 116.25, y0: 39.75, step: 1.0 / 64, snap: 0x1p-16, seed: 11}.items())
		fuzzIx, fuzzRef = mustBuild(f, fuzzItems), newBrute(fuzzItems)
	})
	for _, it := range fuzzItems[:4] {
		for _, p := range it.Geometry[0][0][:3] {
			f.Add(p[0], p[1], false)
		}
	}
	f.Add(116.3, 39.8, false)
	f.Add(116.3, 39.8, true)
	f.Add(math.NaN(), 39.8, false)
	f.Add(math.Inf(1), math.Inf(-1), false)
	f.Add(0.0, 0.0, false)
	f.Add(1e308, -1e308, true)
	f.Fuzz(func(t *testing.T, x, y float64, snap bool) {
		if snap {
			// Onto the 2^-16 lattice the vertices live on, or its midpoints.
			x, y = math.Round(x*0x1p17)/0x1p17, math.Round(y*0x1p17)/0x1p17
		}
		p := orb.Point{x, y}
		got, gok := fuzzIx.Locate(p)
		if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
			if gok {
				t.Fatalf("Locate(%v) = %q, want no item", p, got)
			}
			return
		}
		want, wok := fuzzRef.locate(p)
		if got != want || gok != wok {
			t.Fatalf("Locate(%v) = %q, %v; want %q, %v (covered by %v)", p, got, gok, want, wok, fuzzRef.covering(p))
		}
		fuzzIx.Nearest(p, 100) // must not panic
	})
}
