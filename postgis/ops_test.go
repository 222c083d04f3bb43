package postgis_test

import (
	"context"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
)

// TestOpsFigures: the figures /metrics reads follow the webhook queue and
// the scheduler's backlog.
func TestOpsFigures(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f, err := db.OpsFigures(ctx)
	if err != nil || f.PoolMax == 0 || f.WebhooksPending != 0 || f.SchedulerLag != 0 {
		t.Fatalf("an empty database: %+v %v", f, err)
	}
	if _, err := db.CreateWebhook(ctx, geo.Webhook{URL: "http://127.0.0.1:1/hook", Secret: "s", Actions: []string{"report"}}); err != nil {
		t.Fatal(err)
	}
	seedStaff(t, db)
	inc := mustCreate(t, db, report("E0102", ""))
	if _, err := db.Pool.Exec(ctx, `UPDATE incidents SET deadline_at = now() - interval '5 minutes' WHERE id = $1`, inc.ID); err != nil {
		t.Fatal(err)
	}
	f, err = db.OpsFigures(ctx)
	if err != nil || f.WebhooksPending != 1 || f.WebhooksFailed != 0 || f.SchedulerLag < 5*time.Minute || f.SchedulerLag > time.Hour {
		t.Fatalf("one pending delivery, one case 5 minutes past its deadline: %+v %v", f, err)
	}
	if _, err := db.SchedulerTick(ctx, time.Time{}); err != nil {
		t.Fatal(err)
	}
	ds, err := db.ClaimDeliveries(ctx, 10, time.Minute)
	if err != nil || len(ds) == 0 {
		t.Fatalf("claim: %v %v", ds, err)
	}
	for _, d := range ds {
		db.FinishDelivery(ctx, d.ID, false, 0, "gave up", time.Time{})
		db.Pool.Exec(ctx, `UPDATE webhook_deliveries SET state = 'failed' WHERE id = $1`, d.ID)
	}
	f, err = db.OpsFigures(ctx)
	if err != nil || f.SchedulerLag != 0 || f.WebhooksFailed != int64(len(ds)) {
		t.Fatalf("after a scheduler pass and failed deliveries: %+v %v", f, err)
	}
}
