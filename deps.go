//go:build tools

// Package plinth pins dependencies that packages still being written will use, so that `go mod tidy`
// keeps them (and their go.sum lines) in a shared go.mod. Drop a line once real code imports it.
package plinth

import (
	_ "cloud.google.com/go/storage"
	_ "filippo.io/age"
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	_ "github.com/aws/aws-sdk-go-v2/service/ec2"
	_ "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	_ "github.com/fsouza/fake-gcs-server/fakestorage"
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/hashicorp/go-multierror"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	_ "github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp"
	_ "github.com/pulumi/pulumi/sdk/v3/go/auto"
	_ "github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	_ "github.com/spf13/cobra"
	_ "gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/memblob"
	_ "gocloud.dev/blob/s3blob"
	_ "golang.org/x/crypto/ssh"
	_ "golang.org/x/crypto/ssh/agent"
	_ "golang.org/x/crypto/ssh/knownhosts"
	_ "golang.org/x/term"
	_ "gopkg.in/yaml.v3"
)
