package pointindex

import (
	"fmt"
	"testing"

	"github.com/paulmach/orb"
)

// Benchmark coverages: the demo city (2,025 grids of 100 vertices) and a
// big city (99,856 grids of 52 vertices, 200 m apart).
var benchTilings = []struct {
	name string
	tl   tiling
}{
	{"2k", tiling{nx: 45, ny: 45, sub: 24, x0: 116.25, y0: 39.75, step: 1.0 / 128, snap: 0x1p-20, seed: 1}},
	{"100k", tiling{nx: 316, ny: 316, sub: 12, x0: 116.0, y0: 39.6, step: 1.0 / 512, snap: 0x1p-24, seed: 13}},
}

func BenchmarkLocate(b *testing.B) {
	for _, bt := range benchTilings {
		items := bt.tl.items()
		ix := mustBuild(b, items)
		pts := randomPoints(14, 1<<16, extent(items), 0)
		var border []orb.Point // vertices: every query takes the exact path
		for _, it := range items {
			border = append(border, it.Geometry[0][0][:len(it.Geometry[0][0])-1]...)
		}
		for _, q := range []struct {
			name string
			pts  []orb.Point
		}{{"random", pts}, {"vertices", border}} {
			b.Run(fmt.Sprintf("%s/%s", bt.name, q.name), func(b *testing.B) {
				b.ReportAllocs()
				n, miss := len(q.pts), 0
				i := 0
				for b.Loop() {
					if _, ok := ix.Locate(q.pts[i%n]); !ok {
						miss++
					}
					i++
				}
				_ = miss
			})
		}
	}
}

func BenchmarkNearest(b *testing.B) {
	bt := benchTilings[0]
	items := bt.tl.items()
	ix := mustBuild(b, items)
	e := extent(items)
	// Points in a band just south of the coverage, up to ~200 m out.
	pts := randomPoints(15, 1<<12, orb.Bound{Min: orb.Point{e.Min[0], e.Min[1] - 0.002}, Max: orb.Point{e.Max[0], e.Min[1]}}, 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ix.Nearest(pts[i%len(pts)], 100)
		i++
	}
}

func BenchmarkBuild(b *testing.B) {
	for _, bt := range benchTilings {
		items := bt.tl.items()
		b.Run(bt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Build(items); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
