package importers

import (
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

func TestBuildingMapping(t *testing.T) {
	for _, c := range []struct {
		name   string
		fields []string
		opts   BuildingOptions
		want   BuildingMapping
	}{
		{"chinese", []string{"编号", "门牌", "户数", "人口", "层数", "用途"}, BuildingOptions{},
			BuildingMapping{ID: "编号", Address: "门牌", Households: "户数", Residents: "人口", Floors: "层数", Use: "用途"}},
		{"english", []string{"bldg_id", "name", "address", "households", "population", "floors", "use"}, BuildingOptions{},
			BuildingMapping{ID: "bldg_id", Name: "name", Address: "address", Households: "households", Residents: "population", Floors: "floors", Use: "use"}},
		{"override", []string{"FID2", "ADDR", "HH"}, BuildingOptions{IDField: "fid2", HouseholdsField: "hh"},
			BuildingMapping{ID: "FID2", Address: "ADDR", Households: "HH"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := MapBuildingFields(c.fields, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			m.Guessed = nil
			if m.ID != c.want.ID || m.Name != c.want.Name || m.Address != c.want.Address || m.Households != c.want.Households ||
				m.Residents != c.want.Residents || m.Floors != c.want.Floors || m.Use != c.want.Use {
				t.Errorf("mapping %+v, want %+v", m, c.want)
			}
		})
	}
	if _, err := MapBuildingFields([]string{"a"}, BuildingOptions{UseField: "b"}); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("unknown --use-field: %v", err)
	}
	m, _ := MapBuildingFields([]string{"编号", "户数"}, BuildingOptions{})
	b, err := m.Building(geo.Feature{Props: map[string]any{"编号": 12.0, "户数": "30"}, Geometry: orb.Point{121, 29}}, 1)
	if err != nil || b.ID != "12" || *b.Households != 30 {
		t.Errorf("building %+v, %v", b, err)
	}
	b, _ = m.Building(geo.Feature{Props: map[string]any{}, Geometry: orb.Point{121, 29}}, 7)
	if b.ID != "fid:7" {
		t.Errorf("id of a building without one: %q", b.ID)
	}
	if _, err := m.Building(geo.Feature{Props: map[string]any{"户数": "3.5"}}, 2); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("3.5 households: %v", err)
	}
}
