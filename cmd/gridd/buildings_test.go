package main

import (
	"context"
	"strings"
	"testing"
)

// TestImportBuildings runs 'gridd import --kind buildings' on the demo
// city: fields guessed from the file, every building reported (the one
// outside the coverage with its distance), an identical file a no-op, a
// bad one refused on one line with nothing changed, the merge's report
// on the buildings.
func TestImportBuildings(t *testing.T) {
	dbURL := demoDatabaseURL(t)
	out := mustGridd(t, "import", "--db", dbURL, "--kind", "buildings", "testdata/buildings.geojson")
	for _, want := range []string{"version 2 of the building set", "guessed: id=编号, address=门牌, households=户数, residents=人口, floors=层数, use=用途",
		"3 buildings read (2 points, 1 footprints): 3 added", "储藏 ×1", "2 buildings in a grid, 1 outside every grid", "building X3:"} {
		if !strings.Contains(out, want) {
			t.Errorf("import said %q, want %q in it", out, want)
		}
	}
	if out := mustGridd(t, "import", "--db", dbURL, "--kind", "buildings", "testdata/buildings.geojson"); !strings.Contains(out, "nothing imported") {
		t.Errorf("re-import said %q", out)
	}
	conn := connect(t, dbURL)
	state := func() string {
		var s string
		if err := conn.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM building_sets) || '/' || (SELECT string_agg(id, ',' ORDER BY id) FROM buildings)`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := state()
	if before != "2/X1,X2,X3" {
		t.Errorf("buildings %s", before)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"testdata/buildings-dup.csv"}, "building ids must be unique"},
		{[]string{"--use-field", "nope", "testdata/buildings.geojson"}, "not a field"},
		{[]string{"testdata/truncated.geojson"}, "truncated"},
	} {
		_, err := gridd(t, append([]string{"import", "--db", dbURL, "--kind", "buildings"}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("import %v: error %v, want one line with %q", tt.args, err, tt.want)
		}
	}
	if after := state(); after != before {
		t.Errorf("failed imports changed the buildings: %s -> %s", before, after)
	}
	if out := mustGridd(t, "merge", "--db", dbURL, "--base", "chengguan"); !strings.Contains(out, "buildings: 2 in a grid, 1 outside every grid; moving grid vs the active generation:") {
		t.Errorf("merge said %q", out)
	}
}
