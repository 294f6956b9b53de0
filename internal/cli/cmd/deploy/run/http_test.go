package run

import (
	"net/http"
	"time"
)

func httpClient() *http.Client {
	return &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
}
