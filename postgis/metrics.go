package postgis

import (
	"context"
	"fmt"
	"time"

	"github.com/gridd/gridd/geo"
)

// metricsSQL counts the cases reported in an area and period. %[1]s is the
// column grouped by, %[2]s the column the area is matched on, both from
// areaColumns. A case counts as closed on time (按期结案) when it was
// closed and its (last) handling came by its deadline, extensions
// included; overdue when it was handled after its deadline or is still
// unhandled past it (cancelled and suspended cases aside); reworked (返工)
// when verification or the reporter's verdict sent it back at least
// once. Verdicts (群众签单) count on cases reported through a citizen's
// channel ($5, geo.CitizenSource); staff reports are counted apart, as
// the received total minus the citizens'. A case merged into
// another as a duplicate is not counted: the problem counts once.
const metricsSQL = `
SELECT %[1]s, count(*)::int,
       (count(*) FILTER (WHERE i.state = 'closed'))::int,
       (count(*) FILTER (WHERE i.state = 'closed' AND i.handled_at <= i.deadline_at))::int,
       (count(*) FILTER (WHERE i.state NOT IN ('cancelled', 'suspended') AND coalesce(i.handled_at, $4) > i.deadline_at))::int,
       (count(*) FILTER (WHERE i.handled_at IS NOT NULL OR i.rework_count > 0))::int,
       (count(*) FILTER (WHERE i.rework_count > 0))::int,
       coalesce(avg(extract(epoch FROM i.closed_at - i.created_at)) FILTER (WHERE i.state = 'closed'), 0)::float8 / 3600,
       (count(*) FILTER (WHERE i.source = ANY ($5)))::int,
       (count(v.incident_id) FILTER (WHERE i.source = ANY ($5)))::int,
       (count(*) FILTER (WHERE i.source = ANY ($5) AND v.satisfied))::int,
       (count(*) FILTER (WHERE v.reopened))::int
FROM incidents i
LEFT JOIN verdicts v ON v.incident_id = i.id
WHERE %[2]s = $1 AND i.created_at >= $2 AND i.created_at < $3 AND i.merged_into IS NULL -- a merged duplicate counts in its survivor
GROUP BY 1 ORDER BY 1`

// Metrics returns the assessment figures of an area (a district, street,
// community or grid code) for cases reported in [From, To), for the area
// itself or broken down by the areas of level By below it.
func (db *DB) Metrics(ctx context.Context, q geo.MetricsQuery) ([]geo.Metrics, error) {
	level, err := geo.LevelOfCode(q.Area)
	if err != nil {
		return nil, err
	}
	group := areaColumns[level]
	out := q.By
	if q.By != "" {
		if q.By.CodeLen() <= level.CodeLen() {
			return nil, geo.Errorf(geo.EINVALID, "break %s %s down by a lower level than %s", level, q.Area, q.By)
		}
		group = areaColumns[q.By]
	} else {
		out = level
	}
	if q.To.IsZero() {
		q.To = time.Now().Add(time.Hour)
	}
	if q.Now.IsZero() {
		q.Now = time.Now()
	}
	if !q.From.Before(q.To) {
		return nil, geo.Errorf(geo.EINVALID, "the period from %s to %s is empty", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	rows, err := db.queryReads(ctx, fmt.Sprintf(metricsSQL, group, areaColumns[level]), q.Area, q.From, q.To, q.Now, geo.CitizenSources())
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "metrics")
	}
	defer rows.Close()
	res := []geo.Metrics{}
	for rows.Next() {
		m := geo.Metrics{Level: out}
		if err := rows.Scan(&m.Area, &m.Received, &m.Closed, &m.ClosedOnTime, &m.Overdue, &m.Handled, &m.Reworked, &m.MeanHandlingH,
			&m.CitizenReported, &m.Verdicts, &m.Satisfied, &m.ReopenedByCitizen); err != nil {
			return nil, err
		}
		if m.Closed > 0 {
			m.OnTimeRate = float64(m.ClosedOnTime) / float64(m.Closed)
		}
		if m.Handled > 0 {
			m.ReworkRate = float64(m.Reworked) / float64(m.Handled)
		}
		if m.Verdicts > 0 {
			m.SatisfactionRate = float64(m.Satisfied) / float64(m.Verdicts)
		}
		m.StaffReported = m.Received - m.CitizenReported
		res = append(res, m)
	}
	if err := rows.Err(); err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "metrics")
	}
	if len(res) == 0 && q.By == "" {
		res = append(res, geo.Metrics{Area: q.Area, Level: level})
	}
	return res, nil
}
