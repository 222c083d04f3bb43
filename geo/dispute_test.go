package geo

import "testing"

func TestDisputeResolutionValidate(t *testing.T) {
	d := Dispute{ID: 7, Areas: []string{"330212001001", "330212001002", "330212001003"}, GivenTo: "330212001001"}
	decided := d
	decided.Decision = &BorderDecision{Action: DecisionReassign, To: "330212001002"}
	for _, tt := range []struct {
		name   string
		d      Dispute
		res    DisputeResolution
		wantTo string // "" : refused
	}{
		{"confirm", d, DisputeResolution{Action: "confirm"}, "330212001001"},
		{"confirm naming the holder", d, DisputeResolution{Action: "confirm", To: "330212001001"}, "330212001001"},
		{"confirm naming another", d, DisputeResolution{Action: "confirm", To: "330212001002"}, ""},
		{"confirm with a date", d, DisputeResolution{Action: "confirm", EffectiveOn: "2027-01-01"}, ""},
		{"reassign", d, DisputeResolution{Action: "reassign", To: " 330212001003 "}, "330212001003"},
		{"reassign to a stranger", d, DisputeResolution{Action: "reassign", To: "330212009009"}, ""},
		{"reassign to nobody", d, DisputeResolution{Action: "reassign"}, ""},
		{"reassign to the holder", d, DisputeResolution{Action: "reassign", To: "330212001001"}, ""},
		{"reassign back to the holder after a decision", decided, DisputeResolution{Action: "reassign", To: "330212001001"}, "330212001001"},
		{"reassign with a date", d, DisputeResolution{Action: "reassign", To: "330212001002", EffectiveOn: "2027-01-01"}, ""},
		{"transfer", d, DisputeResolution{Action: "transfer", To: "330212001002", EffectiveOn: "2027-01-01"}, "330212001002"},
		{"transfer without a date", d, DisputeResolution{Action: "transfer", To: "330212001002"}, ""},
		{"transfer on no day", d, DisputeResolution{Action: "transfer", To: "330212001002", EffectiveOn: "2027-02-30"}, ""},
		{"transfer to the holder", d, DisputeResolution{Action: "transfer", To: "330212001001", EffectiveOn: "2027-01-01"}, ""},
		{"unknown action", d, DisputeResolution{Action: "split"}, ""},
		{"note too long", d, DisputeResolution{Action: "confirm", Note: string(make([]byte, 2001))}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.res.Validate(tt.d)
			if tt.wantTo == "" {
				if ErrorCode(err) != EINVALID {
					t.Fatalf("want EINVALID, got %v (%+v)", err, got)
				}
				return
			}
			if err != nil || got.To != tt.wantTo {
				t.Fatalf("got %+v, %v; want to %s", got, err, tt.wantTo)
			}
		})
	}
}

func TestDisputeState(t *testing.T) {
	const today = "2026-12-07"
	for _, tt := range []struct {
		given      string
		dec        *BorderDecision
		state      string
		applied    bool
		unresolved bool
	}{
		{"A", nil, DisputeOpen, false, true},
		{"A", &BorderDecision{Action: DecisionConfirm, To: "A"}, DisputeConfirmed, true, false},
		{"A", &BorderDecision{Action: DecisionReassign, To: "B"}, DisputeReassigned, false, true},
		{"B", &BorderDecision{Action: DecisionReassign, To: "B"}, DisputeReassigned, true, false},
		{"A", &BorderDecision{Action: DecisionTransfer, To: "B", EffectiveOn: "2027-01-01"}, DisputeTransferPending, false, false},
		{"A", &BorderDecision{Action: DecisionTransfer, To: "B", EffectiveOn: today}, DisputeTransferred, false, true},
		{"B", &BorderDecision{Action: DecisionTransfer, To: "B", EffectiveOn: "2026-01-01"}, DisputeTransferred, true, false},
	} {
		state, applied := DisputeState(tt.given, tt.dec, today)
		d := Dispute{State: state, Applied: applied}
		if state != tt.state || applied != tt.applied || d.Unresolved() != tt.unresolved {
			t.Errorf("given %s, decision %+v: %s applied=%v unresolved=%v; want %s %v %v", tt.given, tt.dec, state, applied, d.Unresolved(), tt.state, tt.applied, tt.unresolved)
		}
	}
}
