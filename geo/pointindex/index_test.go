package pointindex

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// Tilings shared by the tests; built once, since -race makes Build slow.
var (
	// city is the demo city's scale: ~2,000 grids of ~100 vertices in
	// Beijing, on a 2^-20 degree (10 cm) lattice.
	city = tiling{nx: 45, ny: 45, sub: 24, x0: 116.25, y0: 39.75, step: 1.0 / 128, snap: 0x1p-20, seed: 1}
	// small has unsnapped coordinates: arbitrary doubles, so midpoints of
	// edges are only near the edge and exactness is what decides.
	small = tiling{nx: 12, ny: 10, sub: 6, x0: 121.3, y0: 31.1, step: 0.013, seed: 2}
	// coarse has no subdivision: plain quadrilaterals, many cells inside
	// one item, which exercises the interior-item path.
	coarse = tiling{nx: 30, ny: 20, sub: 0, x0: 113.1, y0: 22.4, step: 0.01, snap: 0x1p-24, seed: 3}

	cityOnce  sync.Once
	cityItems []Item
	cityIndex *Index
	cityRef   *brute
)

func cityFixture(t *testing.T) ([]Item, *Index, *brute) {
	t.Helper()
	cityOnce.Do(func() {
		cityItems = city.items()
		ix, err := Build(cityItems)
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		cityIndex, cityRef = ix, newBrute(cityItems)
	})
	if cityIndex == nil {
		t.Fatal("city fixture failed to build")
	}
	return cityItems, cityIndex, cityRef
}

// overlapped adds to items one item with the smallest key that overlaps
// part of the coverage (an invalid coverage, as two levels mixed up would
// be): the tie rule must still hold and cells inside it prune the others.
func overlapped(items []Item) []Item {
	b := extent(items)
	w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
	x0, y0 := b.Min[0]+w*0.3, b.Min[1]+h*0.2
	x1, y1 := b.Min[0]+w*0.55, b.Min[1]+h*0.7
	r := orb.Ring{{x0, y0}, {x1, y0 + h*0.1}, {x1, y1}, {x0 + w*0.05, y1}, {x0, y0}}
	return append(slices.Clone(items), Item{Key: "000000000000001", Geometry: orb.MultiPolygon{{r}}})
}

// (a) Random points agree with the brute-force reference.
func TestLocateRandomPoints(t *testing.T) {
	cityItems, cityIx, cityRef := cityFixture(t)
	tests := []struct {
		name  string
		items []Item
		ix    *Index
		ref   *brute
		n     int
	}{
		{name: "city", items: cityItems, ix: cityIx, ref: cityRef, n: 20000},
		{name: "small-unsnapped", items: small.items(), n: 20000},
		{name: "coarse", items: coarse.items(), n: 20000},
		{name: "overlapping", items: overlapped(coarse.items()), n: 20000},
		// Few polygons with many vertices, like a district layer: a
		// coarse top grid and deep trees.
		{name: "few-big", items: tiling{nx: 3, ny: 3, sub: 400, x0: 116.1, y0: 39.7, step: 0.1, snap: 0x1p-30, seed: 17}.items(), n: 20000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix, ref := tc.ix, tc.ref
			if ix == nil {
				ix, ref = mustBuild(t, tc.items), newBrute(tc.items)
			}
			if ix.Len() != len(tc.items) {
				t.Errorf("Len = %d, want %d", ix.Len(), len(tc.items))
			}
			b := extent(tc.items)
			pts := randomPoints(7, tc.n, b, (b.Max[0]-b.Min[0])*0.02)
			checkAgainstBrute(t, ix, ref, pts, "random")
		})
	}
}

// (b) Points exactly on shared vertices and edges get exactly one key: the
// smallest of the items sharing them.
func TestLocateOnSharedBorders(t *testing.T) {
	tests := []struct {
		name string
		tl   tiling
	}{
		{name: "snapped", tl: tiling{nx: 14, ny: 12, sub: 8, x0: 116.25, y0: 39.75, step: 1.0 / 128, snap: 0x1p-20, seed: 4}},
		{name: "snapped-coarse", tl: coarse},
		{name: "city-sample", tl: city},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var items []Item
			var ix *Index
			if tc.tl == city {
				items, ix, _ = cityFixture(t)
			} else {
				items = tc.tl.items()
				ix = mustBuild(t, items)
			}
			// Who owns each vertex and each edge midpoint, straight from
			// the construction: every item listing it.
			owners := map[orb.Point][]string{}
			for _, it := range items {
				r := it.Geometry[0][0]
				for k := 0; k+1 < len(r); k++ {
					a, b := r[k], r[k+1]
					mid := orb.Point{(a[0] + b[0]) / 2, (a[1] + b[1]) / 2}
					for _, p := range []orb.Point{a, mid} {
						if !slices.Contains(owners[p], it.Key) {
							owners[p] = append(owners[p], it.Key)
						}
					}
				}
			}
			rng := rand.New(rand.NewPCG(5, 5))
			shared, checked := 0, 0
			for p, keys := range owners {
				if tc.tl == city && rng.IntN(10) != 0 {
					continue // a tenth of the city's 400,000 points is plenty
				}
				checked++
				want := slices.Min(keys)
				if len(keys) > 1 {
					shared++
				}
				got, ok := ix.Locate(p)
				if !ok || got != want {
					t.Errorf("Locate(%v) = %q, %v; want %q (shared by %v)", p, got, ok, want, keys)
				}
			}
			if shared < checked/3 {
				t.Fatalf("only %d of %d border points are shared: the tiling is not what the test needs", shared, checked)
			}
		})
	}
}

// Points a hair off the edges, where only exact predicates decide, and
// rounded midpoints of unsnapped edges, which may or may not be on them.
func TestLocateNearEdges(t *testing.T) {
	tests := []struct {
		name string
		tl   tiling
	}{
		{name: "snapped", tl: tiling{nx: 8, ny: 8, sub: 10, x0: 116.25, y0: 39.75, step: 1.0 / 128, snap: 0x1p-20, seed: 6}},
		{name: "unsnapped", tl: small},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items := tc.tl.items()
			ix, ref := mustBuild(t, items), newBrute(items)
			var pts []orb.Point
			for _, it := range items[:min(len(items), 40)] {
				r := it.Geometry[0][0]
				for k := 0; k+1 < len(r); k++ {
					a, b := r[k], r[k+1]
					mid := orb.Point{(a[0] + b[0]) / 2, (a[1] + b[1]) / 2}
					for _, p := range []orb.Point{a, mid} {
						pts = append(pts, p,
							orb.Point{math.Nextafter(p[0], math.Inf(1)), p[1]},
							orb.Point{math.Nextafter(p[0], math.Inf(-1)), p[1]},
							orb.Point{p[0], math.Nextafter(p[1], math.Inf(1))},
							orb.Point{p[0], math.Nextafter(p[1], math.Inf(-1))})
					}
				}
			}
			checkAgainstBrute(t, ix, ref, pts, "near edges")
		})
	}
}

// (c) Holes and islands, with keys chosen so the tie rule is visible.
func TestLocateHolesAndIslands(t *testing.T) {
	const u = 1.0 / 1024 // every coordinate a multiple: exact midpoints
	at := func(x, y float64) orb.Point { return orb.Point{116 + x*u, 40 + y*u} }
	sq := func(x0, y0, x1, y1 float64) orb.Ring {
		return orb.Ring{at(x0, y0), at(x1, y0), at(x1, y1), at(x0, y1), at(x0, y0)}
	}
	items := []Item{
		// A 10×10 square with a 4×4 hole, the hole filled by B except for
		// a 2×2 lake inside B; B's key sorts after A's.
		{Key: "110101001001002", Geometry: orb.MultiPolygon{{sq(0, 0, 10, 10), sq(3, 3, 7, 7)}}},
		{Key: "110101001001005", Geometry: orb.MultiPolygon{{sq(3, 3, 7, 7), sq(4, 4, 6, 6)}}},
		// C: two islands, one in B's lake, one east of A touching it along
		// x=10 from y=2 to y=4, and a corner-touching third at (10,10).
		{Key: "110101001001001", Geometry: orb.MultiPolygon{
			{sq(4.5, 4.5, 5.5, 5.5)},
			{sq(10, 2, 12, 4)},
			{sq(10, 10, 11, 11)},
		}},
		// D: an unclosed ring (orb accepts both) with a key sorting last,
		// sharing A's bottom edge from x=0 to x=10.
		{Key: "110101001001009", Geometry: orb.MultiPolygon{{orb.Ring{at(0, -3), at(10, -3), at(10, 0), at(0, 0)}}}},
	}
	const A, B, C, D = "110101001001002", "110101001001005", "110101001001001", "110101001001009"
	tests := []struct {
		name string
		p    orb.Point
		want string // "" for none
	}{
		{"A interior", at(1, 1), A},
		{"A interior near hole", at(2.999, 5), A},
		{"hole interior is B", at(3.5, 5), B},
		{"hole border: A and B, A wins", at(3, 5), A},
		{"hole corner: A and B", at(7, 7), A},
		{"lake interior: nobody", at(4.2, 4.2), ""},
		{"lake border: B only", at(4, 5), B},
		{"island in lake", at(5, 5), C},
		{"island border in lake: C", at(4.5, 5), C},
		{"A shell: A", at(0, 5), A},
		{"A east border shared with C: C wins", at(10, 3), C},
		{"A east border, C's corner: C", at(10, 4), C},
		{"A east border above C: A only", at(10, 5), A},
		{"corner touch A and C island: C", at(10, 10), C},
		{"C second island interior", at(11, 3), C},
		{"A/D border: A wins", at(5, 0), A},
		{"A/D border at D's implicit closing edge end", at(0, 0), A},
		{"D interior", at(5, -1), D},
		{"D closing edge (implicit)", at(0, -1.5), D},
		{"outside west", at(-1, 5), ""},
		{"outside between islands", at(11, 6), ""},
		{"outside NE", at(12, 12), ""},
	}
	ref := newBrute(items)
	// Whatever order Build is given the items in, the answers are the same.
	for _, perm := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}} {
		var in []Item
		for _, i := range perm {
			in = append(in, items[i])
		}
		ix := mustBuild(t, in)
		for _, tc := range tests {
			got, ok := ix.Locate(tc.p)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("order %v: %s: Locate(%v) = %q, %v; want %q", perm, tc.name, tc.p, got, ok, tc.want)
			}
			if want, _ := ref.locate(tc.p); want != tc.want {
				t.Errorf("%s: the reference says %q, the table %q", tc.name, want, tc.want)
			}
		}
	}
}

// (d) Points outside the coverage: Locate misses, Nearest finds the nearest
// border within the tolerance.
func TestNearest(t *testing.T) {
	// Two squares 10u wide near Beijing with a 2u gap between them; u is
	// 2^-10 degree (about 85 m east-west here), so the middle of the gap is
	// exactly as far from both.
	const u = 1.0 / 1024
	lat := 39.9
	sq := func(x0, x1 float64) orb.MultiPolygon {
		return orb.MultiPolygon{{{{x0, lat}, {x1, lat}, {x1, lat + 10*u}, {x0, lat + 10*u}, {x0, lat}}}}
	}
	items := []Item{
		{Key: "110101001001002", Geometry: sq(116, 116+10*u)},
		{Key: "110101001001001", Geometry: sq(116+12*u, 116+22*u)},
	}
	ix := mustBuild(t, items)
	my := lat + 5*u
	kx, _ := scales(my)
	// south returns the point m metres south of the SW corner, where the
	// scale is that of the point's own latitude (found by iterating).
	south := func(m float64) orb.Point {
		y := lat
		for range 3 {
			_, ky := scales(y)
			y = lat - m/ky
		}
		return orb.Point{116, y}
	}
	west := func(m float64) orb.Point { return orb.Point{116.0 - m/kx, my} }
	tests := []struct {
		name     string
		p        orb.Point
		max      float64
		want     string
		wantDist float64 // metres
	}{
		{"inside: distance 0", orb.Point{116 + 5*u, my}, 100, "110101001001002", 0},
		{"on border: distance 0", orb.Point{116, my}, 100, "110101001001002", 0},
		{"50 m west", west(50), 100, "110101001001002", 50},
		{"99.9 m west", west(99.9), 100, "110101001001002", 99.9},
		{"150 m west: beyond", west(150), 100, "", 0},
		{"150 m west, 200 m tolerance", west(150), 200, "110101001001002", 150},
		{"in the gap, nearer the east square", orb.Point{116 + 11.5*u, my}, 100, "110101001001001", 0.5 * u * kx},
		{"mid-gap: tie to the smaller key", orb.Point{116 + 11*u, my}, 100, "110101001001001", u * kx},
		{"30 m south of the corner", south(30), 100, "110101001001002", 30},
		{"far away", orb.Point{117, 41}, 100, "", 0},
		{"NaN", orb.Point{math.NaN(), my}, 100, "", 0},
		{"negative tolerance", west(50), -1, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wantDist > 0 {
				if key, ok := ix.Locate(tc.p); ok {
					t.Fatalf("Locate(%v) = %q, want no item", tc.p, key)
				}
			}
			key, d, ok := ix.Nearest(tc.p, tc.max)
			if key != tc.want || ok != (tc.want != "") || math.Abs(d-tc.wantDist) > 1e-6 {
				t.Errorf("Nearest(%v, %v) = %q, %.9f, %v; want %q, %.9f", tc.p, tc.max, key, d, ok, tc.want, tc.wantDist)
			}
		})
	}
}

// Nearest agrees with a brute-force nearest border around a whole tiling.
func TestNearestRandom(t *testing.T) {
	items := coarse.items()
	ix := mustBuild(t, items)
	b := extent(items)
	rng := rand.New(rand.NewPCG(8, 8))
	const maxM = 300.0
	found := 0
	for range 3000 {
		// Points in a band around the coverage's edge, and a few inside.
		p := orb.Point{b.Min[0] + (rng.Float64()*1.1-0.05)*(b.Max[0]-b.Min[0]), b.Min[1] - 0.004 + rng.Float64()*0.008}
		wantKey, wantD, wantOK := bruteNearest(items, p, maxM)
		key, d, ok := ix.Nearest(p, maxM)
		if ok != wantOK || key != wantKey || math.Abs(d-wantD) > 1e-6 {
			t.Errorf("Nearest(%v) = %q, %v, %v; want %q, %v, %v", p, key, d, ok, wantKey, wantD, wantOK)
		}
		if ok && d > 0 {
			found++
		}
	}
	if found < 100 {
		t.Errorf("only %d points found a border within %v m: the test does not test much", found, maxM)
	}
}

// bruteNearest is Nearest by looking at every edge.
func bruteNearest(items []Item, p orb.Point, maxM float64) (string, float64, bool) {
	if key, ok := newBrute(items).locate(p); ok {
		return key, 0, true
	}
	kx, ky := scales(p[1])
	best, bestKey := math.Inf(1), ""
	for _, it := range items {
		for _, poly := range it.Geometry {
			for _, r := range poly {
				for k := range r {
					a, c := r[k], r[(k+1)%len(r)]
					ax, ay := (a[0]-p[0])*kx, (a[1]-p[1])*ky
					cx, cy := (c[0]-p[0])*kx, (c[1]-p[1])*ky
					d := refSegDist(ax, ay, cx, cy)
					if d < best || (d == best && it.Key < bestKey) {
						best, bestKey = d, it.Key
					}
				}
			}
		}
	}
	if best > maxM {
		return "", 0, false
	}
	return bestKey, best, true
}

// (e) Many goroutines at once; run under -race.
func TestLocateConcurrent(t *testing.T) {
	_, ix, ref := cityFixture(t)
	b := ix.ext
	pts := randomPoints(9, 4000, b, 0.001)
	want := make([]string, len(pts))
	for i, p := range pts {
		want[i], _ = ref.locate(p)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range len(pts) {
				i := (k*7 + g*131) % len(pts)
				got, _ := ix.Locate(pts[i])
				if got != want[i] {
					errs <- fmt.Sprintf("Locate(%v) = %q, want %q", pts[i], got, want[i])
					return
				}
				if g%4 == 0 {
					ix.Nearest(pts[i], 100)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// Locate allocates nothing, on borders (the exact slow path) included.
func TestLocateAllocs(t *testing.T) {
	items, ix, _ := cityFixture(t)
	r := items[0].Geometry[0][0]
	pts := []orb.Point{r[0], r[3], {(r[5][0] + r[6][0]) / 2, (r[5][1] + r[6][1]) / 2}, {116.3, 39.9}, {0, 0}}
	for _, p := range pts {
		if n := testing.AllocsPerRun(100, func() { ix.Locate(p) }); n != 0 {
			t.Errorf("Locate(%v) allocates %v times", p, n)
		}
		if n := testing.AllocsPerRun(100, func() { ix.Nearest(p, 100) }); n != 0 {
			t.Errorf("Nearest(%v) allocates %v times", p, n)
		}
	}
}

func TestLocateNonFinite(t *testing.T) {
	_, ix, _ := cityFixture(t)
	inf, nan := math.Inf(1), math.NaN()
	for _, p := range []orb.Point{{nan, 40}, {116.3, nan}, {nan, nan}, {inf, 40}, {-inf, 40}, {116.3, inf}, {116.3, -inf}, {inf, -inf}} {
		if key, ok := ix.Locate(p); ok {
			t.Errorf("Locate(%v) = %q, want no item", p, key)
		}
		if key, _, ok := ix.Nearest(p, 100); ok {
			t.Errorf("Nearest(%v) = %q, want no item", p, key)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	good := orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}}
	tests := []struct {
		name  string
		items []Item
	}{
		{"empty geometry", []Item{{Key: "1", Geometry: nil}}},
		{"empty polygon", []Item{{Key: "1", Geometry: orb.MultiPolygon{{}}}}},
		{"two-point ring", []Item{{Key: "1", Geometry: orb.MultiPolygon{{{{0, 0}, {1, 0}, {0, 0}}}}}}},
		{"NaN", []Item{{Key: "1", Geometry: orb.MultiPolygon{{{{0, 0}, {math.NaN(), 0}, {1, 1}, {0, 0}}}}}}},
		{"Inf", []Item{{Key: "1", Geometry: orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, math.Inf(1)}, {0, 0}}}}}}},
		{"NaN in hole", []Item{{Key: "1", Geometry: orb.MultiPolygon{{good[0][0], {{0, 0}, {1, 0}, {math.NaN(), math.NaN()}}}}}}},
		{"empty key", []Item{{Key: "", Geometry: good}}},
		{"duplicate key", []Item{{Key: "1", Geometry: good}, {Key: "1", Geometry: good}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix, err := Build(tc.items)
			if geo.ErrorCode(err) != geo.EINVALID {
				t.Fatalf("Build = %v, %v; want an %s error", ix, err, geo.EINVALID)
			}
		})
	}
}

func TestEmptyAndDegenerate(t *testing.T) {
	ix := mustBuild(t, nil)
	if ix.Len() != 0 {
		t.Errorf("Len = %d", ix.Len())
	}
	if key, ok := ix.Locate(orb.Point{0, 0}); ok {
		t.Errorf("empty index: Locate = %q", key)
	}
	if key, _, ok := ix.Nearest(orb.Point{0, 0}, 1e6); ok {
		t.Errorf("empty index: Nearest = %q", key)
	}
	// A zero-area polygon (a vertical sliver) covers its boundary only.
	items := []Item{{Key: "1", Geometry: orb.MultiPolygon{{{{5, 0}, {5, 2}, {5, 1}, {5, 0}}}}}}
	ix = mustBuild(t, items)
	ref := newBrute(items)
	pts := []orb.Point{{5, 0}, {5, 1.5}, {5, 2}, {5, 3}, {5.1, 1}, {4.9, 1}}
	checkAgainstBrute(t, ix, ref, pts, "sliver")
}

// The index's answers do not depend on the order of the items.
func TestBuildOrderIndependent(t *testing.T) {
	items := coarse.items()
	ix1 := mustBuild(t, items)
	rev := slices.Clone(items)
	slices.Reverse(rev)
	ix2 := mustBuild(t, rev)
	var pts []orb.Point
	for _, it := range items {
		pts = append(pts, it.Geometry[0][0]...)
	}
	pts = append(pts, randomPoints(10, 5000, extent(items), 0.001)...)
	for _, p := range pts {
		k1, ok1 := ix1.Locate(p)
		k2, ok2 := ix2.Locate(p)
		if k1 != k2 || ok1 != ok2 {
			t.Fatalf("Locate(%v): %q, %v in one order, %q, %v in the other", p, k1, ok1, k2, ok2)
		}
	}
}

// refSegDist is the distance from the origin to the segment a–c, taking the
// ends exactly and the segment in a canonical direction, so that shared
// vertices and edges tie exactly, as they do in the index.
func refSegDist(ax, ay, cx, cy float64) float64 {
	if cx < ax || (cx == ax && cy < ay) {
		ax, ay, cx, cy = cx, cy, ax, ay
	}
	dx, dy := cx-ax, cy-ay
	l := dx*dx + dy*dy
	t := 0.0
	if l > 0 {
		t = -(ax*dx + ay*dy) / l
	}
	switch {
	case t <= 0:
		return math.Hypot(ax, ay)
	case t >= 1:
		return math.Hypot(cx, cy)
	}
	return math.Hypot(ax+t*dx, ay+t*dy)
}

// A polygon with hundreds of vertices crowded into a speck: splitting stops
// at the depth limit, leaving leaves with long chains of edges.
func TestLocateDenseVertices(t *testing.T) {
	const n = 300
	c := orb.Point{116.4, 39.9}
	star := orb.Ring{}
	for i := range n {
		a := 2 * math.Pi * float64(i) / n
		r := 1e-9 * (1 + 0.5*float64(i%2))
		star = append(star, orb.Point{c[0] + r*math.Cos(a), c[1] + r*math.Sin(a)})
	}
	star = append(star, star[0])
	square := orb.Ring{{116.3, 39.8}, {116.5, 39.8}, {116.5, 40.0}, {116.3, 40.0}, {116.3, 39.8}}
	items := []Item{
		{Key: "2", Geometry: orb.MultiPolygon{{square, reversed(star)}}}, // the star is a hole in the square
		{Key: "1", Geometry: orb.MultiPolygon{{star}}},
	}
	ix, ref := mustBuild(t, items), newBrute(items)
	pts := randomPoints(16, 3000, orb.Bound{Min: orb.Point{c[0] - 2e-9, c[1] - 2e-9}, Max: orb.Point{c[0] + 2e-9, c[1] + 2e-9}}, 0)
	pts = append(pts, star...)
	for i := range n {
		a, b := star[i], star[i+1]
		pts = append(pts, orb.Point{(a[0] + b[0]) / 2, (a[1] + b[1]) / 2})
	}
	checkAgainstBrute(t, ix, ref, pts, "dense")
}

// Points a few tiny steps off a long diagonal border, where float64
// arithmetic alone gets the side wrong because the differences of large
// and small coordinates round (see Kettner et al., "Classroom examples of
// robustness problems in geometric computations"). With lon/lat in China
// differences are nearly always exact, so this needs the origin.
func TestLocateNearlyCollinear(t *testing.T) {
	a, b := orb.Point{-12, -12}, orb.Point{24, 24}
	items := []Item{
		{Key: "1", Geometry: orb.MultiPolygon{{{a, {24, -12}, b, a}}}}, // below y=x
		{Key: "2", Geometry: orb.MultiPolygon{{{a, b, {-12, 24}, a}}}}, // above it
	}
	ix, ref := mustBuild(t, items), newBrute(items)
	var pts []orb.Point
	for _, c := range []orb.Point{{0, 0}, {0x1p-30, 0x1p-30}, {-3e-9, -3e-9}} {
		const u = 0x1p-62
		for i := -12; i <= 12; i++ {
			for j := -12; j <= 12; j++ {
				pts = append(pts, orb.Point{c[0] + float64(i)*u, c[1] + float64(j)*u})
			}
		}
	}
	checkAgainstBrute(t, ix, ref, pts, "nearly collinear")
	// The test is only worth having if plain float64 gets some wrong.
	wrong := 0
	for _, p := range pts {
		d := (a[0]-p[0])*(b[1]-p[1]) - (a[1]-p[1])*(b[0]-p[0])
		naive := 0
		if d > 0 {
			naive = 1
		} else if d < 0 {
			naive = -1
		}
		if naive != bigOrient(a, b, p) {
			wrong++
		}
	}
	if wrong == 0 {
		t.Error("float64 gets every point right: the test does not test exactness")
	}
	t.Logf("float64 alone gets %d of %d points wrong", wrong, len(pts))
}
