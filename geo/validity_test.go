package geo

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
)

func TestProvablyValid(t *testing.T) {
	square := orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}
	far := orb.Ring{{5, 5}, {6, 5}, {6, 6}, {5, 6}, {5, 5}}
	tests := []struct {
		name string
		g    orb.Geometry
		want bool
	}{
		{"square", orb.Polygon{square}, true},
		{"square clockwise", orb.Polygon{{{0, 0}, {0, 1}, {1, 1}, {1, 0}, {0, 0}}}, true},
		{"triangle", orb.Polygon{{{0, 0}, {2, 0}, {1, 1}, {0, 0}}}, true},
		{"straight-through vertex", orb.Polygon{{{0, 0}, {0.5, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}}, true},
		{"straight-through at the closing point", orb.Polygon{{{0.5, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}, {0.5, 0}}}, true},
		{"bowtie", orb.Polygon{{{0, 0}, {1, 1}, {1, 0}, {0, 1}, {0, 0}}}, false},
		{"spike", orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {1, 2}, {1, 1}, {0, 1}, {0, 0}}}, false},
		{"fold back at the closing point", orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, -1}, {0, 0}}}, false},
		{"self-touching vertex", orb.Polygon{{{0, 0}, {2, 0}, {2, 2}, {1, 0}, {0, 2}, {0, 0}}}, false},
		{"vertex on a far segment", orb.Polygon{{{0, 0}, {2, 0}, {2, 2}, {1, 2}, {1, 0.0}, {0.5, 2}, {0, 2}, {0, 0}}}, false},
		{"repeated point", orb.Polygon{{{0, 0}, {1, 0}, {1, 0}, {1, 1}, {0, 0}}}, false},
		{"all collinear", orb.Polygon{{{0, 0}, {1, 0}, {2, 0}, {0, 0}}}, false},
		{"unclosed", orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}, false},
		{"too few points", orb.Polygon{{{0, 0}, {1, 0}, {0, 0}}}, false},
		{"with a hole (left to GEOS)", orb.Polygon{square, {{0.2, 0.2}, {0.4, 0.2}, {0.4, 0.4}, {0.2, 0.2}}}, false},
		{"empty polygon", orb.Polygon{}, false},
		{"two apart", orb.MultiPolygon{{square}, {far}}, true},
		{"two with touching boxes", orb.MultiPolygon{{square}, {{{1, 0}, {2, 0}, {2, 1}, {1, 0}}}}, false},
		{"two overlapping", orb.MultiPolygon{{square}, {square}}, false},
		{"empty multipolygon", orb.MultiPolygon{}, false},
		{"a point", orb.Point{1, 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ProvablyValid(tt.g); got != tt.want {
				t.Errorf("ProvablyValid = %v, want %v", got, tt.want)
			}
		})
	}
}

func BenchmarkProvablyValid(b *testing.B) {
	// A 20-point star-shaped ring, the size of a typical grid.
	var r orb.Ring
	for i := 0; i < 20; i++ {
		a := float64(i) / 20 * 2 * 3.141592653589793
		rad := 1 + 0.3*float64(i%3)
		r = append(r, orb.Point{121.5 + 0.01*rad*math.Cos(a), 29.8 + 0.01*rad*math.Sin(a)})
	}
	r = append(r, r[0])
	g := orb.Polygon{r}
	for i := 0; i < b.N; i++ {
		if !ProvablyValid(g) {
			b.Fatal("star not proven")
		}
	}
}
