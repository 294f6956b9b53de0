package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
)

// The server's side of a DR drill (drilldb.go, drillplace.go): plinth asks over the socket, never reaches
// into a namespace itself.
//
//	POST /v1/drill/open      the DR replica's forward (the preflight reads its replication)
//	POST /v1/drill/database  the drill database, replicating from the DR replica (idempotent by drill id);
//	                         with source "backup": an empty, writable server a backup is restored into
//	POST /v1/drill/promote   its replication ended, writable; a restored one: production's application
//	                         user created on it (a backup carries no accounts)
//	POST /v1/drill/teardown  every live part of the drill removed (idempotent), what is left named

// DrillRequest names a drill: the source stack (production) and the drill id.
type DrillRequest struct {
	Stack string `json:"stack"`
	Drill string `json:"drill"`
	// Source is the drill's data source for `database`: "replica" (default) or "backup".
	Source string `json:"source,omitempty"`
}

// Drill sources the server makes a drill database for (DrillRequest.Source).
const (
	DrillFromReplica = "replica"
	DrillFromBackup  = "backup"
)

// DrillAccess is what the server answers: where plinth reaches the DR replica and the drill database.
type DrillAccess struct {
	// DrillStack is the drill's stack (`<stack>-<drill>`), whose platform runs the drill database.
	DrillStack string `json:"drillStack"`
	// DRReplica is production's DR replica's forward (127.0.0.1:port), verified with DRReplicaCAFile.
	DRReplica       string `json:"drReplica"`
	DRReplicaCAFile string `json:"drReplicaCaFile"`
	// DRReplicaAddress is the DR replica's host:port in the DR VPC (the drill database's source).
	DRReplicaAddress string `json:"drReplicaAddress,omitempty"`
	// Database is the drill database's forward, Endpoint its host:port in the DR VPC (what the drill
	// stack's hosts reach), CAFile the drill platform's CA that signs it.
	Database string `json:"database,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	CAFile   string `json:"caFile,omitempty"`
	// Left names what a teardown could not remove.
	Left []string `json:"leftBehind"`
}

func (s *Server) drillRoutes(mux *http.ServeMux) {
	ops := map[string]func(context.Context, DrillRequest) (DrillAccess, error){
		"open": s.drillOpen, "database": s.drillDatabase, "promote": s.drillPromote, "teardown": s.drillTeardown,
	}
	for name, op := range ops {
		mux.HandleFunc("POST /v1/drill/"+name, func(w http.ResponseWriter, r *http.Request) {
			var req DrillRequest
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				http.Error(w, "drill "+name+": "+err.Error(), http.StatusBadRequest)
				return
			}
			acc, err := op(r.Context(), req)
			if err != nil {
				http.Error(w, fmt.Sprintf("drill %s of %s: %s: %v", req.Drill, req.Stack, name, err), http.StatusUnprocessableEntity)
				return
			}
			writeJSON(w, acc)
		})
	}
}

// drillRun returns the drill's run (created with its forward to the DR replica on first use); s.drillMu held.
func (s *Server) drillRun(req DrillRequest) (*drillRun, error) {
	stack := req.Stack + "-" + req.Drill
	if _, _, ok := DrillSource(stack); !ok {
		return nil, fmt.Errorf("drill id %q: want drill-<yyyymmdd>T<hhmmss>Z", req.Drill)
	}
	if r, ok := s.drills[stack]; ok {
		return r, nil
	}
	s.mu.Lock()
	src, ok := s.platforms[req.Stack]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("stack %s runs no live platform", req.Stack)
	}
	dr := src.data.drReplicaOf()
	if dr == nil {
		return nil, fmt.Errorf("stack %s runs no DR replica", req.Stack)
	}
	r := &drillRun{stack: stack, source: req.Stack, id: req.Drill, src: src, drReplica: dr, fwds: map[string]*forward{}}
	f, err := openForward(src.nsName(dr.host), dr.endpoint())
	if err != nil {
		return nil, fmt.Errorf("DR replica forward: %w", err)
	}
	r.fwds["dr-replica"] = f
	s.drills[stack] = r
	return r, nil
}

func (r *drillRun) access() DrillAccess {
	a := DrillAccess{DrillStack: r.stack, DRReplica: r.fwds["dr-replica"].addr(), DRReplicaCAFile: r.src.ca.CAFile,
		DRReplicaAddress: r.drReplica.endpoint(), Left: []string{}}
	if f, ok := r.fwds["database"]; ok && r.db != nil {
		a.Database, a.Endpoint, a.CAFile = f.addr(), r.db.endpoint(), r.dp.ca.CAFile
	}
	return a
}

func (s *Server) drillOpen(_ context.Context, req DrillRequest) (DrillAccess, error) {
	s.drillMu.Lock()
	defer s.drillMu.Unlock()
	r, err := s.drillRun(req)
	if err != nil {
		return DrillAccess{}, err
	}
	return r.access(), nil
}

// drillDatabase creates the drill database (once per drill): the drill platform on the source's DR VPC
// bridge, its host with the replication flows, mariadbd replicating from the DR replica, its forward.
func (s *Server) drillDatabase(ctx context.Context, req DrillRequest) (DrillAccess, error) {
	s.drillMu.Lock()
	defer s.drillMu.Unlock()
	r, err := s.drillRun(req)
	if err != nil {
		return DrillAccess{}, err
	}
	restore := req.Source == DrillFromBackup
	if req.Source != "" && req.Source != DrillFromReplica && !restore {
		return DrillAccess{}, fmt.Errorf("source %q: want %s or %s", req.Source, DrillFromReplica, DrillFromBackup)
	}
	if r.db != nil {
		if r.restore != restore {
			return DrillAccess{}, fmt.Errorf("its drill database was made for the other source (restore target: %v)", r.restore)
		}
		return r.access(), nil
	}
	if r.dp, err = s.platform(r.stack); err != nil {
		return DrillAccess{}, err
	}
	dr, ok := r.src.stateHost(r.drReplica.host)
	if !ok {
		return DrillAccess{}, fmt.Errorf("DR replica %s: its host is not in the state", r.drReplica.spec.Name)
	}
	if r.host, err = r.drillDBHostSpec(dr); err != nil {
		return DrillAccess{}, err
	}
	r.restore = restore
	if restore { // no replication: only the host, in the DR replica's subnet and groups
		r.dp.setOverlay(drillDBHost, r.hostOverlay(nil))
	} else {
		drillOv, srcOv := r.replicationOverlays(dr)
		r.dp.setOverlay(drillDBHost, drillOv)
		r.src.setOverlay("drill/"+r.stack, srcOv)
	}
	if err := s.hook.Resume(ctx, r.stack); err != nil {
		return DrillAccess{}, err
	}
	if err := s.resumeSource(ctx, r); err != nil {
		return DrillAccess{}, err
	}
	if err := r.startDrillDB(ctx); err != nil {
		return DrillAccess{}, err
	}
	f, err := openForward(r.dp.nsName(drillDBHost), r.db.endpoint())
	if err != nil {
		return DrillAccess{}, fmt.Errorf("drill database forward: %w", err)
	}
	r.fwds["database"] = f
	return r.access(), nil
}

func (s *Server) drillPromote(ctx context.Context, req DrillRequest) (DrillAccess, error) {
	s.drillMu.Lock()
	defer s.drillMu.Unlock()
	r, ok := s.drills[req.Stack+"-"+req.Drill]
	if !ok {
		return DrillAccess{}, errors.New("no drill database: create it first")
	}
	promote := r.promote
	if r.restore {
		promote = r.grantApp
	}
	if err := promote(ctx); err != nil {
		return DrillAccess{}, err
	}
	return r.access(), nil
}

// drillTeardown removes the drill's live parts: forwards, the drill database and its host, the replication
// flow on the DR replica, and the drill platform when its stack holds no resource any more. It is
// idempotent and answers for a drill this server never saw (its platform is closed if it runs).
func (s *Server) drillTeardown(ctx context.Context, req DrillRequest) (DrillAccess, error) {
	s.drillMu.Lock()
	defer s.drillMu.Unlock()
	stack := req.Stack + "-" + req.Drill
	if _, _, ok := DrillSource(stack); !ok {
		return DrillAccess{}, fmt.Errorf("drill id %q: want drill-<yyyymmdd>T<hhmmss>Z", req.Drill)
	}
	acc := DrillAccess{DrillStack: stack, Left: []string{}}
	var errs []error
	if r, ok := s.drills[stack]; ok {
		r.closeForwards()
		errs = append(errs, r.stopDrillDB())
		r.src.setOverlay("drill/"+stack, nil)
		if r.dp != nil {
			r.dp.setOverlay(drillDBHost, nil)
		}
		if err := s.resumeSource(ctx, r); err != nil {
			errs = append(errs, err)
			acc.Left = append(acc.Left, "the drill's replication rule on "+r.source+"'s DR replica")
		}
		delete(s.drills, stack)
	}
	left, err := s.closeDrillPlatform(ctx, stack)
	acc.Left = append(acc.Left, left...)
	return acc, errors.Join(append(errs, err)...)
}

// resumeSource brings the source's platform to its records and the drill's overlay (a replica drill's
// replication rule on the DR replica; a backup drill changes nothing of the source).
func (s *Server) resumeSource(ctx context.Context, r *drillRun) error {
	if r.restore {
		return nil
	}
	return s.hook.Resume(ctx, r.source)
}

// closeDrillPlatform closes a drill stack's platform once its stack holds no resource and it runs no drill
// database (then its directory goes too), else brings it to its records; what still runs is named.
func (s *Server) closeDrillPlatform(ctx context.Context, stack string) ([]string, error) {
	s.mu.Lock()
	p, ok := s.platforms[stack]
	s.mu.Unlock()
	if !ok {
		return nil, nil
	}
	if _, busy := s.drills[stack]; busy {
		return nil, nil
	}
	if n := s.hook.recordCount(stack); n > 0 {
		err := s.hook.Resume(ctx, stack)
		return []string{fmt.Sprintf("drill stack %s: %d resources (destroy the stack)", stack, n)}, err
	}
	err := p.Close()
	s.mu.Lock()
	delete(s.platforms, stack)
	s.mu.Unlock()
	s.hook.forget(stack)
	if s.StacksDir != "" && err == nil {
		err = os.RemoveAll(filepath.Join(s.StacksDir, StackID(stack)))
	}
	if err != nil {
		return []string{"drill stack " + stack + "'s platform"}, err
	}
	return nil, nil
}

// recordCount is how many records the hook holds for stack.
func (h *Hook) recordCount(stack string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	recs, err := h.stack(stack)
	if err != nil {
		return 1 // unknown: keep the platform
	}
	return len(recs)
}

// forget drops what the hook keeps of stack (its records are the store's, its allocation is removed).
func (h *Hook) forget(stack string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.records, stack)
	delete(h.allocs, stack)
}

// Drill asks the server for op (open, database, promote, teardown) of drill id of stack.
func (c *Client) Drill(ctx context.Context, op, stack, id string) (DrillAccess, error) {
	return c.DrillRequest(ctx, op, DrillRequest{Stack: stack, Drill: id})
}

// DrillRequest asks the server for op with req (a backup drill's `database` names its source).
func (c *Client) DrillRequest(ctx context.Context, op string, req DrillRequest) (DrillAccess, error) {
	var acc DrillAccess
	err := c.do(ctx, http.MethodPost, "/v1/drill/"+op, req, &acc)
	return acc, err
}

// drillStackGone closes a drill stack's platform after the delete that left its stack empty (the end of
// the drill stack's destroy) unless its drill database still runs.
func (s *Server) drillStackGone(ctx context.Context, stack string) error {
	if _, _, ok := DrillSource(stack); !ok {
		return nil
	}
	s.drillMu.Lock()
	defer s.drillMu.Unlock()
	if s.hook.recordCount(stack) > 0 {
		return nil
	}
	_, err := s.closeDrillPlatform(ctx, stack)
	return err
}
