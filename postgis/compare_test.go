package postgis_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
)

// TestCompare builds two small generations by hand, each change made on
// purpose, and checks that Compare counts each kind of change once.
func TestCompare(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	// square returns a 0.01° square MultiPolygon at column i, as WKT.
	square := func(i int, w float64) string {
		x := 121.50 + 0.01*float64(i)
		return fmt.Sprintf("MULTIPOLYGON(((%[1]f 29.80,%[2]f 29.80,%[2]f 29.81,%[1]f 29.81,%[1]f 29.80)))", x, x+w)
	}
	type area struct {
		level, code, name, parent, wkt string
	}
	district := area{"district", "330212", "鄞州区", "", "MULTIPOLYGON(((121.5 29.8,121.6 29.8,121.6 29.81,121.5 29.81,121.5 29.8)))"}
	street := area{"street", "330212001", "街道", "330212", district.wkt}
	c1 := area{"community", "330212001001", "一社区", "330212001", square(0, 0.05)}
	c2 := area{"community", "330212001002", "二社区", "330212001", square(5, 0.05)}
	g := func(n int, name, parent string, w float64) area {
		return area{"grid", fmt.Sprintf("%s%03d", parent, n), name, parent, square(n-1, w)}
	}
	from := []area{district, street, c1, c2,
		g(1, "一", c1.code, 0.01), g(2, "二", c1.code, 0.01), g(3, "三", c1.code, 0.01), g(4, "四", c1.code, 0.01)}
	moved := g(4, "四", c1.code, 0.01)
	moved.parent = c2.code // same code, geometry and name; now under another community
	renamed := g(3, "叁", c1.code, 0.01)
	to := []area{district, street, c1, c2,
		g(1, "一", c1.code, 0.01),  // kept
		g(2, "二", c1.code, 0.005), // reshaped
		renamed,                   // kept geometry, renamed
		moved,                     // kept geometry, reparented
		g(5, "五", c1.code, 0.01),  // added
		g(6, "六", c1.code, 0.01)}  // added
	from = append(from, g(7, "七", c1.code, 0.01)) // removed
	load := func(areas []area) int {
		t.Helper()
		var gen int
		if err := db.Pool.QueryRow(ctx, `INSERT INTO generations (note) VALUES ('compare test') RETURNING id`).Scan(&gen); err != nil {
			t.Fatal(err)
		}
		for _, a := range areas {
			if _, err := db.Pool.Exec(ctx, `INSERT INTO areas (generation, level, code, name, parent_code, geom) VALUES ($1, $2, $3, $4, $5, ST_GeomFromText($6, 4326))`,
				gen, a.level, a.code, a.name, a.parent, a.wkt); err != nil {
				t.Fatal(err)
			}
		}
		return gen
	}
	a, b := load(from), load(to)

	for _, tt := range []struct {
		name     string
		from, to int
		want     map[string]geo.LevelDiff
	}{
		{"forward", a, b, map[string]geo.LevelDiff{
			"district": {Kept: 1}, "street": {Kept: 1}, "community": {Kept: 2},
			"grid": {Kept: 3, Reshaped: 1, Added: 2, Removed: 1, Renamed: 1, Reparented: 1}}},
		{"backward", b, a, map[string]geo.LevelDiff{
			"district": {Kept: 1}, "street": {Kept: 1}, "community": {Kept: 2},
			"grid": {Kept: 3, Reshaped: 1, Added: 1, Removed: 2, Renamed: 1, Reparented: 1}}},
		{"itself", a, a, map[string]geo.LevelDiff{
			"district": {Kept: 1}, "street": {Kept: 1}, "community": {Kept: 2}, "grid": {Kept: 5}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := db.Compare(ctx, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if d.From != tt.from || d.To != tt.to || len(d.Levels) != 4 {
				t.Fatalf("diff %+v", d)
			}
			for level, want := range tt.want {
				if got := d.Levels[level]; got == nil || *got != want {
					t.Errorf("%s: %+v, want %+v", level, got, want)
				}
			}
		})
	}
	if _, err := db.Compare(ctx, a, 99); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Errorf("unknown generation: %v", err)
	}
	if _, err := db.Compare(ctx, 0, b); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Errorf("no active generation: %v", err)
	}
}
