package geo

import (
	"context"
	"strings"

	"github.com/paulmach/orb"
)

// Building is one building (楼栋) as a building set holds it: a point or a
// footprint with what the file said about it. Households and residents
// are counts from data; they replace the departments' household attributes
// wherever buildings are loaded.
type Building struct {
	ID         string         `json:"id"`                   // the file's building id (编号), else "fid:N"
	Name       string         `json:"name,omitempty"`       // name of the building
	Address    string         `json:"address,omitempty"`    // 门牌 / address
	Households *int           `json:"households,omitempty"` // 户数
	Residents  *int           `json:"residents,omitempty"`  // 人口
	Floors     *int           `json:"floors,omitempty"`     // 层数
	Use        BuildingUse    `json:"use,omitempty"`        // 用途
	Geometry   orb.Geometry   `json:"-"`                    // lon/lat point or (multi)polygon
	Props      map[string]any `json:"props,omitempty"`      // every other attribute
}

// BuildingUse is what a building is used for, from a small catalogue; the
// counts treat every use alike, the map colours them.
type BuildingUse string

// The use catalogue. Files write the uses in Chinese or English; ParseUse
// maps both (and common variants) onto these.
const (
	UseResidential BuildingUse = "住宅"
	UseShop        BuildingUse = "商铺"
	UseUnit        BuildingUse = "单位" // offices of government, companies, institutions
	UseSchool      BuildingUse = "学校"
	UseHospital    BuildingUse = "医院"
	UseIndustrial  BuildingUse = "厂房"
	UseMixed       BuildingUse = "商住"
	UseOther       BuildingUse = "其他"
)

// BuildingUses is the catalogue in display order.
var BuildingUses = []BuildingUse{UseResidential, UseShop, UseUnit, UseSchool, UseHospital, UseIndustrial, UseMixed, UseOther}

// useAliases maps what files write onto the catalogue.
var useAliases = map[string]BuildingUse{
	"住宅": UseResidential, "居住": UseResidential, "住房": UseResidential, "民宅": UseResidential, "residential": UseResidential, "house": UseResidential, "housing": UseResidential,
	"商铺": UseShop, "商业": UseShop, "店铺": UseShop, "门面": UseShop, "shop": UseShop, "commercial": UseShop, "retail": UseShop,
	"单位": UseUnit, "办公": UseUnit, "机关": UseUnit, "企事业": UseUnit, "office": UseUnit, "unit": UseUnit, "institution": UseUnit,
	"学校": UseSchool, "教育": UseSchool, "school": UseSchool,
	"医院": UseHospital, "卫生": UseHospital, "hospital": UseHospital,
	"厂房": UseIndustrial, "工业": UseIndustrial, "仓库": UseIndustrial, "industrial": UseIndustrial, "factory": UseIndustrial,
	"商住": UseMixed, "商住两用": UseMixed, "mixed": UseMixed,
	"其他": UseOther, "other": UseOther,
}

// ParseUse maps a file's use text onto the catalogue: "" stays "" (not
// known), anything the catalogue does not know becomes 其他 with ok false,
// so that an import can report the values it did not recognise.
func ParseUse(s string) (BuildingUse, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", true
	}
	if u, ok := useAliases[strings.ToLower(s)]; ok {
		return u, true
	}
	return UseOther, false
}

// BuildingImportReport tells what a building import found and did, beside
// the reading part every import reports (ImportReport).
type BuildingImportReport struct {
	SetID      int64 `json:"set_id,omitempty"`
	Version    int   `json:"version,omitempty"`
	Points     int   `json:"points"`
	Footprints int   `json:"footprints"`
	Added      int   `json:"added"`
	Removed    int   `json:"removed"`
	Changed    int   `json:"changed"`
	Same       int   `json:"same"`
	// UnknownUses counts use values outside the catalogue (stored as 其他).
	UnknownUses map[string]int `json:"unknown_uses,omitempty"`
	// Assignments per generation the import assigned the set to.
	Assignments []BuildingAssignment `json:"assignments,omitempty"`
}

// BuildingAssignment says how a building set fell into one generation's
// grids.
type BuildingAssignment struct {
	Generation int `json:"generation"`
	Assigned   int `json:"assigned"` // buildings in a grid
	Outside    int `json:"outside"`  // buildings outside every grid
	// OutsideList names the buildings outside every grid with their
	// distance to the nearest one (the first 100, nearest last).
	OutsideList []BuildingOutside `json:"outside_list,omitempty"`
}

// BuildingOutside is a building that no grid of a generation covers.
type BuildingOutside struct {
	ID          string  `json:"id"`
	NearestGrid string  `json:"nearest_grid"`
	DistanceM   float64 `json:"distance_m"`
}

// BuildingMoves is what a draft generation's report says about buildings:
// how they fall into its grids and which would move to another grid than
// the one they are in under the active generation.
type BuildingMoves struct {
	Assigned         int `json:"assigned"`
	Outside          int `json:"outside"`
	Moving           int `json:"moving"`            // buildings whose grid code differs from the active generation's
	MovingHouseholds int `json:"moving_households"` // their households
}

// Sources of a household figure.
const (
	SourceData      = "data"      // counted from buildings
	SourceAttribute = "attribute" // a department's attribute copied by the merge
	SourceRegister  = "register"  // residents: the register's members where it covers a building, else the building's attribute
)

// AreaCounts are the figures of one area of a generation counted from
// buildings.
type AreaCounts struct {
	Buildings  int `json:"buildings"`
	Households int `json:"households"`
	Residents  int `json:"residents"`
}

// BuildingStore keeps the building set, its assignment to every
// generation's grids and the counts rolled up from it.
type BuildingStore interface {
	// ImportBuildings replaces the building set (a new version) in one
	// transaction; an identical file (by hash) changes nothing.
	ImportBuildings(ctx context.Context, meta BuildingMeta, next func() (Building, error), rep *ImportReport) error
	// AssignBuildings (re)computes the assignment of every building to the
	// grids of a generation, and its roll-up.
	AssignBuildings(ctx context.Context, generation int) (BuildingAssignment, error)
	// BuildingsIn pages through the buildings of an area (any level; ""
	// every building) of a generation (0: the active one), those whose
	// address, name or id holds q.Text when it is set, as GeoJSON features
	// with their grid.
	BuildingsIn(ctx context.Context, q BuildingQuery) (FeaturePage, error)
	// Building answers one building as a GeoJSON feature with its grid in
	// a generation (0: the active one).
	Building(ctx context.Context, generation int, id string) ([]byte, error)
}

// BuildingQuery selects a page of buildings: those of an area (a code of
// any level; "" every building) in a generation (0: the active one) and,
// with Text, those whose address (门牌), name or id contains it — the
// console's search by address.
type BuildingQuery struct {
	Generation    int
	Area          string
	Text          string
	Offset, Limit int
}

// MaxBuildingSearch bounds the text of a building search: an address is a
// line, not a document.
const MaxBuildingSearch = 100

// BuildingMeta describes a building file being imported.
type BuildingMeta struct {
	Name         string
	FileName     string
	FileHash     string
	SRID         int // of the coordinates handed over; PostGIS transforms from it
	SRSFromUser  bool
	SRSLabel     string
	DryRun       bool
	AllowOutside bool
}
