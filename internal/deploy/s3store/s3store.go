// Package s3store is the object store of pull staging on S3 (deploy.ArtifactStore): the operator puts an
// artifact once under its content-addressed key, hosts get it with presigned URLs.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/plinth-dev/plinth/internal/deploy"
)

// Open builds the store of a deploy config, with the default AWS credential chain (environment, shared
// config, instance role).
func Open(ctx context.Context, c deploy.StoreConfig) (*Store, error) {
	return open(ctx, c)
}

// OpenWithKey is Open with a static access key (the live local cloud's escrow emulator).
func OpenWithKey(ctx context.Context, c deploy.StoreConfig, keyID, secret string) (*Store, error) {
	return open(ctx, c, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(keyID, secret, "")))
}

func open(ctx context.Context, c deploy.StoreConfig, opts ...func(*config.LoadOptions) error) (*Store, error) {
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	ac, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("artifact store s3://%s: %w", c.Bucket, err)
	}
	client := s3.NewFromConfig(ac, func(o *s3.Options) {
		o.UsePathStyle = c.PathStyle
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
			// S3-compatible stores and emulators do not all take the SDK's trailing checksums.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	return New(client, c.Bucket, c.Prefix)
}

// Store keeps artifacts in Bucket under Prefix (with the key the executor gives, deploy.StoreKey).
type Store struct {
	Client  *s3.Client
	Bucket  string
	Prefix  string // e.g. "plinth/"; "" = bucket root
	presign *s3.PresignClient
}

// New returns a store on bucket through client.
func New(client *s3.Client, bucket, prefix string) (*Store, error) {
	if client == nil || bucket == "" {
		return nil, errors.New("artifact store: want an S3 client and a bucket")
	}
	return &Store{Client: client, Bucket: bucket, Prefix: prefix, presign: s3.NewPresignClient(client)}, nil
}

func (s *Store) key(k string) string { return s.Prefix + strings.TrimPrefix(k, "/") }

// Put uploads local under key unless an object of that size is there (keys are content-addressed: same
// key, same bytes). It returns the bytes sent.
func (s *Store) Put(ctx context.Context, key, local string, size int64) (int64, error) {
	k := s.key(key)
	head, err := s.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.Bucket, Key: &k})
	switch {
	case err == nil && aws.ToInt64(head.ContentLength) == size:
		return 0, nil
	case err != nil && !notFound(err):
		return 0, fmt.Errorf("s3://%s/%s: %w", s.Bucket, k, err)
	}
	f, err := os.Open(local)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := s.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.Bucket, Key: &k, Body: f,
		ContentLength: aws.Int64(size), ContentType: aws.String("application/octet-stream")}); err != nil {
		return 0, fmt.Errorf("s3://%s/%s: %w", s.Bucket, k, err)
	}
	return size, nil
}

// PresignGet signs a GET of key valid for ttl (locally: no request).
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	k := s.key(key)
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &s.Bucket, Key: &k}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("s3://%s/%s: presign: %w", s.Bucket, k, err)
	}
	return req.URL, nil
}

func notFound(err error) bool {
	var nf *types.NotFound
	var nsk *types.NoSuchKey
	if errors.As(err, &nf) || errors.As(err, &nsk) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NotFound" || ae.ErrorCode() == "NoSuchKey")
}
