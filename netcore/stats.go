package netcore

import (
	"sync/atomic"
	"time"
)

// serverStats counts a Server's connections and bytes with atomic
// operations, so that another goroutine may read them at any time
// (Server.Stats). The event-loop engine adds once per batch of events;
// the goroutine engine counts bytes as the handler moves them.
type serverStats struct {
	Accepted atomic.Int64 // connections accepted
	Dropped  atomic.Int64 // closed at once: MaxConnections or the BlockList
	Closed   atomic.Int64 // accepted connections that have ended

	BytesRead    atomic.Int64
	BytesWritten atomic.Int64
}

// StatsSample is what a Server's counters said at one moment.
type StatsSample struct {
	Time                    time.Time
	Open                    int
	Accepted, Dropped       int64
	BytesRead, BytesWritten int64
}

// StatsRates are the rates between two samples, per second.
type StatsRates struct {
	Seconds                 float64
	Accepted                float64
	BytesRead, BytesWritten float64
}

// Since returns the rates from an earlier sample to this one; a zero
// earlier sample counts from zero.
func (s StatsSample) Since(prev StatsSample) StatsRates {
	secs := s.Time.Sub(prev.Time).Seconds()
	r := StatsRates{Seconds: secs}
	if secs <= 0 {
		return r
	}
	r.Accepted = float64(s.Accepted-prev.Accepted) / secs
	r.BytesRead = float64(s.BytesRead-prev.BytesRead) / secs
	r.BytesWritten = float64(s.BytesWritten-prev.BytesWritten) / secs
	return r
}
