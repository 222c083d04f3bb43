package postgis

import (
	"context"
	"log/slog"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ReadConfig is a streaming standby for the heavy reads (serve --db-read).
type ReadConfig struct {
	URL    string
	MaxLag time.Duration // behind the primary by more than this: reads go to the primary (0: 5 s)
	Every  time.Duration // how often the standby is checked (0: 1 s)
	Logger *slog.Logger
}

// readPool is the standby and what the last check found.
type readPool struct {
	pool   *pgxpool.Pool
	cfg    ReadConfig
	usable atomic.Bool
	why    atomic.Value                          // string: why it is not used, for the log and tests
	built  atomic.Pointer[map[tileBuildKey]bool] // tile builds the standby has replayed
	active atomic.Int64                          // the generation active on both at the last check
	// Counters of where heavy reads went.
	standbyReads, primaryReads atomic.Int64
}

// ReadStats says where the heavy reads went.
type ReadStats struct {
	Configured       bool
	Usable           bool
	Why              string // when not usable
	Standby, Primary int64
}

// standbyCheckSQL asks the standby whether it is one, how far its replay
// is from what it received, when it last replayed, and which generation
// it has active: a standby that has not replayed the primary's latest
// activation must not serve tiles of the previous one.
const standbyCheckSQL = `
SELECT pg_is_in_recovery(),
       coalesce(pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), true),
       coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)::float8,
       coalesce((SELECT id FROM generations WHERE state = 'active'), 0)`

// primaryCheckSQL is what the standby is compared with.
const primaryCheckSQL = `SELECT coalesce((SELECT id FROM generations WHERE state = 'active'), 0), pg_current_wal_lsn()::text`

// standbyLSNSQL is how much of the primary's WAL position the standby
// has replayed ($1: the primary's LSN).
const standbyLSNSQL = `SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)`

// AttachReader opens the standby and keeps checking it until ctx ends.
// Reads of tiles, OGC features, exports and metrics go to it while it is
// a standby that answers, has the primary's active generation and is
// not more than MaxLag behind; otherwise to the primary.
func (db *DB) AttachReader(ctx context.Context, cfg ReadConfig) error {
	if cfg.MaxLag == 0 {
		cfg.MaxLag = 5 * time.Second
	}
	if cfg.Every == 0 {
		cfg.Every = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return geo.Errorf(geo.EINVALID, "bad --db-read URL: %s (expected postgres://user:password@standby:5432/dbname)", cleanParseError(err))
	}
	pcfg.ConnConfig.ConnectTimeout = 2 * time.Second
	pcfg.PingTimeout = time.Second
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return geo.WrapError(geo.EINVALID, err, "bad --db-read URL")
	}
	rp := &readPool{pool: pool, cfg: cfg}
	rp.why.Store("not checked yet")
	db.read = rp
	db.checkReader(ctx)
	go func() {
		t := time.NewTicker(cfg.Every)
		defer t.Stop()
		defer pool.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				db.checkReader(ctx)
			}
		}
	}()
	return nil
}

// checkReader decides whether the standby may serve reads now.
func (db *DB) checkReader(ctx context.Context) {
	rp := db.read
	why := func() string {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		var inRecovery, caughtUp bool
		var replayAge float64
		var standbyGen, primaryGen int
		var primaryLSN string
		if err := rp.pool.QueryRow(cctx, standbyCheckSQL).Scan(&inRecovery, &caughtUp, &replayAge, &standbyGen); err != nil {
			return "the standby does not answer: " + err.Error()
		}
		if !inRecovery {
			return "the --db-read server is not a standby (pg_is_in_recovery() is false)"
		}
		if err := db.Pool.QueryRow(cctx, primaryCheckSQL).Scan(&primaryGen, &primaryLSN); err != nil {
			return "the primary does not answer: " + err.Error()
		}
		if standbyGen != primaryGen {
			return "the standby has not replayed the activation of generation " + strconv.Itoa(primaryGen)
		}
		var replayed bool
		if err := rp.pool.QueryRow(cctx, standbyLSNSQL, primaryLSN).Scan(&replayed); err != nil {
			return "the standby does not answer: " + err.Error()
		}
		rp.active.Store(int64(primaryGen))
		built := map[tileBuildKey]bool{}
		rows, err := rp.pool.Query(cctx, `SELECT generation, datum FROM tile_builds`)
		if err != nil {
			return "the standby does not answer: " + err.Error()
		}
		for rows.Next() {
			var k tileBuildKey
			var d string
			if rows.Scan(&k.gen, &d) == nil {
				k.datum = geo.Datum(d)
				built[k] = true
			}
		}
		rows.Close()
		rp.built.Store(&built)
		// Behind the primary's WAL position and its last replayed change
		// older than MaxLag: replay is stuck or slow.
		if !replayed && replayAge > rp.cfg.MaxLag.Seconds() {
			return "the standby is more than " + rp.cfg.MaxLag.String() + " behind the primary"
		}
		return ""
	}()
	was := rp.usable.Load()
	rp.usable.Store(why == "")
	rp.why.Store(why)
	switch {
	case was && why != "":
		rp.cfg.Logger.Warn("heavy reads go to the primary", "why", why)
	case !was && why == "":
		rp.cfg.Logger.Info("heavy reads go to the standby")
	}
}

// reads is the pool for a heavy read: the standby while it is usable.
func (db *DB) reads() *pgxpool.Pool {
	if rp := db.read; rp != nil && rp.usable.Load() {
		rp.standbyReads.Add(1)
		return rp.pool
	}
	if db.read != nil {
		db.read.primaryReads.Add(1)
	}
	return db.Pool
}

// tileReads is the pool for a prepared tile of gen in datum: the standby
// only once it has replayed that generation's tile build, so that it
// never answers an empty tile for geometry it has not received yet.
func (db *DB) tileReads(gen int, datum geo.Datum) *pgxpool.Pool {
	if rp := db.read; rp != nil && rp.usable.Load() {
		if b := rp.built.Load(); b != nil && (*b)[tileBuildKey{gen, datum}] {
			rp.standbyReads.Add(1)
			return rp.pool
		}
		rp.primaryReads.Add(1)
	}
	return db.Pool
}

// generationReads is the pool for a read of generation gen's areas: the
// standby only for the generation active on both (a draft just merged
// may not have reached it).
func (db *DB) generationReads(gen int) *pgxpool.Pool {
	if rp := db.read; rp != nil && rp.usable.Load() {
		if int64(gen) == rp.active.Load() {
			rp.standbyReads.Add(1)
			return rp.pool
		}
		rp.primaryReads.Add(1)
	}
	return db.Pool
}

// standbyFailed takes the standby out of use until the next check finds
// it well: a read failed there.
func (db *DB) standbyFailed(err error) {
	rp := db.read
	rp.usable.Store(false)
	rp.why.Store("a read failed on the standby: " + err.Error())
	rp.primaryReads.Add(1)
	rp.cfg.Logger.Warn("a read failed on the standby; the primary answers until the next check", "err", err)
}

// queryReads runs a heavy query on the standby while it is usable,
// and on the primary when it is not or the standby fails to answer.
func (db *DB) queryReads(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	pool := db.reads()
	rows, err := pool.Query(ctx, sql, args...)
	if err != nil && pool != db.Pool && ctx.Err() == nil {
		db.standbyFailed(err)
		return db.Pool.Query(ctx, sql, args...)
	}
	return rows, err
}

// ReadStats reports where heavy reads went (zero without --db-read).
func (db *DB) ReadStats() ReadStats {
	rp := db.read
	if rp == nil {
		return ReadStats{}
	}
	why, _ := rp.why.Load().(string)
	return ReadStats{Configured: true, Usable: rp.usable.Load(), Why: why, Standby: rp.standbyReads.Load(), Primary: rp.primaryReads.Load()}
}

// Redacted is a database URL without its password, for the log.
func Redacted(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "(a key=value connection string)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}
