package stacks

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/backupvault"
	"github.com/plinth-dev/plinth/components/firewall"
	"github.com/plinth-dev/plinth/components/userdata"
)

// Scheduled backups: the worker tier runs `plinth backup run` on the spec's schedule and `plinth backup
// binlog` as a service (components/userdata renders the units), as the vault's writer identity through
// workload identity federation. The units' credential configuration names the vault's pool provider and
// writer service account, both known from the vault's name; what is only known once the vault and the
// database exist (the bucket's name, the writer endpoint) reaches the hosts through an SSM parameter the
// units read at each start, which breaks the cycle worker role -> vault -> worker user data.

// vaultName is the stack's backup vault component's name.
func vaultName(stack string) string { return stack + "-vault" }

// workerBackup is the worker tier's backup units, nil when the tier runs none: a drill stack (it restores,
// it does not back up), or a spec naming no recipients.
func (p *Platform) workerBackup(tierName string) *userdata.Backup {
	spec := p.Spec
	v := spec.BackupVault
	if tierName != firewall.Worker || p.drill != nil || len(v.Recipients) == 0 {
		return nil
	}
	return &userdata.Backup{Stack: spec.Stack, Schedule: v.Schedule, Recipients: v.Recipients,
		Federation: &userdata.Federation{
			Audience:       backupvault.FederationAudience(vaultName(spec.Stack), v.ProjectNumber),
			ServiceAccount: backupvault.WriterEmail(vaultName(spec.Stack), v.Project),
		}}
}

// buildBackupRuntime publishes the backup units' runtime environment (the writer's vault URL, the primary's
// endpoint) as the SSM parameter they read.
func buildBackupRuntime(ctx *pulumi.Context, p *Platform, tags pulumi.StringMap, opt pulumi.ResourceOption) error {
	if p.workerBackup(firewall.Worker) == nil {
		return nil
	}
	stack := p.Spec.Stack
	value := pulumi.All(p.Vault.Bucket, p.Database.WriterEndpoint).ApplyT(func(v []any) (string, error) {
		return userdata.RuntimeEnvironment("gs://"+v[0].(string)+"?prefix="+stack+"/", v[1].(string))
	}).(pulumi.StringOutput)
	_, err := ssm.NewParameter(ctx, stack+"-backup-runtime-env", &ssm.ParameterArgs{
		Name:        pulumi.String(userdata.BackupRuntimeParameter(stack)),
		Type:        pulumi.String("String"),
		Value:       value,
		Description: pulumi.String("plinth: the worker's backup units' vault URL and database endpoint (no secret)"),
		Tags:        tags,
	}, opt)
	return err
}
