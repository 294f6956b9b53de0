package rdsdrill

import (
	"context"
	"database/sql"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// fakeRDS serves the four RDS Query API actions the drill calls, over HTTP, to the real SDK client (so the
// SDK's request serialization and error decoding are exercised). moto's server, which the issue names,
// cannot be installed here (PyPI is not reachable), so this is the stub for exactly those calls. Instances
// move through RDS's states: creating -> available; modifying -> available (promoted); deleting -> gone.
type fakeRDS struct {
	mu        sync.Mutex
	instances map[string]*fakeInstance
	calls     []string
}

type fakeInstance struct {
	ident, source, status string
	tags                  map[string]string
	pending               []string // statuses still to show before settling
}

func (f *fakeRDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	action, ident := r.Form.Get("Action"), strings.ToLower(r.Form.Get("DBInstanceIdentifier"))
	f.calls = append(f.calls, action+" "+ident)
	inst := f.instances[ident]
	notFound := func() {
		w.WriteHeader(404)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>DBInstanceNotFound</Code><Message>DBInstance %s not found.</Message></Error><RequestId>r</RequestId></ErrorResponse>`, ident)
	}
	switch action {
	case "CreateDBInstanceReadReplica":
		if inst != nil {
			w.WriteHeader(400)
			fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>DBInstanceAlreadyExists</Code><Message>exists</Message></Error></ErrorResponse>`)
			return
		}
		if f.instances[strings.ToLower(r.Form.Get("SourceDBInstanceIdentifier"))] == nil {
			notFound()
			return
		}
		tags := map[string]string{}
		for i := 1; r.Form.Get(fmt.Sprintf("Tags.Tag.%d.Key", i)) != ""; i++ {
			tags[r.Form.Get(fmt.Sprintf("Tags.Tag.%d.Key", i))] = r.Form.Get(fmt.Sprintf("Tags.Tag.%d.Value", i))
		}
		inst = &fakeInstance{ident: ident, source: r.Form.Get("SourceDBInstanceIdentifier"), status: "available", tags: tags,
			pending: []string{"creating", "creating", "backing-up"}}
		f.instances[ident] = inst
		f.reply(w, action, "<DBInstance>"+inst.xml()+"</DBInstance>")
	case "PromoteReadReplica":
		if inst == nil {
			notFound()
			return
		}
		inst.source, inst.pending = "", []string{"modifying", "rebooting"}
		f.reply(w, action, "<DBInstance>"+inst.xml()+"</DBInstance>")
	case "DeleteDBInstance":
		if inst == nil {
			notFound()
			return
		}
		inst.status, inst.pending = "gone", []string{"deleting", "deleting"}
		f.reply(w, action, "<DBInstance>"+inst.xml()+"</DBInstance>")
	case "DescribeDBInstances":
		var list []*fakeInstance
		if ident != "" {
			if inst == nil {
				notFound()
				return
			}
			list = []*fakeInstance{inst}
		} else {
			for _, i := range f.instances {
				list = append(list, i)
			}
		}
		var b strings.Builder
		for _, i := range list {
			b.WriteString("<DBInstance>" + i.xml() + "</DBInstance>")
			if len(i.pending) > 0 {
				i.pending = i.pending[1:]
			}
			if len(i.pending) == 0 && i.status == "gone" {
				delete(f.instances, i.ident)
			}
		}
		f.reply(w, action, "<DBInstances>"+b.String()+"</DBInstances>")
	default:
		http.Error(w, "unsupported action "+action, 400)
	}
}

func (f *fakeRDS) reply(w http.ResponseWriter, action, body string) {
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><%sResult>%s</%sResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></%sResponse>`,
		action, action, body, action, action)
}

func (i *fakeInstance) xml() string {
	esc := func(s string) string {
		var b strings.Builder
		_ = xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	status := i.status
	if len(i.pending) > 0 {
		status = i.pending[0]
	}
	var tags strings.Builder
	for k, v := range i.tags {
		tags.WriteString("<Tag><Key>" + esc(k) + "</Key><Value>" + esc(v) + "</Value></Tag>")
	}
	src := ""
	if i.source != "" {
		src = "<ReadReplicaSourceDBInstanceIdentifier>" + esc(i.source) + "</ReadReplicaSourceDBInstanceIdentifier>"
	}
	return "<DBInstanceIdentifier>" + esc(i.ident) + "</DBInstanceIdentifier><DBInstanceStatus>" + status +
		"</DBInstanceStatus><Endpoint><Address>" + esc(i.ident) + ".abc.eu-central-1.rds.amazonaws.com</Address><Port>3306</Port></Endpoint>" +
		src + "<TagList>" + tags.String() + "</TagList>"
}

func newFake(t *testing.T) (*fakeRDS, *rds.Client) {
	f := &fakeRDS{instances: map[string]*fakeInstance{
		"production-db-dr": {ident: "production-db-dr", source: "arn:aws:rds:eu-west-1:333333333333:db:production-db", status: "available"},
	}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := rds.New(rds.Options{Region: "eu-central-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
	return f, client
}

func TestDrillDatabaseOnRDS(t *testing.T) {
	ctx := context.Background()
	f, client := newFake(t)
	const id = "drill-20261203T030000Z"
	var connected string
	d := &Database{API: client, Source: "production-db-dr", Interval: time.Millisecond, Timeout: 5 * time.Second,
		Connect: func(_ context.Context, endpoint string) (*sql.DB, error) {
			connected = endpoint
			return &sql.DB{}, nil
		}}
	if _, where, err := d.Create(ctx, id); err != nil || !strings.Contains(where, "rds plinth-drill-20261203t030000z (replica of production-db-dr)") {
		t.Fatalf("create: %q %v", where, err)
	}
	want := "plinth-drill-20261203t030000z.abc.eu-central-1.rds.amazonaws.com:3306"
	if connected != want || d.Endpoint(id) != want {
		t.Fatalf("connected to %q, endpoint %q, want %q", connected, d.Endpoint(id), want)
	}
	inst := f.instances["plinth-drill-20261203t030000z"]
	if inst == nil || inst.source != "production-db-dr" || inst.tags["plinth:drill"] != id {
		t.Fatalf("the drill instance: %+v", inst)
	}
	// A re-run finds the instance: no second create.
	d.Connect = func(context.Context, string) (*sql.DB, error) { return &sql.DB{}, nil }
	if _, _, err := d.Create(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := d.Promote(ctx, id); err != nil {
		t.Fatal(err)
	}
	if inst.source != "" || inst.status != "available" {
		t.Errorf("after promote: %+v", inst)
	}
	if err := d.Promote(ctx, id); err != nil { // idempotent
		t.Fatal(err)
	}
	for round := 1; round <= 2; round++ {
		left, err := d.Teardown(ctx, id)
		if err != nil || len(left) != 0 {
			t.Fatalf("teardown %d: left %v, %v", round, left, err)
		}
	}
	var creates, promotes, deletes int
	for _, c := range f.calls {
		switch {
		case strings.HasPrefix(c, "CreateDBInstanceReadReplica"):
			creates++
		case strings.HasPrefix(c, "PromoteReadReplica"):
			promotes++
		case strings.HasPrefix(c, "DeleteDBInstance"):
			deletes++
		}
		if strings.HasSuffix(c, " production-db-dr") && !strings.HasPrefix(c, "Describe") {
			t.Errorf("production's DR replica was acted on: %s", c)
		}
	}
	if creates != 1 || promotes != 1 || deletes != 1 {
		t.Errorf("creates %d promotes %d deletes %d, want 1 each: %v", creates, promotes, deletes, f.calls)
	}
	if _, ok := f.instances["production-db-dr"]; !ok || len(f.instances) != 1 {
		t.Errorf("instances left: %v", f.instances)
	}
}

func TestTeardownNamesWhatIsLeftAndForeignReplicas(t *testing.T) {
	ctx := context.Background()
	f, client := newFake(t)
	const id = "drill-20261203T030000Z"
	// Another instance carries this drill's tag (a half-made drill from another run): teardown names it.
	f.instances["stray"] = &fakeInstance{ident: "stray", status: "available", tags: map[string]string{"plinth:drill": id}}
	d := &Database{API: client, Source: "production-db-dr", Interval: time.Millisecond, Timeout: time.Second}
	left, err := d.Teardown(ctx, id)
	if err != nil || !slices.Equal(left, []string{"rds stray"}) {
		t.Errorf("teardown left %v, %v", left, err)
	}
	// An instance of the drill's name replicating from something else is refused, not adopted.
	f.instances["plinth-drill-20261203t030000z"] = &fakeInstance{ident: "plinth-drill-20261203t030000z", source: "other-db", status: "available"}
	if _, _, err := d.Create(ctx, id); err == nil || !strings.Contains(err.Error(), "replicates from other-db") {
		t.Errorf("foreign replica: %v", err)
	}
	// A source that does not exist: the create error names the drill instance.
	delete(f.instances, "plinth-drill-20261203t030000z")
	d.Source = "missing-db"
	if _, _, err := d.Create(ctx, id); err == nil || !strings.Contains(err.Error(), "create rds plinth-drill-20261203t030000z") {
		t.Errorf("missing source: %v", err)
	}
	// A wait that never settles ends at Timeout naming the status.
	f.instances["plinth-drill-20261203t030000z"] = &fakeInstance{ident: "plinth-drill-20261203t030000z", source: "missing-db", status: "creating"}
	d.Timeout = 20 * time.Millisecond
	if _, _, err := d.Create(ctx, id); err == nil || !strings.Contains(err.Error(), "status creating") {
		t.Errorf("timeout: %v", err)
	}
}
