package lbtest

import (
	"fmt"
	"net/http"
	"sync"
)

// ALBStub speaks the ELBv2 query protocol for one target group: deregistered targets drain for a few
// polls, registered ones become healthy after a few polls. Other actions are answered 400.
type ALBStub struct {
	TargetGroupARN string

	mu      sync.Mutex
	state   map[string]string // target id -> healthy, draining, initial, unused
	polls   map[string]int
	actions []string
}

// NewALBStub returns a target group arn whose targets are healthy.
func NewALBStub(arn string, healthy ...string) *ALBStub {
	s := &ALBStub{TargetGroupARN: arn, state: map[string]string{}, polls: map[string]int{}}
	for _, id := range healthy {
		s.state[id] = "healthy"
	}
	return s
}

// ServeHTTP answers DeregisterTargets, RegisterTargets and DescribeTargetHealth.
func (s *ALBStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	action := r.Form.Get("Action")
	s.actions = append(s.actions, action)
	if r.Form.Get("TargetGroupArn") != s.TargetGroupARN {
		w.WriteHeader(400)
		fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>TargetGroupNotFound</Code><Message>no such target group</Message></Error><RequestId>r</RequestId></ErrorResponse>`)
		return
	}
	id := r.Form.Get("Targets.member.1.Id")
	if _, known := s.state[id]; !known {
		w.WriteHeader(400)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidTarget</Code><Message>target %s is not in this VPC</Message></Error><RequestId>r</RequestId></ErrorResponse>`, id)
		return
	}
	switch action {
	case "DeregisterTargets":
		if s.state[id] != "unused" {
			s.state[id], s.polls[id] = "draining", 0
		}
		fmt.Fprint(w, `<DeregisterTargetsResponse><DeregisterTargetsResult/><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeregisterTargetsResponse>`)
	case "RegisterTargets":
		if s.state[id] != "healthy" {
			s.state[id], s.polls[id] = "initial", 0
		}
		fmt.Fprint(w, `<RegisterTargetsResponse><RegisterTargetsResult/><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></RegisterTargetsResponse>`)
	case "DescribeTargetHealth":
		s.polls[id]++
		if s.polls[id] >= 3 {
			switch s.state[id] {
			case "draining":
				s.state[id] = "unused"
			case "initial":
				s.state[id] = "healthy"
			}
		}
		fmt.Fprintf(w, `<DescribeTargetHealthResponse><DescribeTargetHealthResult><TargetHealthDescriptions><member><Target><Id>%s</Id><Port>%s</Port></Target><TargetHealth><State>%s</State></TargetHealth></member></TargetHealthDescriptions></DescribeTargetHealthResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeTargetHealthResponse>`,
			id, r.Form.Get("Targets.member.1.Port"), s.state[id])
	default:
		http.Error(w, "unexpected action "+action, 400)
	}
}

// InService reports whether the target is healthy.
func (s *ALBStub) InService(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state[id] == "healthy"
}

// Actions are the API actions called so far, in order.
func (s *ALBStub) Actions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.actions...)
}
