package geo

import "time"

// Activation of a generation that moves many households between grids
// needs approval one level up (分级审批), like a bulk export of the
// register: households moved to another grid change whose patch they are
// in, who visits them and whose figures they count in. A user who may
// activate asks with a reason; an admin above them approves (for a while)
// or refuses; the approval is used by one activation, by the requester.

// DefaultActivationApprovalHouseholds is how many households an activation
// may move between grids before it needs approval: about two grids' worth.
const DefaultActivationApprovalHouseholds = 1000

// States of an activation request.
const (
	ActivationPending  = ApprovalPending
	ActivationApproved = ApprovalApproved
	ActivationRefused  = ApprovalRefused
	ActivationUsed     = "used" // the approved activation happened
	ActivationExpired  = ApprovalExpired
)

// ActivationRequest is a request to activate a generation that moves more
// households than the rule allows without approval.
type ActivationRequest struct {
	ID               int64 `json:"id"`
	Generation       int   `json:"generation"`
	MovingBuildings  int   `json:"moving_buildings"`  // when requested, against the generation then active
	MovingHouseholds int   `json:"moving_households"` // idem
	Approval
	UsedAt *time.Time `json:"used_at,omitempty"`
}

// ActivationGate is what an activation is checked against: who activates
// and how many households they may move without approval (0: any number,
// the rule is off). The zero gate is the machine's operator at the command
// line, who answers to nobody in the application.
type ActivationGate struct {
	Principal     Principal
	MaxHouseholds int
}

// NeedsApproval reports whether moving households between grids exceeds
// what the gate allows without approval.
func (g ActivationGate) NeedsApproval(movingHouseholds int) bool {
	return g.MaxHouseholds > 0 && movingHouseholds > g.MaxHouseholds
}

// MayRequestActivation checks that a principal may ask for an activation
// to be approved: whoever may activate (admins and GIS staff).
func MayRequestActivation(p Principal) error {
	if p.Role != AccessAdmin && p.Role != AccessGIS {
		return Errorf(EFORBIDDEN, "only admins and GIS staff activate generations, so only they ask for an activation's approval")
	}
	return nil
}

// MayApproveActivation checks 分级审批 for an activation: an admin other
// than the requester whose scope lies above the requester's (an unlimited
// requester needs another unlimited admin).
func MayApproveActivation(p Principal, a ActivationRequest) error {
	switch {
	case p.Role != AccessAdmin:
		return Errorf(EFORBIDDEN, "only an admin may approve or refuse an activation")
	case p.Actor() == a.RequestedBy:
		return Errorf(EFORBIDDEN, "you asked for activation request %d: someone above you approves it", a.ID)
	case !scopeAbove(p.Scope, a.RequesterScope):
		return Errorf(EFORBIDDEN, "activation request %d was made at scope %q: it needs an admin whose scope is above that", a.ID, a.RequesterScope)
	}
	return nil
}

// ActivationResult is what an activation did.
type ActivationResult struct {
	Generation       int    `json:"generation"`
	State            string `json:"state"`
	MovingBuildings  int    `json:"moving_buildings"`
	MovingHouseholds int    `json:"moving_households"`
	Approval         int64  `json:"approval,omitempty"` // the request whose approval it used
}
