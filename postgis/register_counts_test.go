package postgis_test

import (
	"context"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/paulmach/orb"
)

// TestRegisterCounts: the areas' residents come from the register where
// it covers a building, from the building's attribute elsewhere, and
// follow a load and a deletion; households stay the buildings'.
func TestRegisterCounts(t *testing.T) {
	for _, district := range []string{"330212", "330206"} {
		t.Run(district, func(t *testing.T) { testRegisterCounts(t, district) })
	}
}

func testRegisterCounts(t *testing.T, district string) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	gen, west, east := registerCity(t, db, district)
	// R2 and the new R4 carry a residents attribute; R4 is in no household.
	importBuildings(t, db, "rc2", []geo.Building{
		{ID: "R1", Address: "幸福路1号", Households: intp(2), Geometry: orb.Point{121.503, 29.805}},
		{ID: "R2", Address: "幸福路3号", Households: intp(1), Residents: intp(5), Geometry: orb.Point{121.507, 29.805}},
		{ID: "R3", Address: "和平路2号", Households: intp(1), Geometry: orb.Point{121.515, 29.805}},
		{ID: "R4", Address: "和平路4号", Households: intp(3), Residents: intp(7), Geometry: orb.Point{121.517, 29.805}},
	})
	comm := west[:12]
	counts := func(when string, want map[string][2]int) {
		t.Helper()
		for code, w := range want {
			var hh, res int
			if err := db.Pool.QueryRow(ctx, `SELECT households, residents FROM area_counts WHERE generation = $1 AND code = $2`, gen, code).Scan(&hh, &res); err != nil {
				t.Fatalf("%s: counts of %s: %v", when, code, err)
			}
			if [2]int{hh, res} != w {
				t.Errorf("%s: %s has %d households, %d residents; want %v", when, code, hh, res, w)
			}
		}
		d, err := db.Area(ctx, west)
		if err != nil {
			t.Fatal(err)
		}
		if d.Residents == nil || *d.Residents != want[west][1] {
			t.Errorf("%s: the area panel says %v residents of %s, want %d", when, d.Residents, west, want[west][1])
		}
	}
	counts("before the register", map[string][2]int{west: {3, 5}, east: {4, 7}, comm: {7, 12}, district: {7, 12}})
	if d, _ := db.Area(ctx, west); d.ResidentsSource != geo.SourceData {
		t.Errorf("before the register residents come from %q", d.ResidentsSource)
	}

	// R1 has H1 (1) and H2 (2), R2 H3 (1), R3 H4 (2); R4 keeps its 7.
	key := newKey(t)
	meta := geo.RegisterMeta{FileName: "r.csv", FileHash: "f1", Tags: geo.DefaultResidentTags(), By: "test"}
	if _, err := db.LoadRegister(ctx, key, meta, &rowsSource{rows: registerRows(district)}, nil); err != nil {
		t.Fatal(err)
	}
	counts("after the load", map[string][2]int{west: {3, 4}, east: {4, 9}, comm: {7, 13}, district: {7, 13}})
	if d, _ := db.Area(ctx, west); d.ResidentsSource != geo.SourceRegister {
		t.Errorf("after the load residents come from %q", d.ResidentsSource)
	}

	// Deleting H2's child: R1 counts 2. Deleting H3's only member: R2 is
	// no longer covered and counts its attribute, 5.
	for _, c := range []struct{ household string }{{"H2"}, {"H3"}} {
		var id int64
		if err := db.Pool.QueryRow(ctx, `SELECT id FROM residents WHERE household_id = $1 ORDER BY seq DESC LIMIT 1`, c.household).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteResident(ctx, id, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	counts("after two deletions", map[string][2]int{west: {3, 1 + 1 + 5}, east: {4, 9}, comm: {7, 16}, district: {7, 16}})

	// The same figures as a full roll-up would give.
	var fresh int
	if err := db.Pool.QueryRow(ctx, `SELECT coalesce(sum(coalesce(r.res, b.residents, 0)), 0)::int FROM buildings b
		LEFT JOIN (SELECT building_id, sum(members) AS res FROM households GROUP BY 1) r ON r.building_id = b.id`).Scan(&fresh); err != nil {
		t.Fatal(err)
	}
	if fresh != 16 {
		t.Errorf("the buildings and the register add up to %d residents, the counts say 16", fresh)
	}
}
