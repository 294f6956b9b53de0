package live

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/plinth-dev/plinth/components/userdata"
)

// The worker tier's backup units on a live host, as components/userdata renders them for EC2: the units'
// user (BackupUID) owns /srv/plinth-backup (0700); /etc/default/plinth-backup and the recipients file come
// from the same renderer; plinth itself is this server's binary, bind-mounted read-only at
// /usr/local/bin/plinth. What EC2's ExecStartPre fetches (the backup user's secret, the runtime environment)
// the live cloud writes before every start (prepareBackup): the secret from its Secrets Manager, the vault's
// writer token, the vault's address on the platform's internet and the primary's address, each 0600 for the
// units' user and never logged. The supervisor then runs plinth-backup.service when plinth-backup.timer fires
// (its OnCalendar schedule, or Options.BackupInterval) and keeps plinth-binlog.service running (restarted 10 s
// after it stops, like Restart=always, RestartSec=10).

// The units' user inside every host (its own /etc/passwd).
const (
	backupUID = 2001
	backupGID = 2001
)

// binlogRestart is plinth-binlog.service's RestartSec.
const binlogRestart = 10 * time.Second

// EnvBackupInterval, in the live server's environment, fires every worker's backup timer at this interval
// (a Go duration, e.g. 30s) instead of its OnCalendar schedule: tests and demos.
const EnvBackupInterval = "PLINTH_LIVE_BACKUP_INTERVAL"

// EnvBinlogSegmentAge, in the live server's environment, runs every worker's plinth-binlog.service with
// --segment-age at this duration (its lease, the default, three times it) instead of a minute: tests and
// demos of the hand-over between workers.
const EnvBinlogSegmentAge = "PLINTH_LIVE_BINLOG_SEGMENT_AGE"

// hostBackup is a host's running backup units.
type hostBackup struct {
	spec userdata.Backup
	stop chan struct{}
	done chan struct{}
	// binlogStopped: `systemctl stop plinth-binlog.service` (no restart until a start).
	binlogStopped atomic.Bool
}

// writeBackupFiles lays out the units' static files (the host's writeFiles, for a host with units).
func (p *Platform) writeBackupFiles(rh *host) error {
	if rh.spec.Backup == nil {
		return nil
	}
	b := *rh.spec.Backup
	b.Federation = nil // the live vault's writer is a token, written by prepareBackup
	env, err := userdata.BackupEnvironmentFileContent(b)
	if err != nil {
		return err
	}
	if p.opts.BackupInterval > 0 {
		// The timer fires every BackupInterval here: one backup per firing, whichever worker claims it.
		env = strings.Replace(env, userdata.EnvBackupOncePer+"="+userdata.BackupOncePer+"\n",
			userdata.EnvBackupOncePer+"="+p.opts.BackupInterval.String()+"\n", 1)
	}
	rcpt, err := userdata.RecipientsFileContent(b)
	if err != nil {
		return err
	}
	if err := appendAccount(rh.path("etc"), userdata.BackupUser, backupUID, backupGID, userdata.BackupStateDir); err != nil {
		return err
	}
	state := rh.hostPath(userdata.BackupStateDir)
	if err := os.MkdirAll(state, 0o700); err != nil {
		return err
	}
	ca, err := os.ReadFile(p.ca.CAFile)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		path, content string
		mode          os.FileMode
		owned         bool
	}{
		{rh.hostPath(userdata.BackupEnvironmentFile), env, 0o644, false},
		{rh.hostPath(userdata.BackupRecipientsFile), rcpt, 0o644, true},
		{rh.hostPath(userdata.BackupCAFile), string(ca), 0o644, true},
		{rh.path("bin/plinth"), "", 0o755, false}, // the mount point of plinth (the anchor binds it read-only)
	} {
		if err := writeOwned(f.path, []byte(f.content), f.mode, f.owned); err != nil {
			return err
		}
	}
	return os.Chown(state, backupUID, backupGID)
}

// hostPath is where a path of the host (under one of its private mounts) is on this machine.
func (rh *host) hostPath(p string) string {
	for _, m := range privateMounts {
		if rest, ok := strings.CutPrefix(p, m[1]+"/"); ok {
			return rh.path(filepath.Join(m[0], rest))
		}
	}
	return rh.path("unmapped" + p) // not reached: every path used is under a private mount
}

// writeOwned writes path with mode, owned by the units' user when owned.
func writeOwned(path string, content []byte, mode os.FileMode, owned bool) error {
	if err := os.WriteFile(path, content, mode); err != nil {
		return err
	}
	if err := os.Chmod(path, mode); err != nil {
		return err
	}
	if owned {
		return os.Chown(path, backupUID, backupGID)
	}
	return nil
}

// appendAccount adds a system user (no login) to the host's passwd, group and shadow.
func appendAccount(etc, name string, uid, gid int, home string) error {
	for file, line := range map[string]string{
		"passwd": fmt.Sprintf("%s:x:%d:%d:plinth backup units:%s:/usr/sbin/nologin\n", name, uid, gid, home),
		"group":  fmt.Sprintf("%s:x:%d:\n", name, gid),
		"shadow": name + ":!:19000:0:99999:7:::\n",
	} {
		f, err := os.OpenFile(filepath.Join(etc, file), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, werr := f.WriteString(line)
		if err := errors.Join(werr, f.Close()); err != nil {
			return err
		}
	}
	return nil
}

// prepareBackup is the units' ExecStartPre: the backup user's secret, the writer's token and the runtime
// environment (the vault's platform address, the primary's), each 0600 for the units' user.
func (p *Platform) prepareBackup(rh *host) error {
	stack := rh.spec.Backup.Stack
	dt := p.data
	dt.mu.Lock()
	secretsFile, primary := dt.secretsFile, ""
	for _, d := range dt.dbs {
		if d.spec.Role == RolePrimary {
			primary = net.JoinHostPort(d.addr.String(), strconv.Itoa(MySQLPort))
		}
	}
	vaults := len(dt.vaults)
	var bucket string
	if vaults > 0 {
		bucket = dt.vaults[0].opts.Bucket
	}
	dt.mu.Unlock()
	switch {
	case primary == "":
		return errors.New("the platform runs no primary database")
	case vaults == 0:
		return errors.New("the platform serves no vault")
	}
	secrets := OpenSecrets(secretsFile)
	creds, err := secrets.Get(userdata.BackupSecretID(stack))
	if errors.Is(err, ErrNoSecret) {
		return fmt.Errorf("no backup user yet: run `plinth backup grant --stack %s`", stack)
	}
	if err != nil {
		return fmt.Errorf("secret %s: %w", userdata.BackupSecretID(stack), err)
	}
	token, err := secrets.Get(VaultTokenID(stack, VaultWriter))
	if err != nil {
		return fmt.Errorf("the vault's writer token: %w", err)
	}
	q := url.Values{"prefix": {stack + "/"}, "endpoint": {PlatformVaultEndpoint()}, "ca_file": {userdata.BackupCAFile},
		"token_file": {userdata.BackupWriterToken}}
	runtime, err := userdata.RuntimeEnvironment("gs://"+bucket+"?"+q.Encode(), primary)
	if err != nil {
		return err
	}
	for path, content := range map[string]string{
		userdata.BackupSecretFile:     creds,
		userdata.BackupWriterToken:    token + "\n",
		userdata.BackupRuntimeEnvFile: runtime,
	} {
		if err := writeOwned(rh.hostPath(path), []byte(content), 0o600, true); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

// backupCmd builds a unit's ExecStart as the units' user inside the host, with the environment its
// EnvironmentFile lines name (the static file, then the runtime one), the output appended to the unit's log.
func (p *Platform) backupCmd(rh *host, unit string, argv []string) (*exec.Cmd, error) {
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + userdata.BackupStateDir, "USER=" + userdata.BackupUser}
	for _, f := range []string{userdata.BackupEnvironmentFile, userdata.BackupRuntimeEnvFile} {
		kvs, err := readEnvironmentFile(rh.hostPath(f))
		if err != nil {
			return nil, err
		}
		env = append(env, kvs...)
	}
	log, err := os.OpenFile(rh.path("log/"+unit+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	full := append(rh.enter("--setuid", strconv.Itoa(backupUID), "--setgid", strconv.Itoa(backupGID)),
		append([]string{"/usr/bin/env", "--chdir=" + userdata.BackupStateDir}, argv...)...)
	cmd := exec.Command(full[0], full[1:]...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, log, log
	return cmd, nil
}

// readEnvironmentFile reads KEY=VALUE lines (systemd's EnvironmentFile, without quoting).
func readEnvironmentFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") || !strings.Contains(l, "=") {
			continue
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// unitLog appends one line to a unit's log (what journalctl -u shows), never a secret.
func unitLog(rh *host, unit, format string, args ...any) {
	f, err := os.OpenFile(rh.path("log/"+unit+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s plinth live: %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
}

// startUnit runs unit's ExecStartPre (prepareBackup) and ExecStart under the supervisor unless it runs.
func (p *Platform) startUnit(rh *host, unit string) error {
	name := rh.spec.Name + "/" + unit
	if _, ok := p.sup.Running(name); ok {
		return nil
	}
	if err := p.prepareBackup(rh); err != nil {
		unitLog(rh, unit, "start: %v", err)
		return fmt.Errorf("%s: %w", unit, err)
	}
	argv := p.unitCommand(*rh.spec.Backup, unit)
	_ = p.sup.Forget(name, 0) // a finished run of the oneshot
	_, err := p.sup.Start(name, false, func() (*exec.Cmd, error) { return p.backupCmd(rh, unit, argv) })
	return err
}

// unitCommand is unit's ExecStart as rendered, the streamer's with --segment-age when the platform sets one.
func (p *Platform) unitCommand(b userdata.Backup, unit string) []string {
	if unit != userdata.BinlogUnit {
		return b.BackupCommand()
	}
	argv := b.BinlogCommand()
	if p.opts.BinlogSegmentAge > 0 {
		argv = append(argv, "--segment-age", p.opts.BinlogSegmentAge.String())
	}
	return argv
}

// startBackupUnits starts the host's timer and binlog loop.
func (p *Platform) startBackupUnits(rh *host) {
	hb := &hostBackup{spec: *rh.spec.Backup, stop: make(chan struct{}), done: make(chan struct{})}
	rh.backup = hb
	go p.runBackupUnits(rh, hb)
}

// runBackupUnits is plinth-backup.timer and plinth-binlog.service's restart policy.
func (p *Platform) runBackupUnits(rh *host, hb *hostBackup) {
	defer close(hb.done)
	next := p.nextBackup(rh, hb, time.Now())
	binlog := time.NewTimer(0)
	defer binlog.Stop()
	for {
		select {
		case <-hb.stop:
			return
		case <-time.After(time.Until(next)):
			unitLog(rh, userdata.BackupUnit, "%s fired", userdata.BackupTimer)
			_ = p.startUnit(rh, userdata.BackupUnit)
			next = p.nextBackup(rh, hb, time.Now())
		case <-binlog.C:
			if !hb.binlogStopped.Load() {
				_ = p.startUnit(rh, userdata.BinlogUnit)
			}
			binlog.Reset(binlogRestart)
		}
	}
}

func (p *Platform) nextBackup(rh *host, hb *hostBackup, now time.Time) time.Time {
	if p.opts.BackupInterval > 0 {
		return now.Add(p.opts.BackupInterval)
	}
	t, err := nextCalendar(hb.spec.Schedule, now)
	if err != nil {
		unitLog(rh, userdata.BackupTimer, "%v: firing daily", err)
		t, _ = nextCalendar("daily", now)
	}
	return t
}

// stopBackupUnits stops the timer, the loop and both units.
func (p *Platform) stopBackupUnits(rh *host) error {
	if rh.backup == nil {
		return nil
	}
	close(rh.backup.stop)
	<-rh.backup.done
	rh.backup = nil
	return errors.Join(p.sup.Forget(rh.spec.Name+"/"+userdata.BinlogUnit, 10*time.Second),
		p.sup.Forget(rh.spec.Name+"/"+userdata.BackupUnit, 10*time.Second))
}

// backupControl answers the host's systemctl for the backup units (handled false: not one of them).
func (p *Platform) backupControl(rh *host, verb, unit string) (bool, error) {
	if rh.spec.Backup == nil || (unit != userdata.BackupUnit && unit != userdata.BinlogUnit && unit != userdata.BackupTimer) {
		return false, nil
	}
	if unit == userdata.BackupTimer {
		if verb == "is-active" && rh.backup != nil {
			return true, nil
		}
		return true, fmt.Errorf("%s %s: the live timer runs with the host", verb, unit)
	}
	name := rh.spec.Name + "/" + unit
	if unit == userdata.BinlogUnit && rh.backup != nil && verb != "is-active" {
		rh.backup.binlogStopped.Store(verb == "stop")
	}
	switch verb {
	case "is-active":
		if _, ok := p.sup.Running(name); !ok {
			return true, errors.New("inactive")
		}
		return true, nil
	case "stop":
		return true, p.sup.Stop(name, 10*time.Second)
	case "restart":
		if err := p.sup.Forget(name, 10*time.Second); err != nil {
			return true, err
		}
	}
	return true, p.startUnit(rh, unit)
}
