package cloud

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/go-sql-driver/mysql"
)

type fakeSM struct{ m map[string]string }

func (f *fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	v, ok := f.m[*in.SecretId]
	if !ok {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("not found")}
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

func (f *fakeSM) PutSecretValue(_ context.Context, in *secretsmanager.PutSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	if _, ok := f.m[*in.SecretId]; !ok {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("not found")}
	}
	f.m[*in.SecretId] = *in.SecretString
	return &secretsmanager.PutSecretValueOutput{}, nil
}

func (f *fakeSM) CreateSecret(_ context.Context, in *secretsmanager.CreateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	f.m[*in.Name] = *in.SecretString
	return &secretsmanager.CreateSecretOutput{}, nil
}

// TestSecretStoresRoundTrip runs the same checks against the local file and Secrets Manager (a fake of the
// SDK's client): a missing secret is ErrNoSecret, a put creates then updates, credentials parse.
func TestSecretStoresRoundTrip(t *testing.T) {
	ctx := context.Background()
	for name, s := range map[string]SecretStore{
		"local": LocalSecrets{File: filepath.Join(t.TempDir(), "sm", "secrets.json")},
		"aws":   AWSSecrets{API: &fakeSM{m: map[string]string{}}},
	} {
		id := BackupUserSecretID("staging")
		if _, err := ReadDBCredentials(ctx, s, id); !errors.Is(err, ErrNoSecret) {
			t.Errorf("%s: missing secret: %v", name, err)
		}
		for _, v := range []string{`{"username":"u","password":"one"}`, `{"username":"plinth_backup","password":"two"}`} {
			if err := s.PutSecret(ctx, id, v); err != nil {
				t.Fatalf("%s: put: %v", name, err)
			}
		}
		c, err := ReadDBCredentials(ctx, s, id)
		if err != nil || c != (DBCredentials{Username: "plinth_backup", Password: "two"}) {
			t.Errorf("%s: %+v %v", name, c, err)
		}
		if err := s.PutSecret(ctx, "bad", "not json"); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadDBCredentials(ctx, s, "bad"); err == nil || !strings.Contains(err.Error(), "secret bad: want JSON") {
			t.Errorf("%s: bad secret: %v", name, err)
		}
	}
}

func TestDatabaseConnDSNRegistersDialerAndTLS(t *testing.T) {
	c := DatabaseConn{Addr: "10.10.128.10:3306"}
	dsn, err := c.DSN("plinth-test", DBCredentials{Username: "plinth_backup", Password: "pw"})
	if err != nil || dsn != "plinth_backup:pw@tcp(10.10.128.10:3306)/" {
		t.Fatalf("plain: %q %v", dsn, err)
	}
	c.Dial = func(context.Context, string) (netConn, error) { return nil, errors.New("unused") }
	c.TLS = testTLSConfig()
	dsn, err = c.DSN("plinth-test", DBCredentials{Username: "plinth_backup", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil || cfg.Net != "plinth-test" || cfg.TLSConfig != "plinth-test" || cfg.Addr != "10.10.128.10:3306" {
		t.Fatalf("dsn %q: %+v %v", dsn, cfg, err)
	}
}

func TestLiveStoreURLNamesTheIdentity(t *testing.T) {
	st := liveStack{CAFile: "/l/ca.pem"}
	if _, err := liveStore("staging", st, VaultWriter); err == nil || !strings.Contains(err.Error(), "serves no vault") {
		t.Errorf("no vault: %v", err)
	}
	st.Vault = &struct {
		Bucket     string            `json:"bucket"`
		Endpoint   string            `json:"endpoint"`
		TokenFiles map[string]string `json:"tokenFiles"`
	}{Bucket: "staging-vault", Endpoint: "https://127.0.0.1:9/storage/v1/", TokenFiles: map[string]string{VaultWriter: "/l/writer.token"}}
	u, err := liveStore("staging", st, VaultWriter)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := url.Parse(u)
	q := p.Query()
	if p.Scheme != "gs" || p.Host != "staging-vault" || q.Get("prefix") != "staging/" || q.Get("token_file") != "/l/writer.token" ||
		q.Get("ca_file") != "/l/ca.pem" || q.Get("endpoint") != "https://127.0.0.1:9/storage/v1/" {
		t.Errorf("url %s", u)
	}
	if _, err := liveStore("staging", st, VaultRestore); err == nil || !strings.Contains(err.Error(), "no restore identity") {
		t.Errorf("restore: %v", err)
	}
}

type netConn = net.Conn

func testTLSConfig() *tls.Config { return &tls.Config{MinVersion: tls.VersionTLS12} }

func (f *fakeSM) DescribeSecret(_ context.Context, in *secretsmanager.DescribeSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	if _, ok := f.m[*in.SecretId]; !ok {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("not found")}
	}
	return &secretsmanager.DescribeSecretOutput{Name: in.SecretId}, nil
}

func (f *fakeSM) ReplicateSecretToRegions(context.Context, *secretsmanager.ReplicateSecretToRegionsInput, ...func(*secretsmanager.Options)) (*secretsmanager.ReplicateSecretToRegionsOutput, error) {
	return nil, errors.New("fakeSM: no regions")
}
