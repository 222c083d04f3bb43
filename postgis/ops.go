package postgis

import (
	"context"
	"time"

	"github.com/gridd/gridd/geo"
)

// opsFiguresSQL reads, in one round trip, the shared work that monitoring
// watches: the oldest case past its deadline that no scheduler pass has
// flagged yet (a stalled or absent scheduler shows as a growing lag) and
// the webhook queue. $1: the clock states.
const opsFiguresSQL = `
SELECT
    coalesce((SELECT extract(epoch FROM now() - min(deadline_at))
              FROM incidents WHERE state = ANY ($1) AND alert <> 'overdue' AND deadline_at <= now()), 0)::float8,
    (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'),
    (SELECT count(*) FROM webhook_deliveries WHERE state = 'failed'),
    coalesce((SELECT extract(epoch FROM now() - min(e.at))
              FROM webhook_deliveries d JOIN incident_events e ON e.id = d.event_id WHERE d.state = 'pending'), 0)::float8`

// OpsFigures reports the pool of this process and the shared queues, for
// /metrics. The pool's figures are filled even when the query fails.
func (db *DB) OpsFigures(ctx context.Context) (geo.OpsFigures, error) {
	st := db.Pool.Stat()
	f := geo.OpsFigures{
		PoolAcquired: st.AcquiredConns(), PoolIdle: st.IdleConns(), PoolConstructing: st.ConstructingConns(), PoolMax: st.MaxConns(),
		PoolAcquires: st.AcquireCount(), PoolAcquireWait: st.AcquireDuration(),
	}
	rs := db.ReadStats()
	f.StandbyConfigured, f.StandbyUsable, f.StandbyReads, f.PrimaryReads = rs.Configured, rs.Usable, rs.Standby, rs.Primary
	var lag, oldest float64
	if err := db.Pool.QueryRow(ctx, opsFiguresSQL, clockStates()).Scan(&lag, &f.WebhooksPending, &f.WebhooksFailed, &oldest); err != nil {
		return f, geo.WrapError(geo.EUNAVAILABLE, err, "read the figures for /metrics")
	}
	f.SchedulerLag = time.Duration(lag * float64(time.Second))
	f.WebhookOldest = time.Duration(oldest * float64(time.Second))
	return f, nil
}
