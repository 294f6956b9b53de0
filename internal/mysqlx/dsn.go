package mysqlx

import "github.com/go-sql-driver/mysql"

// DSN is the driver's DSN for user:password at addr (host:port) over TCP, no database selected.
func DSN(addr, user, password string) string {
	c := mysql.NewConfig()
	c.Net, c.Addr = "tcp", addr
	c.User, c.Passwd = user, password
	return c.FormatDSN()
}
