package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
)

// DuplicateStore reads the possible duplicates the store flagged when a
// case was reported, merges a duplicate into the case it repeats, and
// follows merges (Open311 requests of merged cases).
type DuplicateStore interface {
	Duplicates(ctx context.Context, id int64) (geo.Duplicates, error)
	MergeIncident(ctx context.Context, m geo.MergeRequest) (geo.Incident, error)
	Survivor(ctx context.Context, id int64) (int64, error)
}

// duplicateRoutes registers the duplicates of a case and the merge.
func (s *Server) duplicateRoutes(api *mux.Router) {
	if s.deps.Incidents == nil || s.deps.Duplicates == nil {
		return
	}
	api.HandleFunc("/incidents/{id:[0-9]+}/duplicates", s.handleDuplicates).Methods(http.MethodGet)
	api.HandleFunc("/incidents/{id:[0-9]+}/merge-into", s.handleMergeInto).Methods(http.MethodPost)
}

// duplicatesAnswer is GET /incidents/{id}/duplicates: the flags, and
// whether the caller may merge (what the drawer offers).
type duplicatesAnswer struct {
	geo.Duplicates
	CanMerge bool `json:"can_merge"`
}

// handleDuplicates answers GET /api/v1/incidents/{id}/duplicates: the open
// cases it may duplicate and the open reports flagged against it, those
// in the caller's scope only, and its merge links.
func (s *Server) handleDuplicates(w http.ResponseWriter, r *http.Request) {
	inc, ok := s.scopedCase(w, r)
	if !ok {
		return
	}
	d, err := s.deps.Duplicates.Duplicates(r.Context(), inc.ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, ok := principalOf(r)
	if ok && p.Scope != "" {
		d.Candidates, d.FlaggedBy = inScope(p.Scope, d.Candidates), inScope(p.Scope, d.FlaggedBy)
	}
	c, _ := callerOf(r)
	writeJSON(w, http.StatusOK, duplicatesAnswer{Duplicates: d, CanMerge: c.role == geo.RoleOperator && inc.State.Open()})
}

func inScope(scope string, cs []geo.DuplicateCandidate) []geo.DuplicateCandidate {
	out := []geo.DuplicateCandidate{}
	for _, c := range cs {
		if geo.InScope(scope, c.Area) {
			out = append(out, c)
		}
	}
	return out
}

// mergeBody is the body of POST /api/v1/incidents/{id}/merge-into.
type mergeBody struct {
	Into    int64  `json:"into"`
	Version int    `json:"version,omitempty"`
	Note    string `json:"note,omitempty"`
}

// handleMergeInto answers POST /api/v1/incidents/{id}/merge-into: the
// case is closed as a duplicate of case `into` (both open, both in the
// caller's scope; dispatchers and admins only), at the version the
// caller saw. 200 with the merged case and the survivor.
func (s *Server) handleMergeInto(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	c, err := requireOperator(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var b mergeBody
	if err := decodeJSON(w, r, &b); err != nil {
		writeError(w, r, err)
		return
	}
	if m := r.Header.Get("If-Match"); m != "" {
		v, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(m, "W/"), `"`))
		if err != nil || (b.Version != 0 && b.Version != v) {
			writeError(w, r, geo.Errorf(geo.EINVALID, "If-Match %q: give the case's version as its ETag, e.g. \"3\", the same as the body's", m))
			return
		}
		b.Version = v
	}
	if b.Into <= 0 {
		writeError(w, r, geo.Errorf(geo.EINVALID, "give into, the id of the open case this one repeats: GET /api/v1/incidents/%d/duplicates lists them", id))
		return
	}
	// Both cases must be the caller's: a merge moves a reporter to the
	// survivor, and closes a case, so neither may lie outside the scope.
	before, err := s.deps.Incidents.Incident(r.Context(), id)
	if err == nil {
		err = scopedIncident(r, before)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	into, err := s.deps.Incidents.Incident(r.Context(), b.Into)
	if geo.ErrorCode(err) == geo.ENOTFOUND {
		err = geo.Errorf(geo.EINVALID, "no incident %d to merge into: give the id of an open case", b.Into)
	}
	if err == nil {
		err = scopedIncident(r, into)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	noteAudit(r, "incident:"+strconv.FormatInt(id, 10), before)
	req := geo.MergeRequest{ID: id, Into: b.Into, Version: b.Version, Note: b.Note, Actor: c.actor, Role: c.role,
		Audit: inTxAudit(r, http.StatusOK)}
	merged, err := s.deps.Duplicates.MergeIncident(r.Context(), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if req.Audit != nil {
		auditStored(r) // with the merge, in its transaction
	}
	survivor, err := s.deps.Incidents.Incident(r.Context(), b.Into)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(merged.Version))
	writeJSON(w, http.StatusOK, map[string]any{"merged": maskIncident(r, merged), "into": maskIncident(r, survivor)})
}

// o311Follow is the Open311 request of a case: for a merged one, the
// survivor's status, notes and dates under the reporter's own request id,
// with merged_into pointing at the case it now follows.
func (s *Server) o311Follow(ctx context.Context, inc geo.Incident) o311Request {
	if s.deps.Duplicates == nil || inc.State != geo.StateClosed {
		return requestOf(inc)
	}
	sid, err := s.deps.Duplicates.Survivor(ctx, inc.ID)
	if err != nil || sid == inc.ID {
		return requestOf(inc)
	}
	surv, err := s.deps.Incidents.Incident(ctx, sid)
	if err != nil {
		return requestOf(inc)
	}
	out := requestOf(surv)
	out.ServiceRequestID = strconv.FormatInt(inc.ID, 10)
	out.Description, out.Address, out.Lat, out.Long = inc.Description, inc.Address, inc.Lat, inc.Lon
	out.RequestedDatetime = o311Time(inc.CreatedAt)
	out.MergedInto = strconv.FormatInt(sid, 10)
	out.StatusNotes = fmt.Sprintf("重复上报，已并入 %d 号案件：%s", sid, out.StatusNotes)
	return out
}

// o311TokenID is the request id a token resolves to: the survivor's,
// once the case was merged.
func (s *Server) o311TokenID(ctx context.Context, inc geo.Incident) int64 {
	if s.deps.Duplicates == nil || inc.State != geo.StateClosed {
		return inc.ID
	}
	if sid, err := s.deps.Duplicates.Survivor(ctx, inc.ID); err == nil {
		return sid
	}
	return inc.ID
}
