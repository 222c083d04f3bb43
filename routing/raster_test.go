package routing

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// tiling makes an nx×ny lattice of quadrilateral grids with jittered,
// shared corners and a midpoint on every side, all coordinates multiples
// of 2^-20 degrees so that side midpoints are exact. Codes are assigned in
// a shuffled order so the tie rule is not the lattice order.
func tiling(nx, ny int, seed uint64) []geo.Area {
	rng := rand.New(rand.NewPCG(seed, 7))
	snap := func(v float64) float64 { return math.Round(v*(1<<20)) / (1 << 20) }
	step := 1.0 / 256
	corner := make([][]orb.Point, nx+1)
	for i := range corner {
		corner[i] = make([]orb.Point, ny+1)
		for j := range corner[i] {
			corner[i][j] = orb.Point{snap(121.5 + float64(i)*step + (rng.Float64()-0.5)*0.3*step), snap(29.7 + float64(j)*step + (rng.Float64()-0.5)*0.3*step)}
		}
	}
	mid := func(a, b orb.Point) orb.Point { return orb.Point{snap((a[0] + b[0]) / 2), snap((a[1] + b[1]) / 2)} }
	perm := rng.Perm(nx * ny)
	var out []geo.Area
	for i := 0; i < nx; i++ {
		for j := 0; j < ny; j++ {
			a, b, c, d := corner[i][j], corner[i+1][j], corner[i+1][j+1], corner[i][j+1]
			ring := orb.Ring{a, mid(a, b), b, mid(b, c), c, mid(c, d), d, mid(d, a), a}
			code := fmt.Sprintf("330212001001%03d", perm[i*ny+j]+1)
			out = append(out, geo.Area{Level: geo.Grid, Code: code, ParentCode: "330212001001", Geometry: orb.MultiPolygon{{ring}}})
		}
	}
	return out
}

// TestRasterIsExact: with and without the raster in front, the answers
// are the same everywhere: random points, vertices, side midpoints (on a
// shared border) and points right on the raster's own cell borders.
func TestRasterIsExact(t *testing.T) {
	for _, size := range []struct{ nx, ny int }{{3, 2}, {24, 17}} {
		areas := tiling(size.nx, size.ny, uint64(size.nx))
		s, err := Build(1, areas)
		if err != nil {
			t.Fatal(err)
		}
		if s.raster == nil {
			t.Fatalf("%dx%d: no raster", size.nx, size.ny)
		}
		plain := *s
		plain.raster = nil
		var pts []orb.Point
		for _, a := range areas {
			r := a.Geometry[0][0]
			pts = append(pts, r...)
			for k := 0; k+1 < len(r); k++ {
				// A quarter of the way along each side: on the border too.
				pts = append(pts, orb.Point{r[k][0] + (r[k+1][0]-r[k][0])/4, r[k][1] + (r[k+1][1]-r[k][1])/4})
			}
		}
		rng := rand.New(rand.NewPCG(3, 3))
		rs := s.raster
		for k := 0; k < 200000; k++ {
			x := rs.x0 + (rng.Float64()*1.2-0.1)*float64(rs.nx)/rs.sx
			y := rs.y0 + (rng.Float64()*1.2-0.1)*float64(rs.ny)/rs.sy
			pts = append(pts, orb.Point{x, y})
			// On a cell border of the raster.
			i, j := rng.IntN(rs.nx+1), rng.IntN(rs.ny+1)
			pts = append(pts, orb.Point{rs.x0 + float64(i)/rs.sx, y}, orb.Point{x, rs.y0 + float64(j)/rs.sy})
		}
		pts = append(pts, orb.Point{math.NaN(), 29.7}, orb.Point{121.5, math.Inf(1)})
		fromRaster := 0
		for _, p := range pts {
			if v := rs.at(p[0], p[1]); v != cellMixed {
				fromRaster++
			}
			got, want := s.Locate(p, 0, 0), plain.Locate(p, 0, 0)
			if fmt.Sprint(got.Match, got.Grid) != fmt.Sprint(want.Match, want.Grid) {
				t.Fatalf("%dx%d: at %.17g,%.17g the raster says %s %v, the index %s %v", size.nx, size.ny, p[0], p[1], got.Match, got.Grid, want.Match, want.Grid)
			}
		}
		if fromRaster < len(pts)/2 {
			t.Fatalf("%dx%d: only %d of %d points answered by the raster (%.0f%% pure cells)", size.nx, size.ny, fromRaster, len(pts), 100*s.RasterPure())
		}
		t.Logf("%dx%d grids: %dx%d cells, %.0f%% pure, %d of %d points answered by the raster", size.nx, size.ny, rs.nx, rs.ny, 100*s.RasterPure(), fromRaster, len(pts))
	}
}

// TestLocateAllocatesNothing: a lookup copies a prepared chain.
func TestLocateAllocatesNothing(t *testing.T) {
	s, err := Build(1, tiling(10, 10, 1))
	if err != nil {
		t.Fatal(err)
	}
	p := orb.Point{121.52, 29.72}
	if n := testing.AllocsPerRun(100, func() { s.Locate(p, 100, 5000) }); n != 0 {
		t.Fatalf("Locate allocates %v times", n)
	}
}

// BenchmarkSnapshotLocate: random points over a lattice of 1,400 grids,
// the raster in front of the index and the index alone.
func BenchmarkSnapshotLocate(b *testing.B) {
	s, err := Build(1, tiling(40, 35, 9))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	rs := s.raster
	pts := make([]orb.Point, 1<<16)
	for i := range pts {
		pts[i] = orb.Point{rs.x0 + rng.Float64()*float64(rs.nx)/rs.sx, rs.y0 + rng.Float64()*float64(rs.ny)/rs.sy}
	}
	plain := *s
	plain.raster = nil
	for _, c := range []struct {
		name string
		s    *Snapshot
	}{{"raster", s}, {"index", &plain}} {
		b.Run(c.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				c.s.Locate(pts[i&(len(pts)-1)], 0, 0)
				i++
			}
		})
	}
}
