package esdb

// The connection: a small pool of clients, their logging, and which errors are worth retrying.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/streamledger/streamledger/eventstore"
)

// clientLogger sends the client library's messages to slog. The library passes its arguments as one slice.
func clientLogger(log *slog.Logger) esdb.LoggingFunc {
	return func(level esdb.LogLevel, format string, args ...interface{}) {
		if len(args) == 1 {
			if inner, ok := args[0].([]interface{}); ok {
				args = inner
			}
		}
		lvl := slog.LevelDebug
		switch level {
		case esdb.LogWarn:
			lvl = slog.LevelWarn
		case esdb.LogError:
			lvl = slog.LevelError
		}
		log.Log(context.Background(), lvl, "eventstoredb client", "message", fmt.Sprintf(format, args...))
	}
}

// use runs fn with a client that nobody else uses meanwhile. The library is not safe for concurrent callers while
// it reconnects: a call that asks for the connection while another call's rediscovery fails blocks forever, and
// Close races with calls in flight. So each call takes a client of its own from a small pool; a client that lost
// its connection is closed (safely: it has no other user) and the next call connects a new one.
func (s *Store) use(ctx context.Context, fn func(c *esdb.Client) error) error {
	select {
	case <-s.slots:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { s.slots <- struct{}{} }()
	if s.closed.Load() {
		return eventstore.ErrClosed
	}
	var c *esdb.Client
	select {
	case c = <-s.idle:
	default:
		fresh, err := esdb.NewClient(s.conf)
		if err != nil {
			return fmt.Errorf("eventstoredb client: %w", err)
		}
		c = fresh
	}
	err := fn(c)
	if Transient(err) || s.closed.Load() {
		_ = c.Close()
	} else {
		s.idle <- c
	}
	// A call cancelled while it sends fails in gRPC's Send with io.EOF, which says nothing of the cancellation.
	return eventstore.ContextErr(ctx, err)
}

// Transient tells errors worth retrying (the server unreachable, a leader change) from final ones.
func Transient(err error) bool {
	var e *esdb.Error
	if errors.As(err, &e) {
		switch e.Code() {
		case esdb.ErrorUnavailable, esdb.ErrorCodeConnectionClosed, esdb.ErrorCodeDeadlineExceeded,
			esdb.ErrorCodeNotLeader, esdb.ErrorAborted:
			return true
		}
	}
	switch status.Code(err) { // a subscription drops with gRPC's own error
	case codes.Unavailable, codes.Aborted:
		return true
	}
	// A call whose stream the server ended (it went away between two messages) fails in gRPC's Send with io.EOF,
	// which the library passes on with an unknown error code: the connection is gone, as when it is unavailable.
	return errors.Is(err, io.EOF)
}

func isNotFound(err error) bool {
	var e *esdb.Error
	return errors.As(err, &e) && e.Code() == esdb.ErrorCodeResourceNotFound
}

func isWrongVersion(err error) bool {
	var e *esdb.Error
	return errors.As(err, &e) && e.Code() == esdb.ErrorCodeWrongExpectedVersion
}

// Close closes the connection; the store refuses every call afterwards.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.end()
	for range clients { // wait for the calls in flight: the library's Close must not race with them
		<-s.slots
	}
	for {
		select {
		case c := <-s.idle:
			_ = c.Close()
		default:
			return nil
		}
	}
}
