package mysqlx

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
)

// wireConn is a snapshot worker connection read at the protocol level. go-mysql's client connects
// (TLS, auth plugins); after that, queries go over the connection directly, so a row arrives as the
// server's field bytes and is encoded without the per-value conversion and allocation that
// database/sql's driver interface costs (a third of the client CPU of a large dump). Only COM_QUERY
// with the classic EOF framing is spoken: go-mysql never asks for CLIENT_DEPRECATE_EOF, compression,
// multiple statements or results.
type wireConn struct {
	nc   net.Conn
	r    *bufio.Reader
	seq  byte
	pkt  []byte
	dead error
}

const handshakeTimeout = 30 * time.Second

// ErrNoWire is returned by dialWire for a DSN whose network only the driver can dial (a dialer
// registered with it, such as an SSH channel through the bastion).
var ErrNoWire = errors.New("network only the driver can dial")

// dialWire connects to dsn's server as go-sql-driver would (address, credentials, TLS, database).
func dialWire(ctx context.Context, dsn string) (*wireConn, error) {
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse dsn: %w", err)
	}
	if cfg.Net != "tcp" && cfg.Net != "unix" {
		return nil, fmt.Errorf("%s: %w", cfg.Net, ErrNoWire)
	}
	d := net.Dialer{KeepAlive: 15 * time.Second}
	tlsOpt := func(c *client.Conn) error {
		if cfg.TLS != nil {
			c.SetTLSConfig(cfg.TLS)
		}
		return nil
	}
	// go-mysql's handshake has no timeout of its own: a server that accepts and then says nothing fails
	// after handshakeTimeout instead of hanging the backup.
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := d.DialContext(ctx, network, addr)
		if err == nil {
			_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
		}
		return nc, err
	}
	c, err := client.ConnectWithDialer(ctx, cfg.Net, cfg.Addr, cfg.User, cfg.Passwd, cfg.DBName, dial, tlsOpt)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", cfg.Addr, err)
	}
	// The handshake is over and the server is waiting for a command: nothing is left buffered in go-mysql's
	// reader, so the connection (the TLS one when TLS was negotiated) is read from here on.
	nc := c.Conn.Conn
	if err := nc.SetDeadline(time.Time{}); err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect %s: %w", cfg.Addr, err)
	}
	return &wireConn{nc: nc, r: bufio.NewReaderSize(nc, readBufferSize)}, nil
}

// close ends the session (the server rolls back an open transaction).
func (c *wireConn) close() {
	if c.dead == nil {
		c.seq = 0
		_ = c.writePacket([]byte{mysql.COM_QUIT})
	}
	_ = c.nc.Close()
	c.dead = errClosedConn
}

var errClosedConn = errors.New("connection closed")

func (c *wireConn) writePacket(payload []byte) error {
	if len(payload) >= 1<<24-1 {
		return fmt.Errorf("query of %d bytes is too long", len(payload))
	}
	b := make([]byte, 4, 4+len(payload))
	b[0], b[1], b[2], b[3] = byte(len(payload)), byte(len(payload)>>8), byte(len(payload)>>16), c.seq
	c.seq++
	_, err := c.nc.Write(append(b, payload...))
	return err
}

// readPacket reads the next packet's payload into c.pkt (valid until the next read), joining the
// continuation packets of a payload of 16 MiB or more.
func (c *wireConn) readPacket() ([]byte, error) {
	c.pkt = c.pkt[:0]
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
			return nil, err
		}
		n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
		if hdr[3] != c.seq {
			return nil, fmt.Errorf("packet sequence %d, want %d", hdr[3], c.seq)
		}
		c.seq++
		start := len(c.pkt)
		if cap(c.pkt)-start < n {
			grown := make([]byte, start, start+n+n/4)
			copy(grown, c.pkt)
			c.pkt = grown
		}
		c.pkt = c.pkt[:start+n]
		if _, err := io.ReadFull(c.r, c.pkt[start:]); err != nil {
			return nil, err
		}
		if n < 1<<24-1 {
			return c.pkt, nil
		}
	}
}

// serverError decodes an ERR packet.
func serverError(p []byte) error {
	if len(p) < 3 {
		return errors.New("malformed error packet")
	}
	code := binary.LittleEndian.Uint16(p[1:3])
	msg := p[3:]
	if len(msg) >= 6 && msg[0] == '#' {
		msg = msg[6:]
	}
	return fmt.Errorf("Error %d: %s", code, msg)
}

func isEOF(p []byte) bool { return len(p) > 0 && p[0] == mysql.EOF_HEADER && len(p) < 9 }

// column is what encoding a field needs of its column definition.
type column struct {
	typ      byte
	unsigned bool
}

// query runs q; for a result set, row is called with each row's fields (nil for NULL; the slices are
// valid until row returns). A statement without a result set calls nothing. A cancelled ctx interrupts
// the read and leaves the connection unusable.
func (c *wireConn) query(ctx context.Context, q string, row func(cols []column, fields [][]byte) error) (err error) {
	if c.dead != nil {
		return c.dead
	}
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() || (err != nil && ctx.Err() != nil) {
			err = errors.Join(ctx.Err(), err)
			c.dead = fmt.Errorf("interrupted: %w", ctx.Err())
		}
	}()
	c.seq = 0
	if err := c.writePacket(append([]byte{mysql.COM_QUERY}, q...)); err != nil {
		c.dead = err
		return err
	}
	p, err := c.readPacket()
	if err != nil {
		c.dead = err
		return err
	}
	switch p[0] {
	case mysql.OK_HEADER:
		return nil
	case mysql.ERR_HEADER:
		return serverError(p)
	case mysql.LocalInFile_HEADER:
		c.dead = errors.New("unexpected LOCAL INFILE request")
		return c.dead
	}
	n, _, _ := mysql.LengthEncodedInt(p)
	cols := make([]column, n)
	for i := range cols {
		p, err := c.readPacket()
		if err != nil {
			c.dead = err
			return err
		}
		var f mysql.Field
		if err := f.Parse(p); err != nil {
			c.dead = fmt.Errorf("column %d: %w", i+1, err)
			return c.dead
		}
		cols[i] = column{typ: f.Type, unsigned: f.Flag&mysql.UNSIGNED_FLAG != 0}
	}
	if p, err := c.readPacket(); err != nil || !isEOF(p) {
		c.dead = fmt.Errorf("no EOF after the column definitions: %v", err)
		return c.dead
	}
	fields := make([][]byte, n)
	for {
		p, err := c.readPacket()
		if err != nil {
			c.dead = err
			return err
		}
		if isEOF(p) {
			return nil
		}
		if p[0] == mysql.ERR_HEADER {
			return serverError(p)
		}
		if err := splitFields(p, fields); err != nil {
			c.dead = err
			return err
		}
		if row == nil {
			continue
		}
		if err := row(cols, fields); err != nil {
			// Rather than read the rest of the result set (a whole table, maybe), give up the session: the
			// caller's dump has failed, and the server rolls back when the connection closes.
			_ = c.nc.Close()
			c.dead = fmt.Errorf("abandoned after: %w", err)
			return err
		}
	}
}

// splitFields cuts a text-protocol row into its length-encoded fields (nil: NULL).
func splitFields(p []byte, fields [][]byte) error {
	pos := 0
	for i := range fields {
		if pos >= len(p) {
			return fmt.Errorf("row ends before field %d", i+1)
		}
		var n uint64
		switch b := p[pos]; {
		case b < 0xfb:
			n, pos = uint64(b), pos+1
		case b == 0xfb:
			fields[i], pos = nil, pos+1
			continue
		case b == 0xfc && pos+3 <= len(p):
			n, pos = uint64(binary.LittleEndian.Uint16(p[pos+1:])), pos+3
		case b == 0xfd && pos+4 <= len(p):
			n, pos = uint64(p[pos+1])|uint64(p[pos+2])<<8|uint64(p[pos+3])<<16, pos+4
		case b == 0xfe && pos+9 <= len(p):
			n, pos = binary.LittleEndian.Uint64(p[pos+1:]), pos+9
		default:
			return fmt.Errorf("field %d: bad length prefix", i+1)
		}
		if n > uint64(len(p)-pos) {
			return fmt.Errorf("field %d: %d bytes past the row's end", i+1, n)
		}
		fields[i] = p[pos : pos+int(n) : pos+int(n)]
		pos += int(n)
	}
	return nil
}
