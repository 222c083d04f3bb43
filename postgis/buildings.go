package postgis

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/ewkb"
)

// buildingNewSQL holds the buildings of one import, copied straight
// from the file (lon/lat geometry, or the source SRID until transformed),
// with the digest of what makes a re-imported building "changed".
const buildingNewSQL = `CREATE TEMP TABLE building_new (
    fid int, id text COLLATE "C", name text, address text, households int, residents int, floors int, use text, props jsonb, geom geometry, digest text
) ON COMMIT DROP`

// buildingDiffSQL counts what the new set adds, removes and changes, and
// its extent.
const buildingDiffSQL = `
SELECT (SELECT count(*) FROM building_new n WHERE NOT EXISTS (SELECT 1 FROM buildings b WHERE b.id = n.id)),
       (SELECT count(*) FROM buildings b WHERE NOT EXISTS (SELECT 1 FROM building_new n WHERE n.id = b.id)),
       (SELECT count(*) FROM building_new n JOIN buildings b ON b.id = n.id WHERE b.digest <> n.digest),
       (SELECT count(*) FROM building_new WHERE ST_IsEmpty(geom)),
       ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT ST_Extent(geom)::geometry AS e FROM building_new) x`

// buildingFirstSQL answers what buildingDiffSQL does for a first set
// copied straight into buildings: everything is added.
const buildingFirstSQL = `
SELECT count(*), 0, 0, count(*) FILTER (WHERE ST_IsEmpty(geom)),
       ST_XMin(ST_Extent(geom)), ST_YMin(ST_Extent(geom)), ST_XMax(ST_Extent(geom)), ST_YMax(ST_Extent(geom))
FROM buildings`

// buildingApplySQL replaces the set: removed buildings go (their
// assignments with them), changed ones are rewritten and lose their
// assignments (recomputed after), new ones are inserted. $1 the set id.
var buildingApplySQL = []string{
	`DELETE FROM building_grid bg WHERE NOT EXISTS (SELECT 1 FROM building_new n WHERE n.id = bg.building_id)`,
	`DELETE FROM buildings b WHERE NOT EXISTS (SELECT 1 FROM building_new n WHERE n.id = b.id)`,
	`DELETE FROM building_grid bg USING building_new n, buildings b
	 WHERE bg.building_id = n.id AND b.id = n.id AND b.digest <> n.digest`,
	`UPDATE buildings b SET set_id = $1, fid = n.fid, name = n.name, address = n.address, households = n.households,
	        residents = n.residents, floors = n.floors, use = n.use, props = n.props, geom = n.geom, digest = n.digest
	 FROM building_new n WHERE b.id = n.id AND b.digest <> n.digest`,
	`INSERT INTO buildings (id, set_id, fid, name, address, households, residents, floors, use, props, geom, digest)
	 SELECT n.id, $1, n.fid, n.name, n.address, n.households, n.residents, n.floors, n.use, n.props, n.geom, n.digest
	 FROM building_new n WHERE NOT EXISTS (SELECT 1 FROM buildings b WHERE b.id = n.id)`,
}

// buildingIndexesSQL are the spatial indexes of buildings, as migration
// 0010 makes them: one for points and one for footprints, so that the
// assignment of each kind reads its own.
var buildingIndexesSQL = []string{
	`CREATE INDEX buildings_points ON buildings USING gist (geom) WHERE GeometryType(geom) = 'POINT'`,
	`CREATE INDEX buildings_footprints ON buildings USING gist (geom) WHERE GeometryType(geom) = 'MULTIPOLYGON'`,
}

// ImportBuildings replaces the building set by the buildings next yields,
// as a new version, in one transaction, and assigns them to the grids of
// every generation. An identical file (same hash as the latest version)
// changes nothing; bad input changes nothing either.
func (db *DB) ImportBuildings(ctx context.Context, meta geo.BuildingMeta, next func() (geo.Building, error), rep *geo.ImportReport) error {
	start := time.Now()
	defer func() { rep.Seconds = time.Since(start).Seconds() }()
	rep.DryRun = meta.DryRun
	br := &geo.BuildingImportReport{}
	rep.Buildings = br
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	var known bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM spatial_ref_sys WHERE srid = $1)`, meta.SRID).Scan(&known); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "look up SRID")
	}
	if !known {
		return geo.Errorf(geo.EINVALID, "%s: PostGIS does not know EPSG:%d; give the file's coordinate system with --srs EPSG:nnnn", meta.FileName, meta.SRID)
	}
	// One building import (or merge assigning buildings) at a time.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('gridd:buildings'))`); err != nil {
		return err
	}
	var latestID int64
	var latestVersion int
	var latestHash string
	err = tx.QueryRow(ctx, `SELECT id, version, file_hash FROM building_sets ORDER BY version DESC LIMIT 1`).Scan(&latestID, &latestVersion, &latestHash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if meta.FileHash != "" && latestHash == meta.FileHash {
		br.SetID, br.Version, rep.Unchanged = latestID, latestVersion, true
		rep.LayerID, rep.Version = latestID, latestVersion
		return tx.QueryRow(ctx, `SELECT feature_count FROM building_sets WHERE id = $1`, latestID).Scan(&rep.Features)
	}
	br.Version = latestVersion + 1
	if err := tx.QueryRow(ctx, `INSERT INTO building_sets (version, name, file_name, file_hash, source_srs, encoding)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, br.Version, meta.Name, meta.FileName, meta.FileHash, meta.SRSLabel, rep.Encoding).Scan(&br.SetID); err != nil {
		return fmt.Errorf("record building set: %w", err)
	}
	rep.LayerID, rep.Version = br.SetID, br.Version
	if _, err := tx.Exec(ctx, buildingNewSQL); err != nil {
		return err
	}
	// Lon/lat (CGCS2000 is WGS84 to within centimetres) is copied as it
	// is; anything else is transformed by PostGIS after the copy.
	direct := meta.SRID == 4326 || meta.SRID == 4490
	src := &buildingSource{next: next, srid: meta.SRID, file: meta.FileName, unknownUses: map[string]int{}}
	if direct {
		src.srid = 4326
	}
	// The first set in lon/lat is copied straight into buildings, its
	// indexes built after: nothing to compare it with, and one write of a
	// million rows instead of two.
	table, columns := "building_new", []string{"fid", "id", "name", "address", "households", "residents", "floors", "use", "props", "geom", "digest"}
	first := false
	if direct && !meta.DryRun {
		if err := tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM buildings)`).Scan(&first); err != nil {
			return err
		}
	}
	if first {
		if _, err := tx.Exec(ctx, `DROP INDEX buildings_points, buildings_footprints`); err != nil {
			return err
		}
		table, columns, src.setID = "buildings", append([]string{"set_id"}, columns...), br.SetID
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, src); err != nil {
		if src.err != nil {
			return src.err
		}
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return geo.Errorf(geo.EINVALID, "%s: a building id appears twice (%s): building ids must be unique (or map another attribute with --code-field)", meta.FileName, pe.Detail)
		}
		return geo.WrapError(geo.EINVALID, err, "%s: buildings could not be stored", meta.FileName)
	}
	rep.Read = src.n
	br.Points, br.Footprints = src.points, src.footprints
	if len(src.unknownUses) > 0 {
		br.UnknownUses = src.unknownUses
	}
	if src.n == 0 {
		return geo.Errorf(geo.EINVALID, "%s has no buildings", meta.FileName)
	}
	var dupID string
	var dupFirst, dupSecond int
	err = pgx.ErrNoRows
	if !first {
		err = tx.QueryRow(ctx, `SELECT id, min(fid), (array_agg(fid ORDER BY fid))[2] FROM building_new GROUP BY id HAVING count(*) > 1 ORDER BY 3 LIMIT 1`).Scan(&dupID, &dupFirst, &dupSecond)
	}
	if err == nil {
		return geo.Errorf(geo.EINVALID, "%s: feature %d has the building id %q of feature %d: building ids must be unique (or map another attribute with --code-field)", meta.FileName, dupSecond, dupID, dupFirst)
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	lm := LayerMeta{FileName: meta.FileName, SRID: meta.SRID, SRSFromUser: meta.SRSFromUser, SRSLabel: meta.SRSLabel}
	if err := checkRawExtent(ctx, tx, lm, src.bound); err != nil {
		return err
	}
	if !direct {
		if _, err := tx.Exec(ctx, `UPDATE building_new SET geom = ST_Transform(geom, 4326)`); err != nil {
			return geo.WrapError(geo.EINVALID, err, "%s: cannot transform from %s", meta.FileName, meta.SRSLabel)
		}
	}
	if src.footprints > 0 {
		if _, err := tx.Exec(ctx, `UPDATE `+table+` SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3))
			WHERE GeometryType(geom) = 'MULTIPOLYGON' AND NOT ST_IsValid(geom)`); err != nil {
			return geo.WrapError(geo.EINVALID, err, "%s: footprints could not be repaired", meta.FileName)
		}
	}
	var empty int
	var ext [4]*float64
	diff := buildingDiffSQL
	if first {
		diff = buildingFirstSQL
	}
	if err := tx.QueryRow(ctx, diff).Scan(&br.Added, &br.Removed, &br.Changed, &empty, &ext[0], &ext[1], &ext[2], &ext[3]); err != nil {
		return err
	}
	if empty > 0 {
		var fid int
		tx.QueryRow(ctx, `SELECT min(fid) FROM `+table+` WHERE ST_IsEmpty(geom)`).Scan(&fid)
		return geo.Errorf(geo.EINVALID, "%s: %d footprints have no area left when made valid (feature %d first): fix or remove them", meta.FileName, empty, fid)
	}
	rep.Features = src.n
	br.Same = src.n - br.Added - br.Changed
	rep.Extent = [4]float64{*ext[0], *ext[1], *ext[2], *ext[3]}
	if !meta.AllowOutside && (rep.Extent[0] < chinaExtent[0] || rep.Extent[1] < chinaExtent[1] || rep.Extent[2] > chinaExtent[2] || rep.Extent[3] > chinaExtent[3]) {
		return geo.Errorf(geo.EINVALID, "%s reaches outside China after transformation from %s (lon %.4f…%.4f, lat %.4f…%.4f): check the coordinate system (--srs), or pass --allow-outside if it really does",
			meta.FileName, meta.SRSLabel, rep.Extent[0], rep.Extent[2], rep.Extent[1], rep.Extent[3])
	}
	if meta.DryRun {
		rep.LayerID, rep.Version, br.SetID, br.Version = 0, 0, 0, 0
		return nil
	}
	bulk := br.Added > br.Removed+br.Changed+br.Same
	if first {
		for _, q := range append(buildingIndexesSQL, `ANALYZE buildings`) {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
	} else if err := applyBuildingSet(ctx, tx, br.SetID, bulk); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT id FROM generations ORDER BY id`)
	if err != nil {
		return err
	}
	gens, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return err
	}
	for _, g := range gens {
		// A set mostly new is assigned anew; otherwise only its added
		// and changed buildings are.
		a, err := assignBuildings(ctx, tx, int(g), bulk)
		if err != nil {
			return fmt.Errorf("assign buildings to generation %d: %w", g, err)
		}
		br.Assignments = append(br.Assignments, a)
	}
	repJSON, _ := json.Marshal(rep)
	if _, err := tx.Exec(ctx, `UPDATE building_sets SET feature_count = $2, report = $3 WHERE id = $1`, br.SetID, rep.Features, repJSON); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "commit building import")
	}
	return nil
}

// applyBuildingSet makes building_new the current set. With bulk (more
// buildings added than there were) the spatial indexes are dropped and
// built again at the end, several times faster than growing them row by
// row.
func applyBuildingSet(ctx context.Context, tx pgx.Tx, setID int64, bulk bool) error {
	if bulk {
		if _, err := tx.Exec(ctx, `DROP INDEX buildings_points, buildings_footprints`); err != nil {
			return err
		}
	}
	for i, q := range buildingApplySQL {
		var args []any
		if i >= 3 { // the update and the insert record the set
			args = []any{setID}
		}
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			return fmt.Errorf("replace the building set: %w", err)
		}
	}
	if bulk {
		for _, q := range buildingIndexesSQL {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
	}
	_, err := tx.Exec(ctx, `ANALYZE buildings`)
	return err
}

// buildingSource adapts a building stream to pgx's CopyFromSource:
// geometry as EWKB in the source SRID, ids checked for duplicates, uses
// mapped onto the catalogue.
type buildingSource struct {
	next               func() (geo.Building, error)
	srid               int
	file               string // for messages
	setID              int64  // > 0: rows go straight into buildings, of this set
	n                  int
	row                []any
	err                error
	bound              orb.Bound
	points, footprints int
	unknownUses        map[string]int
}

func (s *buildingSource) Next() bool {
	b, err := s.next()
	if err == io.EOF {
		return false
	}
	if err != nil {
		s.err = err
		return false
	}
	s.n++
	if b.Geometry == nil {
		s.err = geo.Errorf(geo.EINVALID, "%s: feature %d (building %s) has no geometry", s.file, s.n, b.ID)
		return false
	}
	switch b.Geometry.(type) {
	case orb.Point:
		s.points++
	case orb.Polygon:
		b.Geometry = orb.MultiPolygon{b.Geometry.(orb.Polygon)}
		s.footprints++
	case orb.MultiPolygon:
		s.footprints++
	default:
		s.err = geo.Errorf(geo.EINVALID, "%s: feature %d (building %s) is a %s: a building is a point or a footprint polygon", s.file, s.n, b.ID, b.Geometry.GeoJSONType())
		return false
	}
	if err := checkFinite(b.Geometry); err != nil {
		s.err = geo.Errorf(geo.EINVALID, "%s: feature %d (building %s): %v", s.file, s.n, b.ID, err)
		return false
	}
	if p, ok := b.Geometry.(orb.Point); ok && (p[0] != p[0] || p[1] != p[1]) {
		s.err = geo.Errorf(geo.EINVALID, "%s: feature %d (building %s): coordinate is not a number", s.file, s.n, b.ID)
		return false
	}
	if s.n == 1 {
		s.bound = b.Geometry.Bound()
	} else {
		s.bound = s.bound.Union(b.Geometry.Bound())
	}
	use, ok := geo.ParseUse(string(b.Use))
	if !ok {
		s.unknownUses[string(b.Use)]++
	}
	props := []byte("{}")
	if len(b.Props) > 0 {
		var err error
		if props, err = json.Marshal(b.Props); err != nil { // keys sorted: the digest is stable
			s.err = geo.Errorf(geo.EINVALID, "%s: feature %d: attributes: %v", s.file, s.n, err)
			return false
		}
	}
	g, err := ewkb.Marshal(b.Geometry, s.srid)
	if err != nil {
		s.err = geo.Errorf(geo.EINVALID, "%s: feature %d: %v", s.file, s.n, err)
		return false
	}
	s.row = []any{s.n, b.ID, b.Name, b.Address, b.Households, b.Residents, b.Floors, string(use), props, g,
		buildingDigest(b, use, props, g)}
	if s.setID > 0 {
		s.row = append([]any{s.setID}, s.row...)
	}
	return true
}

// buildingDigest sums up what a building is besides its id: attributes
// and geometry as read. A re-import compares digests to tell the changed
// buildings from the same ones.
func buildingDigest(b geo.Building, use geo.BuildingUse, props, geom []byte) string {
	h := md5.New()
	n := func(p *int) string {
		if p == nil {
			return ""
		}
		return strconv.Itoa(*p)
	}
	for _, f := range []string{b.Name, b.Address, n(b.Households), n(b.Residents), n(b.Floors), string(use)} {
		io.WriteString(h, f)
		h.Write([]byte{0x1f})
	}
	h.Write(props)
	h.Write([]byte{0x1f})
	h.Write(geom)
	return hex.EncodeToString(h.Sum(nil))
}

func (s *buildingSource) Values() ([]any, error) { return s.row, nil }
func (s *buildingSource) Err() error             { return s.err }
