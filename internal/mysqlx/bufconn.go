package mysqlx

import (
	"bufio"
	"context"
	"net"
	"time"
)

// readBufferSize is the read buffer under the driver's connection. The driver reads into a 4 KiB buffer,
// so a table streamed at 100+ MB/s would cost one read system call per 4 KiB; 128 KiB cuts them 32-fold
// (they were a tenth of plinth's CPU time in a dump of one large table).
const readBufferSize = 128 << 10

// bufConn is a connection whose reads go through a buffer. Writes are not buffered: the driver writes whole
// packets and waits for the answer.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// dialBuffered dials TCP or a unix socket as the driver would (with TCP keepalives) and buffers reads.
func dialBuffered(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: 15 * time.Second}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &bufConn{Conn: c, r: bufio.NewReaderSize(c, readBufferSize)}, nil
}
