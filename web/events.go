package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gridd/gridd/geo"
)

// EventHub fans incident events and activations out to the SSE streams of
// this server. Whoever hears of them (cmd/gridd wires it to the database's
// LISTEN gridd_incident and gridd_generation, so those of every replica and
// of the CLI arrive) publishes them here.
type EventHub struct {
	mu     sync.Mutex
	subs   map[chan geo.IncidentEvent]struct{}
	gens   map[chan int]struct{}
	closed bool
}

// subscriberBuffer is how far a stream may fall behind before it is cut;
// the client then reconnects with Last-Event-ID and catches up from the
// database.
const subscriberBuffer = 256

// NewEventHub returns a hub without subscribers.
func NewEventHub() *EventHub {
	return &EventHub{subs: map[chan geo.IncidentEvent]struct{}{}, gens: map[chan int]struct{}{}}
}

// PublishGeneration tells every stream that generation gen is now active,
// so that maps follow it to its extent and attribution. A stream that has
// not read the previous activations gets only the latest.
func (h *EventHub) PublishGeneration(gen int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.gens {
		select {
		case <-ch: // superseded
		default:
		}
		ch <- gen
	}
}

// subscribeGenerations returns a channel of activated generations, closed
// when the hub closes, and the function that ends the subscription.
func (h *EventHub) subscribeGenerations() (chan int, func()) {
	ch := make(chan int, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	h.gens[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.gens[ch]; ok {
			delete(h.gens, ch)
			close(ch)
		}
	}
}

// Publish hands e to every stream without blocking: a stream whose buffer
// is full is cut.
func (h *EventHub) Publish(e geo.IncidentEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- e:
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// subscribe returns a channel of events, closed when the stream is cut
// or the hub closes, and the function that ends the subscription.
// listeners counts the open streams (for /metrics).
func (h *EventHub) listeners() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func (h *EventHub) subscribe() (chan geo.IncidentEvent, func()) {
	ch := make(chan geo.IncidentEvent, subscriberBuffer)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	h.subs[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[ch]; ok {
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// Close ends every stream, for shutdown.
func (h *EventHub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
	for ch := range h.gens {
		delete(h.gens, ch)
		close(ch)
	}
}

// closeStreams ends the SSE streams when the server shuts down: they
// never finish on their own.
func (s *Server) closeStreams() {
	if s.deps.Events != nil {
		s.deps.Events.Close()
	}
}

// Replay and keepalive of the SSE stream.
const (
	maxReplay      = 1000
	heartbeatEvery = 15 * time.Second
)

// handleEvents answers GET /api/v1/events[?incident=ID][&after=EVENT_ID]
// with a Server-Sent Events stream of incident events ("event: incident",
// "id:" the event id, data: the event as JSON). A client that reconnects
// with Last-Event-ID (or asks with ?after=) first gets what it missed, up
// to 1000 events, from the database. An activation is "event: generation"
// with data {"generation": N} and no id: it is not replayed (a client that
// reconnects reloads what is active anyway).
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	if s.deps.Events == nil {
		writeError(w, r, geo.Errorf(geo.EUNAVAILABLE, "the event stream is not configured on this server"))
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, r, geo.Errorf(geo.EINTERNAL, "streaming unsupported"))
		return
	}
	q := r.URL.Query()
	var incident int64
	if v := q.Get("incident"); v != "" {
		var err error
		if incident, err = strconv.ParseInt(v, 10, 64); err != nil {
			writeError(w, r, geo.Errorf(geo.EINVALID, "incident=%q is not an id", v))
			return
		}
	}
	after := int64(-1)
	for _, v := range []string{r.Header.Get("Last-Event-ID"), q.Get("after")} {
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, r, geo.Errorf(geo.EINVALID, "event id %q is not a number", v))
			return
		}
		after = n
		break
	}
	// Subscribe before reading the backlog, so nothing falls between.
	ch, cancel := s.deps.Events.subscribe()
	defer cancel()
	gch, gcancel := s.deps.Events.subscribeGenerations()
	defer gcancel()
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n: gridd incident events\n\n")
	last := after
	visible := s.eventFilter(r) // the subscriber's scope
	send := func(e geo.IncidentEvent) error {
		if e.ID <= last || (incident != 0 && e.IncidentID != incident) || !visible(e) {
			return nil
		}
		last = e.ID
		b, _ := json.Marshal(e)
		_, err := fmt.Fprintf(w, "id: %d\nevent: incident\ndata: %s\n\n", e.ID, b)
		return err
	}
	if after >= 0 {
		evs, err := s.deps.Incidents.EventsSince(r.Context(), after, maxReplay)
		if err != nil {
			fmt.Fprintf(w, "event: error\ndata: %s\n\n", geo.ErrorMessage(err))
			return
		}
		for _, e := range evs {
			if send(e) != nil {
				return
			}
		}
	} else {
		last = 0
	}
	fl.Flush()
	tick := time.NewTicker(heartbeatEvery)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case e, ok := <-ch:
			if !ok {
				return // cut or shutting down: the client reconnects
			}
			if send(e) != nil {
				return
			}
			// Send what else is waiting before flushing.
			for more := true; more; {
				select {
				case e, ok := <-ch:
					if !ok {
						fl.Flush()
						return
					}
					if send(e) != nil {
						return
					}
				default:
					more = false
				}
			}
			fl.Flush()
		case g, ok := <-gch:
			if !ok {
				return
			}
			if _, err := fmt.Fprintf(w, "event: generation\ndata: {\"generation\":%d}\n\n", g); err != nil {
				return
			}
			fl.Flush()
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			fl.Flush()
		}
	}
}
