package web

import (
	"context"
	"html/template"
	"net/http"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
)

// VerdictStore takes the reporters' verdicts on closed cases (群众签单).
type VerdictStore interface {
	VerdictLink(ctx context.Context, id int64) (geo.VerdictLink, error)
	VerdictCase(ctx context.Context, req geo.VerdictRequest) (geo.Incident, error)
	RecordVerdict(ctx context.Context, req geo.VerdictRequest) (geo.Verdict, geo.Incident, error)
	IncidentVerdict(ctx context.Context, id int64) (geo.Verdict, error)
}

// verdictRoutes registers the verdict API and the citizen's page. The
// verdict itself needs no account: the Open311 token or the signed link
// is the credential, and it names one case.
func (s *Server) verdictRoutes(r, api *mux.Router) {
	if s.deps.Incidents == nil || s.deps.Verdicts == nil {
		return
	}
	api.HandleFunc("/incidents/{id:[0-9]+}/verdict-link", s.handleVerdictLink).Methods(http.MethodPost)
	api.HandleFunc("/incidents/{id:[0-9]+}/verdict", s.handleIncidentVerdict).Methods(http.MethodGet)
	api.HandleFunc("/verdicts", s.handlePostVerdict).Methods(http.MethodPost)
	r.HandleFunc("/verdict/{link}", s.handleVerdictPage).Methods(http.MethodGet, http.MethodPost)
}

// handleVerdictLink answers POST /api/v1/incidents/{id}/verdict-link: a
// signed link for the reporter of a closed citizen case, for the channel
// that took the report to hand on (SMS, the app). The case must be in the
// caller's scope.
func (s *Server) handleVerdictLink(w http.ResponseWriter, r *http.Request) {
	inc, ok := s.scopedCase(w, r)
	if !ok {
		return
	}
	l, err := s.deps.Verdicts.VerdictLink(r.Context(), inc.ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	l.URL = baseURL(r) + "/verdict/" + l.Link // the address the caller reached us at, proxies' headers honoured
	writeJSON(w, http.StatusCreated, l)
}

// handleIncidentVerdict answers GET /api/v1/incidents/{id}/verdict.
func (s *Server) handleIncidentVerdict(w http.ResponseWriter, r *http.Request) {
	inc, ok := s.scopedCase(w, r)
	if !ok {
		return
	}
	v, err := s.deps.Verdicts.IncidentVerdict(r.Context(), inc.ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// verdictBody is the body of POST /api/v1/verdicts.
type verdictBody struct {
	Token     string `json:"token"`
	Link      string `json:"link"`
	Satisfied *bool  `json:"satisfied"`
	Comment   string `json:"comment"`
}

// verdictAnswer is what a verdict's sender learns: the verdict and where
// the case stands, nothing of its people.
type verdictAnswer struct {
	Verdict geo.Verdict `json:"verdict"`
	Case    struct {
		ID    int64     `json:"id"`
		State geo.State `json:"state"`
	} `json:"case"`
}

// handlePostVerdict answers POST /api/v1/verdicts: 201 with the verdict;
// 409 when the case is not closed, was reported by staff or has its
// verdict already; 410 when the window or the link has expired.
func (s *Server) handlePostVerdict(w http.ResponseWriter, r *http.Request) {
	var b verdictBody
	if err := decodeJSON(w, r, &b); err != nil {
		writeError(w, r, err)
		return
	}
	if b.Satisfied == nil {
		writeError(w, r, geo.Errorf(geo.EINVALID, "give satisfied: true or false"))
		return
	}
	v, inc, err := s.deps.Verdicts.RecordVerdict(r.Context(), geo.VerdictRequest{Token: b.Token, Link: b.Link, Satisfied: *b.Satisfied, Comment: b.Comment})
	if err != nil {
		writeError(w, r, err)
		return
	}
	var a verdictAnswer
	a.Verdict, a.Case.ID, a.Case.State = v, inc.ID, inc.State
	writeJSON(w, http.StatusCreated, a)
}

// handleVerdictPage is the citizen's page behind a signed link: GET shows
// the case (its number, what and where, when it was closed) and the two
// answers; POST (the form) records the verdict. Plain HTML that works
// without JavaScript on any phone.
func (s *Server) handleVerdictPage(w http.ResponseWriter, r *http.Request) {
	link := mux.Vars(r)["link"]
	page := verdictPage{Link: link}
	status := http.StatusOK
	var inc geo.Incident // the case as the verdict left it, after a POST that took
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			page.Error, status = "表单无法读取 The form could not be read.", http.StatusBadRequest
		} else {
			answer := r.PostForm.Get("satisfied")
			req := geo.VerdictRequest{Link: link, Satisfied: answer == "yes", Comment: r.PostForm.Get("comment")}
			if answer != "yes" && answer != "no" {
				page.Error, status = "请选择满意或不满意 Choose satisfied or not satisfied.", http.StatusBadRequest
			} else if v, recorded, err := s.deps.Verdicts.RecordVerdict(r.Context(), req); err != nil {
				page.Error, status = citizenMessage(err), statusOf(geo.ErrorCode(err))
			} else {
				page.Done, page.Reopened, inc = true, v.Reopened, recorded
			}
		}
	}
	var err error
	if !page.Done {
		inc, err = s.deps.Verdicts.VerdictCase(r.Context(), geo.VerdictRequest{Link: link})
	}
	if err != nil {
		if page.Error == "" {
			page.Error, status = citizenMessage(err), statusOf(geo.ErrorCode(err))
		}
	} else {
		page.ID, page.What = inc.ID, inc.CategoryName
		if page.Error == "" && !page.Done {
			if _, err := s.deps.Verdicts.IncidentVerdict(r.Context(), inc.ID); err == nil {
				page.Error, status = "此案件已评价，每个案件只能评价一次。This case has its verdict already.", http.StatusConflict
			}
		}
		if inc.Location.Community != nil {
			page.Where = inc.Location.Community.Name
		}
		if inc.ClosedAt != nil {
			page.Closed = inc.ClosedAt.In(geo.ChinaTime).Format("2006-01-02 15:04")
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the link is the credential
	w.WriteHeader(status)
	verdictTemplate.Execute(w, page)
}

// citizenMessage is an error as the citizen's page says it: in Chinese
// first, with the detail after; nothing of a failure inside the server.
func citizenMessage(err error) string {
	msg := geo.ErrorMessage(err)
	switch geo.ErrorCode(err) {
	case geo.EEXPIRED:
		return "评价期限已过。" + msg
	case geo.ECONFLICT:
		return "无法评价：每个案件只能评价一次，且须在结案之后。" + msg
	case geo.EINVALID:
		return "链接或表单无效。" + msg
	case geo.ENOTFOUND:
		return "没有找到此案件。" + msg
	}
	return "暂时无法评价，请稍后再试。Please try again later."
}

// verdictPage is what the citizen's page shows.
type verdictPage struct {
	Link, What, Where, Closed, Error string
	ID                               int64
	Done, Reopened                   bool
}

var verdictTemplate = template.Must(template.New("verdict").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>办理结果评价</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32em;margin:1em auto;padding:0 1em}
label{display:block;margin:.5em 0}textarea{width:100%;min-height:5em}button{font-size:1em;padding:.5em 1.5em}
.err{color:#a00}.ok{color:#060}</style></head><body>
<h1>办理结果评价 <small>Your verdict</small></h1>
{{if .ID}}<p>案件 Case <b>{{.ID}}</b>：{{.What}}{{if .Where}}（{{.Where}}）{{end}}{{if .Closed}}，{{.Closed}} 结案{{end}}</p>{{end}}
{{if .Error}}<p class="err" role="alert">{{.Error}}</p>{{end}}
{{if .Done}}<p class="ok" role="status">感谢您的评价。Thank you.{{if .Reopened}} 案件已退回重新办理 The case has been sent back for rework.{{end}}</p>
{{else if and .ID (not .Error)}}<form method="post">
<label><input type="radio" name="satisfied" value="yes" required> 满意 Satisfied</label>
<label><input type="radio" name="satisfied" value="no"> 不满意 Not satisfied</label>
<label>意见 Comment（不满意时必填 required when not satisfied）<textarea name="comment" maxlength="500"></textarea></label>
<button type="submit">提交 Send</button></form>{{end}}
</body></html>`))
