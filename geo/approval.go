package geo

import "time"

// States every request for approval goes through.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalRefused  = "refused"
	ApprovalExpired  = "expired" // approved, not used in time
)

// Approval is what every request for approval one level up (分级审批)
// records: who asked, at what scope and why, who decided, and until when
// an approval holds. Its states are those of exports and activations alike
// (pending, approved, refused, expired, and the kind's own "used" state).
type Approval struct {
	Reason         string     `json:"reason"`
	State          string     `json:"state"`
	RequestedBy    string     `json:"requested_by"`
	RequesterScope string     `json:"requester_scope"`
	RequestedAt    time.Time  `json:"requested_at"`
	DecidedBy      string     `json:"decided_by,omitempty"`
	DecidedAt      *time.Time `json:"decided_at,omitempty"`
	Note           string     `json:"note,omitempty"`
	ExpiresAt      *time.Time `json:"expires_at,omitempty"`
}

// StateAt is the request's state at a time: an approval not used before
// it expires is expired.
func (a Approval) StateAt(now time.Time) string {
	if a.State == ApprovalApproved && a.ExpiresAt != nil && !now.Before(*a.ExpiresAt) {
		return ApprovalExpired
	}
	return a.State
}
