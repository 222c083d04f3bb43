package web

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
)

// Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2) at /open311/v2/:
// categories are services, cases are service requests. Every resource
// comes as .json or .xml; JSON lists are bare arrays, XML lists are
// wrapped (<services>, <service_requests>, <errors>); errors are a list
// of {code, description} with the HTTP status as code. gridd creates
// requests in real time, so POST answers with the service_request_id
// (and also a token, which tokens/{token} resolves).

// open311Routes registers the GeoReport v2 endpoints.
func (s *Server) open311Routes(r *mux.Router) {
	if s.deps.Incidents == nil || s.deps.Casework == nil {
		return
	}
	o := r.PathPrefix("/open311/v2").Subrouter()
	const f = ".{format:json|xml}"
	o.HandleFunc("/services"+f, s.handleO311Services).Methods(http.MethodGet)
	o.HandleFunc("/services/{code}"+f, s.handleO311Service).Methods(http.MethodGet)
	o.HandleFunc("/requests"+f, s.handleO311Requests).Methods(http.MethodGet)
	o.HandleFunc("/requests"+f, s.handleO311Post).Methods(http.MethodPost)
	o.HandleFunc("/requests/{id}"+f, s.handleO311Request).Methods(http.MethodGet)
	o.HandleFunc("/tokens/{token}"+f, s.handleO311Token).Methods(http.MethodGet)
	o.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format := "json"
		if strings.HasSuffix(r.URL.Path, ".xml") {
			format = "xml"
		}
		writeO311Error(w, format, geo.Errorf(geo.ENOTFOUND, "no Open311 resource %s %s: see /open311/v2/services.json", r.Method, r.URL.Path))
	})
}

type o311Service struct {
	XMLName     xml.Name `json:"-" xml:"service"`
	ServiceCode string   `json:"service_code" xml:"service_code"`
	ServiceName string   `json:"service_name" xml:"service_name"`
	Description string   `json:"description" xml:"description"`
	Metadata    bool     `json:"metadata" xml:"metadata"`
	Type        string   `json:"type" xml:"type"`
	Keywords    string   `json:"keywords" xml:"keywords"`
	Group       string   `json:"group" xml:"group"`
}

type o311Attribute struct {
	XMLName  xml.Name `json:"-" xml:"attribute"`
	Variable bool     `json:"variable" xml:"variable"`
	Code     string   `json:"code" xml:"code"`
	Datatype string   `json:"datatype" xml:"datatype"`
	Required bool     `json:"required" xml:"required"`
	Order    int      `json:"order" xml:"order"`
}

type o311Definition struct {
	XMLName     xml.Name        `json:"-" xml:"service_definition"`
	ServiceCode string          `json:"service_code" xml:"service_code"`
	Attributes  []o311Attribute `json:"attributes" xml:"attributes>attribute"`
}

type o311Request struct {
	XMLName           xml.Name `json:"-" xml:"request"`
	ServiceRequestID  string   `json:"service_request_id" xml:"service_request_id"`
	Status            string   `json:"status" xml:"status"`
	StatusNotes       string   `json:"status_notes" xml:"status_notes"`
	ServiceName       string   `json:"service_name" xml:"service_name"`
	ServiceCode       string   `json:"service_code" xml:"service_code"`
	Description       string   `json:"description" xml:"description"`
	AgencyResponsible string   `json:"agency_responsible" xml:"agency_responsible"`
	ServiceNotice     string   `json:"service_notice" xml:"service_notice"`
	RequestedDatetime string   `json:"requested_datetime" xml:"requested_datetime"`
	UpdatedDatetime   string   `json:"updated_datetime" xml:"updated_datetime"`
	ExpectedDatetime  string   `json:"expected_datetime" xml:"expected_datetime"`
	Address           string   `json:"address" xml:"address"`
	AddressID         string   `json:"address_id" xml:"address_id"`
	Zipcode           string   `json:"zipcode" xml:"zipcode"`
	Lat               float64  `json:"lat" xml:"lat"`
	Long              float64  `json:"long" xml:"long"`
	MediaURL          string   `json:"media_url" xml:"media_url"`
	MergedInto        string   `json:"merged_into,omitempty" xml:"merged_into,omitempty"` // a duplicate: the request it follows (duplicates.go)
}

type o311Created struct {
	XMLName          xml.Name `json:"-" xml:"request"`
	ServiceRequestID string   `json:"service_request_id" xml:"service_request_id"`
	Token            string   `json:"token" xml:"token"`
	ServiceNotice    string   `json:"service_notice" xml:"service_notice"`
	AccountID        *string  `json:"account_id" xml:"account_id"`
}

type o311Token struct {
	XMLName          xml.Name `json:"-" xml:"request"`
	ServiceRequestID string   `json:"service_request_id" xml:"service_request_id"`
	Token            string   `json:"token" xml:"token"`
}

type o311Error struct {
	XMLName     xml.Name `json:"-" xml:"error"`
	Code        int      `json:"code" xml:"code"`
	Description string   `json:"description" xml:"description"`
}

// xmlList wraps a list in the element GeoReport names for it.
type xmlList[T any] struct {
	XMLName xml.Name
	Items   []T
}

// writeO311 answers in the requested format; XML lists are wrapped in
// root.
func writeO311[T any](w http.ResponseWriter, format string, status int, root string, items []T) {
	if items == nil {
		items = []T{}
	}
	if format == "xml" {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(status)
		io.WriteString(w, xml.Header)
		var v any = xmlList[T]{XMLName: xml.Name{Local: root}, Items: items}
		if root == "" {
			v = items[0]
		}
		enc := xml.NewEncoder(w)
		enc.Encode(v)
		io.WriteString(w, "\n")
		return
	}
	if root == "" {
		writeJSON(w, status, items[0])
		return
	}
	writeJSON(w, status, items)
}

// writeO311Error answers with GeoReport's error list; the status comes
// from the error's code through statusOf, the one mapping.
func writeO311Error(w http.ResponseWriter, format string, err error) {
	status := errorStatus(w, err)
	writeO311(w, format, status, "errors", []o311Error{{Code: status, Description: geo.ErrorMessage(err)}})
}

func o311Format(r *http.Request) string { return mux.Vars(r)["format"] }

func serviceOf(c geo.Category) o311Service {
	kind := map[string]string{geo.KindEvent: "事件", geo.KindComponent: "部件"}[c.Kind]
	return o311Service{
		ServiceCode: c.Code, ServiceName: c.Name, Metadata: false, Type: "realtime",
		Description: fmt.Sprintf("%s（%s·%s）：%s处置，时限 %s", c.Name, kind, c.Class, c.DeptName, c.Limit),
		Keywords:    strings.Join([]string{c.Class, kind, c.DeptName}, ","), Group: c.Class,
	}
}

func (s *Server) handleO311Services(w http.ResponseWriter, r *http.Request) {
	cs, err := s.deps.Casework.Categories(r.Context(), false)
	if err != nil {
		writeO311Error(w, o311Format(r), err)
		return
	}
	out := make([]o311Service, len(cs))
	for i, c := range cs {
		out[i] = serviceOf(c)
	}
	writeO311(w, o311Format(r), http.StatusOK, "services", out)
}

// handleO311Service answers the service definition: gridd's services take
// no extra attributes, so the list is empty.
func (s *Server) handleO311Service(w http.ResponseWriter, r *http.Request) {
	c, err := s.deps.Casework.Category(r.Context(), mux.Vars(r)["code"])
	if err == nil && !c.Active {
		err = geo.Errorf(geo.ENOTFOUND, "service %s is no longer offered", c.Code)
	}
	if err != nil {
		writeO311Error(w, o311Format(r), err)
		return
	}
	writeO311(w, o311Format(r), http.StatusOK, "", []o311Definition{{ServiceCode: c.Code, Attributes: []o311Attribute{}}})
}

// stateNotes says where a case is, in the operator's words.
var stateNotes = map[geo.State]string{
	geo.StateReported: "已受理", geo.StateRegistered: "已立案", geo.StateDispatched: "已派遣", geo.StateAccepted: "处置中",
	geo.StateExtensionRequested: "处置中（申请延期）", geo.StateReturned: "重新派遣中", geo.StateHandled: "已处置，待核查",
	geo.StateVerified: "已核查，待结案", geo.StateClosed: "已结案", geo.StateSuspended: "挂账", geo.StateCancelled: "已作废",
}

func o311Time(t time.Time) string { return t.In(geo.ChinaTime).Format(time.RFC3339) }

func requestOf(inc geo.Incident) o311Request {
	status := "open"
	if !inc.State.Open() {
		status = "closed"
	}
	out := o311Request{
		ServiceRequestID: strconv.FormatInt(inc.ID, 10), Status: status, StatusNotes: stateNotes[inc.State],
		ServiceName: inc.CategoryName, ServiceCode: inc.Category, Description: inc.Description,
		AgencyResponsible: inc.DeptName, ServiceNotice: fmt.Sprintf("%s处置，时限 %s", inc.DeptName, inc.Limit),
		RequestedDatetime: o311Time(inc.CreatedAt), UpdatedDatetime: o311Time(inc.UpdatedAt), Address: inc.Address,
		Lat: inc.Lat, Long: inc.Lon,
	}
	if inc.State.Open() {
		out.ExpectedDatetime = o311Time(inc.DeadlineAt)
	}
	if len(inc.Attachments) > 0 {
		out.MediaURL = inc.Attachments[0]
	}
	return out
}

// handleO311Post answers POST requests.{format}: a form with service_code,
// lat and long (WGS84; srs= for GCJ-02 or BD-09), and optionally
// description, address_string, first_name, last_name, phone, email and
// media_url. Requests are located by coordinates: gridd has no geocoder,
// so an address alone is refused. api_key is the integration's API token,
// checked by the authentication middleware like a bearer token.
func (s *Server) handleO311Post(w http.ResponseWriter, r *http.Request) {
	f := o311Format(r)
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		err = r.ParseMultipartForm(maxJSONBody)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeO311Error(w, f, geo.Errorf(geo.ETOOLARGE, "request body over %d bytes", maxJSONBody))
			return
		}
		writeO311Error(w, f, geo.Errorf(geo.EINVALID, "the request is not a form: send application/x-www-form-urlencoded"))
		return
	}
	v := r.Form
	in := incidentRequest{Category: v.Get("service_code"), SRS: v.Get("srs"), Address: v.Get("address_string"),
		Description: v.Get("description"), Source: "open311",
		Reporter: geo.Reporter{Name: strings.TrimSpace(v.Get("first_name") + " " + v.Get("last_name")), Phone: v.Get("phone")}}
	if in.Category == "" {
		writeO311Error(w, f, geo.Errorf(geo.EINVALID, "service_code is required: services.%s lists them", f))
		return
	}
	for _, p := range []struct {
		name string
		dst  **float64
	}{{"lat", &in.Lat}, {"long", &in.Lon}} {
		s := v.Get(p.name)
		if s == "" {
			writeO311Error(w, f, geo.Errorf(geo.EINVALID, "lat and long are required: gridd locates requests by their coordinates, it has no geocoder for address_string"))
			return
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			writeO311Error(w, f, geo.Errorf(geo.EINVALID, "%s=%q is not a number of degrees", p.name, s))
			return
		}
		*p.dst = &x
	}
	if m := v.Get("media_url"); m != "" {
		in.Attachments = []string{m}
	}
	if e := v.Get("email"); e != "" && in.Reporter.Phone == "" {
		in.Reporter.Phone = e
	}
	c, err := callerOf(r)
	if err != nil {
		writeO311Error(w, f, err)
		return
	}
	if c.actor == "" {
		c.actor = "open311"
		if id := v.Get("device_id"); id != "" {
			c.actor = "open311:" + id
		}
	}
	n, err := s.newIncident(r.Context(), in, r.Header.Get("Idempotency-Key"), c)
	if err != nil {
		writeO311Error(w, f, err)
		return
	}
	n.Audit = inTxAudit(r, http.StatusCreated)
	inc, replayed, err := s.deps.Incidents.CreateIncident(r.Context(), n)
	if err != nil {
		writeO311Error(w, f, err)
		return
	}
	if !replayed && n.Audit != nil {
		auditStored(r) // with the case, in its transaction
	}
	var account *string
	if a := v.Get("account_id"); a != "" {
		account = &a
	}
	writeO311(w, f, http.StatusCreated, "service_requests", []o311Created{{
		ServiceRequestID: strconv.FormatInt(inc.ID, 10), Token: inc.Token, AccountID: account,
		ServiceNotice: fmt.Sprintf("%s处置，时限 %s，预计 %s 前处置", inc.DeptName, inc.Limit, o311Time(inc.DeadlineAt)),
	}})
}

// handleO311Requests answers GET requests.{format}: by service_request_id
// (comma-separated; other filters are then ignored), else by service_code,
// status (open, closed), start_date and end_date; by default the last 90
// days, at most 1000 requests, newest first.
func (s *Server) handleO311Requests(w http.ResponseWriter, r *http.Request) {
	f := o311Format(r)
	q := r.URL.Query()
	var filter geo.IncidentFilter
	filter.Limit = 1000
	if ids := q.Get("service_request_id"); ids != "" {
		for _, x := range strings.Split(ids, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				writeO311Error(w, f, geo.Errorf(geo.EINVALID, "service_request_id %q is not a request id", x))
				return
			}
			filter.IDs = append(filter.IDs, id)
		}
	} else {
		filter.Category = q.Get("service_code")
		var err error
		if filter.From, err = timeParam(q.Get("start_date"), "start_date"); err != nil {
			writeO311Error(w, f, err)
			return
		}
		if filter.To, err = timeParam(q.Get("end_date"), "end_date"); err != nil {
			writeO311Error(w, f, err)
			return
		}
		if filter.From.IsZero() {
			to := filter.To
			if to.IsZero() {
				to = time.Now()
			}
			filter.From = to.AddDate(0, 0, -90)
		}
		if st := q.Get("status"); st != "" {
			for _, x := range strings.Split(st, ",") {
				switch strings.TrimSpace(x) {
				case "open":
					for _, s := range geo.States {
						if s.Open() {
							filter.States = append(filter.States, s)
						}
					}
				case "closed":
					filter.States = append(filter.States, geo.StateClosed, geo.StateCancelled)
				default:
					writeO311Error(w, f, geo.Errorf(geo.EINVALID, "status %q: use open or closed", x))
					return
				}
			}
		}
	}
	incs, err := s.deps.Incidents.Incidents(r.Context(), filter)
	if err != nil {
		writeO311Error(w, f, err)
		return
	}
	out := make([]o311Request, len(incs))
	for i, inc := range incs {
		out[i] = s.o311Follow(r.Context(), inc)
	}
	writeO311(w, f, http.StatusOK, "service_requests", out)
}

func (s *Server) handleO311Request(w http.ResponseWriter, r *http.Request) {
	f := o311Format(r)
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		writeO311Error(w, f, geo.Errorf(geo.ENOTFOUND, "no service request %q", mux.Vars(r)["id"]))
		return
	}
	inc, err := s.deps.Incidents.Incident(r.Context(), id)
	if err != nil {
		writeO311Error(w, f, err)
		return
	}
	writeO311(w, f, http.StatusOK, "service_requests", []o311Request{s.o311Follow(r.Context(), inc)})
}

func (s *Server) handleO311Token(w http.ResponseWriter, r *http.Request) {
	f := o311Format(r)
	inc, err := s.deps.Incidents.IncidentByToken(r.Context(), mux.Vars(r)["token"])
	if err != nil {
		writeO311Error(w, f, err)
		return
	}
	writeO311(w, f, http.StatusOK, "service_requests", []o311Token{{ServiceRequestID: strconv.FormatInt(s.o311TokenID(r.Context(), inc), 10), Token: inc.Token}})
}
