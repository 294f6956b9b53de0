package firewall

import "fmt"

// Sources that are not tiers.
const (
	Internet = "internet" // 0.0.0.0/0 and ::/0
	Admin    = "admin"    // the spec's admin CIDRs
)

// Tier names that get a security group.
const (
	LB      = "lb"
	App     = "app"
	Worker  = "worker"
	DB      = "db"
	Search  = "search"
	Cache   = "cache"
	SFTP    = "sftp"
	Bastion = "bastion"
)

// Tiers lists every tier with a security group, in a stable order.
var Tiers = []string{LB, App, Worker, DB, Search, Cache, SFTP, Bastion}

// Rule allows From to open TCP connections to To on Port. From may be a tier, Internet or Admin.
type Rule struct {
	From     string
	To       string
	Port     int
	Protocol string
	Purpose  string
}

func (r Rule) String() string {
	return fmt.Sprintf("%s -> %s %s/%d (%s)", r.From, r.To, r.Protocol, r.Port, r.Purpose)
}

// Ports are the service ports that vary by spec.
type Ports struct {
	App  int // app tier behind the load balancer
	SFTP int // sftp tier's SFTP service
}

// Well-known ports.
const (
	HTTPS = 443
	HTTP  = 80
	SSH   = 22
	MySQL = 3306
	Redis = 6379
)

// Matrix is the whole tier-to-tier policy: every allowed flow, and nothing else. Public traffic reaches only
// the load balancer, on 443 and 80 (80 only redirects); SSH reaches every instance tier only from the
// bastion, and the bastion only from the admin networks; MySQL only from app, worker and bastion; search and
// cache only from app and worker.
func Matrix(p Ports) []Rule {
	tcp := func(from, to string, port int, purpose string) Rule {
		return Rule{From: from, To: to, Port: port, Protocol: "tcp", Purpose: purpose}
	}
	return []Rule{
		tcp(Internet, LB, HTTPS, "public HTTPS"),
		tcp(Internet, LB, HTTP, "public HTTP, redirected to HTTPS"),
		tcp(LB, App, p.App, "load balancer to app (TLS)"),
		tcp(Admin, Bastion, SSH, "admins to the bastion"),
		tcp(Bastion, App, SSH, "SSH via the bastion"),
		tcp(Bastion, Worker, SSH, "SSH via the bastion"),
		tcp(Bastion, SFTP, SSH, "SSH via the bastion"),
		tcp(App, DB, MySQL, "app to MySQL (TLS)"),
		tcp(Worker, DB, MySQL, "worker to MySQL (TLS)"),
		tcp(Bastion, DB, MySQL, "admin MySQL access via the bastion (TLS)"),
		tcp(App, Search, HTTPS, "app to OpenSearch"),
		tcp(Worker, Search, HTTPS, "worker to OpenSearch"),
		tcp(App, Cache, Redis, "app to cache (TLS)"),
		tcp(Worker, Cache, Redis, "worker to cache (TLS)"),
		tcp(App, SFTP, p.SFTP, "app to SFTP"),
		tcp(Worker, SFTP, p.SFTP, "worker to SFTP"),
	}
}

// EgressToInternet are the tiers allowed to open HTTPS connections out (through NAT or endpoints): package
// updates, AWS APIs, the GCP backup vault.
var EgressToInternet = []string{App, Worker, SFTP, Bastion}
