package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/fatih/color"
)

// Field is one key of an event, in the order it is printed.
type Field struct {
	Key   string
	Value any
}

// EventLog prints lifecycle events on stderr as they happen: as text with
// -v (the event name in colour on a terminal), or as one JSON object per
// line with --events json. Data events need -vv in both formats. A nil
// *EventLog, or one below the level asked, prints nothing, so callers test
// On before building fields.
type EventLog struct {
	mu    sync.Mutex
	w     io.Writer
	json  bool
	level int
	color *color.Color
	now   func() time.Time
	buf   bytes.Buffer
}

func newEventLog(w io.Writer, asJSON bool, verbose int, useColor bool) *EventLog {
	level := verbose
	if asJSON && level == 0 {
		level = 1
	}
	l := &EventLog{w: w, json: asJSON, level: level, now: time.Now}
	if useColor && !asJSON {
		l.color = color.New(color.FgCyan, color.Bold)
		l.color.EnableColor() // fatih/color decides from stdout; we decided from stderr
	}
	return l
}

// On reports whether events are printed: level 1 for lifecycle events,
// 2 for data events.
func (l *EventLog) On(level int) bool { return l != nil && l.level >= level }

// JSON reports whether events are printed as JSON.
func (l *EventLog) JSON() bool { return l != nil && l.json }

// Emit prints one lifecycle event (level 1).
func (l *EventLog) Emit(event string, fields ...Field) { l.emit(1, event, fields) }

// EmitData prints one data event (level 2).
func (l *EventLog) EmitData(event string, fields ...Field) { l.emit(2, event, fields) }

func (l *EventLog) emit(level int, event string, fields []Field) {
	if !l.On(level) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := &l.buf
	b.Reset()
	t := l.now()
	if l.json {
		b.WriteString(`{"event":`)
		writeJSON(b, event)
		b.WriteString(`,"time":"`)
		b.WriteString(t.Format("2006-01-02T15:04:05.000Z07:00"))
		b.WriteByte('"')
		for _, f := range fields {
			b.WriteByte(',')
			writeJSON(b, f.Key)
			b.WriteByte(':')
			writeJSON(b, f.Value)
		}
		b.WriteString("}\n")
	} else {
		b.WriteString(t.Format("15:04:05.000 "))
		if l.color != nil {
			b.WriteString(l.color.Sprint(event))
		} else {
			b.WriteString(event)
		}
		for _, f := range fields {
			b.WriteByte(' ')
			b.WriteString(f.Key)
			b.WriteByte('=')
			writeText(b, f.Value)
		}
		b.WriteByte('\n')
	}
	l.w.Write(b.Bytes()) //nolint:errcheck // stderr: nowhere to report it
}

// Line prints a plain line (the docs' "client connected") at level 1,
// in text mode only: JSON consumers get the structured event instead.
func (l *EventLog) Line(s string) {
	if !l.On(1) || l.json {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, s+"\n") //nolint:errcheck // stderr
}

func writeJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case string:
		e, _ := json.Marshal(x)
		b.Write(e)
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case bool:
		b.WriteString(strconv.FormatBool(x))
	default:
		e, err := json.Marshal(x)
		if err != nil {
			e, _ = json.Marshal(fmt.Sprint(x))
		}
		b.Write(e)
	}
}

func writeText(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case string:
		if x == "" || needsQuote(x) {
			b.WriteString(strconv.Quote(x))
		} else {
			b.WriteString(x)
		}
	default:
		fmt.Fprint(b, x)
	}
}

func needsQuote(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '"' || c == '=' || c >= 0x7f {
			return true
		}
	}
	return false
}
