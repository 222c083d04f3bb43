package geo

// MergeParams steer a merge. Zero values take the defaults.
type MergeParams struct {
	// Base lists departments in priority order; the first with a grid
	// layer provides the grid shapes. Default: zongzhi.
	Base []string `json:"base"`
	// Strategy is "base" (grid shapes from the base department) or
	// "overlay" (the common refinement of every department's grids, slivers
	// absorbed: grids whose borders every department's borders respect).
	Strategy string `json:"strategy"`
	// GridSize snaps all coordinates (metres) so shared borders are shared
	// exactly. Default 0.01.
	GridSize float64 `json:"grid_size_m"`
	// A detached piece of an area, or a piece of a grid left across a
	// community border, is a sliver and absorbed by its neighbour when it is
	// smaller than SliverArea (m², default 1000) or thinner than
	// SliverWidth (mean width 2·area/perimeter in m, default 20).
	SliverArea  float64 `json:"sliver_area_m2"`
	SliverWidth float64 `json:"sliver_width_m"`
	// A gap in a community that no base grid covers becomes a new grid,
	// flagged for review, from GapNewArea m² (default 50,000); smaller gaps
	// go to neighbours.
	GapNewArea float64 `json:"gap_new_area_m2"`
	// Enclosed holes in the union of the top level smaller than HoleArea m²
	// (default 1 km²) are slivers between separately drawn districts and
	// are filled.
	HoleArea float64 `json:"hole_area_m2"`
	// DisputeArea: an overlap or a gap between admin areas from this size
	// (m², default 100) that the merge gave to one of several areas is
	// recorded as a dispute (插花地) for GIS staff to confirm, reassign or
	// hand over; smaller pieces are drawing noise settled by the rule.
	DisputeArea float64 `json:"dispute_area_m2"`
	// MatchShare: a grid keeps an active grid's code when they overlap by at
	// least this share of both (default 0.5).
	MatchShare float64 `json:"match_share"`
	// HouseholdBound is the older name of GridHouseholds.Max, kept so that
	// stored parameters and scripts still mean what they meant.
	HouseholdBound int `json:"household_bound"`
	// GridHouseholds and CommunityHouseholds are the size rules (defaults
	// 300–500 and 3,000–5,000 households): areas outside them become
	// review items in every merge and check.
	GridHouseholds      SizeRange `json:"grid_households"`
	CommunityHouseholds SizeRange `json:"community_households"`
	// Rebalance splits each grid above the rule into the fewest parts in
	// range, along the gaps between its buildings, and joins each grid
	// below it to the neighbour in its community with which it shares the
	// longest border, while the result stays in range. It needs buildings.
	Rebalance bool `json:"rebalance,omitempty"`
	// RowBand is the height (m) of the rows in which new grids are numbered
	// north to south, west to east (default 200).
	RowBand float64 `json:"row_band_m"`
	Note    string  `json:"note,omitempty"`
}

// Defaults fills in zero values.
func (p *MergeParams) Defaults() {
	if len(p.Base) == 0 {
		p.Base = []string{"zongzhi"}
	}
	if p.Strategy == "" {
		p.Strategy = "base"
	}
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&p.GridSize, 0.01)
	def(&p.SliverArea, 1000)
	def(&p.SliverWidth, 20)
	def(&p.GapNewArea, 50000)
	def(&p.HoleArea, 1e6)
	def(&p.MatchShare, 0.5)
	def(&p.RowBand, 200)
	def(&p.DisputeArea, 100)
	if p.GridHouseholds == (SizeRange{}) {
		p.GridHouseholds = DefaultGridHouseholds
		if p.HouseholdBound > 0 {
			p.GridHouseholds.Max = p.HouseholdBound
			p.GridHouseholds.Min = min(p.GridHouseholds.Min, p.HouseholdBound)
		}
	}
	p.HouseholdBound = p.GridHouseholds.Max
	if p.CommunityHouseholds == (SizeRange{}) {
		p.CommunityHouseholds = DefaultCommunityHouseholds
	}
}

// Validate refuses parameters a merge cannot run with.
func (p MergeParams) Validate() error {
	if p.Strategy != "base" && p.Strategy != "overlay" {
		return Errorf(EINVALID, "unknown merge strategy %q: use base or overlay", p.Strategy)
	}
	for _, v := range []struct {
		name string
		v    float64
	}{{"grid size", p.GridSize}, {"sliver area", p.SliverArea}, {"sliver width", p.SliverWidth}, {"gap area", p.GapNewArea}, {"hole area", p.HoleArea}, {"row band", p.RowBand}, {"dispute area", p.DisputeArea}} {
		if !(v.v > 0) || v.v > 1e12 {
			return Errorf(EINVALID, "%s %g must be a positive number", v.name, v.v)
		}
	}
	if p.GridSize > 1 {
		return Errorf(EINVALID, "grid size %g m is too coarse: use 1 m or less (default 0.01)", p.GridSize)
	}
	if err := p.GridHouseholds.Validate("grid size rule"); err != nil {
		return err
	}
	if err := p.CommunityHouseholds.Validate("community size rule"); err != nil {
		return err
	}
	if !(p.MatchShare > 0 && p.MatchShare <= 1) {
		return Errorf(EINVALID, "match share %g must be in (0, 1]", p.MatchShare)
	}
	return nil
}

// MergeReport is what a person checks before activating a draft.
type MergeReport struct {
	Generation int                     `json:"generation"`
	Params     MergeParams             `json:"params"`
	BaseDept   string                  `json:"base_dept"`
	BaseLayer  int64                   `json:"base_layer"`
	SRID       int                     `json:"srid"`
	Derived    []string                `json:"derived_levels,omitempty"`
	Levels     map[string]*LevelReport `json:"levels"`
	Codes      map[string]int          `json:"grid_codes"` // kept, source, new
	Lineage    map[string]int          `json:"lineage"`
	Crosswalk  map[string]*DeptSummary `json:"crosswalk"`
	Review     []ReviewItem            `json:"review"`
	// Buildings says how the building set falls into the draft's grids and
	// how many buildings (and households) move grid against the active
	// generation; nil when no buildings are loaded.
	Buildings *BuildingMoves `json:"buildings,omitempty"`
	// Disputes counts the disputed pieces between admin areas: open ones
	// are also review items of kind "dispute".
	Disputes *DisputeSummary `json:"disputes,omitempty"`
	// Sizes is the households per grid against the size rules, before and
	// after, and what a rebalance did.
	Sizes *SizeSummary `json:"sizes,omitempty"`
	// Seconds each step took, for whoever wonders where a slow merge spends
	// its time.
	Timings map[string]float64 `json:"timings"`
}

// LevelReport counts the decisions at one level.
type LevelReport struct {
	Areas        int     `json:"areas"`
	Overlaps     int     `json:"overlaps"`
	OverlapM2    float64 `json:"overlap_m2"`
	Gaps         int     `json:"gaps_filled"`
	GapM2        float64 `json:"gap_m2"`
	Slivers      int     `json:"slivers_absorbed"`
	SliverM2     float64 `json:"sliver_m2"`
	Uncovered    int     `json:"uncovered"`
	UncoveredM2  float64 `json:"uncovered_m2"`
	NewGrids     int     `json:"new_grids,omitempty"`
	BadCodes     int     `json:"bad_codes,omitempty"`
	SplitSources int     `json:"split_at_border,omitempty"`
}

// DeptSummary tells a department how its grids map onto the unified ones.
type DeptSummary struct {
	Grids     int     `json:"grids"`
	OneToOne  int     `json:"one_to_one"` // ≥ 90 % in one unified grid that is ≥ 90 % of it
	Within    int     `json:"within_one"` // ≥ 90 % in one unified grid
	Split     int     `json:"split"`      // spread over several unified grids
	OutsideM2 float64 `json:"outside_m2"` // area outside the unified coverage
}

// ReviewItem is one decision a person may want to check.
type ReviewItem struct {
	Kind   string  `json:"kind"`
	Level  string  `json:"level"`
	Code   string  `json:"code,omitempty"`
	Other  string  `json:"other,omitempty"`
	Parent string  `json:"parent,omitempty"`
	AreaM2 float64 `json:"area_m2"`
	Note   string  `json:"note,omitempty"`
	// Households is the count a size item is about.
	Households *int `json:"households,omitempty"`
}

// Violation is one broken rule of the unified coverage.
type Violation struct {
	Rule   string  `json:"rule"` // invalid_geometry, code_format, parent, overlap, outside_parent, children_area
	Level  string  `json:"level"`
	Code   string  `json:"code"`
	Other  string  `json:"other,omitempty"`
	Amount float64 `json:"amount"` // m² for overlap/outside/children_area
	Detail string  `json:"detail"`
}

// CheckParams are the tolerances of Check.
type CheckParams struct {
	OverlapM2    float64 // overlaps and outside pieces up to this are ignored (default 0.01 m²)
	RelativeArea float64 // children may differ from their parent's area by this share (default 1e-4: 0.01 %)
}
