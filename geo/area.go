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
}

// Department is a department that draws its own grids (综治, 城管, …).
type Department struct {
	Code string `json:"code"` // short ASCII code, e.g. "zongzhi"
	Name string `json:"name"` // Chinese name, e.g. "综治"
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
