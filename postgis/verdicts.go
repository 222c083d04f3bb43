package postgis

import (
	"context"
	"crypto/rand"
	"errors"
	"strconv"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// SetVerdictPolicy stores how long after closure a verdict is accepted.
func (db *DB) SetVerdictPolicy(ctx context.Context, p geo.VerdictPolicy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE verdict_settings SET within_s = $1`, int(p.Within/time.Second)); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "store the verdict window")
	}
	return nil
}

// verdictSettings returns the verdict window and the link key. The key is
// drawn on first use only (the first replica to need it wins; the others
// read it): the citizen's page is public, so reading it must not write.
func verdictSettings(ctx context.Context, q querier) (time.Duration, []byte, error) {
	var within int
	var secret []byte
	if err := q.QueryRow(ctx, `SELECT within_s, link_secret FROM verdict_settings`).Scan(&within, &secret); err != nil {
		return 0, nil, geo.WrapError(geo.EUNAVAILABLE, err, "read the verdict settings")
	}
	if secret == nil {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return 0, nil, geo.WrapError(geo.EINTERNAL, err, "draw the verdict link key")
		}
		if err := q.QueryRow(ctx, `UPDATE verdict_settings SET link_secret = coalesce(link_secret, $1) RETURNING link_secret`, key).
			Scan(&secret); err != nil {
			return 0, nil, geo.WrapError(geo.EUNAVAILABLE, err, "store the verdict link key")
		}
	}
	return time.Duration(within) * time.Second, secret, nil
}

// VerdictLink signs a link by which the reporter of case id gives a
// verdict: for a closed case reported through a citizen's channel, valid
// until the verdict window after its closure ends. The channel that took
// the report (hotline, app) hands it on; no account is needed to use it.
func (db *DB) VerdictLink(ctx context.Context, id int64) (geo.VerdictLink, error) {
	within, secret, err := verdictSettings(ctx, db.Pool)
	if err != nil {
		return geo.VerdictLink{}, err
	}
	inc, err := db.Incident(ctx, id)
	if err != nil {
		return geo.VerdictLink{}, err
	}
	if err := judgeable(inc, geo.CitizenSource(inc.Source), within, time.Now()); err != nil {
		return geo.VerdictLink{}, err
	}
	exp := inc.ClosedAt.Add(within).Truncate(time.Second)
	return geo.VerdictLink{Link: geo.SignVerdictLink(secret, id, exp), ExpiresAt: exp}, nil
}

// judgeable says why case inc cannot be judged now, nil when it can;
// citizen: a citizen reported it (itself, or a report merged into it).
func judgeable(inc geo.Incident, citizen bool, within time.Duration, now time.Time) error {
	switch {
	case !citizen:
		return geo.Errorf(geo.ECONFLICT, "incident %d was reported by staff (%s): only cases reported through a citizen's channel get a verdict", inc.ID, inc.Source)
	case inc.State != geo.StateClosed || inc.ClosedAt == nil:
		return geo.Errorf(geo.ECONFLICT, "incident %d is %s, not closed: a verdict comes after 结案", inc.ID, inc.State)
	case !now.Before(inc.ClosedAt.Add(within)):
		span := within.String()
		if within%(24*time.Hour) == 0 {
			span = strconv.Itoa(int(within/(24*time.Hour))) + " days"
		}
		return geo.Errorf(geo.EEXPIRED, "incident %d was closed at %s: verdicts are taken for %s after closure", inc.ID,
			inc.ClosedAt.In(geo.ChinaTime).Format("2006-01-02 15:04"), span)
	}
	return nil
}

// VerdictCase returns the case a verdict request names (the survivor when
// its case was merged into another), without recording anything: what
// the citizen's page shows before they judge.
func (db *DB) VerdictCase(ctx context.Context, req geo.VerdictRequest) (geo.Incident, error) {
	req.Satisfied = true // what the page shows does not depend on it
	if err := req.Validate(); err != nil {
		return geo.Incident{}, err
	}
	_, secret, err := verdictSettings(ctx, db.Pool)
	if err != nil {
		return geo.Incident{}, err
	}
	named, id, err := db.verdictTarget(ctx, req, secret)
	if err != nil || id == named.ID {
		return named, err
	}
	return db.Incident(ctx, id)
}

// verdictTarget resolves the case a request names, by token or link, and
// the id of the case its reporter follows along merges (its own when it
// was never merged). A citizen's report merged into a worker's case still
// has its citizen: the named case's source says who may judge.
func (db *DB) verdictTarget(ctx context.Context, req geo.VerdictRequest, secret []byte) (named geo.Incident, survivor int64, err error) {
	if req.Link != "" {
		lid, _, err := geo.ParseVerdictLink(secret, req.Link, time.Now())
		if err != nil {
			return named, 0, err
		}
		if named, err = db.Incident(ctx, lid); err != nil {
			return named, 0, err
		}
	} else if named, err = db.IncidentByToken(ctx, req.Token); err != nil {
		return named, 0, err
	}
	survivor, err = db.Survivor(ctx, named.ID)
	return named, survivor, err
}

// RecordVerdict stores the reporter's verdict on a closed case, once, and
// records it in the case's history (action "verdict", so SSE and webhooks
// carry it). A dissatisfied verdict reopens the case for rework once (返工,
// counted like a failed verification): back to its assignee, with a new
// deadline from now by its category's time limit, the comment in the
// history. All in one transaction; a second verdict, a late one, or one on
// a case that is not closed changes nothing.
func (db *DB) RecordVerdict(ctx context.Context, req geo.VerdictRequest) (geo.Verdict, geo.Incident, error) {
	if err := req.Validate(); err != nil {
		return geo.Verdict{}, geo.Incident{}, err
	}
	within, secret, err := verdictSettings(ctx, db.Pool)
	if err != nil {
		return geo.Verdict{}, geo.Incident{}, err
	}
	named, id, err := db.verdictTarget(ctx, req, secret)
	if err != nil {
		return geo.Verdict{}, geo.Incident{}, err
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.Verdict{}, geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	r, err := getIncident(ctx, tx, "WHERE i.id = $1 FOR UPDATE OF i", id)
	if err != nil {
		return geo.Verdict{}, geo.Incident{}, err
	}
	in := r.Incident
	var now time.Time
	var judged bool
	if err := tx.QueryRow(ctx, `SELECT now(), EXISTS (SELECT FROM verdicts WHERE incident_id = $1)`, id).Scan(&now, &judged); err != nil {
		return geo.Verdict{}, geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "read the verdict of incident %d", id)
	}
	if judged {
		return geo.Verdict{}, geo.Incident{}, geo.Errorf(geo.ECONFLICT, "incident %d has its verdict already: one verdict per case", id)
	}
	if err := judgeable(in, geo.CitizenSource(in.Source) || geo.CitizenSource(named.Source), within, now); err != nil {
		return geo.Verdict{}, geo.Incident{}, err
	}
	v := geo.Verdict{IncidentID: id, Satisfied: req.Satisfied, Comment: req.Comment, Channel: "token", At: now,
		Reopened: !req.Satisfied} // only a verdict reopens, and a case has one
	if req.Link != "" {
		v.Channel = "link"
	}
	if _, err := tx.Exec(ctx, `INSERT INTO verdicts (incident_id, satisfied, comment, channel, reopened, at) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, v.Satisfied, v.Comment, v.Channel, v.Reopened, now); err != nil {
		return geo.Verdict{}, geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "store the verdict of incident %d", id)
	}
	word := "满意 satisfied"
	if !v.Satisfied {
		word = "不满意 not satisfied"
	}
	note := word
	if v.Comment != "" {
		note += ": " + v.Comment
	}
	const event = `INSERT INTO incident_events (incident_id, action, from_state, to_state, version, actor, role, note, at)
		VALUES ($1, $2, $3, $4, $5, 'reporter', '', $6, $7)`
	if _, err := tx.Exec(ctx, event, id, string(geo.ActVerdict), string(in.State), string(in.State), in.Version, note, now); err != nil {
		return geo.Verdict{}, geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "record the verdict of incident %d", id)
	}
	if v.Reopened {
		cal, err := scanCalendar(tx.QueryRow(ctx, calendarSQL, now.In(geo.ChinaTime).Format(time.DateOnly)))
		if err != nil {
			return geo.Verdict{}, geo.Incident{}, err
		}
		warn, deadline, err := cal.Deadline(now, in.Limit, warnShare)
		if err != nil {
			return geo.Verdict{}, geo.Incident{}, err
		}
		var aID *int64
		var aRole, aLevel, aCode string
		if a := in.Assignee; a != nil {
			aID, aRole, aLevel, aCode = &a.ID, string(a.Role), string(a.Level), a.Code
		}
		if _, err := tx.Exec(ctx, updateIncidentSQL, id, string(geo.StateDispatched), now, aID, aRole, aLevel, aCode, in.AssignReason,
			nil, nil, in.ReworkCount+1, 0.0, warn, deadline, "", in.Version); err != nil {
			return geo.Verdict{}, geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "reopen incident %d", id)
		}
		if _, err := tx.Exec(ctx, event, id, string(geo.ActReopen), string(in.State), string(geo.StateDispatched), in.Version+1,
			"群众不满意，返工: "+v.Comment, now); err != nil {
			return geo.Verdict{}, geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "record the reopening of incident %d", id)
		}
	}
	out, err := getIncident(ctx, tx, "WHERE i.id = $1", id)
	if err != nil {
		return geo.Verdict{}, geo.Incident{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return geo.Verdict{}, geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "commit the verdict of incident %d", id)
	}
	return v, out.Incident, nil
}

// IncidentVerdict returns a case's verdict; ENOTFOUND when it has none.
func (db *DB) IncidentVerdict(ctx context.Context, id int64) (geo.Verdict, error) {
	v := geo.Verdict{IncidentID: id}
	err := db.Pool.QueryRow(ctx, `SELECT satisfied, comment, channel, reopened, at FROM verdicts WHERE incident_id = $1`, id).
		Scan(&v.Satisfied, &v.Comment, &v.Channel, &v.Reopened, &v.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, geo.Errorf(geo.ENOTFOUND, "incident %d has no verdict", id)
	}
	if err != nil {
		return v, geo.WrapError(geo.EUNAVAILABLE, err, "read the verdict of incident %d", id)
	}
	return v, nil
}
