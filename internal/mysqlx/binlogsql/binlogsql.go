// Package binlogsql splits a binlog decoder's output (mariadb-binlog, mysqlbinlog) into the statements
// the mariadb client would send, so a Go connection can execute them (mysqlx.ReplayBinlog). Pure: no I/O
// beyond the reader it is given.
package binlogsql

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Statement is one statement of a binlog decoder's (mariadb-binlog, mysqlbinlog) output, without its
// delimiter, and where it stands: At is the position of its event in the binlog file (the last "# at N"
// line before it), Line its first line in the output.
type Statement struct {
	SQL  string
	At   int64
	Line int
}

// Reader splits a binlog decoder's output into statements the way the mariadb client reads it:
// "DELIMITER x" lines switch the delimiter (the decoder uses "/*!*/;"), a statement ends with the current
// delimiter at the end of a line and may span lines, and lines starting with "#" between statements are
// comments ("# at N" gives the position). Inside a statement every line is kept (a multi-line query's
// "#..." line is its own). The decoder's client command "/*!\C charset */" becomes SET NAMES charset.
// One statement is held at a time: memory is bounded by the largest statement (at most Max bytes).
//
// Limit: the delimiter is not looked for inside quotes, so a query whose string literal has a line ending
// with "/*!*/;" is split there (the replay then fails on it, loudly).
type Reader struct {
	r     *bufio.Reader
	delim string
	at    int64
	line  int
	max   int
	buf   bytes.Buffer
}

// DefaultMax bounds a statement (the server's largest max_allowed_packet, 1 GiB, as base64).
const DefaultMax = 1<<30 + 1<<29

// NewReader reads statements from r; max bounds one statement's bytes (<= 0: DefaultMax).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMax
	}
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), delim: ";", max: max}
}

var clientCharset = regexp.MustCompile(`^/\*!\\C ([A-Za-z0-9_]+) \*/$`)

// Next returns the next statement, io.EOF after the last one. Output that ends inside a statement is an
// error (a truncated decoder output is never executed half).
func (s *Reader) Next() (Statement, error) {
	s.buf.Reset()
	st := Statement{}
	for {
		line, err := s.readLine()
		if err == io.EOF && line == nil {
			if strings.TrimSpace(s.buf.String()) != "" {
				return Statement{}, fmt.Errorf("decoder output line %d (# at %d): statement not terminated by %q at the end of the output", st.Line, st.At, s.delim)
			}
			return Statement{}, io.EOF
		}
		if err != nil && err != io.EOF {
			return Statement{}, err
		}
		s.line++
		if s.buf.Len() == 0 {
			trimmed := bytes.TrimSpace(line)
			if len(trimmed) == 0 {
				continue
			}
			if trimmed[0] == '#' {
				s.position(trimmed)
				continue
			}
			if len(trimmed) > 10 && strings.EqualFold(string(trimmed[:10]), "DELIMITER ") {
				d := strings.TrimSpace(string(trimmed[10:]))
				if d == "" || strings.ContainsAny(d, " \t") {
					return Statement{}, fmt.Errorf("decoder output line %d: bad delimiter %q", s.line, d)
				}
				s.delim = d
				continue
			}
			st.At, st.Line = s.at, s.line
		} else {
			s.buf.WriteByte('\n')
		}
		if s.buf.Len()+len(line) > s.max {
			return Statement{}, fmt.Errorf("decoder output line %d (# at %d): statement longer than %d bytes", st.Line, st.At, s.max)
		}
		end := bytes.TrimRight(line, " \t\r")
		if bytes.HasSuffix(end, []byte(s.delim)) {
			s.buf.Write(end[:len(end)-len(s.delim)])
			st.SQL = strings.TrimSpace(s.buf.String())
			if st.SQL == "" {
				s.buf.Reset()
				continue
			}
			if m := clientCharset.FindStringSubmatch(st.SQL); m != nil {
				st.SQL = "SET NAMES " + m[1]
			}
			return st, nil
		}
		s.buf.Write(line)
		if err == io.EOF {
			continue // the next read reports the unterminated statement
		}
	}
}

// readLine returns the next line without its newline (nil, io.EOF at the end). A line longer than the
// statement bound is refused without being held whole.
func (s *Reader) readLine() ([]byte, error) {
	var out []byte
	for {
		chunk, err := s.r.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > s.max {
			return nil, fmt.Errorf("decoder output line %d (# at %d): line longer than %d bytes", s.line+1, s.at, s.max)
		}
		switch {
		case err == nil:
			return out[:len(out)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(out) > 0:
			return out, io.EOF
		default:
			return nil, err
		}
	}
}

// position records "# at N".
func (s *Reader) position(comment []byte) {
	if rest, ok := bytes.CutPrefix(comment, []byte("# at ")); ok {
		if n, err := strconv.ParseInt(string(bytes.TrimSpace(rest)), 10, 64); err == nil {
			s.at = n
		}
	}
}

// Excerpt is a short, secret-free rendering of a statement for messages: its first line cut to 80
// bytes, a BINLOG event as BINLOG '…' with its size, and nothing from IDENTIFIED/PASSWORD on.
func (st Statement) Excerpt() string {
	q := st.SQL
	if len(q) >= 6 && strings.EqualFold(q[:6], "BINLOG") {
		return fmt.Sprintf("BINLOG '…' (%d bytes of base64 events)", len(q))
	}
	first, _, more := strings.Cut(q, "\n")
	upper := asciiUpper(first) // byte for byte: an index into it is one into first
	for _, secret := range []string{"IDENTIFIED", "PASSWORD"} {
		if i := strings.Index(upper, secret); i >= 0 {
			first, upper, more = first[:i], upper[:i], true
		}
	}
	if len(first) > 80 {
		first, more = first[:80], true
	}
	first = strings.ToValidUTF8(first, "")
	if more {
		first = strings.TrimRight(first, " \t") + " …"
	}
	return first
}

// asciiUpper upper-cases s's ASCII letters only, so the result has s's length and byte offsets
// (strings.ToUpper may change a string's length: 'ɐ' is 2 bytes, 'Ɐ' 3).
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}
