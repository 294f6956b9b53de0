package deploy_test

import (
	"net/http"
	"time"
)

var httpClient = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
