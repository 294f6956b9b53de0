package stacks

import (
	"net"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/environments"
)

// cachePort is the port of ElastiCache's primary endpoint (its output names only the address).
const cachePort = 6379

// appData is what the app tier's service is told of the data tier (components/userdata.Data): the writer,
// a reader (the first replica, else the writer), the cache's primary, and the ids of the app user's and the
// cache token's secrets. The compute tiers are built before the data tiers (the cache's client policies and
// alarms name them), so the app tier takes it as a deferred output that Build resolves with this.
//
// pulumi.All, not pulumix.Apply4: Apply4 stops at its first unknown input and keeps only that input's
// dependencies, so in a preview (every endpoint unknown) the app tier's launch template depended on the
// primary alone, and `up --plan` then refused the saved plan ("dependencies changed: added ...replica-1").
// All awaits every input, known or not, and keeps all their dependencies.
func appData(p *Platform) pulumix.Output[userdata.Data] {
	stack := p.Spec.Stack
	all := pulumi.All(p.Database.WriterEndpoint, p.Database.ReaderEndpoints, p.Utility.CachePrimaryEndpoint, p.Utility.AuthTokenSecretARN)
	return pulumix.Apply[[]any](all, func(v []any) userdata.Data {
		writer, readers, cache, tokenSecret := v[0].(string), v[1].([]string), v[2].(string), v[3].(string)
		reader := writer
		if len(readers) > 0 && readers[0] != "" {
			reader = readers[0]
		}
		return userdata.Data{Writer: writer, Reader: reader, DBSecretID: userdata.AppDBSecretID(stack),
			CacheAddr: net.JoinHostPort(cache, strconv.Itoa(cachePort)), CacheTokenSecretID: tokenSecret}
	})
}

// drillAppData is what a DR drill's app tier is told of the data tier: writer and reader the drill database
// (a promoted drill database has no replicas yet: reads go to it too), the application user's secret of the
// source stack (the drill restores the source's data, users included: on a region failover that secret is
// read in the DR region, see docs/drill.md), and no cache: a drill stack builds none (BuildDrill), so the
// service checks none. source is the source stack's name.
func drillAppData(source string, d environments.Drill) userdata.Data {
	return userdata.Data{Writer: d.DatabaseEndpoint, Reader: d.DatabaseEndpoint, DBSecretID: userdata.AppDBSecretID(source)}
}

// deferredAppData is the app tier's Data before the data tiers exist, and the function resolving it.
func deferredAppData(ctx *pulumi.Context) (pulumix.Output[userdata.Data], func(*Platform)) {
	out, resolve := pulumi.DeferredOutput[userdata.Data](ctx.Context())
	return out, func(p *Platform) { resolve(appData(p)) }
}
