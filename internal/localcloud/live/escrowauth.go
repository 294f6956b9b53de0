package live

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The live escrow's authentication: AWS Signature Version 4 in the Authorization header (what the SDK's S3
// client sends), checked by signing the request again with the escrow's secret key — the same method,
// path, query, signed headers, payload hash, time and scope — and comparing signatures. Presigned URLs,
// other keys, requests more than escrowSkew away from now and a signature that differs are refused.

const escrowSkew = 15 * time.Minute

var errEscrowAuth = errors.New("live escrow: request not signed with the escrow's key")

// sigV4 is the parsed Authorization header.
type sigV4 struct {
	keyID, date, region, service string
	signedHeaders                []string
	signature                    string
}

func parseSigV4(auth string) (sigV4, error) {
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return sigV4{}, errEscrowAuth
	}
	var s sigV4
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return sigV4{}, errEscrowAuth
			}
			s.keyID, s.date, s.region, s.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			s.signedHeaders = strings.Split(v, ";")
		case "Signature":
			s.signature = v
		}
	}
	if s.keyID == "" || s.signature == "" || len(s.signedHeaders) == 0 {
		return sigV4{}, errEscrowAuth
	}
	return s, nil
}

// verifySigV4 checks r's signature against the key (id, secret).
func verifySigV4(r *http.Request, id, secret string, now time.Time) error {
	if r.URL.Query().Has("X-Amz-Signature") {
		return fmt.Errorf("%w: presigned URLs are not accepted", errEscrowAuth)
	}
	s, err := parseSigV4(r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(s.keyID), []byte(id)) != 1 || s.service != "s3" {
		return fmt.Errorf("%w: unknown access key", errEscrowAuth)
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || !strings.HasPrefix(r.Header.Get("X-Amz-Date"), s.date) || at.Sub(now).Abs() > escrowSkew {
		return fmt.Errorf("%w: X-Amz-Date missing, or more than %s away", errEscrowAuth, escrowSkew)
	}
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	again := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	for _, h := range s.signedHeaders {
		switch h {
		case "host":
		case "content-length":
			again.ContentLength = r.ContentLength
		default:
			if vs, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
				again.Header[http.CanonicalHeaderKey(h)] = vs
			}
		}
	}
	err = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, again, r.Header.Get("X-Amz-Content-Sha256"), s.service, s.region, at)
	if err != nil {
		return fmt.Errorf("%w: %v", errEscrowAuth, err)
	}
	want, err := parseSigV4(again.Header.Get("Authorization"))
	if err != nil || subtle.ConstantTimeCompare([]byte(want.signature), []byte(s.signature)) != 1 {
		return fmt.Errorf("%w: signature mismatch", errEscrowAuth)
	}
	return nil
}
