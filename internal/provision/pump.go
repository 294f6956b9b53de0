package provision

import (
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
)

// pumpDrain bounds how long an operation waits, after it returned, for the event pump to drain (the Automation
// API closes the channel when the engine's event log ends).
const pumpDrain = 5 * time.Second

// stream is the one event pump of every operation: it returns an engine event channel forwarding each event
// to OnEvent (marked refreshed while refreshing) and then to observe (may be nil), and a wait function to call
// after the operation.
func (e *Engine) stream(refreshing bool, observe func(events.EngineEvent)) (chan events.EngineEvent, func()) {
	ch := make(chan events.EngineEvent, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range ch {
			if ev.Error != nil {
				continue
			}
			if e.opts.OnEvent != nil {
				if out, ok := convert(ev, time.Now()); ok {
					e.opts.OnEvent(refreshed(out, refreshing))
				}
			}
			if observe != nil {
				observe(ev)
			}
		}
	}()
	return ch, func() {
		select {
		case <-done:
		case <-time.After(pumpDrain):
		}
	}
}

func (e *Engine) emit(ev Event) {
	if e.opts.OnEvent != nil {
		ev.Time = time.Now()
		e.opts.OnEvent(ev)
	}
}
