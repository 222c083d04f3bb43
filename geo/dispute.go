package geo

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// A dispute (插花地, a disputed border) is a piece of an overlap or a gap
// between admin areas that a merge gave to one of several areas by a rule.
// GIS staff settle it with a BorderDecision, which later merges keep: a
// piece inside a standing decision goes to the area decided.
type Dispute struct {
	ID         int64     `json:"id"`
	Generation int       `json:"generation"`
	Level      string    `json:"level"`
	Kind       string    `json:"kind"` // overlap, gap
	Parent     string    `json:"parent,omitempty"`
	Areas      []string  `json:"areas"`    // every area that could hold it, GivenTo first
	GivenTo    string    `json:"given_to"` // the area this generation gave it to
	Rule       string    `json:"rule"`     // see DisputeRules
	AreaM2     float64   `json:"area_m2"`
	BBox       []float64 `json:"bbox,omitempty"`
	// Geometry is the piece as GeoJSON, on a single dispute's read.
	Geometry json.RawMessage `json:"geometry,omitempty"`
	// State is derived: open (no decision), confirmed, reassigned,
	// transferred (a transfer whose day has come), transfer_pending (its day
	// is to come). Applied tells whether this generation's geometry
	// follows the decision: a reassignment made after the merge is applied
	// by the next merge.
	State    string          `json:"state"`
	Applied  bool            `json:"applied"`
	Decision *BorderDecision `json:"decision,omitempty"`
}

// DisputeRules explain in words the rule that gave a piece to an area.
var DisputeRules = map[string]string{
	"home":           "the area lies mostly in this piece's parent; the others intrude",
	"larger_share":   "the area covers the larger share of the overlap",
	"longer_border":  "the area's own part borders the piece longest",
	"smaller_code":   "all else equal, the smaller code",
	"longest_border": "the neighbour sharing the longest border with the gap",
	"only_neighbour": "the only neighbour of the gap in its parent",
	"decision":       "a standing decision of GIS staff",
}

// Dispute states.
const (
	DisputeOpen            = "open"
	DisputeConfirmed       = "confirmed"
	DisputeReassigned      = "reassigned"
	DisputeTransferred     = "transferred"
	DisputeTransferPending = "transfer_pending"
)

// Decision actions.
const (
	DecisionConfirm  = "confirm"
	DecisionReassign = "reassign"
	DecisionTransfer = "transfer"
)

// BorderDecision is GIS staff's ruling on a disputed piece.
type BorderDecision struct {
	ID          int64     `json:"id"`
	Level       string    `json:"level"`
	Action      string    `json:"action"`
	To          string    `json:"to"`
	From        string    `json:"from,omitempty"`
	EffectiveOn string    `json:"effective_on,omitempty"` // transfer: YYYY-MM-DD
	Note        string    `json:"note,omitempty"`
	DecidedBy   string    `json:"decided_by"`
	DecidedAt   time.Time `json:"decided_at"`
	Generation  int       `json:"generation,omitempty"`
}

// DisputeResolution is a request to settle a dispute.
type DisputeResolution struct {
	// Action: confirm (the rule's area keeps it), reassign (another of the
	// dispute's areas gets it from the next merge), transfer (属地 transfer:
	// another of its areas gets it from EffectiveOn).
	Action      string `json:"action"`
	To          string `json:"to,omitempty"`
	EffectiveOn string `json:"effective_on,omitempty"`
	Note        string `json:"note,omitempty"`
}

// Validate checks a resolution against the dispute it settles and
// returns it with To filled for a confirmation.
func (r DisputeResolution) Validate(d Dispute) (DisputeResolution, error) {
	r.To = strings.TrimSpace(r.To)
	if len(r.Note) > 2000 {
		return r, Errorf(EINVALID, "note is %d characters: keep it to 2000", len(r.Note))
	}
	switch r.Action {
	case DecisionConfirm:
		if r.To != "" && r.To != d.GivenTo {
			return r, Errorf(EINVALID, "confirm keeps the piece with %s: to reassign it to %s use action reassign", d.GivenTo, r.To)
		}
		if r.EffectiveOn != "" {
			return r, Errorf(EINVALID, "effective_on belongs to a transfer, not a confirmation")
		}
		r.To = d.GivenTo
		return r, nil
	case DecisionReassign, DecisionTransfer:
	default:
		return r, Errorf(EINVALID, "unknown action %q: use confirm, reassign or transfer", r.Action)
	}
	if r.To == "" {
		return r, Errorf(EINVALID, "%s needs 'to', one of the dispute's areas: %s", r.Action, strings.Join(d.Areas, ", "))
	}
	if !slices.Contains(d.Areas, r.To) {
		return r, Errorf(EINVALID, "%s is not one of the areas of dispute %d: choose one of %s", r.To, d.ID, strings.Join(d.Areas, ", "))
	}
	if r.Action == DecisionReassign {
		if r.EffectiveOn != "" {
			return r, Errorf(EINVALID, "effective_on belongs to a transfer: a reassignment applies from the next merge")
		}
		if r.To == d.GivenTo && d.Decision == nil {
			return r, Errorf(EINVALID, "%s already holds the piece: use action confirm", r.To)
		}
		return r, nil
	}
	if r.EffectiveOn == "" {
		return r, Errorf(EINVALID, "a transfer needs effective_on, the day the piece changes hands (YYYY-MM-DD)")
	}
	if _, err := time.Parse(time.DateOnly, r.EffectiveOn); err != nil {
		return r, Errorf(EINVALID, "effective_on %q is not a date: use YYYY-MM-DD", r.EffectiveOn)
	}
	if r.To == d.GivenTo {
		return r, Errorf(EINVALID, "%s already holds the piece: a transfer hands it to another of %s", r.To, strings.Join(d.Areas, ", "))
	}
	return r, nil
}

// DisputeState derives a dispute's state from its decision on day today
// (YYYY-MM-DD), and whether its generation's geometry follows it.
func DisputeState(givenTo string, dec *BorderDecision, today string) (state string, applied bool) {
	if dec == nil {
		return DisputeOpen, false
	}
	switch dec.Action {
	case DecisionConfirm:
		return DisputeConfirmed, givenTo == dec.To
	case DecisionReassign:
		return DisputeReassigned, givenTo == dec.To
	}
	if dec.EffectiveOn > today {
		return DisputeTransferPending, givenTo == dec.To
	}
	return DisputeTransferred, givenTo == dec.To
}

// Unresolved tells whether a dispute still needs GIS staff or a merge: it
// is open, or its generation does not follow a decision that is due.
func (d Dispute) Unresolved() bool {
	return d.State == DisputeOpen || (!d.Applied && d.State != DisputeTransferPending)
}

// DisputeFilter narrows a list of disputes.
type DisputeFilter struct {
	Generation int    // 0: the active one
	Level      string // '' every admin level
	State      string // '' every state; "unresolved": see Dispute.Unresolved
}

// DisputeSummary counts a generation's disputes at merge time.
type DisputeSummary struct {
	Total int `json:"total"`
	Open  int `json:"open"`
	// Kept are the disputes whose piece lies in a standing decision, which
	// the merge followed.
	Kept int `json:"kept"`
}
