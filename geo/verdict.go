package geo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The citizen's verdict (群众签单): after 结案 the person who reported a
// case says whether the problem is solved. A dissatisfied verdict reopens
// the case once for rework (返工); the verdicts make the satisfaction rate
// of the metrics and the evaluation. Only cases reported through a
// citizen's channel are judged: those found by staff (grid workers,
// cameras, integrations) have no citizen and are counted apart.

// The actions a verdict records.
const (
	ActVerdict Action = "verdict" // 群众签单: the reporter's verdict on a closed case
	ActReopen  Action = "reopen"  // 群众不满意: back to the handler for rework, once
)

// DefaultVerdictWithin is how long after closure a verdict is accepted.
const DefaultVerdictWithin = 7 * 24 * time.Hour

// VerdictPolicy is how long after its closure a case may be judged.
type VerdictPolicy struct {
	Within time.Duration `json:"within"`
}

// Validate checks the bounds the database also enforces.
func (p VerdictPolicy) Validate() error {
	if p.Within < time.Hour || p.Within > 90*24*time.Hour {
		return Errorf(EINVALID, "verdict window %s: give 1h to 2160h (90 days), e.g. 168h", p.Within)
	}
	return nil
}

// CitizenSource reports whether a case reported through source has a
// citizen behind it who may judge the result: the hotline (12345), the
// public app and Open311 clients. Reports of grid workers, cameras and
// other integrations do not.
func CitizenSource(source string) bool { return slices.Contains(CitizenSources(), source) }

// CitizenSources lists the sources CitizenSource accepts (for queries).
func CitizenSources() []string { return []string{"hotline", "app", "open311"} }

// Verdict is the reporter's judgement of a closed case.
type Verdict struct {
	IncidentID int64     `json:"incident_id"`
	Satisfied  bool      `json:"satisfied"`
	Comment    string    `json:"comment"`
	Channel    string    `json:"channel"` // "token" (the Open311 request's token) or "link" (a signed link)
	At         time.Time `json:"at"`
	Reopened   bool      `json:"reopened"` // this verdict sent the case back for rework
}

// VerdictRequest is a verdict as it arrives: the case is named by its
// Open311 token or by a signed link, never by its id alone.
type VerdictRequest struct {
	Token     string // the Open311 request's token
	Link      string // a signed verdict link (SignVerdictLink)
	Satisfied bool
	Comment   string
}

// Validate checks a verdict request: one way of naming the case, and a
// comment of at most 500 characters (required when not satisfied: the
// rework needs to know what is wrong).
func (v *VerdictRequest) Validate() error {
	v.Comment = strings.TrimSpace(v.Comment)
	v.Token, v.Link = strings.TrimSpace(v.Token), strings.TrimSpace(v.Link)
	if (v.Token == "") == (v.Link == "") {
		return Errorf(EINVALID, "a verdict names its case by token (the Open311 request's) or by link, one of the two")
	}
	if !utf8.ValidString(v.Comment) || utf8.RuneCountInString(v.Comment) > 500 {
		return Errorf(EINVALID, "a verdict's comment has at most 500 characters of text")
	}
	if !v.Satisfied && v.Comment == "" {
		return Errorf(EINVALID, "say what is still wrong in the comment: a dissatisfied verdict sends the case back for rework")
	}
	return nil
}

// VerdictLink is a signed link for one case's verdict.
type VerdictLink struct {
	Link      string    `json:"link"` // the signed part, for POST /api/v1/verdicts
	URL       string    `json:"url"`  // the citizen's page, when the server knows its address
	ExpiresAt time.Time `json:"expires_at"`
}

// SignVerdictLink makes the signed part of a verdict link for case id,
// valid until exp: "id.exp.mac", mac an HMAC-SHA256 of "id.exp" under
// secret, in URL-safe base64. Anyone holding it may judge that case once;
// no one can make one for another case or a later expiry.
func SignVerdictLink(secret []byte, id int64, exp time.Time) string {
	msg := strconv.FormatInt(id, 10) + "." + strconv.FormatInt(exp.Unix(), 10)
	return msg + "." + verdictMAC(secret, msg)
}

// ParseVerdictLink checks a signed verdict link and returns its case and
// expiry; EINVALID when it is malformed or its signature is wrong,
// EEXPIRED when it is past its expiry at now.
func ParseVerdictLink(secret []byte, link string, now time.Time) (int64, time.Time, error) {
	parts := strings.Split(link, ".")
	bad := Errorf(EINVALID, "this verdict link is not valid: ask for a new one")
	if len(parts) != 3 || len(link) > 100 {
		return 0, time.Time{}, bad
	}
	id, err1 := strconv.ParseInt(parts[0], 10, 64)
	exp, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || id <= 0 {
		return 0, time.Time{}, bad
	}
	want := verdictMAC(secret, parts[0]+"."+parts[1])
	if !hmac.Equal([]byte(want), []byte(parts[2])) {
		return 0, time.Time{}, bad
	}
	t := time.Unix(exp, 0)
	if !now.Before(t) {
		return 0, time.Time{}, Errorf(EEXPIRED, "this verdict link expired at %s", t.In(ChinaTime).Format("2006-01-02 15:04"))
	}
	return id, t, nil
}

func verdictMAC(secret []byte, msg string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("gridd verdict link\x00" + msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}
