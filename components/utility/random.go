package utility

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// randomPasswordType is pulumi-random's password resource. Its Go SDK is not on this project's module mirror,
// so this is a minimal binding of the one resource plinth uses; the engine runs it with the random plugin.
const randomPasswordType = "random:index/randomPassword:RandomPassword"

type randomPassword struct {
	pulumi.CustomResourceState

	Result pulumi.StringOutput `pulumi:"result"`
}

// newRandomPassword registers a password generated once and kept in (encrypted) state: stable across runs,
// a secret everywhere it flows.
func newRandomPassword(ctx *pulumi.Context, name string, length int, opts ...pulumi.ResourceOption) (*randomPassword, error) {
	var res randomPassword
	props := pulumi.Map{
		"length":  pulumi.Int(length),
		"special": pulumi.Bool(false), // ElastiCache auth tokens allow only some printable characters
	}
	opts = append(opts, pulumi.AdditionalSecretOutputs([]string{"result"}))
	if err := ctx.RegisterResource(randomPasswordType, name, props, &res, opts...); err != nil {
		return nil, err
	}
	return &res, nil
}
