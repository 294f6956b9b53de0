package live

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// calendarRE is the OnCalendar form the live timer understands besides the shorthands: every day at a time
// of day, in UTC or the machine's zone ("*-*-* 03:15:00 UTC").
var calendarRE = regexp.MustCompile(`^\*-\*-\* (\d{1,2}):(\d{2})(?::(\d{2}))?( UTC)?$`)

// nextCalendar is when a systemd OnCalendar expression fires next after now: minutely, hourly, daily,
// weekly (Monday 00:00) or "*-*-* HH:MM[:SS][ UTC]". Pure.
func nextCalendar(expr string, now time.Time) (time.Time, error) {
	expr = strings.TrimSpace(expr)
	switch expr {
	case "minutely":
		return now.Truncate(time.Minute).Add(time.Minute), nil
	case "hourly":
		return now.Truncate(time.Hour).Add(time.Hour), nil
	case "daily":
		return nextTimeOfDay(now, 0, 0, 0, now.Location()), nil
	case "weekly":
		t := nextTimeOfDay(now, 0, 0, 0, now.Location())
		for t.Weekday() != time.Monday {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	m := calendarRE.FindStringSubmatch(expr)
	if m == nil {
		return time.Time{}, fmt.Errorf("timer: OnCalendar %q: the live timer understands minutely, hourly, daily, weekly and \"*-*-* HH:MM[:SS][ UTC]\"", expr)
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	s := 0
	if m[3] != "" {
		s, _ = strconv.Atoi(m[3])
	}
	if h > 23 || mi > 59 || s > 59 {
		return time.Time{}, fmt.Errorf("timer: OnCalendar %q: no such time of day", expr)
	}
	loc := now.Location()
	if m[4] != "" {
		loc = time.UTC
	}
	return nextTimeOfDay(now, h, mi, s, loc), nil
}

// nextTimeOfDay is the first h:m:s in loc strictly after now.
func nextTimeOfDay(now time.Time, h, m, s int, loc *time.Location) time.Time {
	n := now.In(loc)
	t := time.Date(n.Year(), n.Month(), n.Day(), h, m, s, 0, loc)
	if !t.After(now) {
		t = time.Date(n.Year(), n.Month(), n.Day()+1, h, m, s, 0, loc)
	}
	return t
}
