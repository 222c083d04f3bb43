package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// Reading the register: listings read only the masked columns (a listing
// cannot leak what it never selects); a reveal opens one sealed record and
// writes its audit entry in the same transaction, so that no reveal goes
// unrecorded.

// householdsSQL pages the households of area $2 (a code prefix) in
// generation $1, with tag $3 (” any), by grid and address; $4 limit, $5
// offset. Members come masked.
const householdsSQL = `
SELECT h.id, h.building_id, coalesce(b.address, ''), h.unit, h.room, bg.grid_code, h.tags,
       (SELECT json_agg(json_build_object('id', r.id, 'household_id', r.household_id, 'seq', r.seq, 'tags', r.tags,
                'name', r.name_mask, 'id_number', r.id_mask, 'phone', nullif(r.phone_mask, ''), 'birth_date', r.birth_year::text) ORDER BY r.seq)
        FROM residents r WHERE r.household_id = h.id)::text,
       count(*) OVER ()
FROM building_grid bg
JOIN households h ON h.building_id = bg.building_id
LEFT JOIN buildings b ON b.id = h.building_id
WHERE bg.generation = $1 AND ($2 = '' OR (bg.grid_code >= $2 AND bg.grid_code <= $2 || '999999999'))
  AND ($3 = '' OR h.tags @> ARRAY[$3])
ORDER BY bg.grid_code, h.building_id, h.unit, h.room, h.id
LIMIT $4 OFFSET $5`

// RegisterStatus says what the register holds.
func (db *DB) RegisterStatus(ctx context.Context) (geo.RegisterStatus, error) {
	st := geo.RegisterStatus{Catalogue: geo.DefaultResidentTags()}
	err := db.Pool.QueryRow(ctx, `SELECT version, file_name, created_at, households, residents, tags FROM register_sets ORDER BY version DESC LIMIT 1`).
		Scan(&st.Version, &st.FileName, &st.LoadedAt, &st.Households, &st.Residents, &st.Catalogue)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return st, nil
	case err != nil:
		return st, geo.WrapError(geo.EUNAVAILABLE, err, "read the register")
	}
	st.Loaded = true
	// Deletions since the load count too.
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM households), (SELECT count(*) FROM residents)`).Scan(&st.Households, &st.Residents); err != nil {
		return st, geo.WrapError(geo.EUNAVAILABLE, err, "count the register")
	}
	return st, nil
}

// Households pages through the households of an area, masked.
func (db *DB) Households(ctx context.Context, q geo.HouseholdQuery) (geo.HouseholdPage, error) {
	page := geo.HouseholdPage{Households: []geo.Household{}}
	gen, err := db.resolveGeneration(ctx, q.Generation)
	if err != nil {
		return page, err
	}
	rows, err := db.Pool.Query(ctx, householdsSQL, gen, q.Area, q.Tag, q.Limit, q.Offset)
	if err != nil {
		return page, geo.WrapError(geo.EUNAVAILABLE, err, "households")
	}
	defer rows.Close()
	for rows.Next() {
		var h geo.Household
		var members *string
		if err := rows.Scan(&h.ID, &h.BuildingID, &h.Address, &h.Unit, &h.Room, &h.Grid, &h.Tags, &members, &page.Matched); err != nil {
			return page, geo.WrapError(geo.EUNAVAILABLE, err, "households")
		}
		h.Members = []geo.Resident{}
		if members != nil {
			if err := json.Unmarshal([]byte(*members), &h.Members); err != nil {
				return page, geo.WrapError(geo.EINTERNAL, err, "household %s", h.ID)
			}
		}
		page.Households = append(page.Households, h)
	}
	if err := rows.Err(); err != nil {
		return page, geo.WrapError(geo.EUNAVAILABLE, err, "households")
	}
	return page, nil
}

// residentSQL reads one resident with its household's grid in the active
// generation (” when its building lies in none).
const residentSQL = `
SELECT r.id, r.household_id, r.seq, r.tags, r.name_mask, r.id_mask, r.phone_mask, coalesce(r.birth_year::text, ''),
       r.id_hash, r.sealed, coalesce(bg.grid_code, '')
FROM residents r JOIN households h ON h.id = r.household_id
LEFT JOIN building_grid bg ON bg.building_id = h.building_id AND bg.generation = (SELECT id FROM generations WHERE state = 'active')
WHERE `

// residentRow is a resident as stored, with what a reveal needs.
type residentRow struct {
	geo.Resident
	hash, sealed []byte
	grid         string
}

func scanResident(row pgx.Row) (residentRow, error) {
	var r residentRow
	err := row.Scan(&r.ID, &r.HouseholdID, &r.Seq, &r.Tags, &r.Name, &r.IDNumber, &r.Phone, &r.BirthDate, &r.hash, &r.sealed, &r.grid)
	return r, err
}

// inScope refuses a resident whose household lies outside a scope (a
// household outside every grid is only in the unlimited scope).
func (r residentRow) inScope(scope string) error {
	if !geo.InScope(scope, r.grid) {
		return geo.Errorf(geo.EFORBIDDEN, "resident %d lives outside your scope %s", r.ID, scope)
	}
	return nil
}

// RevealResident opens one resident's record for a principal whose role
// and scope cover it, with a reason; the audit entry (who, whom, why —
// never the data) is written in the same transaction.
func (db *DB) RevealResident(ctx context.Context, key *geo.RegisterKey, id int64, p geo.Principal, reason string, audit *geo.AuditEntry) (geo.Resident, error) {
	if err := geo.MayReveal(p); err != nil {
		return geo.Resident{}, err
	}
	reason, err := geo.CheckReason(reason)
	if err != nil {
		return geo.Resident{}, err
	}
	if key == nil {
		return geo.Resident{}, geo.Errorf(geo.EUNAVAILABLE, "this server has no register key: start it with --register-key or GRIDD_REGISTER_KEY")
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.Resident{}, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	r, err := scanResident(tx.QueryRow(ctx, residentSQL+`r.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return geo.Resident{}, geo.Errorf(geo.ENOTFOUND, "no resident %d", id)
	} else if err != nil {
		return geo.Resident{}, geo.WrapError(geo.EUNAVAILABLE, err, "read resident %d", id)
	}
	if err := r.inScope(p.Scope); err != nil {
		return geo.Resident{}, err
	}
	plain, err := key.Open(r.sealed, r.hash)
	if err != nil {
		return geo.Resident{}, err
	}
	out := r.Resident
	if err := json.Unmarshal(plain, &out.ResidentRecord); err != nil {
		return geo.Resident{}, geo.WrapError(geo.EINTERNAL, err, "resident %d", id)
	}
	out.Revealed = true
	if audit == nil {
		audit = &geo.AuditEntry{ActorKind: p.Kind, ActorID: p.ID, ActorName: p.Actor(), Credential: p.Credential}
	}
	audit.Action, audit.Target = "resident.reveal", "resident:"+strconv.FormatInt(id, 10)
	audit.After, _ = json.Marshal(map[string]any{"reason": reason, "household": r.HouseholdID, "grid": r.grid, "masked_name": r.Name})
	if err := writeAudit(ctx, tx, audit); err != nil {
		return geo.Resident{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return geo.Resident{}, geo.WrapError(geo.EUNAVAILABLE, err, "commit the reveal")
	}
	return out, nil
}

// FindResident finds a resident by ID number (through its keyed hash),
// masked, if the household lies in scope.
func (db *DB) FindResident(ctx context.Context, key *geo.RegisterKey, idNumber, scope string) (geo.Resident, error) {
	if key == nil {
		return geo.Resident{}, geo.Errorf(geo.EUNAVAILABLE, "this server has no register key: start it with --register-key or GRIDD_REGISTER_KEY")
	}
	r, err := scanResident(db.Pool.QueryRow(ctx, residentSQL+`r.id_hash = $1`, key.HashID(idNumber)))
	if errors.Is(err, pgx.ErrNoRows) {
		return geo.Resident{}, geo.Errorf(geo.ENOTFOUND, "nobody with that ID number is in the register")
	} else if err != nil {
		return geo.Resident{}, geo.WrapError(geo.EUNAVAILABLE, err, "find a resident")
	}
	if err := r.inScope(scope); err != nil {
		return geo.Resident{}, geo.Errorf(geo.ENOTFOUND, "nobody with that ID number is in the register within your scope")
	}
	return r.Resident, nil
}

// DeleteResident deletes a resident's personal data (the row, and the
// household when it was the last member); the audit trail of reveals
// stays, naming the resident by id and masked name only.
func (db *DB) DeleteResident(ctx context.Context, id int64, scope string, audit *geo.AuditEntry) error {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	r, err := scanResident(tx.QueryRow(ctx, residentSQL+`r.id = $1 FOR UPDATE OF r`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return geo.Errorf(geo.ENOTFOUND, "no resident %d", id)
	} else if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "read resident %d", id)
	}
	if err := r.inScope(scope); err != nil {
		return err
	}
	var building string
	if err := tx.QueryRow(ctx, `SELECT building_id FROM households WHERE id = $1`, r.HouseholdID).Scan(&building); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "read the household of resident %d", id)
	}
	before, err := buildingResidents(ctx, tx, building)
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "count the residents of building %s", building)
	}
	for _, st := range []struct {
		sql string
		arg any
	}{
		{`DELETE FROM residents WHERE id = $1`, id},
		{`UPDATE households h SET members = members - 1,
		      tags = ARRAY(SELECT DISTINCT t FROM residents r, unnest(r.tags) t WHERE r.household_id = h.id ORDER BY 1)
		  WHERE id = $1`, r.HouseholdID},
		{`DELETE FROM households WHERE id = $1 AND members <= 0`, r.HouseholdID},
	} {
		if _, err := tx.Exec(ctx, st.sql, st.arg); err != nil {
			return geo.WrapError(geo.EUNAVAILABLE, err, "delete resident %d", id)
		}
	}
	if err := shiftResidents(ctx, tx, building, before); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "count the residents of building %s", building)
	}
	if audit != nil {
		audit.Action, audit.Target = "resident.delete", "resident:"+strconv.FormatInt(id, 10)
		audit.After, _ = json.Marshal(map[string]any{"household": r.HouseholdID, "masked_name": r.Name})
		if err := writeAudit(ctx, tx, audit); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "commit the deletion")
	}
	return nil
}

// Register is the register as a server offers it: the store with the key
// its records are sealed with (nil: listings work, reveals and exports
// answer that the key is missing).
type Register struct {
	DB  *DB
	Key *geo.RegisterKey
}

// Status says what the register holds.
func (r Register) Status(ctx context.Context) (geo.RegisterStatus, error) {
	return r.DB.RegisterStatus(ctx)
}

// Households pages through an area's households, masked.
func (r Register) Households(ctx context.Context, q geo.HouseholdQuery) (geo.HouseholdPage, error) {
	return r.DB.Households(ctx, q)
}

// Reveal opens one resident's record, audited.
func (r Register) Reveal(ctx context.Context, id int64, p geo.Principal, reason string, audit *geo.AuditEntry) (geo.Resident, error) {
	return r.DB.RevealResident(ctx, r.Key, id, p, reason, audit)
}

// Find finds a resident by ID number within a scope, masked.
func (r Register) Find(ctx context.Context, idNumber, scope string) (geo.Resident, error) {
	return r.DB.FindResident(ctx, r.Key, idNumber, scope)
}

// Delete deletes a resident's personal data, audited.
func (r Register) Delete(ctx context.Context, id int64, scope string, audit *geo.AuditEntry) error {
	return r.DB.DeleteResident(ctx, id, scope, audit)
}

// RequestExport, Exports, DecideExport and Export are 分级审批's steps.
func (r Register) RequestExport(ctx context.Context, p geo.Principal, area, reason string, audit *geo.AuditEntry) (geo.RegisterExport, error) {
	return r.DB.RequestExport(ctx, p, area, reason, audit)
}

func (r Register) Exports(ctx context.Context, p geo.Principal) ([]geo.RegisterExport, error) {
	return r.DB.RegisterExports(ctx, p)
}

func (r Register) DecideExport(ctx context.Context, id int64, p geo.Principal, approve bool, note string, ttl time.Duration, audit *geo.AuditEntry) (geo.RegisterExport, error) {
	return r.DB.DecideExport(ctx, id, p, approve, note, ttl, audit)
}

func (r Register) Export(ctx context.Context, id int64, p geo.Principal, w io.Writer, audit *geo.AuditEntry) (int, error) {
	return r.DB.ExportRegister(ctx, r.Key, id, p, w, audit)
}
