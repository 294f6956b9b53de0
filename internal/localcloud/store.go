package localcloud

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stateVersion is the version of the state file format.
const stateVersion = 1

// Resource is one simulated cloud resource.
type Resource struct {
	URN     string         `json:"urn"`
	Type    string         `json:"type"`
	ID      string         `json:"id"`
	Region  string         `json:"region,omitempty"`
	Project string         `json:"project,omitempty"`
	Inputs  map[string]any `json:"inputs"`
	Outputs map[string]any `json:"outputs"`
	Created time.Time      `json:"created"`
	Updated time.Time      `json:"updated"`
}

// Name is the resource's logical name (the URN's name part).
func (r Resource) Name() string { return urnName(r.URN) }

type stateFile struct {
	Version   int        `json:"version"`
	Stack     string     `json:"stack"`
	Resources []Resource `json:"resources"`
}

// ErrNotFound is returned when no resource matches.
var ErrNotFound = errors.New("resource not found")

// Store keeps the simulated resources of every stack under one directory: <dir>/<stack>.json.
// Every operation loads, changes and atomically rewrites the file under a process mutex and an flock, so
// tests (and other processes) may change the file between engine operations.
type Store struct {
	dir string
	mu  sync.Mutex
	now func() time.Time
	// cache holds each stack's parsed state with the file's modification time and size when read or written,
	// so a write does not re-parse a file nobody else changed.
	cache map[string]cachedState
}

type cachedState struct {
	mod  time.Time
	size int64
	st   *stateFile
}

// NewStore returns a store rooted at dir (created 0700 when missing).
func NewStore(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("localcloud: state directory is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("localcloud: state dir %s: %w", dir, err)
	}
	return &Store{dir: dir, now: time.Now, cache: map[string]cachedState{}}, nil
}

// Dir is the state directory.
func (s *Store) Dir() string { return s.dir }

// Path is the state file of stack.
func (s *Store) Path(stack string) string { return filepath.Join(s.dir, safeName(stack)+".json") }

func safeName(stack string) string {
	r := strings.NewReplacer("/", "_", "\\", "_", "..", "_")
	if stack == "" {
		return "_default"
	}
	return r.Replace(stack)
}

// List returns the resources of stack, sorted by URN.
func (s *Store) List(stack string) ([]Resource, error) {
	var out []Resource
	err := s.view(stack, func(st *stateFile) error {
		out = append(out, st.Resources...)
		return nil
	})
	return out, err
}

// Get returns the resource with id in stack.
func (s *Store) Get(stack, id string) (Resource, error) {
	var res Resource
	err := s.view(stack, func(st *stateFile) error {
		for _, r := range st.Resources {
			if r.ID == id {
				res = r
				return nil
			}
		}
		return ErrNotFound
	})
	return res, err
}

// Put inserts or replaces (by id) a resource.
func (s *Store) Put(stack string, r Resource) error {
	return s.update(stack, func(st *stateFile) error {
		for i := range st.Resources {
			if st.Resources[i].ID == r.ID {
				st.Resources[i] = r
				return nil
			}
		}
		st.Resources = append(st.Resources, r)
		return nil
	})
}

// Delete removes the resource with id; a missing resource is not an error (already gone).
func (s *Store) Delete(stack, id string) error {
	return s.update(stack, func(st *stateFile) error {
		kept := st.Resources[:0]
		for _, r := range st.Resources {
			if r.ID != id {
				kept = append(kept, r)
			}
		}
		st.Resources = kept
		return nil
	})
}

func findIndex(st *stateFile, match string) (int, error) {
	hit := -1
	for i, r := range st.Resources {
		if r.ID == match || r.URN == match || r.Name() == match {
			if hit >= 0 {
				return -1, fmt.Errorf("localcloud: %q matches more than one resource: use its URN", match)
			}
			hit = i
		}
	}
	if hit < 0 {
		return -1, fmt.Errorf("localcloud: %q: %w", match, ErrNotFound)
	}
	return hit, nil
}

// Drift changes attribute key of the matched resource behind the engine's back, as someone clicking in a
// console would: the value changes in the resource's outputs, and in its inputs when it is one.
func (s *Store) Drift(stack, match, key string, value any) error {
	return s.update(stack, func(st *stateFile) error {
		i, err := findIndex(st, match)
		if err != nil {
			return err
		}
		r := &st.Resources[i]
		if r.Outputs == nil {
			r.Outputs = map[string]any{}
		}
		r.Outputs[key] = value
		if _, ok := r.Inputs[key]; ok {
			r.Inputs[key] = value
		}
		r.Updated = s.now().UTC()
		return nil
	})
}

// Remove deletes the matched resource behind the engine's back.
func (s *Store) Remove(stack, match string) error {
	return s.update(stack, func(st *stateFile) error {
		i, err := findIndex(st, match)
		if err != nil {
			return err
		}
		st.Resources = append(st.Resources[:i], st.Resources[i+1:]...)
		return nil
	})
}

func (s *Store) view(stack string, fn func(*stateFile) error) error { return s.with(stack, false, fn) }

func (s *Store) update(stack string, fn func(*stateFile) error) error { return s.with(stack, true, fn) }

// with loads the state of stack under the locks, runs fn, and saves the state when write is set.
func (s *Store) with(stack string, write bool, fn func(*stateFile) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := s.flock(stack)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := s.load(stack)
	if err != nil {
		return err
	}
	if err := fn(st); err != nil {
		delete(s.cache, stack) // fn may have changed st before failing
		return err
	}
	if !write {
		return nil
	}
	if err := s.save(stack, st); err != nil {
		delete(s.cache, stack)
		return err
	}
	return nil
}

func (s *Store) flock(stack string) (func(), error) {
	f, err := os.OpenFile(s.Path(stack)+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("localcloud: lock %s: %w", stack, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("localcloud: lock %s: %w", stack, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// load reads the state of stack; a missing file is an empty state, a corrupt one an error (never rewritten).
func (s *Store) load(stack string) (*stateFile, error) {
	path := s.Path(stack)
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		delete(s.cache, stack)
		return &stateFile{Version: stateVersion, Stack: stack}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("localcloud: read state %s: %w", path, err)
	}
	if c, ok := s.cache[stack]; ok && c.mod.Equal(fi.ModTime()) && c.size == fi.Size() {
		return c.st, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("localcloud: read state %s: %w", path, err)
	}
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("localcloud: state %s is corrupt (left untouched): %w", path, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("localcloud: state %s: unsupported version %d (want %d)", path, st.Version, stateVersion)
	}
	st.Stack = stack
	s.cache[stack] = cachedState{mod: fi.ModTime(), size: fi.Size(), st: &st}
	return &st, nil
}

func (s *Store) save(stack string, st *stateFile) error {
	sort.Slice(st.Resources, func(i, j int) bool { return st.Resources[i].URN < st.Resources[j].URN })
	data, err := encodeState(st)
	if err != nil {
		return fmt.Errorf("localcloud: encode state %s: %w", stack, err)
	}
	path := s.Path(stack)
	tmp, err := os.CreateTemp(s.dir, "."+safeName(stack)+".*.tmp")
	if err != nil {
		return fmt.Errorf("localcloud: write state %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("localcloud: write state %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("localcloud: write state %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("localcloud: write state %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil {
		s.cache[stack] = cachedState{mod: fi.ModTime(), size: fi.Size(), st: st}
	}
	return nil
}

// encodeState writes the state with one resource a line: readable, diffable, and cheaper than indenting.
func encodeState(st *stateFile) ([]byte, error) {
	head, err := json.Marshal(struct {
		Version int    `json:"version"`
		Stack   string `json:"stack"`
	}{st.Version, st.Stack})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(head[:len(head)-1])
	b.WriteString(`,"resources":[`)
	for i, r := range st.Resources {
		line, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.URN, err)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n")
		b.Write(line)
	}
	b.WriteString("\n]}\n")
	return b.Bytes(), nil
}
