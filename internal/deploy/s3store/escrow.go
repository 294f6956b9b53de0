package s3store

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The release escrow's reads (internal/rollout's EscrowStore): a HEAD for what is kept, a GET to fetch it
// back, and the object's URL for the audit log.

// Stat returns the size of key's object; found is false when there is none.
func (s *Store) Stat(ctx context.Context, key string) (size int64, found bool, err error) {
	k := s.key(key)
	head, err := s.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.Bucket, Key: &k})
	if err != nil {
		if notFound(err) {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("%s: %w", s.URL(key), err)
	}
	return aws.ToInt64(head.ContentLength), true, nil
}

// Get opens key's object for reading.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	k := s.key(key)
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.Bucket, Key: &k})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.URL(key), err)
	}
	return out.Body, nil
}

// URL names key's object: s3://bucket/prefix+key.
func (s *Store) URL(key string) string { return "s3://" + s.Bucket + "/" + s.key(key) }
