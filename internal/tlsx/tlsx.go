// Package tlsx loads the CA certificates plinth verifies servers with (the live local cloud's CA, an
// emulator's, an operator's bundle). Pure apart from reading the file.
package tlsx

import (
	"crypto/x509"
	"fmt"
	"os"
)

// CAPool reads file's PEM certificates into a pool; a file without one is an error naming it.
func CAPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}
