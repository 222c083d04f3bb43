package geo

import (
	"context"
	"time"

	"github.com/paulmach/orb"
)

// Area is one polygon of the unified coverage at one level of one generation.
type Area struct {
	Generation int
	Level      Level
	Code       string
	Name       string
	ParentCode string
	Households *int // nil when unknown
	Population *int
	Geometry   orb.MultiPolygon // EPSG:4326 lon/lat
}

// AreaRef names an area without its geometry.
type AreaRef struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Chain is the answer to "where is this point": the area at each level that
// covers it, in one generation.
type Chain struct {
	Generation int      `json:"generation"`
	District   *AreaRef `json:"district"`
	Street     *AreaRef `json:"street"`
	Community  *AreaRef `json:"community"`
	Grid       *AreaRef `json:"grid"`
}

// Locator finds the chain of areas covering a lon/lat point (EPSG:4326) in a
// generation (0 means the active one). A point outside the coverage is an
// ENOTFOUND error.
type Locator interface {
	Locate(ctx context.Context, pt orb.Point, generation int) (Chain, error)
}

// Generation states. A merge makes a draft; activation makes one draft the
// active generation and retires the previous one, which stays queryable.
const (
	GenerationDraft   = "draft"
	GenerationActive  = "active"
	GenerationRetired = "retired"
)

// Generation is one version of the unified coverage.
type Generation struct {
	ID          int        `json:"id"`
	State       string     `json:"state"`
	CreatedAt   time.Time  `json:"created_at"`
	ActivatedAt *time.Time `json:"activated_at,omitempty"`
	Note        string     `json:"note,omitempty"`
	// Attribution: the distinct attributions of the layers it was merged
	// from, which maps of it credit.
	Attribution []string `json:"attribution"`
}

// Department is a department that draws its own grids (综治, 城管, …).
type Department struct {
	Code string `json:"code"` // short ASCII code, e.g. "zongzhi"
	Name string `json:"name"` // Chinese name, e.g. "综治"
	// SummonsRole is the role that takes the department's summons on the
	// ground (吹哨报到), e.g. police for 公安.
	SummonsRole Role `json:"summons_role,omitempty"`
}

// Feature is one polygon feature read from a source file, before it is
// stored as part of a source layer.
type Feature struct {
	Code       string
	Name       string
	ParentCode string
	Households *int
	Population *int
	Props      map[string]any // every other attribute
	Geometry   orb.Geometry   // as read; the store promotes to MultiPolygon
}

// Division is an administrative area as the statistical division codes list
// it: code, level, name and the code of its parent.
type Division struct {
	Code       string
	Level      Level
	Name       string
	ParentCode string
}

// AreaQuery searches the active generation's areas by code prefix or
// name substring, within a scope (a code prefix; "" for everything).
type AreaQuery struct {
	Q     string
	Scope string
	Limit int
}

// AreaHit is one area found by a search: enough to list it and jump to
// it. BBox is [west, south, east, north] in lon/lat.
type AreaHit struct {
	Code       string     `json:"code"`
	Name       string     `json:"name"`
	Level      Level      `json:"level"`
	ParentCode string     `json:"parent_code"`
	BBox       [4]float64 `json:"bbox"`
}

// AreaDetail is what the console's area panel shows: where the area is
// (its chain, district first, the area itself last), its size, who is
// responsible for it, its open and overdue cases, and its children.
type AreaDetail struct {
	Generation int       `json:"generation"`
	Code       string    `json:"code"`
	Name       string    `json:"name"`
	Level      Level     `json:"level"`
	Chain      []AreaRef `json:"chain"`
	AreaM2     float64   `json:"area_m2"`
	Households *int      `json:"households"`
	// HouseholdsSource says where Households comes from: SourceData
	// (counted from buildings), SourceAttribute (a department's
	// attribute), or "" when neither has a figure.
	HouseholdsSource string `json:"households_source"`
	Buildings        *int   `json:"buildings,omitempty"` // counted from data
	Residents        *int   `json:"residents,omitempty"` // counted from data
	// ResidentsSource says where Residents comes from: SourceRegister
	// once a register is loaded, else SourceData (the buildings').
	ResidentsSource string       `json:"residents_source,omitempty"`
	Population      *int         `json:"population"`
	BBox            [4]float64   `json:"bbox"`
	People          []AreaPerson `json:"people"`
	OpenCases       int          `json:"open_cases"`
	OverdueCases    int          `json:"overdue_cases"`
	Children        []AreaChild  `json:"children"`
}

// AreaPerson is one responsibility held for an area: the person, the
// role (定岗), the post (A primary, B backup) and whether they are on
// duty now.
type AreaPerson struct {
	PersonID  int64          `json:"person_id"`
	Name      string         `json:"name"`
	Phone     string         `json:"phone"`
	Dept      string         `json:"dept,omitempty"`
	Role      Role           `json:"role"`
	RoleLabel string         `json:"role_label"`
	Post      string         `json:"post"`
	OnDuty    bool           `json:"on_duty"`
	Duty      []WeeklyWindow `json:"duty"`
}

// AreaChild is an area one level down, for drill-down.
type AreaChild struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	Level     Level  `json:"level"`
	OpenCases int    `json:"open_cases"`
}

// GenerationDiff compares two generations area by area, matched by code:
// what a reviewer wants to know before or after an activation.
type GenerationDiff struct {
	From   int                   `json:"from"`
	To     int                   `json:"to"`
	Levels map[string]*LevelDiff `json:"levels"` // by level name; every level present
}

// LevelDiff counts the areas of one level: codes in both generations with
// identical geometry (Kept) or not (Reshaped), codes only in To (Added) or
// only in From (Removed); Renamed and Reparented count codes in both whose
// name or parent changed, whatever their geometry.
type LevelDiff struct {
	Kept       int `json:"kept"`
	Reshaped   int `json:"reshaped"`
	Added      int `json:"added"`
	Removed    int `json:"removed"`
	Renamed    int `json:"renamed"`
	Reparented int `json:"reparented"`
}
