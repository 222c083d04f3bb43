package postgis

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notification channels, raised by triggers of migration 0005.
const (
	ChannelGeneration = "gridd_generation" // payload: the id of the generation just activated
	ChannelIncident   = "gridd_incident"   // payload: an incident event as JSON
)

// ListenHandler receives what Listen hears.
type ListenHandler struct {
	// Connected runs each time the listening connection is (re)made,
	// after LISTEN: notifications sent while it was down are lost, so
	// this is where to catch up.
	Connected func(ctx context.Context)
	// Notify runs for each notification, in order, on Listen's goroutine.
	Notify func(channel, payload string)
	// Idle runs after IdleEvery without a notification (default 30 s):
	// a cheap poll in case a notification was lost.
	Idle      func(ctx context.Context)
	IdleEvery time.Duration
}

// Listen keeps a connection of its own (not from the pool) LISTENing on
// channels until ctx ends, reconnecting with backoff when it breaks.
func (db *DB) Listen(ctx context.Context, channels []string, h ListenHandler) {
	if h.IdleEvery == 0 {
		h.IdleEvery = 30 * time.Second
	}
	backoff := time.Second
	for ctx.Err() == nil {
		err := db.listenOnce(ctx, channels, h, &backoff)
		if ctx.Err() != nil {
			return
		}
		slog.Warn("listening for database notifications failed; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func (db *DB) listenOnce(ctx context.Context, channels []string, h ListenHandler, backoff *time.Duration) error {
	conn, err := pgx.ConnectConfig(ctx, db.Pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, ch := range channels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return err
		}
	}
	*backoff = time.Second
	if h.Connected != nil {
		h.Connected(ctx)
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, h.IdleEvery)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && wctx.Err() != nil:
			// Idle: check the connection is alive, then poll.
			if err := conn.Ping(ctx); err != nil {
				return err
			}
			if h.Idle != nil {
				h.Idle(ctx)
			}
		case err != nil:
			return err
		default:
			if h.Notify != nil {
				h.Notify(n.Channel, n.Payload)
			}
		}
	}
}
