package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/mysqlx"
	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
)

func health(t *testing.T, c *checks) (int, map[string]string) {
	t.Helper()
	rec := httptest.NewRecorder()
	handler(c).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	return rec.Code, body
}

// TestHealthWithoutTheDataTierReportsTheVersion: no data-tier environment, only the version (make run).
func TestHealthWithoutTheDataTierReportsTheVersion(t *testing.T) {
	c, err := checksFromEnv(func(string) string { return "" })
	if err != nil || c != nil {
		t.Fatalf("checks %v %v", c, err)
	}
	code, body := health(t, nil)
	if code != http.StatusOK || body["status"] != "ok" || body["version"] != version || len(body) != 2 {
		t.Fatalf("%d %v", code, body)
	}
}

// TestHealthChecksDatabaseAndCache runs the checks against a real MariaDB (writer and reader the same
// server) and a TLS cache speaking RESP with an auth token: ok; a wrong token or a stopped server: 503
// naming the part.
func TestHealthChecksDatabaseAndCache(t *testing.T) {
	srv := mysqltest.New(t)
	// The schema and health table the platform creates with the application user (the user itself needs
	// TLS, which the test server does not speak: the checks use the test account).
	admin, err := mysqlx.Open(srv.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := mysqlx.GrantAppUser(context.Background(), admin, "plinth_app", "0123456789abcdef0123", "plinth_app"); err != nil {
		t.Fatal(err)
	}
	caFile, cert := testCA(t)
	cache := fakeCache(t, cert, "the-token-0123456789")
	env := map[string]string{"PLINTH_DB_WRITER": srv.Addr(), "PLINTH_DB_READER": srv.Addr(), "PLINTH_DB_USER": mysqltest.User,
		"PLINTH_DB_PASSWORD": mysqltest.Password, "PLINTH_CACHE_ADDR": cache, "PLINTH_CACHE_TOKEN": "the-token-0123456789"}
	c, err := checksFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	// The cache speaks TLS with the test CA; the test database speaks plain text: give the cache check
	// the roots only.
	c.tls = &tls.Config{RootCAs: loadPool(t, caFile), MinVersion: tls.VersionTLS12}
	code, body := health(t, c)
	// Writer and reader are the same server here: the read is the primary's.
	if code != http.StatusOK || body["database"] != "ok" || body["databaseRead"] != "primary" || body["cache"] != "ok" {
		t.Fatalf("%d %v", code, body)
	}
	c.cacheToken = "wrong-token-0123456789"
	code, body = health(t, c)
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(body["cache"], "error: AUTH") || body["status"] != "degraded" {
		t.Fatalf("wrong token: %d %v", code, body)
	}
}

func testCA(t *testing.T) (string, tls.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func loadPool(t *testing.T, f string) *x509.CertPool {
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(b)
	return p
}

// fakeCache answers AUTH token, SET k v and GET k over TLS, like redis-server with requirepass.
func fakeCache(t *testing.T, cert tls.Certificate, token string) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r, vals, authed := bufio.NewReader(conn), map[string]string{}, false
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					f := strings.Fields(line)
					switch {
					case len(f) == 2 && f[0] == "AUTH" && f[1] == token:
						authed = true
						_, _ = conn.Write([]byte("+OK\r\n"))
					case !authed:
						_, _ = conn.Write([]byte("-NOAUTH Authentication required.\r\n"))
					case len(f) == 3 && f[0] == "SET":
						vals[f[1]] = f[2]
						_, _ = conn.Write([]byte("+OK\r\n"))
					case len(f) == 2 && f[0] == "GET":
						v := vals[f[1]]
						_, _ = conn.Write([]byte("$" + itoa(len(v)) + "\r\n" + v + "\r\n"))
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }
