package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// constraintError turns a violated foreign key or check into an EINVALID
// error naming what was wrong; other errors become EUNAVAILABLE.
func constraintError(err error, what string) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23503":
			return geo.WrapError(geo.EINVALID, err, "%s refers to something that does not exist (%s)", what, pe.ConstraintName)
		case "23514", "23502", "22P02":
			return geo.WrapError(geo.EINVALID, err, "%s breaks a rule of the table (%s)", what, pe.ConstraintName)
		case "23505":
			return geo.WrapError(geo.ECONFLICT, err, "%s already exists", what)
		}
	}
	return geo.WrapError(geo.EUNAVAILABLE, err, "%s", what)
}

// personSelect reads people with their responsibilities and duty.
const personSelect = `
SELECT p.id, p.name, p.phone, coalesce(p.dept_code, ''), p.active,
       coalesce((SELECT json_agg(json_build_object('code', a.area_code, 'role', a.role, 'post', a.post) ORDER BY a.area_code, a.role)
                 FROM assignments a WHERE a.person_id = p.id), '[]'),
       coalesce((SELECT json_agg(json_build_object('weekday', w.weekday, 'start', w.start_min, 'end', w.end_min) ORDER BY w.weekday, w.start_min)
                 FROM duty_windows w WHERE w.person_id = p.id), '[]')
FROM people p`

func scanPerson(row pgx.Row) (geo.Person, error) {
	var p geo.Person
	var resp, duty []byte
	if err := row.Scan(&p.ID, &p.Name, &p.Phone, &p.Dept, &p.Active, &resp, &duty); err != nil {
		return p, err
	}
	if err := json.Unmarshal(resp, &p.Responsibilities); err != nil {
		return p, err
	}
	var err error
	p.Duty, err = decodeDuty(duty)
	return p, err
}

// decodeDuty reads a person's on-duty windows as the queries aggregate
// them: a JSON array of {weekday, start, end}, minutes of the day.
func decodeDuty(b []byte) ([]geo.WeeklyWindow, error) {
	var ws []struct{ Weekday, Start, End int }
	if err := json.Unmarshal(b, &ws); err != nil {
		return nil, err
	}
	out := make([]geo.WeeklyWindow, 0, len(ws))
	for _, w := range ws {
		out = append(out, geo.WeeklyWindow{Weekday: w.Weekday, Start: geo.ClockTime(w.Start), End: geo.ClockTime(w.End)})
	}
	return out, nil
}

// Person returns one person.
func (db *DB) Person(ctx context.Context, id int64) (geo.Person, error) {
	p, err := scanPerson(db.Pool.QueryRow(ctx, personSelect+` WHERE p.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, geo.Errorf(geo.ENOTFOUND, "no person %d", id)
	}
	if err != nil {
		return p, geo.WrapError(geo.EUNAVAILABLE, err, "read person %d", id)
	}
	return p, nil
}

// People lists people, those responsible for area or anything under it
// when area is not "".
func (db *DB) People(ctx context.Context, area string) ([]geo.Person, error) {
	rows, err := db.Pool.Query(ctx, personSelect+`
		WHERE $1 = '' OR EXISTS (SELECT 1 FROM assignments a WHERE a.person_id = p.id AND a.area_code LIKE $1 || '%')
		ORDER BY p.id`, area)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "list people")
	}
	defer rows.Close()
	out := []geo.Person{}
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// SavePerson creates a person (id 0) or replaces one, with all their
// responsibilities and duty windows, in one transaction.
func (db *DB) SavePerson(ctx context.Context, p geo.Person) (geo.Person, error) {
	if err := p.Validate(); err != nil {
		return p, err
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return p, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	var dept *string
	if p.Dept != "" {
		dept = &p.Dept
	}
	if p.ID == 0 {
		err = tx.QueryRow(ctx, `INSERT INTO people (name, phone, dept_code, active) VALUES ($1, $2, $3, $4) RETURNING id`,
			p.Name, p.Phone, dept, p.Active).Scan(&p.ID)
	} else {
		var tag pgconn.CommandTag
		tag, err = tx.Exec(ctx, `UPDATE people SET name = $2, phone = $3, dept_code = $4, active = $5, updated_at = now() WHERE id = $1`,
			p.ID, p.Name, p.Phone, dept, p.Active)
		if err == nil && tag.RowsAffected() == 0 {
			return p, geo.Errorf(geo.ENOTFOUND, "no person %d", p.ID)
		}
		if err == nil {
			_, err = tx.Exec(ctx, `DELETE FROM assignments WHERE person_id = $1`, p.ID)
		}
		if err == nil {
			_, err = tx.Exec(ctx, `DELETE FROM duty_windows WHERE person_id = $1`, p.ID)
		}
	}
	if err != nil {
		return p, constraintError(err, fmt.Sprintf("person %q (department %q)", p.Name, p.Dept))
	}
	for _, r := range p.Responsibilities {
		if _, err := tx.Exec(ctx, `INSERT INTO assignments (person_id, area_code, role, post) VALUES ($1, $2, $3, $4)`,
			p.ID, r.Code, string(r.Role), r.Post); err != nil {
			return p, constraintError(err, fmt.Sprintf("responsibility %s at %s", r.Role, r.Code))
		}
	}
	for _, w := range p.Duty {
		if _, err := tx.Exec(ctx, `INSERT INTO duty_windows (person_id, weekday, start_min, end_min) VALUES ($1, $2, $3, $4)`,
			p.ID, w.Weekday, int(w.Start), int(w.End)); err != nil {
			return p, constraintError(err, "duty window")
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return p, geo.WrapError(geo.EUNAVAILABLE, err, "save person")
	}
	return db.Person(ctx, p.ID)
}

// ResponsibilityReview lists what a person must look at after generation
// gen (0: active) was made: responsibilities on grids that were split,
// merged into another grid or retired, responsibilities on codes the
// generation does not have, and grids new in it that nobody is
// responsible for. Kept and reshaped grids keep their code and with it
// their people, so they are not listed.
func (db *DB) ResponsibilityReview(ctx context.Context, generation int) ([]geo.ResponsibilityReview, error) {
	gen, err := db.resolveGeneration(ctx, generation)
	if err != nil {
		return nil, err
	}
	rows, err := db.Pool.Query(ctx, `
		WITH lin AS (
		    SELECT old_code, relation,
		           coalesce(array_agg(DISTINCT new_code) FILTER (WHERE new_code IS NOT NULL AND new_code <> old_code), '{}') AS new_codes
		    FROM lineage WHERE generation = $1 AND relation IN ('split', 'merged', 'retired') GROUP BY old_code, relation
		), staffed AS (
		    SELECT DISTINCT area_code FROM assignments
		), items AS (
		    SELECT l.relation AS kind, l.old_code AS code, l.new_codes FROM lin l JOIN staffed s ON s.area_code = l.old_code
		    UNION ALL
		    SELECT 'missing', s.area_code, '{}'::text[] FROM staffed s
		    WHERE NOT EXISTS (SELECT 1 FROM areas a WHERE a.generation = $1 AND a.code = s.area_code)
		      AND NOT EXISTS (SELECT 1 FROM lin WHERE lin.old_code = s.area_code)
		    UNION ALL
		    SELECT 'new', l.new_code, '{}'::text[] FROM lineage l
		    WHERE l.generation = $1 AND l.relation = 'new' AND l.from_generation IS NOT NULL
		      AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.area_code = l.new_code)
		)
		SELECT i.kind, i.code, i.new_codes,
		       coalesce(json_agg(DISTINCT jsonb_build_object('id', p.id, 'name', p.name, 'phone', p.phone)) FILTER (WHERE p.id IS NOT NULL), '[]')
		FROM items i LEFT JOIN assignments a ON a.area_code = i.code LEFT JOIN people p ON p.id = a.person_id
		GROUP BY i.kind, i.code, i.new_codes ORDER BY i.kind, i.code`, gen)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "review responsibilities")
	}
	defer rows.Close()
	out := []geo.ResponsibilityReview{}
	for rows.Next() {
		var r geo.ResponsibilityReview
		var people []byte
		if err := rows.Scan(&r.Kind, &r.Code, &r.NewCodes, &people); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(people, &r.People); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

const categorySelect = `
SELECT c.code, c.name, c.kind, c.class, c.dept_code, d.name, c.role, c.limit_value, c.limit_unit, c.verify, c.active
FROM categories c JOIN departments d ON d.code = c.dept_code`

func scanCategory(row pgx.Row) (geo.Category, error) {
	var c geo.Category
	err := row.Scan(&c.Code, &c.Name, &c.Kind, &c.Class, &c.Dept, &c.DeptName, &c.Role, &c.Limit.Value, &c.Limit.Unit, &c.Verify, &c.Active)
	return c, err
}

// Categories lists the catalogue; inactive categories only with all.
func (db *DB) Categories(ctx context.Context, all bool) ([]geo.Category, error) {
	rows, err := db.Pool.Query(ctx, categorySelect+` WHERE $1 OR c.active ORDER BY c.code`, all)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "list categories")
	}
	defer rows.Close()
	out := []geo.Category{}
	for rows.Next() {
		c, err := scanCategory(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Category returns one category.
func (db *DB) Category(ctx context.Context, code string) (geo.Category, error) {
	c, err := scanCategory(db.Pool.QueryRow(ctx, categorySelect+` WHERE c.code = $1`, code))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, geo.Errorf(geo.ENOTFOUND, "no category %q", code)
	}
	if err != nil {
		return c, geo.WrapError(geo.EUNAVAILABLE, err, "read category")
	}
	return c, nil
}

const upsertCategorySQL = `
INSERT INTO categories (code, name, kind, class, dept_code, role, limit_value, limit_unit, verify, active)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (code) DO UPDATE SET name = $2, kind = $3, class = $4, dept_code = $5, role = $6, limit_value = $7,
    limit_unit = $8, verify = $9, active = $10, updated_at = now()
RETURNING (xmax = 0)`

// SaveCategories creates or replaces categories, all or none, and returns
// how many were new. Cases keep the limit they were given.
func (db *DB) SaveCategories(ctx context.Context, cs []geo.Category) (created int, err error) {
	for i := range cs {
		if err := cs[i].Validate(); err != nil {
			return 0, err
		}
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return 0, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	for _, c := range cs {
		var isNew bool
		if err := tx.QueryRow(ctx, upsertCategorySQL, c.Code, c.Name, c.Kind, c.Class, c.Dept, string(c.Role),
			c.Limit.Value, c.Limit.Unit, c.Verify, c.Active).Scan(&isNew); err != nil {
			return 0, constraintError(err, fmt.Sprintf("category %s (department %q)", c.Code, c.Dept))
		}
		if isNew {
			created++
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, geo.WrapError(geo.EUNAVAILABLE, err, "save categories")
	}
	return created, nil
}

// Calendar returns the working calendar with every holiday.
func (db *DB) Calendar(ctx context.Context) (geo.Calendar, error) {
	c, err := scanCalendar(db.Pool.QueryRow(ctx, calendarSQL, "1900-01-08"))
	if err != nil {
		return geo.Calendar{}, err
	}
	if c.Holidays == nil {
		c.Holidays = []geo.Holiday{}
	}
	return *c, nil
}

// SaveCalendar replaces the working calendar. Open cases keep their
// deadlines.
func (db *DB) SaveCalendar(ctx context.Context, c geo.Calendar) error {
	if err := c.Validate(); err != nil {
		return err
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	for _, q := range []string{`DELETE FROM work_hours`, `DELETE FROM holidays`} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return geo.WrapError(geo.EUNAVAILABLE, err, "replace the calendar")
		}
	}
	for _, w := range c.Hours {
		if _, err := tx.Exec(ctx, `INSERT INTO work_hours (weekday, start_min, end_min) VALUES ($1, $2, $3)`, w.Weekday, int(w.Start), int(w.End)); err != nil {
			return constraintError(err, "working hours")
		}
	}
	for _, h := range c.Holidays {
		if _, err := tx.Exec(ctx, `INSERT INTO holidays (day, kind, name) VALUES ($1, $2, $3)`, h.Day, h.Kind, h.Name); err != nil {
			return constraintError(err, "holiday "+h.Day)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE calendar_settings SET day_minutes = $1`, c.DayMinutes); err != nil {
		return constraintError(err, "day_minutes")
	}
	if err := tx.Commit(ctx); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "replace the calendar")
	}
	return nil
}

// CreateWebhook stores a subscription; events from now on are queued for it.
func (db *DB) CreateWebhook(ctx context.Context, h geo.Webhook) (geo.Webhook, error) {
	if err := h.Validate(); err != nil {
		return h, err
	}
	if h.Actions == nil {
		h.Actions = []string{}
	}
	h.Active = true
	if err := db.Pool.QueryRow(ctx, `INSERT INTO webhooks (url, secret, actions) VALUES ($1, $2, $3) RETURNING id`,
		h.URL, h.Secret, h.Actions).Scan(&h.ID); err != nil {
		return h, constraintError(err, "webhook")
	}
	h.Secret = ""
	return h, nil
}

// Webhooks lists the subscriptions (without their secrets).
func (db *DB) Webhooks(ctx context.Context) ([]geo.Webhook, error) {
	rows, err := db.Pool.Query(ctx, `SELECT id, url, actions, active FROM webhooks ORDER BY id`)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "list webhooks")
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.Webhook, error) {
		var h geo.Webhook
		return h, r.Scan(&h.ID, &h.URL, &h.Actions, &h.Active)
	})
}

// DeleteWebhook removes a subscription and its queue.
func (db *DB) DeleteWebhook(ctx context.Context, id int64) error {
	tag, err := db.Pool.Exec(ctx, `DELETE FROM webhooks WHERE id = $1`, id)
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "delete webhook")
	}
	if tag.RowsAffected() == 0 {
		return geo.Errorf(geo.ENOTFOUND, "no webhook %d", id)
	}
	return nil
}

// ClaimDeliveries leases up to limit due webhook deliveries for lease: a
// replica that claims them has that long to deliver before another may
// try, so several replicas share the queue without locks held over HTTP
// calls (a delivery may, rarely, be sent twice; receivers dedupe on the
// event id).
func (db *DB) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]geo.Delivery, error) {
	rows, err := db.Pool.Query(ctx, `
		WITH due AS (
		    SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_at <= now()
		    ORDER BY next_at LIMIT $1 FOR UPDATE SKIP LOCKED
		), claimed AS (
		    UPDATE webhook_deliveries d SET next_at = now() + $2::interval FROM due WHERE d.id = due.id
		    RETURNING d.id, d.webhook_id, d.event_id, d.attempts
		)
		SELECT c.id, c.webhook_id, w.url, w.secret, c.attempts,
		       e.id, e.incident_id, e.action, e.from_state, e.to_state, e.version, e.actor, e.role, e.note, e.at,
		       coalesce(e.summons_id, 0), e.summons_state
		FROM claimed c JOIN webhooks w ON w.id = c.webhook_id JOIN incident_events e ON e.id = c.event_id
		ORDER BY e.id`, limit, lease.String())
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "claim webhook deliveries")
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.Delivery, error) {
		var d geo.Delivery
		e := &d.Event
		err := r.Scan(&d.ID, &d.Webhook, &d.URL, &d.Secret, &d.Attempts,
			&e.ID, &e.IncidentID, &e.Action, &e.FromState, &e.ToState, &e.Version, &e.Actor, &e.Role, &e.Note, &e.At,
			&e.SummonsID, &e.SummonsState)
		return d, err
	})
}

// FinishDelivery records the outcome of a delivery attempt: delivered, to
// be retried at retryAt, or (retryAt zero) failed for good.
func (db *DB) FinishDelivery(ctx context.Context, id int64, delivered bool, status int, msg string, retryAt time.Time) error {
	state := "pending"
	switch {
	case delivered:
		state = "delivered"
	case retryAt.IsZero():
		state = "failed"
	}
	var next *time.Time
	if state == "pending" {
		next = &retryAt
	}
	_, err := db.Pool.Exec(ctx, `
		UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1, last_status = nullif($3, 0), last_error = $4,
		    next_at = coalesce($5, next_at), delivered_at = CASE WHEN $2 = 'delivered' THEN now() END
		WHERE id = $1`, id, state, status, msg, next)
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "record webhook delivery")
	}
	return nil
}
