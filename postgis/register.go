package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// The register of households and residents (实有人口): a load replaces it
// whole and atomically. Rows are sealed as they stream in (the key stays
// in this process), copied into a temporary table, checked against the
// buildings, and then applied as a difference: residents keep their ids
// (matched by the ID number's keyed hash), and unchanged rows are not
// written at all.

const registerInSQL = `CREATE TEMP TABLE reg_in (
    line int, household_id text COLLATE "C", building_id text COLLATE "C", unit text, room text, seq int,
    id_hash bytea, name_mask text, id_mask text, phone_mask text, birth_year int, tags text[], sealed bytea, digest bytea
) ON COMMIT DROP`

// registerUnknownBuildingsSQL lists rows naming a building the building
// set does not have, first by line.
const registerUnknownBuildingsSQL = `
SELECT line, building_id, count(*) OVER () FROM reg_in i
WHERE NOT EXISTS (SELECT 1 FROM buildings b WHERE b.id = i.building_id)
ORDER BY line LIMIT $1`

// registerHouseholdsSQL gathers the file's households: their members'
// tags together, their digest from the members' (in order) and address.
const registerHouseholdsSQL = `
CREATE TEMP TABLE hh_in ON COMMIT DROP AS
SELECT household_id AS id, min(building_id) AS building_id, min(unit) AS unit, min(room) AS room,
       ARRAY(SELECT DISTINCT t FROM unnest(string_to_array(nullif(string_agg(nullif(array_to_string(tags, ','), ''), ','), ''), ',')) t ORDER BY 1) AS tags,
       count(*)::int AS members,
       sha256(string_agg(digest, ''::bytea ORDER BY seq) || convert_to(min(building_id) || '|' || min(unit) || '|' || min(room), 'UTF8')) AS digest
FROM reg_in GROUP BY household_id`

// registerDiffSQL counts households added, removed and changed.
const registerDiffSQL = `
SELECT (SELECT count(*) FROM hh_in n WHERE NOT EXISTS (SELECT 1 FROM households h WHERE h.id = n.id)),
       (SELECT count(*) FROM households h WHERE NOT EXISTS (SELECT 1 FROM hh_in n WHERE n.id = h.id)),
       (SELECT count(*) FROM hh_in n JOIN households h ON h.id = n.id WHERE h.digest <> n.digest)`

// registerApplySQL makes the file's rows the register, in an order the
// foreign key accepts: households first, residents, then the households
// nobody lives in any more.
var registerApplySQL = []string{
	`CREATE INDEX ON reg_in (id_hash)`,
	`ANALYZE reg_in`,
	`INSERT INTO households (id, building_id, unit, room, tags, members, digest)
	 SELECT id, building_id, unit, room, tags, members, digest FROM hh_in
	 ON CONFLICT (id) DO UPDATE SET building_id = EXCLUDED.building_id, unit = EXCLUDED.unit, room = EXCLUDED.room,
	     tags = EXCLUDED.tags, members = EXCLUDED.members, digest = EXCLUDED.digest
	 WHERE households.digest <> EXCLUDED.digest`,
	`DELETE FROM residents r WHERE NOT EXISTS (SELECT 1 FROM reg_in i WHERE i.id_hash = r.id_hash)`,
	`UPDATE residents r SET household_id = i.household_id, seq = i.seq, name_mask = i.name_mask, id_mask = i.id_mask,
	     phone_mask = i.phone_mask, birth_year = i.birth_year, tags = i.tags, sealed = i.sealed, digest = i.digest
	 FROM reg_in i WHERE i.id_hash = r.id_hash AND i.digest <> r.digest`,
	`INSERT INTO residents (household_id, seq, id_hash, name_mask, id_mask, phone_mask, birth_year, tags, sealed, digest)
	 SELECT household_id, seq, id_hash, name_mask, id_mask, phone_mask, birth_year, tags, sealed, digest FROM reg_in i
	 WHERE NOT EXISTS (SELECT 1 FROM residents r WHERE r.id_hash = i.id_hash)`,
	`DELETE FROM households h WHERE NOT EXISTS (SELECT 1 FROM hh_in n WHERE n.id = h.id)`,
	`ANALYZE households`,
	`ANALYZE residents`,
}

// registerFirstSQL loads the first register into empty tables: the
// residents' constraints and index are made after the rows are in, several
// times faster than checking and growing them row by row.
var registerFirstSQL = []string{
	`SET LOCAL maintenance_work_mem = '256MB'`,
	`ALTER TABLE residents DROP CONSTRAINT residents_household_fk, DROP CONSTRAINT residents_id_hash_key`,
	`DROP INDEX residents_household`,
	`INSERT INTO households (id, building_id, unit, room, tags, members, digest)
	 SELECT id, building_id, unit, room, tags, members, digest FROM hh_in`,
	`INSERT INTO residents (household_id, seq, id_hash, name_mask, id_mask, phone_mask, birth_year, tags, sealed, digest)
	 SELECT household_id, seq, id_hash, name_mask, id_mask, phone_mask, birth_year, tags, sealed, digest FROM reg_in`,
	`ALTER TABLE residents ADD CONSTRAINT residents_id_hash_key UNIQUE (id_hash)`,
	`CREATE INDEX residents_household ON residents (household_id, seq)`,
	`ALTER TABLE residents ADD CONSTRAINT residents_household_fk FOREIGN KEY (household_id) REFERENCES households (id) ON DELETE CASCADE`,
	`ANALYZE households`,
	`ANALYZE residents`,
}

// registerSource seals the rows of a register file for COPY. Reading and
// sealing run in a goroutine of their own, a batch ahead of the COPY, so
// that the two share the machine's cores instead of taking turns.
type registerSource struct {
	batches chan [][]any
	stop    chan struct{} // closed when the load is over, whatever happened
	batch   [][]any       // rows of reg_in, sealed
	row     []any
	n       int
	// Written by the reading goroutine; read once batches is closed.
	err  error // the reader's
	tags map[string]int
	once sync.Once
}

// registerBatch is how many rows a batch carries.
const registerBatch = 2048

// startRegisterSource starts reading src; stop ends it early.
func startRegisterSource(src geo.RegisterSource, key *geo.RegisterKey) *registerSource {
	s := &registerSource{batches: make(chan [][]any, 4), stop: make(chan struct{}), tags: map[string]int{}}
	tags := s.tags
	go func() {
		defer close(s.batches)
		seqs := map[string]int{}
		batch := make([][]any, 0, registerBatch)
		for {
			r, err := src.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					s.err = err
				}
				break
			}
			seqs[r.HouseholdID]++
			for _, t := range r.Tags {
				tags[t]++
			}
			batch = append(batch, sealRow(key, r, seqs[r.HouseholdID]))
			if len(batch) == registerBatch {
				select {
				case s.batches <- batch:
				case <-s.stop:
					return
				}
				batch = make([][]any, 0, registerBatch)
			}
		}
		if len(batch) > 0 {
			select {
			case s.batches <- batch:
			case <-s.stop:
			}
		}
	}()
	return s
}

// sealRow is a row of reg_in: the masks in the clear, the record sealed.
func sealRow(key *geo.RegisterKey, r geo.RegisterRow, seq int) []any {
	rec := geo.ResidentRecord{Name: r.Name, IDNumber: r.IDNumber, Phone: r.Phone, BirthDate: r.BirthDate}
	plain, _ := json.Marshal(rec)
	hash := key.HashID(r.IDNumber)
	tags := slices.Sorted(slices.Values(r.Tags))
	if tags == nil {
		tags = []string{}
	}
	digest := key.Digest(string(plain), r.HouseholdID, strconv.Itoa(seq), strings.Join(tags, ","))
	m := rec.Masked()
	var year *int
	if y, err := strconv.Atoi(m.BirthDate); err == nil {
		year = &y
	}
	return []any{r.Line, r.HouseholdID, r.BuildingID, r.Unit, r.Room, seq, hash, m.Name, m.IDNumber, m.Phone, year, tags, key.Seal(plain, hash), digest}
}

// finish stops the reader and waits for it: err and tags are then safe
// to read.
func (s *registerSource) finish() {
	s.once.Do(func() { close(s.stop) })
	for range s.batches {
	}
}

func (s *registerSource) Next() bool {
	if len(s.batch) == 0 {
		b, ok := <-s.batches
		if !ok {
			return false
		}
		s.batch = b
	}
	s.row, s.batch = s.batch[0], s.batch[1:]
	s.n++
	return true
}

func (s *registerSource) Values() ([]any, error) { return s.row, nil }

// Err is the reader's error; valid once Next said false.
func (s *registerSource) Err() error { return s.err }

var registerInColumns = []string{"line", "household_id", "building_id", "unit", "room", "seq", "id_hash", "name_mask", "id_mask",
	"phone_mask", "birth_year", "tags", "sealed", "digest"}

// LoadRegister replaces the register with the rows of src, sealed with
// key: all of them or, when any row is wrong (src's own checks, or a
// building the building set does not have), none, with every bad row in
// the report. The audit entry (counts only) is written in the same
// transaction.
func (db *DB) LoadRegister(ctx context.Context, key *geo.RegisterKey, meta geo.RegisterMeta, src geo.RegisterSource, audit *geo.AuditEntry) (rep geo.RegisterReport, err error) {
	start := time.Now()
	rep.Phases = map[string]float64{}
	mark := time.Now()
	phase := func(name string) {
		rep.Phases[name] = time.Since(mark).Seconds()
		mark = time.Now()
	}
	defer func() { rep.Seconds = time.Since(start).Seconds() }()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	// One register load at a time, and none while buildings change under it.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('gridd:register')), pg_advisory_xact_lock(hashtext('gridd:buildings'))`); err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "lock the register")
	}
	var version int
	var check, hash string
	err = tx.QueryRow(ctx, `SELECT version, key_check, file_hash FROM register_sets ORDER BY version DESC LIMIT 1`).Scan(&version, &check, &hash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "read the register")
	}
	if check != "" && check != key.Check() {
		return rep, geo.Errorf(geo.ECONFLICT, "the register is sealed with another key (check value %s, this key's %s): give the original with --register-key or GRIDD_REGISTER_KEY", check, key.Check())
	}
	if meta.FileHash != "" && hash == meta.FileHash {
		rep.Version, rep.Unchanged = version, true
		err := tx.QueryRow(ctx, `SELECT households, residents FROM register_sets WHERE version = $1`, version).Scan(&rep.Households, &rep.Residents)
		return rep, err
	}
	if _, err := tx.Exec(ctx, registerInSQL); err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "prepare the register load")
	}
	rs := startRegisterSource(src, key)
	defer rs.finish()
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"reg_in"}, registerInColumns, rs)
	rs.finish()
	rep.Tags = rs.tags
	if err != nil {
		if rs.err != nil {
			return rep, rs.err
		}
		return rep, geo.WrapError(geo.EINVALID, err, "%s: the register could not be stored", meta.FileName)
	}
	phase("read_seal_copy")
	if rs.err != nil {
		return rep, rs.err
	}
	errs, total := src.Errors()
	rows, err := tx.Query(ctx, registerUnknownBuildingsSQL, geo.MaxRowErrors)
	if err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "check the buildings")
	}
	unknown := 0
	var bad []geo.RowError
	for rows.Next() {
		var e geo.RowError
		var id string
		if err := rows.Scan(&e.Line, &id, &unknown); err != nil {
			return rep, err
		}
		e.Column, e.Message = src.Column("building_id"), fmt.Sprintf("building %q is not in the building set: import the buildings first, or correct the id", id)
		bad = append(bad, e)
	}
	if err := rows.Err(); err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "check the buildings")
	}
	if total+unknown > 0 {
		all := append(slices.Clone(errs), bad...)
		slices.SortStableFunc(all, func(a, b geo.RowError) int { return a.Line - b.Line })
		rep.Errors, rep.ErrorCount = all[:min(len(all), geo.MaxRowErrors)], total+unknown
		return rep, geo.RowErrors(meta.FileName, rep.Errors, rep.ErrorCount)
	}
	rep.Residents = rs.n
	if rs.n == 0 {
		return rep, geo.Errorf(geo.EINVALID, "%s has no residents: it needs a header line and a row per resident", meta.FileName)
	}
	if _, err := tx.Exec(ctx, registerHouseholdsSQL); err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "gather the households")
	}
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM hh_in`).Scan(&rep.Households); err != nil {
		return rep, err
	}
	if err := tx.QueryRow(ctx, registerDiffSQL).Scan(&rep.Added, &rep.Removed, &rep.Changed); err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "compare the register")
	}
	rep.Same = rep.Households - rep.Added - rep.Changed
	phase("check_compare")
	apply := registerApplySQL
	var empty bool
	if err := tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM residents) AND NOT EXISTS (SELECT 1 FROM households)`).Scan(&empty); err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "read the register")
	}
	if empty {
		apply = registerFirstSQL
	}
	for i, q := range apply {
		if _, err := tx.Exec(ctx, q); err != nil {
			return rep, geo.WrapError(geo.EUNAVAILABLE, err, "apply the register")
		}
		phase(fmt.Sprintf("apply_%d", i))
	}
	// The areas' residents follow the register (register_counts.go).
	if err := rollUpLive(ctx, tx); err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "count the areas' residents")
	}
	phase("counts")
	rep.Version = version + 1
	repJSON, _ := json.Marshal(rep)
	if _, err := tx.Exec(ctx, `INSERT INTO register_sets (version, file_name, file_hash, key_check, tags, households, residents, report, loaded_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, rep.Version, meta.FileName, meta.FileHash, key.Check(), meta.Tags,
		rep.Households, rep.Residents, repJSON, meta.By); err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "record the register load")
	}
	if audit != nil {
		audit.Action, audit.Target = "register.load", "register:"+strconv.Itoa(rep.Version)
		audit.After, _ = json.Marshal(map[string]any{"file": meta.FileName, "households": rep.Households, "residents": rep.Residents,
			"added": rep.Added, "removed": rep.Removed, "changed": rep.Changed})
		if err := writeAudit(ctx, tx, audit); err != nil {
			return rep, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "commit the register load")
	}
	return rep, nil
}
