package geo

import (
	"math/rand/v2"
	"testing"
)

func TestParseSizeRange(t *testing.T) {
	for _, c := range []struct {
		in   string
		want SizeRange
		ok   bool
	}{
		{"300-500", SizeRange{300, 500}, true},
		{" 3000 – 5000 ", SizeRange{3000, 5000}, true},
		{"0-10", SizeRange{0, 10}, true},
		{"500-300", SizeRange{}, false},
		{"300", SizeRange{}, false},
		{"a-b", SizeRange{}, false},
		{"0-0", SizeRange{}, false},
	} {
		got, err := ParseSizeRange(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseSizeRange(%q) = %v, %v", c.in, got, err)
		}
	}
}

func TestSplitParts(t *testing.T) {
	r := SizeRange{300, 500}
	for _, c := range []struct{ n, want int }{{0, 1}, {500, 1}, {501, 2}, {1000, 2}, {1001, 3}, {2600, 6}} {
		if got := r.SplitParts(c.n); got != c.want {
			t.Errorf("SplitParts(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// TestSplitByGaps: two clusters of buildings far apart are split at the
// gap between them, not through either cluster; points at one spot stay
// together; random grids always give parts within the rule when the
// buildings are small enough for it.
func TestSplitByGaps(t *testing.T) {
	r := SizeRange{300, 500}
	var pts []WeightedPoint
	for i := 0; i < 20; i++ { // west cluster x 0..95, 20 × 20 households
		pts = append(pts, WeightedPoint{ID: int64(i), X: float64(i * 5), Y: float64(i % 3), Households: 20})
	}
	for i := 0; i < 20; i++ { // east cluster x 400..495
		pts = append(pts, WeightedPoint{ID: int64(100 + i), X: 400 + float64(i*5), Y: float64(i % 3), Households: 20})
	}
	parts := SplitByGaps(pts, 2, r)
	for i := range pts {
		if west := i < 20; (parts[i] == parts[0]) != west {
			t.Fatalf("building %d (x %.0f) in part %d: the cut is not at the gap", i, pts[i].X, parts[i])
		}
	}
	same := []WeightedPoint{{ID: 1, X: 1, Y: 1, Households: 400}, {ID: 2, X: 1, Y: 1, Households: 400}, {ID: 3, X: 50, Y: 1, Households: 10}}
	if p := SplitByGaps(same, 2, r); p[0] != p[1] {
		t.Errorf("two buildings at one spot were separated: %v", p)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := 0; trial < 300; trial++ {
		n := 20 + rng.IntN(200)
		pts := make([]WeightedPoint, n)
		total := 0
		for i := range pts {
			pts[i] = WeightedPoint{ID: int64(i), X: rng.Float64() * 800, Y: rng.Float64() * 500, Households: 1 + rng.IntN(40)}
			total += pts[i].Households
		}
		feasible := false // some number of parts leaves room for the biggest building
		for k := 2; k*r.Min <= total; k++ {
			feasible = feasible || (k*(r.Min+40) <= total && total <= k*(r.Max-40))
		}
		if total <= r.Max || !feasible {
			continue
		}
		parts, ok := PlanSplit(pts, r)
		if !ok {
			t.Errorf("trial %d: %d households in buildings of at most 40 could not be split within %s", trial, total, r)
		}
		k := 0
		for _, p := range parts {
			k = max(k, p+1)
		}
		if min := r.SplitParts(total); k < min || k > min+1 {
			t.Errorf("trial %d: %d households into %d parts, want %d or %d", trial, total, k, min, min+1)
		}
		sums := make([]int, k)
		for i, p := range parts {
			if p < 0 || p >= k {
				t.Fatalf("trial %d: part %d of %d", trial, p, k)
			}
			sums[p] += pts[i].Households
		}
		for _, s := range sums {
			if !r.Contains(s) {
				t.Errorf("trial %d: %d households into %d parts gave %v", trial, total, k, sums)
				break
			}
		}
	}
}

func TestHistogram(t *testing.T) {
	h := Histogram([]int{0, 99, 100, 250, 250, 720})
	want := []int{2, 1, 2, 0, 0, 0, 0, 1}
	if len(h) != len(want) {
		t.Fatalf("%d bars, want %d: %v", len(h), len(want), h)
	}
	for i, b := range h {
		if b.Grids != want[i] || b.From != i*SizeBinWidth {
			t.Errorf("bar %d = %+v, want %d grids from %d", i, b, want[i], i*SizeBinWidth)
		}
	}
}
