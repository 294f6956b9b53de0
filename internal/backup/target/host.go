package target

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/tlsx"
)

// On a worker host (the backup units components/userdata renders) the database is named by the host's
// environment, not by the operator's view of the stack: the primary's address (PLINTH_DB_ADDR, from the
// stack's runtime parameter), the backup user's secret as a file only the units' user reads
// (PLINTH_DB_SECRET_FILE, the Secrets Manager value's JSON) and the CA its certificate is verified against
// (PLINTH_DB_CA_FILE; empty: the system roots). The host is inside the VPC: no bastion.
const (
	EnvDBSecretFile = userdata.EnvDBSecretFile
	EnvDBAddr       = userdata.EnvDBAddr
	EnvDBCAFile     = userdata.EnvDBCAFile
)

// hostDSN is the DSN the host's environment names ("" when it names no secret file).
func hostDSN(getenv func(string) string, stack string) (string, error) {
	file := getenv(EnvDBSecretFile)
	if file == "" {
		return "", nil
	}
	addr := getenv(EnvDBAddr)
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", inputErrorf("%s %q: want host:port of the database (%v)", EnvDBAddr, addr, err)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", EnvDBSecretFile, err)
	}
	var creds cloud.DBCredentials
	if err := json.Unmarshal(raw, &creds); err != nil || creds.Username == "" || creds.Password == "" {
		return "", fmt.Errorf("%s %s: want the secret's JSON with username and password", EnvDBSecretFile, file)
	}
	conf := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if ca := getenv(EnvDBCAFile); ca != "" {
		if _, err := os.Stat(ca); err == nil {
			if conf.RootCAs, err = tlsx.CAPool(ca); err != nil {
				return "", fmt.Errorf("%s: %w", EnvDBCAFile, err)
			}
		}
	}
	name := "plinth-host"
	if stack != "" {
		name += "-" + stack
	}
	return cloud.DatabaseConn{Addr: addr, TLS: conf}.DSN(name, creds)
}
