// Package jobs runs gridd's background work, on every replica at once:
// the passes of the deadline scheduler and the delivery of webhooks. Both
// are safe to run on several replicas: the store's scheduler pass locks
// the cases it works on (FOR UPDATE SKIP LOCKED) and records each
// escalation under a unique key, and webhook deliveries are leased, so
// replicas share the work instead of repeating it.
package jobs

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gridd/gridd/geo"
)

// SchedulerStore runs one scheduler pass (postgis.DB).
type SchedulerStore interface {
	SchedulerTick(ctx context.Context, at time.Time) (geo.SchedulerReport, error)
}

// RunScheduler runs a scheduler pass every interval until ctx ends.
func RunScheduler(ctx context.Context, s SchedulerStore, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		rep, err := s.SchedulerTick(ctx, time.Time{})
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Error("scheduler pass failed", "err", err)
		case rep != geo.SchedulerReport{}:
			log.Info("scheduler", "approaching", rep.Approaching, "overdue", rep.Overdue, "escalated", rep.Escalated)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DeliveryStore is the webhook delivery queue (postgis.DB).
type DeliveryStore interface {
	ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]geo.Delivery, error)
	FinishDelivery(ctx context.Context, id int64, delivered bool, status int, msg string, retryAt time.Time) error
}

// Webhooks delivers queued incident events to their subscribers by HTTP
// POST, retrying failures with exponential backoff. Deliveries go through
// SafeClient: a target the address policy refuses is given up at once
// with the reason recorded, since retrying cannot change the answer.
type Webhooks struct {
	Store       DeliveryStore
	Targets     geo.WebhookTargets // the address policy (zero: internal addresses refused)
	Timeout     time.Duration      // of each delivery (default 10 s)
	Every       time.Duration      // how often to look for due deliveries (default 2 s)
	MaxAttempts int                // then the delivery is marked failed (default 8)
	Backoff     time.Duration      // first retry delay, doubled each time up to an hour (default 10 s)
	Logger      *slog.Logger

	client *http.Client // SafeClient(Targets, Timeout), made once
}

func (h *Webhooks) defaults() {
	if h.Timeout == 0 {
		h.Timeout = 10 * time.Second
	}
	if h.client == nil {
		h.client = SafeClient(h.Targets, h.Timeout)
	}
	if h.Every == 0 {
		h.Every = 2 * time.Second
	}
	if h.MaxAttempts == 0 {
		h.MaxAttempts = 8
	}
	if h.Backoff == 0 {
		h.Backoff = 10 * time.Second
	}
	if h.Logger == nil {
		h.Logger = slog.Default()
	}
}

// Run delivers until ctx ends.
func (h *Webhooks) Run(ctx context.Context) {
	h.defaults()
	t := time.NewTicker(h.Every)
	defer t.Stop()
	for {
		if _, err := h.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			h.Logger.Error("webhook delivery failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Payload is what a webhook receives: the event and where to read the
// case. Receivers should dedupe on event.id: a delivery whose answer was
// lost is sent again.
type Payload struct {
	Event       geo.IncidentEvent `json:"event"`
	IncidentURL string            `json:"incident_url"`
}

// DeliverDue makes one pass over the due deliveries and returns how many
// were delivered.
func (h *Webhooks) DeliverDue(ctx context.Context) (int, error) {
	h.defaults()
	// The lease outlasts the client's timeout, so nobody else sends a
	// delivery while this one may still be in flight.
	ds, err := h.Store.ClaimDeliveries(ctx, 50, h.Timeout+30*time.Second)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range ds {
		status, err := h.send(ctx, d)
		ok := err == nil && status >= 200 && status < 300
		msg := ""
		var retry time.Time
		if !ok {
			msg = fmt.Sprintf("HTTP %d", status)
			if status >= 300 && status < 400 {
				msg += " (a redirect: gridd does not follow them; subscribe the URL it points to)"
			}
			if err != nil {
				msg = err.Error()
			}
			no := refused(err)
			if no != nil {
				msg = no.Message
			}
			if no == nil && d.Attempts+1 < h.MaxAttempts {
				retry = time.Now().Add(min(h.Backoff<<d.Attempts, time.Hour))
			}
			h.Logger.Warn("webhook delivery failed", "url", d.URL, "event", d.Event.ID, "attempt", d.Attempts+1, "err", msg)
		} else {
			n++
		}
		if err := h.Store.FinishDelivery(ctx, d.ID, ok, status, msg, retry); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (h *Webhooks) send(ctx context.Context, d geo.Delivery) (int, error) {
	body, err := json.Marshal(Payload{Event: d.Event, IncidentURL: "/api/v1/incidents/" + strconv.FormatInt(d.Event.IncidentID, 10)})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gridd-webhook")
	req.Header.Set("X-Gridd-Event", string(d.Event.Action))
	req.Header.Set("X-Gridd-Delivery", strconv.FormatInt(d.ID, 10))
	if d.Secret != "" {
		mac := hmac.New(sha256.New, []byte(d.Secret))
		mac.Write(body)
		req.Header.Set("X-Gridd-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode, nil
}
