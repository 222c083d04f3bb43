package postgis

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

var (
	//go:embed sql/merge_level.sql
	mergeLevelSQL string
	//go:embed sql/merge_codes.sql
	mergeCodesSQL string
	//go:embed sql/merge_lineage.sql
	mergeLineageSQL string
)

// latestLayersSQL finds the layers a merge reads: the newest version of
// each admin level and of each department's grid layer.
const latestLayersSQL = `
SELECT DISTINCT ON (coalesce(dept_code, ''), level) id, coalesce(dept_code, ''), level
FROM source_layers ORDER BY coalesce(dept_code, ''), level, version DESC`

// Merge builds a new draft generation from the latest layers (多网合一) in
// one transaction and returns its report. Nothing is written on error.
func (db *DB) Merge(ctx context.Context, p geo.MergeParams) (geo.MergeReport, error) {
	p.Defaults()
	if err := p.Validate(); err != nil {
		return geo.MergeReport{}, err
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.MergeReport{}, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	// One merge at a time: codes are numbered against the same history.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('gridd:merge'))`); err != nil {
		return geo.MergeReport{}, err
	}
	rep := geo.MergeReport{Params: p, Timings: map[string]float64{}, Levels: map[string]*geo.LevelReport{}, Codes: map[string]int{}, Lineage: map[string]int{}, Crosswalk: map[string]*geo.DeptSummary{}}

	admin := map[geo.Level]int64{}
	gridLayers := map[string]int64{}
	rows, err := tx.Query(ctx, latestLayersSQL)
	if err != nil {
		return rep, err
	}
	for rows.Next() {
		var id int64
		var dept, level string
		if err := rows.Scan(&id, &dept, &level); err != nil {
			return rep, err
		}
		switch {
		case dept == "" && level != string(geo.Grid):
			admin[geo.Level(level)] = id
		case dept != "" && level == string(geo.Grid):
			gridLayers[dept] = id
		}
	}
	if err := rows.Err(); err != nil {
		return rep, err
	}
	for _, d := range p.Base {
		if id, ok := gridLayers[d]; ok {
			rep.BaseDept, rep.BaseLayer = d, id
			break
		}
	}
	if rep.BaseDept == "" {
		return rep, geo.Errorf(geo.EINVALID, "none of the base departments %s has a grid layer: import one with 'gridd import --level grid --dept %s FILE' or choose --base", strings.Join(p.Base, ","), p.Base[0])
	}

	set := func(name string, v any) error {
		_, err := tx.Exec(ctx, `SELECT set_config($1, $2, true)`, "gridd."+name, fmt.Sprint(v))
		return err
	}
	// The merge works in the UTM zone of the data, in metres.
	if err := tx.QueryRow(ctx, `SELECT 32600 + least(60, greatest(1, floor((ST_X(ST_Centroid(ST_Extent(geom))) + 180) / 6) + 1))::int
		FROM source_features WHERE layer_id = $1`, rep.BaseLayer).Scan(&rep.SRID); err != nil {
		return rep, fmt.Errorf("choose a metric CRS: %w", err)
	}
	// Geometry stays in lon/lat throughout, so that no reprojection can
	// bend a shared border; lengths and areas are measured in metres in the
	// UTM zone. The grid size is given in metres and applied in degrees.
	if _, err := tx.Exec(ctx, measureFunctionsSQL); err != nil {
		return rep, err
	}
	for name, v := range map[string]any{
		"srid": rep.SRID, "grid_size": p.GridSize / metresPerDegree, "sliver_area": p.SliverArea, "sliver_width": p.SliverWidth,
		"gap_new_area": p.GapNewArea, "hole_area": p.HoleArea, "match_share": p.MatchShare,
		"household_bound": p.HouseholdBound, "row_band": p.RowBand, "dispute_area": p.DisputeArea,
	} {
		if err := set(name, v); err != nil {
			return rep, err
		}
	}
	paramsJSON, _ := json.Marshal(p)
	if err := tx.QueryRow(ctx, `INSERT INTO generations (note, params) VALUES ($1, $2) RETURNING id`, p.Note, paramsJSON).Scan(&rep.Generation); err != nil {
		return rep, err
	}
	merged := []int64{}
	for _, id := range admin {
		merged = append(merged, id)
	}
	for _, id := range gridLayers {
		merged = append(merged, id)
	}
	if _, err := tx.Exec(ctx, recordAttributionSQL, rep.Generation, merged); err != nil {
		return rep, fmt.Errorf("record attribution: %w", err)
	}
	active := 0
	if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT id FROM generations WHERE state = 'active'), 0)`).Scan(&active); err != nil {
		return rep, err
	}
	if err := set("gen", rep.Generation); err != nil {
		return rep, err
	}
	if err := set("active", active); err != nil {
		return rep, err
	}

	// Temporary tables outlive a committed transaction on a pooled
	// connection: start and end clean.
	if _, err := tx.Exec(ctx, dropMergeTablesSQL); err != nil {
		return rep, err
	}
	for name, v := range map[string]any{"base_layer": rep.BaseLayer, "district_layer": admin[geo.District], "street_layer": admin[geo.Street], "community_layer": admin[geo.Community]} {
		if err := set(name, v); err != nil {
			return rep, err
		}
	}
	step := time.Now()
	lap := func(name string) {
		rep.Timings[name] = math.Round(time.Since(step).Seconds()*100) / 100
		step = time.Now()
	}
	if _, err := tx.Exec(ctx, prepareMergeSQL); err != nil {
		return rep, fmt.Errorf("prepare sources: %w", err)
	}
	if p.Strategy == "overlay" {
		if err := set("base_dept", rep.BaseDept); err != nil {
			return rep, err
		}
		if _, err := tx.Exec(ctx, overlaySQL); err != nil {
			return rep, fmt.Errorf("overlay the departments' grids: %w", err)
		}
	}
	if err := set("absorb_sources", map[bool]string{true: "1", false: "0"}[p.Strategy == "overlay"]); err != nil {
		return rep, err
	}
	// Missing admin levels are derived from the level below by code prefix.
	for _, d := range []struct {
		level geo.Level
		sql   string
	}{{geo.Community, deriveCommunitiesSQL}, {geo.Street, deriveUpSQL}, {geo.District, deriveUpSQL}} {
		if admin[d.level] != 0 {
			continue
		}
		tag, err := tx.Exec(ctx, d.sql, string(d.level), d.level.CodeLen(), string(d.level.Child()))
		if err != nil {
			return rep, fmt.Errorf("derive %s: %w", d.level, err)
		}
		if tag.RowsAffected() == 0 {
			return rep, geo.Errorf(geo.EINVALID, "no %s layer and nothing to derive it from: import one with 'gridd import --level %s FILE'", d.level, d.level)
		}
		rep.Derived = append(rep.Derived, string(d.level))
	}
	if _, err := tx.Exec(ctx, checkAdminCodesSQL); err != nil {
		return rep, fmt.Errorf("check codes: %w", err)
	}

	lap("prepare")
	for _, level := range geo.Levels {
		if err := mergeLevel(ctx, tx, level, set); err != nil {
			return rep, fmt.Errorf("merge %s level: %w", level, err)
		}
		lap(string(level))
	}
	var rebalanced *rebalanceResult
	if p.Rebalance {
		if rebalanced, err = rebalance(ctx, tx, p.GridHouseholds); err != nil {
			return rep, fmt.Errorf("rebalance: %w", err)
		}
		lap("rebalance")
	}
	if _, err := tx.Exec(ctx, mergeCodesSQL); err != nil {
		return rep, fmt.Errorf("assign codes: %w", err)
	}
	var uncoded int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM mg_grid WHERE code IS NULL`).Scan(&uncoded); err != nil {
		return rep, err
	}
	if uncoded > 0 {
		return rep, geo.Errorf(geo.ECONFLICT, "%d grids could not get a code: a community would need more than 999 grids", uncoded)
	}
	lap("codes")
	if _, err := tx.Exec(ctx, mergeLineageSQL); err != nil {
		return rep, fmt.Errorf("lineage and crosswalk: %w", err)
	}
	lap("lineage_crosswalk")
	if _, err := tx.Exec(ctx, storePiecesSQL); err != nil {
		return rep, fmt.Errorf("store merge pieces: %w", err)
	}
	if _, err := tx.Exec(ctx, recordDisputesSQL); err != nil {
		return rep, fmt.Errorf("record disputes: %w", err)
	}
	if err := fillReport(ctx, tx, &rep); err != nil {
		return rep, err
	}
	disputes, disputeItems, err := disputeSummary(ctx, tx, rep.Generation)
	if err != nil {
		return rep, fmt.Errorf("disputes: %w", err)
	}
	rep.Disputes = disputes
	rep.Review = append(rep.Review, disputeItems...)
	if rep.Buildings, err = assignDraftBuildings(ctx, tx, rep.Generation); err != nil {
		return rep, err
	}
	lap("buildings")
	sizeItems, sizes, err := sizeReview(ctx, tx, rep.Generation, active, p.GridHouseholds, p.CommunityHouseholds)
	if err != nil {
		return rep, fmt.Errorf("size rules: %w", err)
	}
	if err := markSizeReview(ctx, tx, rep.Generation, sizeItems); err != nil {
		return rep, fmt.Errorf("size rules: %w", err)
	}
	if rebalanced != nil {
		sizes.Split, sizes.Joined, sizes.Unsolved = rebalanced.split, rebalanced.joined, rebalanced.unsolved
	}
	rep.Sizes = sizes
	rep.Review = append(rep.Review, sizeItems...)
	if _, err := tx.Exec(ctx, dropMergeTablesSQL); err != nil {
		return rep, err
	}
	repJSON, _ := json.Marshal(rep)
	if _, err := tx.Exec(ctx, `UPDATE generations SET report = $2 WHERE id = $1`, rep.Generation, repJSON); err != nil {
		return rep, err
	}
	return rep, tx.Commit(ctx)
}

// metresPerDegree of latitude, to turn the grid size into degrees.
const metresPerDegree = 111320.0

// measureFunctionsSQL defines this session's metre measures of lon/lat
// geometry: the geometry is scaled by the metres per degree of longitude
// and latitude on the ellipsoid at the middle of its extent, and measured
// planar. For city-sized areas this is within a few hundredths of a per
// cent of the spheroid, at a small fraction of the cost of reprojecting.
const measureFunctionsSQL = `
CREATE OR REPLACE FUNCTION pg_temp.m2(g geometry) RETURNS float8 LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE lat float8 := radians((ST_YMin(g) + ST_YMax(g)) / 2);
BEGIN
    RETURN ST_Area(g) * (111412.84 * cos(lat) - 93.5 * cos(3 * lat)) * (111132.954 - 559.822 * cos(2 * lat) + 1.175 * cos(4 * lat));
END $$;
CREATE OR REPLACE FUNCTION pg_temp.mscale(g geometry) RETURNS geometry LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE lat float8 := radians((ST_YMin(g) + ST_YMax(g)) / 2);
BEGIN
    RETURN ST_Scale(g, 111412.84 * cos(lat) - 93.5 * cos(3 * lat), 111132.954 - 559.822 * cos(2 * lat) + 1.175 * cos(4 * lat));
END $$;
CREATE OR REPLACE FUNCTION pg_temp.mlen(g geometry) RETURNS float8 LANGUAGE sql IMMUTABLE STRICT AS
    $$ SELECT ST_Length(pg_temp.mscale(g)) $$;
CREATE OR REPLACE FUNCTION pg_temp.mper(g geometry) RETURNS float8 LANGUAGE sql IMMUTABLE STRICT AS
    $$ SELECT ST_Perimeter(pg_temp.mscale(g)) $$;`

// prepareMergeSQL loads the sources into temporary tables, snapped to the
// grid size: mg_admin for the admin levels, mg_base for the grids, from
// the layers named in the settings gridd.*_layer (0: none).
const prepareMergeSQL = `
CREATE TEMP TABLE mg_decision (level text, kind text, code text, other text, parent text, area float8, geom geometry,
                               rule text, rivals text, ruling bigint);
CREATE TEMP TABLE mg_out (level text, code text, name text, parent_code text, households int, population int, geom geometry);
CREATE TEMP TABLE mg_admin AS
SELECT l.level, f.id AS feature_id, f.fid, f.code, f.name, f.households, f.population,
       ST_CollectionExtract(ST_ReducePrecision(ST_MakeValid(f.geom), current_setting('gridd.grid_size')::float8), 3) AS geom
FROM source_layers l JOIN source_features f ON f.layer_id = l.id
WHERE l.id IN (current_setting('gridd.district_layer')::bigint, current_setting('gridd.street_layer')::bigint, current_setting('gridd.community_layer')::bigint);
CREATE TEMP TABLE mg_base AS
SELECT f.id AS feature_id, f.fid, f.code, f.name, f.parent_code, f.households, f.population,
       ST_CollectionExtract(ST_ReducePrecision(ST_MakeValid(f.geom), current_setting('gridd.grid_size')::float8), 3) AS geom
FROM source_features f WHERE f.layer_id = current_setting('gridd.base_layer')::bigint;
DELETE FROM mg_admin WHERE ST_IsEmpty(geom);
DELETE FROM mg_base WHERE ST_IsEmpty(geom);`

// dropMergeTablesSQL drops this session's mg_* temporary tables.
const dropMergeTablesSQL = `
DO $$
DECLARE t text;
BEGIN
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = pg_my_temp_schema()::regnamespace::text AND tablename LIKE 'mg\_%' LOOP
        EXECUTE format('DROP TABLE %I', t);
    END LOOP;
END $$`

// overlaySQL replaces the base grids by the common refinement of every
// department's latest grid layer: all their borders noded together, each
// face labelled by the set of departmental grids covering it, faces with
// the same set united into one cell. Cells carry no code; they are named
// after the base department's grid they lie in.
const overlaySQL = `
CREATE TEMP TABLE mg_ovl_src AS
SELECT l.dept_code, f.id AS feature_id, f.name,
       ST_CollectionExtract(ST_ReducePrecision(ST_MakeValid(f.geom), current_setting('gridd.grid_size')::float8), 3) AS geom
FROM (SELECT DISTINCT ON (dept_code) id, dept_code FROM source_layers
      WHERE level = 'grid' AND dept_code IS NOT NULL ORDER BY dept_code, version DESC) l
JOIN source_features f ON f.layer_id = l.id;
CREATE INDEX ON mg_ovl_src USING gist (geom);
CREATE TEMP TABLE mg_ovl_faces AS
SELECT row_number() OVER ()::int AS fid, geom, ST_PointOnSurface(geom) AS anchor
FROM (SELECT (ST_Dump(ST_Polygonize(u))).geom AS geom
      FROM (SELECT ST_UnaryUnion(ST_Collect(ST_Boundary(geom)), current_setting('gridd.grid_size')::float8) AS u FROM mg_ovl_src) x) f
WHERE ST_Area(geom) > 0;
CREATE INDEX ON mg_ovl_faces USING gist (anchor);
CREATE TEMP TABLE mg_ovl_cells AS
SELECT sig, min(name) AS name, ST_UnaryUnion(ST_Collect(geom), current_setting('gridd.grid_size')::float8) AS geom
FROM (
    SELECT f.fid, f.geom, array_agg(s.feature_id ORDER BY s.feature_id) AS sig,
           (array_agg(s.name ORDER BY s.dept_code = current_setting('gridd.base_dept') DESC, s.feature_id))[1] AS name
    FROM mg_ovl_faces f JOIN mg_ovl_src s ON ST_Intersects(s.geom, f.anchor)
    GROUP BY f.fid, f.geom
) x GROUP BY sig;
TRUNCATE mg_base;
INSERT INTO mg_base (feature_id, fid, code, name, parent_code, households, population, geom)
SELECT NULL, row_number() OVER (ORDER BY sig)::int, '', name, '', NULL, NULL, geom FROM mg_ovl_cells;`

// deriveCommunitiesSQL dissolves base grids by the community code they
// carry. $1 'community', $2 12, $3 unused.
const deriveCommunitiesSQL = `
INSERT INTO mg_admin (level, feature_id, fid, code, name, households, population, geom)
SELECT $1::text, NULL, NULL, parent_code, '', sum(households), sum(population),
       ST_UnaryUnion(ST_Collect(geom), current_setting('gridd.grid_size')::float8)
FROM mg_base WHERE parent_code ~ ('^[0-9]{' || $2::int || '}$') AND $3::text <> ''
GROUP BY parent_code`

// deriveUpSQL dissolves the level below by code prefix. $1 level, $2 its
// code length, $3 the level below.
const deriveUpSQL = `
INSERT INTO mg_admin (level, feature_id, fid, code, name, households, population, geom)
SELECT $1::text, NULL, NULL, left(code, $2::int), '', sum(households), sum(population),
       ST_UnaryUnion(ST_Collect(geom), current_setting('gridd.grid_size')::float8)
FROM mg_admin WHERE level = $3::text AND length(code) > $2::int
GROUP BY left(code, $2::int)`

// checkAdminCodesSQL reports and removes admin areas without a well-formed
// code (they are never given an invented one), and unites repeated codes.
const checkAdminCodesSQL = `
WITH bad AS (
    DELETE FROM mg_admin
    WHERE code !~ ('^[0-9]{' || CASE level WHEN 'district' THEN 6 WHEN 'street' THEN 9 ELSE 12 END || '}$')
       OR (level = 'district' AND right(code, 2) = '00')
       OR (level <> 'district' AND right(code, 3) = '000')
    RETURNING level, code, name, fid, geom
)
INSERT INTO mg_decision (level, kind, code, other, parent, area, geom)
SELECT level, 'bad_code', code, name || ' (feature ' || coalesce(fid::text, '?') || ')', '', pg_temp.m2(geom), geom FROM bad;

CREATE TEMP TABLE mg_admin_u AS
SELECT level, code, min(name) AS name, sum(households)::int AS households, sum(population)::int AS population,
       ST_UnaryUnion(ST_Collect(geom), current_setting('gridd.grid_size')::float8) AS geom,
       count(*) AS n
FROM mg_admin GROUP BY level, code;
INSERT INTO mg_decision (level, kind, code, other, parent, area, geom)
SELECT level, 'duplicate_code', code, n || ' features united', '', pg_temp.m2(geom), geom FROM mg_admin_u WHERE n > 1;`

// mergeLevel prepares mg_src and mg_parent for one level, runs the level
// cleaning and appends its children to mg_out.
func mergeLevel(ctx context.Context, tx pgx.Tx, level geo.Level, set func(string, any) error) error {
	byLocation := "0"
	if level == geo.Grid {
		byLocation = "1"
	}
	if err := set("by_location", byLocation); err != nil {
		return err
	}
	if err := set("level", level); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS mg_src, mg_parent;
		CREATE TEMP TABLE mg_src (sid int, code text, name text, parent_code text, households int, population int,
		                          src_area float8, geom geometry, is_new boolean NOT NULL DEFAULT false);
		CREATE TEMP TABLE mg_parent (code text, geom geometry);`); err != nil {
		return err
	}
	if level == geo.Grid {
		if _, err := tx.Exec(ctx, `INSERT INTO mg_src (sid, code, name, parent_code, households, population, src_area, geom)
			SELECT fid, code, name, parent_code, households, population, pg_temp.m2(geom), geom FROM mg_base`); err != nil {
			return err
		}
	} else {
		if _, err := tx.Exec(ctx, `INSERT INTO mg_src (sid, code, name, parent_code, households, population, src_area, geom)
			SELECT row_number() OVER (ORDER BY code), code, name, CASE WHEN $1 = 'district' THEN '' ELSE left(code, length(code) - 3) END,
			       households, population, pg_temp.m2(geom), geom
			FROM mg_admin_u WHERE level = $1`, string(level)); err != nil {
			return err
		}
	}
	if level == geo.District {
		// The top level's parent is the union of the districts, with small
		// enclosed holes (slivers between separately drawn districts) filled.
		if _, err := tx.Exec(ctx, `
			INSERT INTO mg_parent (code, geom)
			SELECT '', ST_UnaryUnion(ST_Collect(
			    ST_MakePolygon(ST_ExteriorRing(p), ARRAY(
			        SELECT ST_InteriorRingN(p, i) FROM generate_series(1, ST_NumInteriorRings(p)) i
			        WHERE pg_temp.m2(ST_MakePolygon(ST_InteriorRingN(p, i))) >= current_setting('gridd.hole_area')::float8))),
			    current_setting('gridd.grid_size')::float8)
			FROM (SELECT (ST_Dump(ST_UnaryUnion(ST_Collect(geom), current_setting('gridd.grid_size')::float8))).geom AS p FROM mg_src) x`); err != nil {
			return err
		}
	} else {
		if _, err := tx.Exec(ctx, `INSERT INTO mg_parent SELECT code, geom FROM mg_out WHERE level = $1`, string(level.Parent())); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `CREATE INDEX ON mg_src USING gist (geom); CREATE INDEX ON mg_parent USING gist (geom); ANALYZE mg_src; ANALYZE mg_parent;`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, mergeLevelSQL); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE mg_decision SET level = $1 WHERE level IS NULL`, string(level)); err != nil {
		return err
	}
	if level == geo.Grid {
		return nil // codes are assigned by mergeCodesSQL
	}
	_, err := tx.Exec(ctx, `INSERT INTO mg_out (level, code, name, parent_code, households, population, geom)
		SELECT $1, s.code, s.name, c.parent, s.households, s.population, c.geom
		FROM mg_child c JOIN mg_src s ON s.sid = c.sid`, string(level))
	return err
}

// storePiecesSQL keeps the merge's decisions with their geometry for
// review on the map.
const storePiecesSQL = `
INSERT INTO merge_pieces (generation, level, kind, code, other, parent, area_m2, geom)
SELECT current_setting('gridd.gen')::int, level, kind, coalesce(code, ''), coalesce(other, ''), coalesce(parent, ''), coalesce(area, 0),
       ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3))
FROM mg_decision WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom);

INSERT INTO merge_pieces (generation, level, kind, code, other, parent, area_m2, geom)
SELECT current_setting('gridd.gen')::int, 'grid', 'split', g.code, g.src_code, g.community, g.area,
       ST_Multi(ST_CollectionExtract(ST_MakeValid(g.geom), 3))
FROM mg_grid g WHERE g.pieces > 1 AND g.code IS NOT NULL;`

func fillReport(ctx context.Context, tx pgx.Tx, rep *geo.MergeReport) error {
	for _, l := range geo.Levels {
		rep.Levels[string(l)] = &geo.LevelReport{}
	}
	rows, err := tx.Query(ctx, `SELECT level, count(*) FROM areas WHERE generation = $1 GROUP BY level`, rep.Generation)
	if err != nil {
		return err
	}
	for rows.Next() {
		var level string
		var n int
		if err := rows.Scan(&level, &n); err != nil {
			return err
		}
		rep.Levels[level].Areas = n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT level, kind, count(*), coalesce(sum(area_m2), 0) FROM merge_pieces WHERE generation = $1 GROUP BY level, kind`, rep.Generation)
	if err != nil {
		return err
	}
	for rows.Next() {
		var level, kind string
		var n int
		var a float64
		if err := rows.Scan(&level, &kind, &n, &a); err != nil {
			return err
		}
		lr := rep.Levels[level]
		if lr == nil {
			continue
		}
		switch kind {
		case "overlap":
			lr.Overlaps, lr.OverlapM2 = n, a
		case "gap":
			lr.Gaps, lr.GapM2 = n, a
		case "sliver":
			lr.Slivers, lr.SliverM2 = n, a
		case "uncovered":
			lr.Uncovered, lr.UncoveredM2 = n, a
		case "new_grid":
			lr.NewGrids = n
		case "bad_code":
			lr.BadCodes = n
		case "split":
			lr.SplitSources = n
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT how, count(*) FROM mg_grid WHERE code IS NOT NULL GROUP BY how`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var how string
		var n int
		if err := rows.Scan(&how, &n); err != nil {
			return err
		}
		rep.Codes[how] = n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT relation, count(*) FROM lineage WHERE generation = $1 GROUP BY relation`, rep.Generation)
	if err != nil {
		return err
	}
	for rows.Next() {
		var rel string
		var n int
		if err := rows.Scan(&rel, &n); err != nil {
			return err
		}
		rep.Lineage[rel] = n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, deptSummarySQL, rep.Generation)
	if err != nil {
		return err
	}
	for rows.Next() {
		var dept string
		var s geo.DeptSummary
		if err := rows.Scan(&dept, &s.Grids, &s.OneToOne, &s.Within, &s.Split, &s.OutsideM2); err != nil {
			return err
		}
		rep.Crosswalk[dept] = &s
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `
		SELECT kind, level, code, other, parent, area_m2, '' FROM merge_pieces WHERE generation = $1 AND kind IN ('bad_code', 'duplicate_code', 'uncovered', 'new_grid')
		UNION ALL
		SELECT kind, level, code, other, parent, area_m2, '' FROM (
		    SELECT * FROM merge_pieces WHERE generation = $1 AND kind IN ('overlap', 'gap', 'sliver') ORDER BY area_m2 DESC LIMIT 50) big
		ORDER BY 1, 6 DESC`, rep.Generation)
	if err != nil {
		return err
	}
	for rows.Next() {
		var it geo.ReviewItem
		if err := rows.Scan(&it.Kind, &it.Level, &it.Code, &it.Other, &it.Parent, &it.AreaM2, &it.Note); err != nil {
			return err
		}
		rep.Review = append(rep.Review, it)
	}
	return rows.Err()
}

// deptSummarySQL summarises the crosswalk per department.
const deptSummarySQL = `
WITH per AS (
    SELECT dept_code, feature_id,
           max(source_share) FILTER (WHERE grid_code <> '') AS best,
           max(grid_share) FILTER (WHERE grid_code <> '') AS best_grid,
           count(*) FILTER (WHERE grid_code <> '' AND source_share >= 0.1) AS big_parts,
           coalesce(sum(area_m2) FILTER (WHERE grid_code = ''), 0) AS outside
    FROM crosswalk WHERE generation = $1 GROUP BY dept_code, feature_id
)
SELECT dept_code, count(*)::int,
       count(*) FILTER (WHERE best >= 0.9 AND best_grid >= 0.9)::int,
       count(*) FILTER (WHERE best >= 0.9)::int,
       count(*) FILTER (WHERE big_parts > 1)::int,
       sum(outside)
FROM per GROUP BY dept_code ORDER BY dept_code`

// MergeReportOf returns the stored report of a generation.
func (db *DB) MergeReportOf(ctx context.Context, gen int) (geo.MergeReport, error) {
	var raw []byte
	err := db.Pool.QueryRow(ctx, `SELECT report FROM generations WHERE id = $1`, gen).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return geo.MergeReport{}, geo.Errorf(geo.ENOTFOUND, "no generation %d", gen)
	}
	if err != nil {
		return geo.MergeReport{}, geo.WrapError(geo.EUNAVAILABLE, err, "report of generation %d", gen)
	}
	var rep geo.MergeReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		return geo.MergeReport{}, fmt.Errorf("report of generation %d: %w", gen, err)
	}
	return rep, nil
}
