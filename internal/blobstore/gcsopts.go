package blobstore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"google.golang.org/api/option"

	"github.com/plinth-dev/plinth/internal/tlsx"
)

// gcsOptions are the client options of gs:// query parameters: an endpoint, the roots that verify it, a
// bearer token read from a file. None set: no options (Application Default Credentials).
func gcsOptions(endpoint, caFile, tokenFile string) ([]option.ClientOption, error) {
	var opts []option.ClientOption
	if endpoint != "" {
		e, err := url.Parse(endpoint)
		if err != nil || (e.Scheme != "https" && e.Scheme != "http") || e.Host == "" {
			return nil, fmt.Errorf("endpoint %q: want an http(s) URL", endpoint)
		}
		opts = append(opts, option.WithEndpoint(endpoint))
	}
	if caFile == "" && tokenFile == "" {
		return opts, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pool, err := tlsx.CAPool(caFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	var rt http.RoundTripper = tr
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("token_file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return nil, errors.New("token_file " + tokenFile + ": empty")
		}
		rt = bearer{token: tok, next: tr}
	} else {
		return nil, errors.New("ca_file without token_file: the custom transport carries no credentials; pass token_file too")
	}
	return append(opts, option.WithHTTPClient(&http.Client{Transport: rt, Timeout: 10 * time.Minute})), nil
}

// bearer adds an Authorization header to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}
