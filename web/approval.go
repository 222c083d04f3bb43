package web

import (
	"net/http"
	"time"

	"github.com/gridd/gridd/geo"
)

// Decisions on requests for approval one level up (分级审批): exports of
// the register and activations read the same body and share the time an
// approval holds.

// decision is an approver's answer.
type decision struct {
	approve bool
	note    string
}

// readDecision reads {"approve": true|false, "note"}; approve must be said.
func readDecision(w http.ResponseWriter, r *http.Request) (decision, error) {
	var body struct {
		Approve *bool  `json:"approve"`
		Note    string `json:"note"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return decision{}, err
	}
	if body.Approve == nil {
		return decision{}, geo.Errorf(geo.EINVALID, `say {"approve": true} or {"approve": false}`)
	}
	return decision{approve: *body.Approve, note: body.Note}, nil
}

// approvalTTL is how long an approval (of an export or an activation)
// waits to be used.
func (s *Server) approvalTTL() time.Duration {
	if s.cfg.ExportApproval > 0 {
		return s.cfg.ExportApproval
	}
	return DefaultExportApproval
}
