package geo

import "time"

// ImportRequest says how to import one file as a source layer.
type ImportRequest struct {
	// Kind is what the file holds: "" or "layer" a boundary layer of a
	// level, "buildings" the building set (Level and Dept unused).
	Kind     string `json:"kind,omitempty"`
	Level    Level  `json:"level"`
	Dept     string `json:"dept,omitempty"` // department code; "" for admin layers
	Name     string `json:"name,omitempty"` // default: the file name
	FileName string `json:"file_name"`
	// SRS overrides the file's coordinate system: "EPSG:nnnn", or a datum
	// of Chinese web maps, "gcj02" or "bd09".
	SRS string `json:"srs,omitempty"`
	// Attribute mapping and reading options; empty means guessed.
	CodeField       string `json:"code_field,omitempty"`
	NameField       string `json:"name_field,omitempty"`
	ParentField     string `json:"parent_field,omitempty"`
	HouseholdsField string `json:"households_field,omitempty"`
	PopulationField string `json:"population_field,omitempty"` // of buildings: residents
	// Of buildings only: the attributes of the address (门牌), floors and use.
	AddressField string `json:"address_field,omitempty"`
	FloorsField  string `json:"floors_field,omitempty"`
	UseField     string `json:"use_field,omitempty"`
	Encoding     string `json:"encoding,omitempty"`
	Table        string `json:"table,omitempty"`
	// Attribution credits the layer's makers (e.g. "网格: 某区综治中心 2024");
	// maps of the generations merged from it show it.
	Attribution string `json:"attribution,omitempty"`
	// DryRun reads, checks and repairs everything, reports, and writes
	// nothing.
	DryRun bool `json:"dry_run,omitempty"`
	// AllowOutside accepts a layer that reaches outside China.
	AllowOutside bool `json:"allow_outside,omitempty"`
	// SkipBad imports the polygons of a layer that also holds features of
	// other types, instead of refusing it.
	SkipBad bool `json:"skip_bad,omitempty"`
}

// Kinds of import.
const (
	KindLayer     = "layer"
	KindBuildings = "buildings"
)

// ImportReport tells what an import found and did.
type ImportReport struct {
	LayerID   int64             `json:"layer_id,omitempty"`
	Version   int               `json:"version,omitempty"`
	DryRun    bool              `json:"dry_run,omitempty"`
	Unchanged bool              `json:"unchanged,omitempty"` // identical to the latest version: nothing imported
	Format    string            `json:"format"`
	SRS       string            `json:"srs"`      // coordinate system read from, e.g. EPSG:4549 or gcj02
	Encoding  string            `json:"encoding"` // attribute text encoding
	Fields    []string          `json:"fields"`
	Mapping   map[string]string `json:"mapping"` // gridd field → file attribute
	Guessed   []string          `json:"guessed,omitempty"`
	Read      int               `json:"read"`     // features read
	Features  int               `json:"features"` // features stored
	Repaired  int               `json:"repaired"`
	Dropped   int               `json:"dropped"`
	Skipped   int               `json:"skipped"`
	Extent    [4]float64        `json:"extent"` // lon/lat min x, min y, max x, max y after transformation
	AreaM2    float64           `json:"area_m2"`
	Issues    []FeatureIssue    `json:"issues,omitempty"`
	Seconds   float64           `json:"seconds"`
	// Buildings is what an import of buildings (Kind "buildings") did
	// besides reading; LayerID and Version are then the building set's.
	Buildings *BuildingImportReport `json:"buildings,omitempty"`
}

// FeatureIssue is one feature an import changed, dropped or skipped.
type FeatureIssue struct {
	FID          int     `json:"fid"` // position in the file, from 1
	Code         string  `json:"code,omitempty"`
	Name         string  `json:"name,omitempty"`
	Kind         string  `json:"kind"` // repaired, dropped, not_polygon
	Detail       string  `json:"detail"`
	AreaBeforeM2 float64 `json:"area_before_m2,omitempty"`
	AreaAfterM2  float64 `json:"area_after_m2,omitempty"`
	GeoJSON      string  `json:"-"` // the feature as stored (or as read, when dropped), for --report x.geojson
}

// Job states of an uploaded import.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// ImportJob is an import started over HTTP.
type ImportJob struct {
	ID         int64         `json:"id"`
	State      string        `json:"state"`
	Request    ImportRequest `json:"request"`
	Report     *ImportReport `json:"report,omitempty"`
	Error      *string       `json:"error,omitempty"`
	ErrorCode  *string       `json:"error_code,omitempty"`
	CreatedAt  time.Time     `json:"created_at"`
	FinishedAt *time.Time    `json:"finished_at,omitempty"`
}
