// Command webservice is the sample service `make run` deploys to the live local cloud's app tier: it listens
// on $ADDR (the unit's environment file, components/userdata) and reports its version, stamped at build time
// (-ldflags "-X main.version=v1"), on /health, with the data tier's checks when its environment names them
// (health.go: a write to the primary read back from a replica, a cache round trip over TLS).
package main

import (
	"context"
	"encoding/json"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

var version = "dev"

func main() {
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	log.SetOutput(os.Stdout)
	log.Printf("webservice %s starting on %s (tier %s)", version, addr, os.Getenv("PLINTH_TIER"))
	c, err := checksFromEnv(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: addr, Handler: handler(c), ReadHeaderTimeout: 10 * time.Second}
	// On SIGTERM (a restart) stop accepting, finish the requests in flight, then exit.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan struct{})
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		close(done)
	}()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
	<-done
}

// handler serves /health: the version, and the data tier's checks when configured ("ok", or "error: ..."
// and 503), with which server answered the database read.
func handler(c *checks) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		body := map[string]string{"status": "ok", "version": version}
		code := http.StatusOK
		if c != nil {
			for k, v := range c.run(r.Context()) {
				body[k] = v
				if strings.HasPrefix(v, "error") {
					body["status"], code = "degraded", http.StatusServiceUnavailable
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
	return mux
}
