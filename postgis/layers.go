package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/ewkb"
	"github.com/paulmach/orb/encoding/wkb"
)

// LayerMeta describes a layer being imported.
type LayerMeta struct {
	Dept     string // department code; "" for admin layers
	Level    geo.Level
	Name     string
	FileName string
	FileHash string // content hash; an identical re-import is a no-op
	// SRID of the coordinates handed over (GCJ-02/BD-09 are converted to
	// 4326 before); PostGIS transforms from it.
	SRID int
	// SRSFromUser is false when nobody said which coordinate system the file
	// is in (none in the file, none given): then projected-looking
	// coordinates are refused instead of guessed.
	SRSFromUser bool
	// SRSLabel names the coordinate system in messages, e.g. "EPSG:4549".
	SRSLabel string
	// Attribution credits the layer's makers on maps (see CleanAttribution).
	Attribution  string
	DryRun       bool
	AllowOutside bool
	SkipBad      bool
}

// FeatureSource yields features; io.EOF ends the stream.
type FeatureSource func() (geo.Feature, error)

// stageSQL holds the raw features of one import before they are checked,
// transformed and repaired set-based.
const stageSQL = `CREATE TEMP TABLE import_stage (
    fid int, code text, name text, parent_code text, households int, population int, props jsonb, wkb bytea
) ON COMMIT DROP`

// invalidFeaturesSQL finds which of the features $1 (fids) of a partition
// filled straight from the file are invalid. Format verb: the partition.
const invalidFeaturesSQL = `SELECT fid FROM %s WHERE fid = ANY($1) AND NOT ST_IsValid(geom)`

// allInvalidFeaturesSQL finds every invalid feature of a partition. Format
// verb: the partition.
const allInvalidFeaturesSQL = `SELECT fid FROM %s WHERE NOT ST_IsValid(geom)`

// repairInPlaceSQL repairs the features $1 (fids) of a partition, noting
// the originals in import_bad for the report, and drops what repair leaves
// empty. Format verbs: the partition three times.
const repairInPlaceSQL = `
WITH bad AS (
    INSERT INTO import_bad SELECT fid, code, name, geom FROM %s WHERE fid = ANY($1) RETURNING fid
), fixed AS (
    UPDATE %s SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3)) WHERE fid IN (SELECT fid FROM bad)
    RETURNING fid
)
SELECT count(*) FROM fixed`

// summarySQL answers the count, extent and area of a partition's features.
// The area is measured planar in degrees, scaled by each feature's latitude
// (metres per degree on the ellipsoid): close to the spheroid for grid-sized
// polygons, at a tenth of the time. Format verb: the partition.
const summarySQL = `
SELECT count(*), min(x0), min(y0), max(x1), max(y1),
       coalesce(sum(deg2 * (111412.84 * cos(radians(lat)) - 93.5 * cos(radians(3 * lat)))
                         * (111132.954 - 559.822 * cos(radians(2 * lat)) + 1.175 * cos(radians(4 * lat)))), 0)
FROM (SELECT ST_XMin(geom) AS x0, ST_YMin(geom) AS y0, ST_XMax(geom) AS x1, ST_YMax(geom) AS y1, ST_Area(geom) AS deg2,
             (ST_YMin(geom) + ST_YMax(geom)) / 2 AS lat FROM %s) f`

// repairNotingSQL defines the repair step of insertPartitionSQL: it makes
// an invalid feature valid and notes the original in import_bad for the
// report, so that the one pass over all features needs no second look.
const repairNotingSQL = `
CREATE OR REPLACE FUNCTION pg_temp.repair_noting(fid int, code text, name text, g geometry) RETURNS geometry
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO import_bad VALUES (fid, code, name, g);
    RETURN ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3));
END $$`

// insertPartitionSQL transforms the staged features to lon/lat, repairs
// the invalid ones and writes them into the layer's partition, in one pass
// over the data, answering the count, extent and area of what it stored.
// OFFSET 0 keeps PostgreSQL from inlining the transformation into every use
// of it. Format verbs: the partition (quoted) and the layer id (a number);
// $1 the source SRID. The area is measured planar in degrees, scaled by each
// feature's latitude (metres per degree on the ellipsoid): close to the
// spheroid for grid-sized polygons, at a tenth of the time.
const insertPartitionSQL = `
WITH ins AS (
    INSERT INTO %s (layer_id, fid, code, name, parent_code, households, population, props, geom)
    SELECT %s, s.fid, s.code, s.name, s.parent_code, s.households, s.population, s.props, m.mg
    FROM import_stage s
    CROSS JOIN LATERAL (SELECT ST_Transform(ST_SetSRID(ST_RemoveRepeatedPoints(ST_GeomFromWKB(s.wkb)), $1::int), 4326) AS g OFFSET 0) x
    CROSS JOIN LATERAL (SELECT CASE WHEN ST_IsValid(x.g) THEN ST_Multi(x.g)
                                    ELSE pg_temp.repair_noting(s.fid, s.code, s.name, x.g) END AS mg OFFSET 0) m
    WHERE NOT ST_IsEmpty(m.mg)
    RETURNING ST_XMin(geom) AS x0, ST_YMin(geom) AS y0, ST_XMax(geom) AS x1, ST_YMax(geom) AS y1,
              ST_Area(geom) AS deg2
)
SELECT count(*), min(x0), min(y0), max(x1), max(y1),
       coalesce(sum(deg2 * (111412.84 * cos(radians(lat)) - 93.5 * cos(radians(3 * lat)))
                         * (111132.954 - 559.822 * cos(radians(2 * lat)) + 1.175 * cos(radians(4 * lat)))), 0)
FROM (SELECT *, (y0 + y1) / 2 AS lat FROM ins) f`

// issuesSQL lists the features that were not valid, with what repair made
// of them.
const issuesSQL = `
SELECT b.fid, b.code, b.name, CASE WHEN ST_IsEmpty(r.mg) THEN 'dropped' ELSE 'repaired' END, ST_IsValidReason(b.g),
       ST_Area(b.g::geography), ST_Area(r.mg::geography), ST_AsGeoJSON(CASE WHEN ST_IsEmpty(r.mg) THEN b.g ELSE r.mg END, 7)
FROM import_bad b
CROSS JOIN LATERAL (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(b.g), 3)) AS mg OFFSET 0) r
ORDER BY b.fid`

// collectIssues adds every repaired or dropped feature to the report.
func collectIssues(ctx context.Context, tx pgx.Tx, rep *geo.ImportReport) error {
	rows, err := tx.Query(ctx, issuesSQL)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var it geo.FeatureIssue
		if err := rows.Scan(&it.FID, &it.Code, &it.Name, &it.Kind, &it.Detail, &it.AreaBeforeM2, &it.AreaAfterM2, &it.GeoJSON); err != nil {
			return err
		}
		if it.Kind == "dropped" {
			rep.Dropped++
			it.Detail += ": nothing of it is left when made valid"
		} else {
			rep.Repaired++
		}
		rep.Issues = append(rep.Issues, it)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	sort.Slice(rep.Issues, func(i, j int) bool { return rep.Issues[i].FID < rep.Issues[j].FID })
	return nil
}

// China's extent, generously: the mainland, Hainan, Taiwan and the South
// China Sea islands. A layer outside it was read in the wrong coordinate
// system far more often than it really lies abroad.
var chinaExtent = [4]float64{73.0, 3.0, 136.0, 54.0}

// ImportLayer stores a layer as a new version of (dept, level) in one
// transaction: either every feature is stored or nothing is. It fills rep
// with what it found and did; with DryRun it reports and writes nothing.
func (db *DB) ImportLayer(ctx context.Context, meta LayerMeta, next FeatureSource, rep *geo.ImportReport) error {
	start := time.Now()
	defer func() { rep.Seconds = time.Since(start).Seconds() }()
	rep.DryRun = meta.DryRun
	var err error
	if meta.Attribution, err = CleanAttribution(meta.Attribution); err != nil {
		return err
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)

	var dept *string
	if meta.Dept != "" {
		dept = &meta.Dept
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM departments WHERE code = $1)`, meta.Dept).Scan(&ok); err != nil {
			return geo.WrapError(geo.EUNAVAILABLE, err, "look up department")
		}
		if !ok {
			return geo.Errorf(geo.EINVALID, "unknown department %q: 'gridd departments' lists them", meta.Dept)
		}
	}
	var known bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM spatial_ref_sys WHERE srid = $1)`, meta.SRID).Scan(&known); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "look up SRID")
	}
	if !known {
		return geo.Errorf(geo.EINVALID, "%s: PostGIS does not know EPSG:%d; give the layer's coordinate system with --srs EPSG:nnnn", meta.FileName, meta.SRID)
	}
	// One import per (dept, level) at a time; versions stay dense.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('layer:' || coalesce($1, '') || ':' || $2))`, dept, string(meta.Level)); err != nil {
		return err
	}
	var latestID int64
	var latestVersion int
	var latestHash string
	err = tx.QueryRow(ctx, `SELECT id, version, file_hash FROM source_layers WHERE dept_code IS NOT DISTINCT FROM $1 AND level = $2 ORDER BY version DESC LIMIT 1`,
		dept, string(meta.Level)).Scan(&latestID, &latestVersion, &latestHash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if meta.FileHash != "" && latestHash == meta.FileHash {
		rep.LayerID, rep.Version, rep.Unchanged = latestID, latestVersion, true
		return tx.QueryRow(ctx, `SELECT feature_count FROM source_layers WHERE id = $1`, latestID).Scan(&rep.Features)
	}

	// The layer's features go into a partition of their own, indexed in
	// bulk and attached at the end. Its name is built from the layer id, a
	// number. A dry run does it all and rolls back.
	rep.Version = latestVersion + 1
	if err := tx.QueryRow(ctx, `INSERT INTO source_layers (dept_code, level, version, name, file_name, file_hash, source_srs, encoding, attribution)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		dept, string(meta.Level), rep.Version, meta.Name, meta.FileName, meta.FileHash, meta.SRSLabel, rep.Encoding, meta.Attribution).Scan(&rep.LayerID); err != nil {
		return fmt.Errorf("record layer: %w", err)
	}
	id := strconv.FormatInt(rep.LayerID, 10)
	part := pgx.Identifier{"source_features_l" + id}.Sanitize()
	if _, err := tx.Exec(ctx, `CREATE TABLE `+part+` (LIKE source_features INCLUDING DEFAULTS)`); err != nil {
		return fmt.Errorf("create partition: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE import_bad (fid int, code text, name text, g geometry) ON COMMIT DROP`); err != nil {
		return err
	}
	// Lon/lat input (CGCS2000 differs from WGS84 by centimetres; PROJ's
	// transformation between them is the identity) is copied straight into
	// the partition and only its invalid features touched again; anything
	// else is staged and transformed by PostGIS on the way in.
	direct := meta.SRID == 4326 || meta.SRID == 4490
	src := &stageSource{next: next}
	var copyErr error
	if direct {
		src.layerID = rep.LayerID
		_, copyErr = tx.CopyFrom(ctx, pgx.Identifier{"source_features_l" + id},
			[]string{"layer_id", "fid", "code", "name", "parent_code", "households", "population", "props", "geom"}, src)
	} else {
		if _, err := tx.Exec(ctx, stageSQL); err != nil {
			return err
		}
		_, copyErr = tx.CopyFrom(ctx, pgx.Identifier{"import_stage"},
			[]string{"fid", "code", "name", "parent_code", "households", "population", "props", "wkb"}, src)
	}
	if copyErr != nil {
		if src.err != nil {
			return src.err
		}
		return geo.WrapError(geo.EINVALID, copyErr, "%s: features could not be stored", meta.FileName)
	}
	rep.Read = src.n
	rep.Skipped = len(src.skipped)
	rep.Issues = append(rep.Issues, src.skipped...)
	if len(src.skipped) > 0 && !meta.SkipBad {
		first := src.skipped[0]
		return geo.Errorf(geo.EINVALID, "%s: %d of %d features are not polygons (feature %d: %s): a boundary layer holds polygons only; use --skip-bad to import the polygons alone",
			meta.FileName, len(src.skipped), src.n, first.FID, first.Detail)
	}
	if src.n == len(src.skipped) {
		return geo.Errorf(geo.EINVALID, "%s has no polygon features", meta.FileName)
	}
	if err := checkRawExtent(ctx, tx, meta, src.bound); err != nil {
		return err
	}
	var ext [4]*float64
	if direct {
		// GEOS checks only what the Go test could not vouch for: most
		// layers need no second look at their features at all.
		var bad []int32
		if len(src.unproven) > 0 {
			q, args := fmt.Sprintf(invalidFeaturesSQL, part), []any{src.unproven}
			if 2*len(src.unproven) > src.summary.n {
				q, args = fmt.Sprintf(allInvalidFeaturesSQL, part), nil // a plain scan, parallel-eligible
			}
			rows, qerr := tx.Query(ctx, q, args...)
			if qerr != nil {
				return qerr
			}
			if bad, qerr = pgx.CollectRows(rows, pgx.RowTo[int32]); qerr != nil {
				return geo.WrapError(geo.EINVALID, qerr, "%s: geometry could not be checked", meta.FileName)
			}
		}
		if len(bad) == 0 {
			err = nil
			sum := src.summary
			rep.Features, rep.AreaM2 = sum.n, sum.areaM2
			ext = [4]*float64{&sum.bound.Min[0], &sum.bound.Min[1], &sum.bound.Max[0], &sum.bound.Max[1]}
		} else {
			var n int
			if err := tx.QueryRow(ctx, fmt.Sprintf(repairInPlaceSQL, part, part), bad).Scan(&n); err != nil {
				return geo.WrapError(geo.EINVALID, err, "%s: geometry could not be repaired", meta.FileName)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM `+part+` WHERE fid = ANY($1) AND ST_IsEmpty(geom)`, bad); err != nil {
				return err
			}
			err = tx.QueryRow(ctx, fmt.Sprintf(summarySQL, part)).Scan(&rep.Features, &ext[0], &ext[1], &ext[2], &ext[3], &rep.AreaM2)
		}
	} else {
		if _, err := tx.Exec(ctx, repairNotingSQL); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, fmt.Sprintf(insertPartitionSQL, part, id), meta.SRID).Scan(&rep.Features, &ext[0], &ext[1], &ext[2], &ext[3], &rep.AreaM2)
	}
	if err != nil {
		return geo.WrapError(geo.EINVALID, err, "%s: cannot transform from %s or repair", meta.FileName, meta.SRSLabel)
	}
	if err := collectIssues(ctx, tx, rep); err != nil {
		return err
	}
	if ext[0] == nil || rep.Features == 0 {
		return geo.Errorf(geo.EINVALID, "%s: no polygon survived repair", meta.FileName)
	}
	rep.Extent = [4]float64{*ext[0], *ext[1], *ext[2], *ext[3]}
	if !meta.AllowOutside && (rep.Extent[0] < chinaExtent[0] || rep.Extent[1] < chinaExtent[1] || rep.Extent[2] > chinaExtent[2] || rep.Extent[3] > chinaExtent[3]) {
		return geo.Errorf(geo.EINVALID, "%s reaches outside China after transformation from %s (lon %.4f…%.4f, lat %.4f…%.4f): check the coordinate system (--srs), or pass --allow-outside if it really does",
			meta.FileName, meta.SRSLabel, rep.Extent[0], rep.Extent[2], rep.Extent[1], rep.Extent[3])
	}
	if meta.DryRun {
		rep.LayerID, rep.Version = 0, 0
		return nil // the deferred rollback writes nothing
	}
	reportJSON, _ := json.Marshal(rep)
	if _, err := tx.Exec(ctx, `UPDATE source_layers SET feature_count = $2, report = $3 WHERE id = $1`, rep.LayerID, rep.Features, reportJSON); err != nil {
		return err
	}
	for _, q := range []string{
		`ALTER TABLE ` + part + ` ADD CHECK (layer_id = ` + id + `)`,
		`CREATE INDEX ON ` + part + ` USING gist (geom)`,
		`ALTER TABLE source_features ATTACH PARTITION ` + part + ` FOR VALUES IN (` + id + `)`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("attach the layer's features: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "commit import")
	}
	return nil
}

// checkRawExtent refuses coordinates that cannot be right for the
// coordinate system they are read in: projected numbers read as degrees, and
// latitude and longitude swapped.
func checkRawExtent(ctx context.Context, tx pgx.Tx, meta LayerMeta, b orb.Bound) error {
	var geographic bool
	if err := tx.QueryRow(ctx, `SELECT coalesce(proj4text LIKE '%+proj=longlat%', false) FROM spatial_ref_sys WHERE srid = $1`, meta.SRID).Scan(&geographic); err != nil {
		return err
	}
	if !geographic {
		return nil
	}
	x0, y0, x1, y1 := b.Min[0], b.Min[1], b.Max[0], b.Max[1]
	if x0 < -180 || x1 > 180 || y0 < -90 || y1 > 90 {
		hint := "give its coordinate system with --srs EPSG:nnnn"
		// Gauss-Krüger eastings often carry the zone number in front.
		switch zone := int(x0 / 1e6); {
		case int(x1/1e6) != zone:
		case zone >= 25 && zone <= 45:
			hint = fmt.Sprintf("the easting's prefix %d is a 3° Gauss-Krüger zone: try --srs EPSG:%d (CGCS2000 3° zone %d)", zone, 4513+zone-25, zone)
		case zone >= 13 && zone <= 23:
			hint = fmt.Sprintf("the easting's prefix %d is a 6° Gauss-Krüger zone: try --srs EPSG:%d (CGCS2000 6° zone %d)", zone, 4491+zone-13, zone)
		}
		what := "no coordinate system was given"
		if meta.SRSFromUser {
			what = "they were read as " + meta.SRSLabel
		}
		return geo.Errorf(geo.EINVALID, "%s has projected coordinates (x %.0f…%.0f, y %.0f…%.0f) but %s: %s", meta.FileName, x0, x1, y0, y1, what, hint)
	}
	if x0 >= 3 && x1 <= 54 && y0 >= 73 && y1 <= 136 {
		return geo.Errorf(geo.EINVALID, "%s looks like latitude and longitude are swapped (x %.4f…%.4f, y %.4f…%.4f): export it with longitude first (x = lon), or fix the axis order", meta.FileName, x0, x1, y0, y1)
	}
	return nil
}

// stageSource adapts a FeatureSource to pgx's CopyFromSource, encoding
// geometry as WKB and refusing what PostGIS would choke on.
type stageSource struct {
	next    FeatureSource
	n       int
	row     []any
	err     error
	skipped []geo.FeatureIssue // features that are not polygons
	bound   orb.Bound          // of the coordinates as read
	// layerID > 0 stages straight into the layer's partition: lon/lat
	// multipolygons as EWKB, repeated points already removed.
	layerID int64
	// For the straight path: the features geo.ProvablyValid could not
	// vouch for (GEOS checks these alone), and the count, extent and area
	// of all, as the summary query would answer them if nothing needs
	// repair.
	unproven []int32
	summary  layerSummary
}

// layerSummary is the count, extent and area of a layer's features.
type layerSummary struct {
	n      int
	bound  orb.Bound
	areaM2 float64
}

// add counts a multipolygon, measuring its area the way summarySQL does:
// planar in degrees, scaled by metres per degree on the ellipsoid at the
// latitude of its bounding box's middle.
func (s *layerSummary) add(mp orb.MultiPolygon) {
	b := mp.Bound()
	if s.n == 0 {
		s.bound = b
	} else {
		s.bound = s.bound.Union(b)
	}
	s.n++
	var deg2 float64
	for _, p := range mp {
		for i, r := range p {
			a := math.Abs(planarRingArea(r))
			if i == 0 {
				deg2 += a
			} else {
				deg2 -= a
			}
		}
	}
	lat := (b.Min[1] + b.Max[1]) / 2
	s.areaM2 += deg2 * (111412.84*math.Cos(lat*math.Pi/180) - 93.5*math.Cos(3*lat*math.Pi/180)) *
		(111132.954 - 559.822*math.Cos(2*lat*math.Pi/180) + 1.175*math.Cos(4*lat*math.Pi/180))
}

// planarRingArea is the signed shoelace area of a closed ring.
func planarRingArea(r orb.Ring) float64 {
	var a float64
	for i := 0; i+1 < len(r); i++ {
		a += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return a / 2
}

func (s *stageSource) Next() bool {
	for {
		f, err := s.next()
		if err == io.EOF {
			return false
		}
		if err != nil {
			s.err = err
			return false
		}
		s.n++
		if f.Geometry == nil {
			s.err = geo.Errorf(geo.EINVALID, "feature %d has no geometry", s.n)
			return false
		}
		if err := checkFinite(f.Geometry); err != nil {
			s.err = geo.Errorf(geo.EINVALID, "feature %d: %v", s.n, err)
			return false
		}
		switch f.Geometry.(type) {
		case orb.Polygon, orb.MultiPolygon:
			return s.stage(f)
		default:
			s.skipped = append(s.skipped, geo.FeatureIssue{FID: s.n, Code: f.Code, Name: f.Name, Kind: "not_polygon",
				Detail: "a " + f.Geometry.GeoJSONType() + ", not a polygon"})
		}
	}
}

func (s *stageSource) stage(f geo.Feature) bool {
	b := f.Geometry.Bound()
	if s.n == 1 || s.bound.IsZero() {
		s.bound = b
	} else {
		s.bound = s.bound.Union(b)
	}
	props := f.Props
	if props == nil {
		props = map[string]any{}
	}
	if s.layerID > 0 {
		mp := multiPolygonWithoutRepeats(f.Geometry)
		if !geo.ProvablyValid(mp) {
			s.unproven = append(s.unproven, int32(s.n))
		}
		s.summary.add(mp)
		g, err := ewkb.Marshal(mp, 4326)
		if err != nil {
			s.err = geo.Errorf(geo.EINVALID, "feature %d: %v", s.n, err)
			return false
		}
		s.row = []any{s.layerID, s.n, f.Code, f.Name, f.ParentCode, f.Households, f.Population, props, g}
		return true
	}
	g, err := wkb.Marshal(f.Geometry)
	if err != nil {
		s.err = geo.Errorf(geo.EINVALID, "feature %d: %v", s.n, err)
		return false
	}
	s.row = []any{s.n, f.Code, f.Name, f.ParentCode, f.Households, f.Population, props, g}
	return true
}

// multiPolygonWithoutRepeats promotes a polygon to a multipolygon and drops
// consecutive repeated points, which PostGIS would otherwise have to.
func multiPolygonWithoutRepeats(g orb.Geometry) orb.MultiPolygon {
	var mp orb.MultiPolygon
	switch g := g.(type) {
	case orb.Polygon:
		mp = orb.MultiPolygon{g}
	case orb.MultiPolygon:
		mp = g
	}
	out := make(orb.MultiPolygon, len(mp))
	for i, pg := range mp {
		out[i] = make(orb.Polygon, len(pg))
		for j, r := range pg {
			nr := make(orb.Ring, 0, len(r))
			for k, p := range r {
				if k == 0 || p != r[k-1] {
					nr = append(nr, p)
				}
			}
			out[i][j] = nr
		}
	}
	return out
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
