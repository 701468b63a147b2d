// Package esdbtest is an in-process EventStoreDB for tests: a real gRPC server that implements the Streams service
// (Append, Read, $all subscriptions) of the protocol EventStore-Client-Go speaks, backed by the memory store. No
// EventStoreDB server can run where CI runs, so the esdb backend is tested over the same wire it uses in
// production, against this server.
//
// It keeps to the behaviour the backend depends on and that EventStoreDB documents: per-stream optimistic
// concurrency (any, no stream, stream exists, exact revision), idempotent re-appends of the same event ids, reads
// forward and backward by stream, forward reads and subscriptions on $all from a position (inclusive for reads,
// exclusive for subscriptions) with server-side stream and event-type filters, StreamNotFound for unknown
// streams, and positions that only grow. It has no system streams, links, deletes, ACLs or clustering; those
// calls answer Unimplemented. Stop and Restart drop and restore the connection without losing what was stored,
// which is how tests exercise reconnecting.
package esdbtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
)

// Server is one in-process EventStoreDB node.
type Server struct {
	addr  string
	store *memory.Store
	// appendMu makes each append's revision check and write one step, as the server's single writer does.
	appendMu sync.Mutex

	mu   sync.Mutex
	grpc *grpc.Server
	done chan struct{}
}

// Start listens on a free local port.
func Start() (*Server, error) {
	s := &Server{store: memory.New()}
	if err := s.listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return s, nil
}

// URL is the connection string for esdb.ParseConnectionString.
func (s *Server) URL() string { return "esdb://" + s.addr + "?tls=false" }

// Stop drops every connection and stops listening; what was stored is kept for Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	g, done := s.grpc, s.done
	s.grpc = nil
	s.mu.Unlock()
	if g != nil {
		g.Stop()
		<-done
	}
}

// Restart listens again on the same address, with the same contents.
func (s *Server) Restart() error {
	s.Stop()
	return s.listen(s.addr)
}

// Close stops the server for good.
func (s *Server) Close() {
	s.Stop()
	s.store.Close()
}

func (s *Server) listen(addr string) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("esdbtest: listen on %s: %w", addr, err)
	}
	g := grpc.NewServer()
	api.RegisterStreamsServer(g, &streams{srv: s})
	done := make(chan struct{})
	s.mu.Lock()
	s.addr, s.grpc, s.done = lis.Addr().String(), g, done
	s.mu.Unlock()
	go func() {
		defer close(done)
		_ = g.Serve(lis) // returns when Stop closes the listener
	}()
	return nil
}

// envelope is how an EventStoreDB event rides in the memory store, whose events must be JSON: the server's own
// payload is opaque bytes with a content type.
type envelope struct {
	ContentType string `json:"contentType"`
	Data        []byte `json:"data"`
	Metadata    []byte `json:"metadata"`
}

type streams struct {
	api.UnimplementedStreamsServer
	srv *Server
}

func (h *streams) Append(stream api.Streams_AppendServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "the first append message must carry the options")
	}
	name := string(opts.GetStreamIdentifier().GetStreamName())
	var events []eventstore.NewEvent
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		pm := msg.GetProposedMessage()
		if pm == nil {
			return status.Error(codes.InvalidArgument, "append messages after the first must be proposed events")
		}
		id, err := protoUUID(pm.GetId())
		if err != nil {
			return status.Errorf(codes.InvalidArgument, "event id: %v", err)
		}
		data, err := json.Marshal(envelope{ContentType: pm.GetMetadata()["content-type"], Data: pm.GetData(), Metadata: pm.GetCustomMetadata()})
		if err != nil {
			return status.Errorf(codes.Internal, "envelope: %v", err)
		}
		events = append(events, eventstore.NewEvent{ID: id.String(), Type: pm.GetMetadata()["type"], Data: data})
	}
	resp, err := h.srv.append(stream.Context(), name, opts, events)
	if err != nil {
		return err
	}
	return stream.SendAndClose(resp)
}

func (s *Server) append(ctx context.Context, name string, opts *api.AppendReq_Options, events []eventstore.NewEvent) (*api.AppendResp, error) {
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	last, err := s.lastRevision(ctx, name)
	if err != nil {
		return nil, err
	}
	expected := eventstore.Any
	switch opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_NoStream:
		expected = eventstore.NoStream
	case *api.AppendReq_Options_Revision:
		expected = eventstore.Exact(eventstore.Version(opts.GetRevision()))
	case *api.AppendReq_Options_StreamExists:
		if last < 0 {
			return wrongExpected(last, opts), nil
		}
	}
	if len(events) == 0 {
		return success(last, 0), nil
	}
	res, err := s.store.Append(ctx, name, expected, events...)
	switch {
	case errors.Is(err, eventstore.ErrWrongVersion):
		return wrongExpected(last, opts), nil
	case errors.Is(err, eventstore.ErrInvalidStream), errors.Is(err, eventstore.ErrInvalidEvent), errors.Is(err, eventstore.ErrEventTooLarge):
		return nil, status.Error(codes.InvalidArgument, err.Error())
	case err != nil:
		return nil, status.Error(codes.Internal, err.Error())
	}
	return success(res.LastVersion, res.Events[len(res.Events)-1].Position), nil
}

func (s *Server) lastRevision(ctx context.Context, name string) (eventstore.Version, error) {
	recs, err := s.store.ReadStreamBackward(ctx, name, eventstore.EndOfStream, 1)
	if err != nil {
		return 0, status.Error(codes.InvalidArgument, err.Error())
	}
	if len(recs) == 0 {
		return -1, nil
	}
	return recs[0].Version, nil
}

func success(last eventstore.Version, pos eventstore.Position) *api.AppendResp {
	ok := &api.AppendResp_Success{
		CurrentRevisionOption: &api.AppendResp_Success_CurrentRevision{CurrentRevision: uint64(last)},
		PositionOption: &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{
			CommitPosition: uint64(pos), PreparePosition: uint64(pos)}},
	}
	return &api.AppendResp{Result: &api.AppendResp_Success_{Success: ok}}
}

func wrongExpected(last eventstore.Version, opts *api.AppendReq_Options) *api.AppendResp {
	w := &api.AppendResp_WrongExpectedVersion{}
	if last < 0 {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
	} else {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(last)}
	}
	switch opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_NoStream:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case *api.AppendReq_Options_StreamExists:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
	case *api.AppendReq_Options_Revision:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: opts.GetRevision()}
	default:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
	}
	return &api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: w}}
}

// maxRead bounds one read's page, whatever count the client asks for.
const maxRead = 4096

func (h *streams) Read(req *api.ReadReq, out api.Streams_ReadServer) error {
	opts := req.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "read without options")
	}
	filter, err := newFilter(opts)
	if err != nil {
		return err
	}
	send := func(r eventstore.Recorded) error {
		if !filter(r) {
			return nil
		}
		ev, err := recordedEvent(r, opts.GetUuidOption().GetString_() != nil)
		if err != nil {
			return err
		}
		return out.Send(&api.ReadResp{Content: &api.ReadResp_Event{Event: ev}})
	}
	_, subscribe := opts.GetCountOption().(*api.ReadReq_Options_Subscription)
	switch {
	case opts.GetStream() != nil && !subscribe:
		return h.srv.readStream(out, opts, send)
	case opts.GetAll() != nil && subscribe:
		return h.srv.subscribeAll(out, opts, send)
	case opts.GetAll() != nil:
		return h.srv.readAll(out, opts, send)
	default:
		return status.Error(codes.Unimplemented, "esdbtest serves stream reads and $all reads and subscriptions")
	}
}

func (s *Server) readStream(out api.Streams_ReadServer, opts *api.ReadReq_Options, send func(eventstore.Recorded) error) error {
	ctx := out.Context()
	so := opts.GetStream()
	name := string(so.GetStreamIdentifier().GetStreamName())
	last, err := s.lastRevision(ctx, name)
	if err != nil {
		return err
	}
	if last < 0 {
		return out.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
			StreamIdentifier: so.GetStreamIdentifier()}}})
	}
	backward := opts.GetReadDirection() == api.ReadReq_Options_Backwards
	from := eventstore.Version(so.GetRevision())
	switch {
	case so.GetStart() != nil:
		from = 0
	case so.GetEnd() != nil && backward:
		from = eventstore.EndOfStream
	case so.GetEnd() != nil:
		return nil
	}
	for left := opts.GetCount(); left > 0; {
		var page []eventstore.Recorded
		if backward {
			page, err = s.store.ReadStreamBackward(ctx, name, from, int(min(left, maxRead)))
		} else {
			page, err = s.store.ReadStream(ctx, name, from, int(min(left, maxRead)))
		}
		if err != nil {
			return status.Error(codes.Internal, err.Error())
		}
		for _, r := range page {
			if err := send(r); err != nil {
				return err
			}
		}
		if len(page) == 0 || (backward && page[len(page)-1].Version == 0) {
			return nil
		}
		left -= uint64(len(page))
		if backward {
			from = page[len(page)-1].Version - 1
		} else {
			from = page[len(page)-1].Version + 1
		}
	}
	return nil
}

func (s *Server) readAll(out api.Streams_ReadServer, opts *api.ReadReq_Options, send func(eventstore.Recorded) error) error {
	if opts.GetReadDirection() == api.ReadReq_Options_Backwards {
		return status.Error(codes.Unimplemented, "esdbtest reads $all forward only")
	}
	ctx := out.Context()
	var after eventstore.Position
	switch ao := opts.GetAll(); {
	case ao.GetEnd() != nil:
		return nil
	case ao.GetPosition() != nil && ao.GetPosition().GetCommitPosition() > 0:
		after = eventstore.Position(ao.GetPosition().GetCommitPosition() - 1) // reads include the position they start at
	}
	for left := opts.GetCount(); left > 0; {
		page, err := s.store.ReadAll(ctx, after, int(min(left, maxRead)))
		if err != nil {
			return status.Error(codes.Internal, err.Error())
		}
		if len(page) == 0 {
			return nil
		}
		for _, r := range page {
			if err := send(r); err != nil {
				return err
			}
		}
		left -= uint64(len(page))
		after = page[len(page)-1].Position
	}
	return nil
}

func (s *Server) subscribeAll(out api.Streams_ReadServer, opts *api.ReadReq_Options, send func(eventstore.Recorded) error) error {
	ctx := out.Context()
	head, err := s.store.Head(ctx)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	var from eventstore.Position // subscriptions start after the position they are given
	switch ao := opts.GetAll(); {
	case ao.GetEnd() != nil:
		from = head
	case ao.GetPosition() != nil:
		from = eventstore.Position(ao.GetPosition().GetCommitPosition())
	}
	if err := out.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{
		SubscriptionId: uuid.NewString()}}}); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, errs := s.store.SubscribeAll(ctx, from)
	for r := range events {
		if err := send(r); err != nil {
			return err
		}
	}
	if err := <-errs; err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	return status.FromContextError(ctx.Err()).Err()
}

// newFilter is the server-side filter of a read: stream names or event types, by prefixes or a regular expression.
func newFilter(opts *api.ReadReq_Options) (func(eventstore.Recorded) bool, error) {
	f := opts.GetFilter()
	if f == nil {
		return func(eventstore.Recorded) bool { return true }, nil
	}
	expr, field := f.GetStreamIdentifier(), func(r eventstore.Recorded) string { return r.Stream }
	if expr == nil {
		expr, field = f.GetEventType(), func(r eventstore.Recorded) string { return r.Type }
	}
	if expr == nil {
		return nil, status.Error(codes.InvalidArgument, "a filter needs a stream or event type expression")
	}
	if re := expr.GetRegex(); re != "" {
		compiled, err := regexp.Compile(re)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "filter regex: %v", err)
		}
		return func(r eventstore.Recorded) bool { return compiled.MatchString(field(r)) }, nil
	}
	prefixes := expr.GetPrefix()
	return func(r eventstore.Recorded) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(field(r), p) {
				return true
			}
		}
		return false
	}, nil
}

func recordedEvent(r eventstore.Recorded, stringIDs bool) (*api.ReadResp_ReadEvent, error) {
	var env envelope
	if err := json.Unmarshal(r.Data, &env); err != nil {
		return nil, status.Errorf(codes.Internal, "stored envelope at %d: %v", r.Position, err)
	}
	id := uuid.MustParse(r.ID)
	pid := &shared.UUID{}
	if stringIDs {
		pid.Value = &shared.UUID_String_{String_: id.String()}
	} else {
		most, least := esdb.UUIDAsInt64(id)
		pid.Value = &shared.UUID_Structured_{Structured: &shared.UUID_Structured{MostSignificantBits: most, LeastSignificantBits: least}}
	}
	return &api.ReadResp_ReadEvent{
		Event: &api.ReadResp_ReadEvent_RecordedEvent{
			Id:               pid,
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.Stream)},
			StreamRevision:   uint64(r.Version),
			PreparePosition:  uint64(r.Position),
			CommitPosition:   uint64(r.Position),
			Metadata: map[string]string{
				"type":         r.Type,
				"content-type": env.ContentType,
				"created":      strconv.FormatInt(r.RecordedAt.UnixNano()/100, 10), // .NET ticks since the Unix epoch
			},
			CustomMetadata: env.Metadata,
			Data:           env.Data,
		},
		Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: uint64(r.Position)},
	}, nil
}

func protoUUID(u *shared.UUID) (uuid.UUID, error) {
	if st := u.GetStructured(); st != nil {
		return esdb.ParseUUIDFromInt64(st.GetMostSignificantBits(), st.GetLeastSignificantBits())
	}
	return uuid.Parse(u.GetString_())
}
