package web

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gridd/gridd/geo"
)

// The API's JSON inputs, fuzzed through the same decoding and validation
// the handlers use before anything reaches the database: whatever the
// body, the answer is a value that passed validation or a one-line
// caller error (4xx), never a panic or an internal error.

// decodeBody runs decodeJSON on body as a handler would.
func decodeBody(body []byte, v any) error {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	return decodeJSON(httptest.NewRecorder(), r, v)
}

// checkCallerError fails unless err is a caller's error: a 4xx code with
// a one-line, valid UTF-8 message.
func checkCallerError(t *testing.T, err error) {
	t.Helper()
	var ge *geo.Error
	if !errors.As(err, &ge) {
		t.Fatalf("not a geo.Error: %T %v", err, err)
	}
	if st := statusOf(ge.Code); st < 400 || st > 499 {
		t.Fatalf("status %d for a bad body: %v", st, err)
	}
	msg := geo.ErrorMessage(err)
	if msg == "" || strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error message %q", msg)
	}
}

var jsonSeeds = []string{
	`{"category":"E0102","lon":121.55,"lat":29.87,"reporter":{"name":"张三","phone":"13812341234"}}`,
	`{"category":"E0102","lon":121.55,"lat":29.87,"srs":"gcj02","tolerance_m":50,"attachments":["https://x/y.jpg"],"source":"app"}`,
	`{"category":"E0102","lon":1e400,"lat":NaN}`,
	`{"category":"x'); DROP TABLE incidents; --","lon":-181,"lat":91}`,
	`{"action":"accept","version":1,"note":"ok"}`,
	`{"action":"request_extension","version":3,"extend_hours":1e308}`,
	`{"name":"城管甲","dept":"chengguan","responsibilities":[{"code":"330212001001001","role":"chengguan"}],"duty":[{"weekday":1,"start":"08:00","end":"17:00"}]}`,
	`{"code":"E0102","name":"暴露垃圾","dept":"chengguan","role":"chengguan","limit":{"value":2,"unit":"work_hours"}}`,
	`{"work_hours":[{"weekday":1,"start":"08:30","end":"12:00"}],"holidays":[{"date":"2026-10-01","kind":"holiday"}],"day_minutes":480}`,
	`{"url":"https://hooks.example/gridd","events":["created"]}`,
	`[]`, `null`, `{}`, `{"a":1} {"b":2}`, `"str"`, ``,
}

func addSeeds(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
}

// FuzzIncidentBody: POST /api/v1/incidents: a report that passes has a
// finite WGS84 point on the earth and valid UTF-8 text.
func FuzzIncidentBody(f *testing.F) {
	addSeeds(f)
	s := &Server{} // no point index: no locating, no database
	f.Fuzz(func(t *testing.T, body []byte) {
		var in incidentRequest
		if err := decodeBody(body, &in); err != nil {
			checkCallerError(t, err)
			return
		}
		n, err := s.newIncident(context.Background(), in, "fuzz-key", caller{actor: "fuzz"})
		if err == nil {
			err = n.Validate()
		}
		if err != nil {
			checkCallerError(t, err)
			return
		}
		if math.IsNaN(n.Lon) || math.IsNaN(n.Lat) || math.Abs(n.Lon) > 180 || math.Abs(n.Lat) > 90 {
			t.Fatalf("accepted a point off the earth: %v %v", n.Lon, n.Lat)
		}
		if !utf8.ValidString(n.Description) || !utf8.ValidString(n.Reporter.Name) {
			t.Fatalf("accepted invalid UTF-8")
		}
	})
}

// FuzzTransitionBody: POST /api/v1/incidents/{id}/transitions.
func FuzzTransitionBody(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var b transitionBody
		if err := decodeBody(body, &b); err != nil {
			checkCallerError(t, err)
			return
		}
		req := geo.TransitionRequest{Action: b.Action, Version: b.Version, Note: b.Note, AssigneeID: b.AssigneeID,
			ExtendHours: b.ExtendHours, Actor: "fuzz", Role: geo.RoleOperator}
		if err := req.Validate(); err != nil {
			checkCallerError(t, err)
		}
	})
}

// FuzzPersonBody: POST and PUT /api/v1/people.
func FuzzPersonBody(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var p geo.Person
		if err := decodeBody(body, &p); err != nil {
			checkCallerError(t, err)
			return
		}
		if err := p.Validate(); err != nil {
			checkCallerError(t, err)
		}
	})
}

// FuzzCategoryBody: PUT /api/v1/categories/{code}.
func FuzzCategoryBody(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		c := geo.Category{Active: true}
		if err := decodeBody(body, &c); err != nil {
			checkCallerError(t, err)
			return
		}
		if c.Code == "" {
			c.Code = "E0102"
		}
		if err := c.Validate(); err != nil {
			checkCallerError(t, err)
		}
	})
}

// FuzzCalendarBody: PUT /api/v1/calendar.
func FuzzCalendarBody(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var c geo.Calendar
		if err := decodeBody(body, &c); err != nil {
			checkCallerError(t, err)
			return
		}
		if err := c.Validate(); err != nil {
			checkCallerError(t, err)
		}
	})
}

// FuzzWebhookBody: POST /api/v1/webhooks.
func FuzzWebhookBody(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var h geo.Webhook
		if err := decodeBody(body, &h); err != nil {
			checkCallerError(t, err)
			return
		}
		if err := h.Validate(); err != nil {
			checkCallerError(t, err)
		}
	})
}

// FuzzLocateQuery: the query of GET /api/v1/locate and the list
// parameters (srs, tolerance_m, lon, lat).
func FuzzLocateQuery(f *testing.F) {
	for _, q := range []string{"lon=121.5&lat=29.8", "lon=NaN&lat=Inf&srs=gcj02", "tolerance_m=-1", "srs=mars&tolerance_m=1e400", "lon=1e308&lat=-1e308", "%zz"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // net/http answers 400 before a handler sees it
		}
		_, tol, err := routeParams(q)
		if err != nil {
			checkCallerError(t, err)
		} else if math.IsNaN(tol) || (tol < 0 && tol != -1) {
			t.Fatalf("tolerance %v accepted", tol)
		}
		lon, errLon := floatParam(q.Get("lon"), "lon", -180, 180)
		lat, errLat := floatParam(q.Get("lat"), "lat", -90, 90)
		for _, err := range []error{errLon, errLat} {
			if err != nil {
				checkCallerError(t, err)
			}
		}
		if errLon == nil && errLat == nil {
			if err := checkLonLat(lon, lat, "the point"); err != nil {
				checkCallerError(t, err)
			}
		}
	})
}
