// Command webservice is the sample service `make run` deploys to the live local cloud's app tier: it listens
// on $ADDR (the unit's environment file, components/userdata) and reports its version, stamped at build time
// (-ldflags "-X main.version=v1"), on /health.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
)

var version = "dev"

func main() {
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	log.SetOutput(os.Stdout)
	log.Printf("webservice %s starting on %s (tier %s)", version, addr, os.Getenv("PLINTH_TIER"))
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok", "version": version})
	})
	log.Fatal(http.ListenAndServe(addr, mux))
}
