package geo

import (
	"encoding/json"

	"github.com/paulmach/orb"
)

// Tile layer names besides the levels' plurals (districts, streets,
// communities, grids).
const (
	LabelsLayer     = "labels" // one point per area, inside it, with its name
	DeptLayerPrefix = "dept/"  // dept/{code}: a department's latest grid layer
)

// TileQuery asks for one vector tile of one layer.
type TileQuery struct {
	Layer      string // a level's plural, LabelsLayer, or DeptLayerPrefix + department code
	Generation int    // for levels and labels: the generation (resolved, not 0)
	LayerID    int64  // for departmental layers: the source layer version's id
	Z, X, Y    int
	Datum      Datum // DatumWGS84 or DatumGCJ02
}

// DeptLayer is the latest version of a department's grid layer.
type DeptLayer struct {
	Dept     string `json:"dept"`      // department code, e.g. "zongzhi"
	DeptName string `json:"dept_name"` // e.g. "综治"
	LayerID  int64  `json:"layer_id"`
	Version  int    `json:"version"`
	Name     string `json:"name"`
	Features int    `json:"features"`
	// Attribution credits the layer's makers, as given on import.
	Attribution string `json:"attribution,omitempty"`
}

// TileCatalog is what a tile server needs to resolve a request without
// asking the database each time: the active generation (0: none), every
// generation's id, and the latest departmental grid layers.
type TileCatalog struct {
	Active      int
	Generations []int
	Depts       []DeptLayer
	// Attribution of each generation that has one: the distinct
	// attributions of the layers it was merged from, on one line.
	Attribution map[int]string
	// BuildingSet is the latest building set's id (0: none): the counts
	// tiles carry change with it, so it is part of their cache key.
	BuildingSet int64
}

// FeatureQuery asks for a page of features of one collection: a level of
// a generation, or a departmental layer version.
type FeatureQuery struct {
	Level      Level // set for a level's collection
	Generation int   // resolved generation, with Level
	LayerID    int64 // set for a departmental layer's collection
	BBox       *orb.Bound
	Limit      int
	Offset     int
	Properties []string // nil: every property
	ID         string   // one feature by id (a code, or a departmental feature's fid)
	// Buildings asks for the buildings (with their grid in Generation)
	// instead of a level or layer.
	Buildings bool
}

// FeaturePage is a page of GeoJSON features and how many match in all.
type FeaturePage struct {
	Features []json.RawMessage
	Matched  int
}

// DetailMinZoom is the first zoom at which a level's polygon tiles carry
// the areas' name and households: the zoom from which maps draw the level
// (the console's style does). Below it its areas are a pixel or two wide,
// and those attributes were half the bytes of a city-wide tile of 10,000
// grids, for figures nobody can see; codes, levels and parents stay at
// every zoom, names are drawn from the labels layer, and the panel and the
// OGC API carry everything.
func DetailMinZoom(l Level) int {
	switch l {
	case Grid:
		return 10
	case Community:
		return 9
	}
	return 0
}

// LabelMinZoom is the first zoom at which the labels layer carries the
// labels of a level: below it they would only crowd each other.
func LabelMinZoom(l Level) int {
	switch l {
	case District:
		return 8
	case Street:
		return 10
	case Community:
		return 12
	}
	return 14
}
