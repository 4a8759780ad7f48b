package cmd

import "github.com/nodenet/nodenet/netcore"

// newBroker is listen --broker (and --chat): a client dropped for falling
// more than netcore.DefaultBrokerMaxQueued bytes behind gets a drop event
// naming it (Node's drop fields and its id), with the bytes that were
// waiting for it.
func newBroker(chat bool, l *EventLog) *netcore.Broker {
	opts := netcore.BrokerOptions{Chat: chat}
	if l.On(1) {
		opts.OnDrop = func(s *netcore.Socket, queued int) {
			// Node's drop fields, as the server's drop has them, with the
			// connection's id and what was waiting for it.
			fields := []Field{{"id", s.ID()}}
			if local := s.LocalAddr(); local.Address == "" {
				fields = append(fields, addrFields("", local)...)
			} else {
				fields = append(append(fields, addrFields("local", local)...), addrFields("remote", s.RemoteAddr())...)
			}
			l.Emit("drop", append(fields, Field{"queuedBytes", queued})...)
		}
	}
	return netcore.NewBroker(opts)
}
