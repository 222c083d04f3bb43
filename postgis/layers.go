package postgis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// LayerMeta describes a layer being imported.
type LayerMeta struct {
	Dept      string // department code; "" for admin layers
	Level     geo.Level
	Name      string
	FileName  string
	FileHash  string // content hash; an identical re-import is a no-op
	SourceSRS string // e.g. "EPSG:4326"; coordinates are transformed from it
	Encoding  string
}

// ImportResult tells what an import did.
type ImportResult struct {
	LayerID   int64 `json:"layer_id"`
	Version   int   `json:"version"`
	Features  int   `json:"features"`
	Repaired  int   `json:"repaired"`  // invalid geometries made valid
	Dropped   int   `json:"dropped"`   // empty after repair
	Unchanged bool  `json:"unchanged"` // same file as the latest version
}

// FeatureSource yields features; io.EOF ends the stream.
type FeatureSource func() (geo.Feature, error)

// stageSQL holds the raw features of one import before they are checked,
// transformed and repaired in one set-based statement.
const stageSQL = `CREATE TEMP TABLE import_stage (
    fid int, code text, name text, parent_code text, households int, population int, props jsonb, wkb bytea
) ON COMMIT DROP`

// insertFeaturesSQL transforms, repairs and stores the staged features.
// $1 layer id, $2 source SRID.
const insertFeaturesSQL = `
WITH raw AS (
    SELECT s.*, ST_Transform(ST_SetSRID(ST_RemoveRepeatedPoints(ST_GeomFromWKB(s.wkb)), $2), 4326) AS g
    FROM import_stage s
), fixed AS (
    SELECT raw.*, NOT ST_IsValid(g) AS was_invalid,
           ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3)) AS mg
    FROM raw
), ins AS (
    INSERT INTO source_features (layer_id, fid, code, name, parent_code, households, population, props, geom)
    SELECT $1, fid, code, name, parent_code, households, population, props, mg
    FROM fixed WHERE NOT ST_IsEmpty(mg)
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins),
       (SELECT count(*) FROM fixed WHERE was_invalid AND NOT ST_IsEmpty(mg)),
       (SELECT count(*) FROM fixed WHERE ST_IsEmpty(mg))`

// ImportLayer stores a layer as a new version of (dept, level) in one
// transaction: either every feature is stored or nothing is.
func (db *DB) ImportLayer(ctx context.Context, meta LayerMeta, next FeatureSource) (ImportResult, error) {
	srid, err := sridOf(meta.SourceSRS)
	if err != nil {
		return ImportResult{}, err
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return ImportResult{}, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)

	var dept *string
	if meta.Dept != "" {
		dept = &meta.Dept
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM departments WHERE code = $1)`, meta.Dept).Scan(&ok); err != nil {
			return ImportResult{}, err
		}
		if !ok {
			return ImportResult{}, geo.Errorf(geo.EINVALID, "unknown department %q: 'gridd departments' lists them", meta.Dept)
		}
	}
	// One import per (dept, level) at a time; versions stay dense.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('layer:' || coalesce($1, '') || ':' || $2))`, dept, string(meta.Level)); err != nil {
		return ImportResult{}, err
	}
	var latestID int64
	var latestVersion int
	var latestHash string
	err = tx.QueryRow(ctx, `SELECT id, version, file_hash FROM source_layers WHERE dept_code IS NOT DISTINCT FROM $1 AND level = $2 ORDER BY version DESC LIMIT 1`,
		dept, string(meta.Level)).Scan(&latestID, &latestVersion, &latestHash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return ImportResult{}, err
	}
	if meta.FileHash != "" && latestHash == meta.FileHash {
		var n int
		tx.QueryRow(ctx, `SELECT feature_count FROM source_layers WHERE id = $1`, latestID).Scan(&n)
		return ImportResult{LayerID: latestID, Version: latestVersion, Features: n, Unchanged: true}, nil
	}

	if _, err := tx.Exec(ctx, stageSQL); err != nil {
		return ImportResult{}, err
	}
	src := &stageSource{next: next}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_stage"},
		[]string{"fid", "code", "name", "parent_code", "households", "population", "props", "wkb"}, src); err != nil {
		if src.err != nil {
			return ImportResult{}, src.err
		}
		return ImportResult{}, fmt.Errorf("copy features: %w", err)
	}
	if src.n == 0 {
		return ImportResult{}, geo.Errorf(geo.EINVALID, "%s has no features", meta.FileName)
	}
	res := ImportResult{Version: latestVersion + 1}
	if err := tx.QueryRow(ctx, `INSERT INTO source_layers (dept_code, level, version, name, file_name, file_hash, source_srs, encoding)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		dept, string(meta.Level), res.Version, meta.Name, meta.FileName, meta.FileHash, meta.SourceSRS, meta.Encoding).Scan(&res.LayerID); err != nil {
		return ImportResult{}, fmt.Errorf("record layer: %w", err)
	}
	if err := tx.QueryRow(ctx, insertFeaturesSQL, res.LayerID, srid).Scan(&res.Features, &res.Repaired, &res.Dropped); err != nil {
		return ImportResult{}, geo.WrapError(geo.EINVALID, err, "%s: geometry could not be stored", meta.FileName)
	}
	if res.Features == 0 {
		return ImportResult{}, geo.Errorf(geo.EINVALID, "%s: no polygon survived repair", meta.FileName)
	}
	if _, err := tx.Exec(ctx, `UPDATE source_layers SET feature_count = $2,
		report = jsonb_build_object('repaired', $3::int, 'dropped', $4::int) WHERE id = $1`,
		res.LayerID, res.Features, res.Repaired, res.Dropped); err != nil {
		return ImportResult{}, err
	}
	return res, tx.Commit(ctx)
}

// stageSource adapts a FeatureSource to pgx's CopyFromSource, encoding
// geometry as WKB and refusing what PostGIS would choke on.
type stageSource struct {
	next FeatureSource
	n    int
	row  []any
	err  error
}

func (s *stageSource) Next() bool {
	f, err := s.next()
	if err == io.EOF {
		return false
	}
	if err != nil {
		s.err = err
		return false
	}
	s.n++
	if err := checkFinite(f.Geometry); err != nil {
		s.err = geo.Errorf(geo.EINVALID, "feature %d: %v", s.n, err)
		return false
	}
	switch f.Geometry.(type) {
	case orb.Polygon, orb.MultiPolygon:
	default:
		s.err = geo.Errorf(geo.EINVALID, "feature %d is a %s, not a polygon: a boundary layer holds polygons only", s.n, f.Geometry.GeoJSONType())
		return false
	}
	b, err := wkb.Marshal(f.Geometry)
	if err != nil {
		s.err = geo.Errorf(geo.EINVALID, "feature %d: %v", s.n, err)
		return false
	}
	props := f.Props
	if props == nil {
		props = map[string]any{}
	}
	s.row = []any{s.n, f.Code, f.Name, f.ParentCode, f.Households, f.Population, props, b}
	return true
}

func (s *stageSource) Values() ([]any, error) { return s.row, nil }
func (s *stageSource) Err() error             { return s.err }

func checkFinite(g orb.Geometry) error {
	var bad error
	visit := func(p orb.Point) {
		if bad == nil && (math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0)) {
			bad = fmt.Errorf("coordinate %v is not a finite number", p)
		}
	}
	switch g := g.(type) {
	case orb.Polygon:
		for _, r := range g {
			for _, p := range r {
				visit(p)
			}
		}
	case orb.MultiPolygon:
		for _, pg := range g {
			for _, r := range pg {
				for _, p := range r {
					visit(p)
				}
			}
		}
	}
	return bad
}

// sridOf accepts "EPSG:nnnn" (or "" for 4326) and returns the SRID.
func sridOf(srs string) (int, error) {
	if srs == "" {
		return 4326, nil
	}
	var n int
	if _, err := fmt.Sscanf(srs, "EPSG:%d", &n); err != nil || n <= 0 {
		return 0, geo.Errorf(geo.EINVALID, "coordinate system %q: give it as EPSG:nnnn, e.g. EPSG:4490", srs)
	}
	return n, nil
}
