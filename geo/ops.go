package geo

import "time"

// OpsFigures are what an operator's monitoring reads from the database:
// this process's connection pool and the work shared by all replicas
// (the deadline scheduler, the webhook queue).
type OpsFigures struct {
	PoolAcquired, PoolIdle, PoolConstructing, PoolMax int32
	PoolAcquires                                      int64
	PoolAcquireWait                                   time.Duration

	SchedulerLag                    time.Duration // oldest case past its deadline not yet flagged overdue
	WebhooksPending, WebhooksFailed int64
	WebhookOldest                   time.Duration // age of the oldest pending delivery

	// The standby for heavy reads (serve --db-read), when there is one.
	StandbyConfigured, StandbyUsable bool
	StandbyReads, PrimaryReads       int64 // heavy reads sent to each
}
