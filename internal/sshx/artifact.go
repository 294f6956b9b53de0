package sshx

import (
	"os"
	"sync"

	"github.com/plinth-dev/plinth/internal/deploy"
)

// memLimit bounds the artifact bytes a Runner keeps in memory for its uploads (bigger artifacts, or more
// of them, are read from the file by each host's upload).
const memLimit = 256 << 20

// mentry is one artifact read into memory once, for every host's upload.
type mentry struct {
	once sync.Once
	data []byte
}

// inMemory returns the artifact's bytes, read from the file once per sha256 and then sent to every host
// from memory: one read of the file per deploy, instead of one per host (each a copy out of the page
// cache). nil when it does not fit under memLimit or the file is not u.Size bytes any more: the upload
// then reads the file itself (and the host refuses it if it changed).
func (r *Runner) inMemory(u deploy.UploadSpec) []byte {
	r.mu.Lock()
	if r.mcache == nil {
		r.mcache = map[string]*mentry{}
	}
	e, ok := r.mcache[u.SHA256]
	if !ok {
		if u.Size <= 0 || r.mbytes+u.Size > memLimit {
			r.mu.Unlock()
			return nil
		}
		r.mbytes += u.Size
		e = &mentry{}
		r.mcache[u.SHA256] = e
	}
	r.mu.Unlock()
	e.once.Do(func() {
		if data, err := os.ReadFile(u.Local); err == nil && int64(len(data)) == u.Size {
			e.data = data
		}
	})
	return e.data
}
