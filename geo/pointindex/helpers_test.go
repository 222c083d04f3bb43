package pointindex

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

// tiling describes a synthetic coverage: an nx×ny lattice of
// quadrilaterals with jittered corners, each side subdivided into sub extra
// vertices on a gentle random curve. Both cells sharing a side use the very
// same points (in opposite order), so borders are exactly shared, as in a
// clean unified coverage. With snap > 0 every coordinate is a multiple of
// snap, a power of two, so edge midpoints are exactly representable and lie
// exactly on their edge.
type tiling struct {
	nx, ny int
	sub    int
	x0, y0 float64 // lower-left corner, degrees
	step   float64 // lattice spacing, degrees
	snap   float64
	seed   uint64
}

// items builds the tiling's items, with 15-digit keys assigned in random
// order (so the tie rule is not a geometric rule in disguise) and the items
// shuffled.
func (tl tiling) items() []Item {
	rng := rand.New(rand.NewPCG(tl.seed, 1))
	round := func(v float64) float64 {
		if tl.snap == 0 {
			return v
		}
		return math.Round(v/tl.snap) * tl.snap
	}
	corner := make([][]orb.Point, tl.nx+1)
	for i := range corner {
		corner[i] = make([]orb.Point, tl.ny+1)
		for j := range corner[i] {
			jx := (rng.Float64()*2 - 1) * 0.15 * tl.step
			jy := (rng.Float64()*2 - 1) * 0.15 * tl.step
			corner[i][j] = orb.Point{round(tl.x0 + float64(i)*tl.step + jx), round(tl.y0 + float64(j)*tl.step + jy)}
		}
	}
	// side returns the points strictly between a and b: a curve that
	// leaves and meets the straight side tangentially-ish, so sides meeting
	// at a corner never cross.
	side := func(a, b orb.Point) []orb.Point {
		dx, dy := b[0]-a[0], b[1]-a[1]
		pts := make([]orb.Point, tl.sub)
		for k := range pts {
			t := float64(k+1) / float64(tl.sub+1)
			off := 0.05 * math.Sin(math.Pi*t) * (rng.Float64()*2 - 1)
			pts[k] = orb.Point{round(a[0] + t*dx - off*dy), round(a[1] + t*dy + off*dx)}
		}
		return pts
	}
	hside := make([][][]orb.Point, tl.nx) // from corner[i][j] to corner[i+1][j]
	for i := range hside {
		hside[i] = make([][]orb.Point, tl.ny+1)
		for j := range hside[i] {
			hside[i][j] = side(corner[i][j], corner[i+1][j])
		}
	}
	vside := make([][][]orb.Point, tl.nx+1) // from corner[i][j] to corner[i][j+1]
	for i := range vside {
		vside[i] = make([][]orb.Point, tl.ny)
		for j := range vside[i] {
			vside[i][j] = side(corner[i][j], corner[i][j+1])
		}
	}
	n := tl.nx * tl.ny
	codes := rng.Perm(n)
	items := make([]Item, 0, n)
	for j := range tl.ny {
		for i := range tl.nx {
			r := orb.Ring{corner[i][j]}
			r = append(r, hside[i][j]...)
			r = append(r, corner[i+1][j])
			r = append(r, vside[i+1][j]...)
			r = append(r, corner[i+1][j+1])
			r = append(r, reversed(hside[i][j+1])...)
			r = append(r, corner[i][j+1])
			r = append(r, reversed(vside[i][j])...)
			r = append(r, corner[i][j])
			key := fmt.Sprintf("%015d", 110101001001000+codes[j*tl.nx+i])
			items = append(items, Item{Key: key, Geometry: orb.MultiPolygon{{r}}})
		}
	}
	rng.Shuffle(len(items), func(a, b int) { items[a], items[b] = items[b], items[a] })
	return items
}

func reversed(p []orb.Point) []orb.Point {
	r := make([]orb.Point, len(p))
	for i := range p {
		r[len(p)-1-i] = p[i]
	}
	return r
}

// extent returns the bound of all items.
func extent(items []Item) orb.Bound {
	b := items[0].Geometry.Bound()
	for _, it := range items[1:] {
		b = b.Union(it.Geometry.Bound())
	}
	return b
}

// brute is the reference implementation: every item tested with a
// textbook ray-crossing test in exact rational arithmetic, independent of
// the index's predicates and of its crossing rule.
type brute struct {
	items  []Item
	bounds []orb.Bound
}

func newBrute(items []Item) *brute {
	b := &brute{items: items}
	for _, it := range items {
		b.bounds = append(b.bounds, it.Geometry.Bound())
	}
	return b
}

// locate returns the smallest key among the items covering p.
func (b *brute) locate(p orb.Point) (string, bool) {
	best, ok := "", false
	for i, it := range b.items {
		if !b.bounds[i].Contains(p) || (ok && it.Key >= best) {
			continue
		}
		if refCovers(it.Geometry, p) {
			best, ok = it.Key, true
		}
	}
	return best, ok
}

// covering returns every key covering p.
func (b *brute) covering(p orb.Point) []string {
	var keys []string
	for i, it := range b.items {
		if b.bounds[i].Contains(p) && refCovers(it.Geometry, p) {
			keys = append(keys, it.Key)
		}
	}
	return keys
}

// refCovers is ST_Covers(mp, p): on a ring, or inside a shell and outside
// its holes (parity over the polygon's rings).
func refCovers(mp orb.MultiPolygon, p orb.Point) bool {
	for _, poly := range mp {
		in := false
		for _, r := range poly {
			n := len(r)
			for i := range n {
				a, c := r[i], r[(i+1)%n]
				if p[0] >= math.Min(a[0], c[0]) && p[0] <= math.Max(a[0], c[0]) &&
					p[1] >= math.Min(a[1], c[1]) && p[1] <= math.Max(a[1], c[1]) &&
					ratOrient(a, c, p) == 0 {
					return true
				}
				if (a[1] > p[1]) != (c[1] > p[1]) {
					// Does the edge cross the horizontal line right of p?
					s := ratOrient(a, c, p)
					if (c[1] > a[1] && s > 0) || (c[1] < a[1] && s < 0) {
						in = !in
					}
				}
			}
		}
		if in {
			return true
		}
	}
	return false
}

// ratOrient is the sign of (b-a)×(c-a), exactly: from float64 when the
// determinant is far from zero by a deliberately loose margin (not the
// index's error bound), else with big.Rat.
func ratOrient(a, b, c orb.Point) int {
	l := (b[0] - a[0]) * (c[1] - a[1])
	r := (b[1] - a[1]) * (c[0] - a[0])
	if d, m := l-r, 1e-12*(math.Abs(l)+math.Abs(r)); m > 1e-250 && math.Abs(d) > m {
		if d > 0 {
			return 1
		}
		return -1
	}
	return bigOrient(a, b, c)
}

// bigOrient is the sign of (b-a)×(c-a) computed with big.Rat.
func bigOrient(a, b, c orb.Point) int {
	r := func(v float64) *big.Rat { return new(big.Rat).SetFloat64(v) }
	bax := new(big.Rat).Sub(r(b[0]), r(a[0]))
	bay := new(big.Rat).Sub(r(b[1]), r(a[1]))
	cax := new(big.Rat).Sub(r(c[0]), r(a[0]))
	cay := new(big.Rat).Sub(r(c[1]), r(a[1]))
	return new(big.Rat).Mul(bax, cay).Cmp(new(big.Rat).Mul(bay, cax))
}

// mustBuild builds an index or fails the test.
func mustBuild(tb testing.TB, items []Item) *Index {
	tb.Helper()
	ix, err := Build(items)
	if err != nil {
		tb.Fatalf("Build: %v", err)
	}
	return ix
}

// checkAgainstBrute compares Locate with the reference on every point.
func checkAgainstBrute(t *testing.T, ix *Index, ref *brute, pts []orb.Point, what string) {
	t.Helper()
	bad := 0
	for _, p := range pts {
		want, wok := ref.locate(p)
		got, gok := ix.Locate(p)
		if got != want || gok != wok {
			bad++
			if bad <= 10 {
				t.Errorf("%s: Locate(%v) = %q, %v; want %q, %v (covered by %v)", what, p, got, gok, want, wok, ref.covering(p))
			}
		}
	}
	if bad > 10 {
		t.Errorf("%s: %d of %d points disagree", what, bad, len(pts))
	}
}

// randomPoints returns n uniform points in b widened by margin on each side.
func randomPoints(seed uint64, n int, b orb.Bound, margin float64) []orb.Point {
	rng := rand.New(rand.NewPCG(seed, 2))
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = orb.Point{
			b.Min[0] - margin + rng.Float64()*(b.Max[0]-b.Min[0]+2*margin),
			b.Min[1] - margin + rng.Float64()*(b.Max[1]-b.Min[1]+2*margin),
		}
	}
	return pts
}
