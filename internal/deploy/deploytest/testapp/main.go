// Command testapp is the service deployed by plinth's tests and benchmark: it serves /health with the
// version stamped at build time (-ldflags "-X main.version=v2"); built with -X main.healthy=false it
// fails its health check.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"os"
)

var (
	version = "dev"
	healthy = "true"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	log.SetOutput(os.Stdout)
	log.Printf("testapp %s starting on %s (healthy=%s)", version, *addr, healthy)
	if healthy != "true" {
		log.Printf("boot: cannot read config: simulated failure of %s", version)
	}
	http.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		if healthy != "true" {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok", "version": version})
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
