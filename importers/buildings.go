package importers

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gridd/gridd/geo"
)

// BuildingOptions override the guessed attributes of a building file;
// empty fields are guessed.
type BuildingOptions struct {
	IDField, NameField, AddressField, HouseholdsField, ResidentsField, FloorsField, UseField string
}

// BuildingMapping says which attribute holds each field of a building.
type BuildingMapping struct {
	ID, Name, Address, Households, Residents, Floors, Use string
	Guessed                                               []string // which were guessed, for the report
}

// Common attribute names of building files (楼栋, 门牌 and 房屋 data of
// Chinese GIS exports), most specific first.
var (
	buildingIDNames   = []string{"id", "bldg_id", "building_id", "编号", "楼栋编号", "建筑编号", "ldbm", "lddm", "fwbm", "code", "编码"}
	buildingNameNames = []string{"name", "楼栋名称", "建筑名称", "名称", "ldmc", "mc"}
	addressNames      = []string{"address", "addr", "地址", "门牌", "门牌号", "门牌地址", "详细地址", "mp", "dz"}
	residentsNames    = []string{"residents", "population", "pop", "人口", "人数", "居住人口", "rk", "rks"}
	floorsNames       = []string{"floors", "floor", "levels", "building:levels", "层数", "楼层", "地上层数", "cs"}
	useNames          = []string{"use", "usage", "type", "用途", "房屋用途", "建筑用途", "类型", "yt"}
)

// MapBuildingFields resolves the mapping of a building file's fields: the
// option when given (it must exist), otherwise the first common name
// present.
func MapBuildingFields(fields []string, opts BuildingOptions) (BuildingMapping, error) {
	var m BuildingMapping
	lower := map[string]string{}
	for _, f := range fields {
		if _, dup := lower[strings.ToLower(f)]; !dup {
			lower[strings.ToLower(f)] = f
		}
	}
	taken := map[string]bool{}
	for _, p := range []struct {
		dst        *string
		what, flag string
		given      string
		candidates []string
	}{
		{&m.ID, "id", "code", opts.IDField, buildingIDNames},
		{&m.Address, "address", "address", opts.AddressField, addressNames},
		{&m.Name, "name", "name", opts.NameField, buildingNameNames},
		{&m.Households, "households", "households", opts.HouseholdsField, householdsNames},
		{&m.Residents, "residents", "population", opts.ResidentsField, residentsNames},
		{&m.Floors, "floors", "floors", opts.FloorsField, floorsNames},
		{&m.Use, "use", "use", opts.UseField, useNames},
	} {
		if p.given != "" {
			real, ok := lower[strings.ToLower(p.given)]
			if !ok {
				return m, geo.Errorf(geo.EINVALID, "--%s-field %q is not a field of this file; its fields are: %s", p.flag, p.given, strings.Join(fields, ", "))
			}
			*p.dst, taken[real] = real, true
			continue
		}
		for _, c := range p.candidates {
			// One attribute feeds one field: "name" guessed as the address
			// is not guessed again as the name.
			if real, ok := lower[c]; ok && !taken[real] {
				*p.dst, taken[real] = real, true
				m.Guessed = append(m.Guessed, fmt.Sprintf("%s=%s", p.what, real))
				break
			}
		}
	}
	return m, nil
}

// Fields lists the mapping as gridd field → file attribute, for reports.
func (m BuildingMapping) Fields() map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{"id": m.ID, "name": m.Name, "address": m.Address, "households": m.Households,
		"residents": m.Residents, "floors": m.Floors, "use": m.Use} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// Building turns the n-th feature of a file (from 1) into a building: the
// mapped attributes move out of Props into their fields. A building
// without an id gets "fid:N".
func (m BuildingMapping) Building(f geo.Feature, n int) (geo.Building, error) {
	b := geo.Building{Geometry: f.Geometry, Props: f.Props}
	take := func(field string) string {
		if field == "" || b.Props == nil {
			return ""
		}
		v, ok := b.Props[field]
		if !ok || v == nil {
			return ""
		}
		delete(b.Props, field)
		return strings.TrimSpace(propString(v))
	}
	b.ID = take(m.ID)
	if b.ID == "" {
		b.ID = "fid:" + strconv.Itoa(n)
	}
	if len(b.ID) > 100 {
		return b, geo.Errorf(geo.EINVALID, "building id %q is longer than 100 characters: check --code-field", printable(b.ID[:40])+"…")
	}
	b.Name, b.Address = take(m.Name), take(m.Address)
	for _, c := range []struct {
		field string
		dst   **int
		what  string
	}{{m.Households, &b.Households, "households"}, {m.Residents, &b.Residents, "residents"}, {m.Floors, &b.Floors, "floors"}} {
		s := take(c.field)
		if s == "" {
			continue
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || x < 0 || x > 1e6 || x != float64(int64(x)) {
			return b, geo.Errorf(geo.EINVALID, "%s %q (attribute %s) is not a whole number from 0", c.what, printable(s), c.field)
		}
		v := int(x)
		*c.dst = &v
	}
	b.Use = geo.BuildingUse(take(m.Use))
	return b, nil
}
