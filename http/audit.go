package http

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/http/apikit"
	"github.com/streamledger/streamledger/projections/audit"
)

// AuditLog is the audit log the API exports and proves from.
type AuditLog interface {
	Snapshot(ctx context.Context, treeSize int64, fn func(audit.View) error) error
	InclusionProof(ctx context.Context, seq, treeSize int64) (tlog.RecordProof, error)
	ConsistencyProof(ctx context.Context, older, newer int64) (tlog.TreeProof, error)
}

// AuditConfig is the audit log and the key its checkpoints are signed with.
type AuditConfig struct {
	Log         AuditLog
	Signer      note.Signer
	VerifierKey string
	// Witnessed loads the latest checkpoint witnesses cosigned (nil, or nil bytes: none): the tile log publishes it,
	// and a checkpoint asked for at its size carries its cosignatures.
	Witnessed func(ctx context.Context) ([]byte, error)
}

func (s *Server) routeAudit() {
	read, on := s.require(ScopeAuditRead), s.auditOn
	s.app.Get("/api/audit/export", read, on, s.auditExport)
	s.app.Get("/api/audit/export/manifest", read, on, s.auditManifest)
	s.app.Get("/api/audit/checkpoint", read, on, s.auditCheckpoint)
	s.app.Get("/api/audit/proof/:seq", read, on, s.auditProof)
	s.app.Get("/api/audit/consistency", read, on, s.auditConsistency)
	s.app.Get(auditLogPrefix+"checkpoint", read, on, s.auditLogCheckpoint)
	// Tiles and bundles have paths of any depth (C2SP's index elements), which OpenAPI cannot template: the
	// checkpoint's operation documents them.
	s.app.Get(auditLogPrefix+"tile/*", read, on, s.auditLogTile)
}

// auditOn answers the audit routes with 404 on a server without an audit log.
func (s *Server) auditOn(c *fiber.Ctx) error {
	if s.cfg.Audit.Log == nil {
		return apikit.New(fiber.StatusNotFound, apikit.CodeNotFound, "the audit log is not served here")
	}
	return c.Next()
}

// auditError answers the audit log's range errors as a 400 naming the field.
func auditError(err error, field string) error {
	if errors.Is(err, audit.ErrOutOfRange) {
		return apikit.Invalid(field, err.Error())
	}
	return err
}

// exportQuery reads an export's query: format, filters and the tree size to cut at (0: now).
func (s *Server) exportQuery(c *fiber.Ctx) (audit.Query, int64, error) {
	if err := apikit.CheckQuery(c, "format", "from", "to", "streamId", "contractId", "action", "treeSize", "proofs"); err != nil {
		return audit.Query{}, 0, err
	}
	q, err := audit.ParseQuery(audit.QueryParams{Format: c.Query("format"), From: c.Query("from"), To: c.Query("to"),
		ContractID: c.Query("contractId"), StreamID: c.Query("streamId"), Action: c.Query("action"),
		Proofs: c.Query("proofs")}, s.cfg.Contracts)
	var qe *audit.QueryError
	if errors.As(err, &qe) {
		return q, 0, apikit.Invalid(qe.Field, qe.Reason)
	}
	treeSize, err := treeSizeParam(c, "treeSize")
	return q, treeSize, err
}

func treeSizeParam(c *fiber.Ctx, field string) (int64, error) {
	raw := c.Query(field)
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 1 {
		return 0, apikit.Invalid(field, "must be a whole number from 1")
	}
	return n, nil
}

// cut resolves the tree size an export is cut at: the one asked for (which must exist), or the log's size now.
func (s *Server) cut(ctx context.Context, treeSize int64) (int64, error) {
	err := s.cfg.Audit.Log.Snapshot(ctx, treeSize, func(v audit.View) error {
		treeSize = v.Size()
		return nil
	})
	return treeSize, auditError(err, "treeSize")
}

// exportFileName names an export after the tree it was cut from and its filters.
func exportFileName(q audit.Query, size int64) string {
	name := fmt.Sprintf("streamledger-audit-%d", size)
	if q.StreamID != nil {
		name += fmt.Sprintf("-stream-%d", *q.StreamID)
	}
	if q.FromLedger != 0 || q.ToLedger != 0 {
		name += fmt.Sprintf("-ledgers-%d-%d", q.FromLedger, q.ToLedger)
	}
	if q.Action != "" {
		name += "-" + q.Action
	}
	return name + "." + q.Format
}

// flushWriter hands each chunk to the connection: a client that went away fails the flush, which ends the export
// and, through ctx, its database query.
type flushWriter struct {
	w      *bufio.Writer
	cancel context.CancelFunc
}

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = f.w.Flush()
	}
	if err != nil {
		f.cancel()
	}
	return n, err
}

// auditExport streams an export from one snapshot of the log. The tree size it was cut at is in
// X-Audit-Tree-Size: the manifest of the same query with that treeSize describes exactly this file.
func (s *Server) auditExport(c *fiber.Ctx) error {
	q, treeSize, err := s.exportQuery(c)
	if err != nil {
		return err
	}
	size, err := s.cut(c.UserContext(), treeSize)
	if err != nil {
		return err
	}
	if q.Format == audit.FormatCSV {
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8; header=present")
	} else {
		c.Set(fiber.HeaderContentType, "application/jsonl; charset=utf-8")
	}
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s"`, exportFileName(q, size)))
	c.Set("X-Audit-Tree-Size", strconv.FormatInt(size, 10))
	c.Set(fiber.HeaderCacheControl, "no-store")
	log, logger := s.cfg.Audit.Log, s.cfg.Logger
	requestID := requestID(c)
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithCancel(s.background)
		defer cancel()
		err := log.Snapshot(ctx, size, func(v audit.View) error {
			var signed []byte
			if q.Proofs {
				var err error
				if _, signed, err = s.signedHead(ctx, v); err != nil {
					return err
				}
			}
			res, err := audit.WriteProven(ctx, v, q, signed, flushWriter{w: w, cancel: cancel})
			if err == nil {
				logger.Info("audit export", "requestId", requestID, "rows", res.Rows, "treeSize", size, "sha256", res.SHA256)
			}
			return err
		})
		if err != nil {
			logger.Warn("audit export ended early", "requestId", requestID, "err", err)
		}
	})
	return nil
}

// auditManifest describes the export of the same query: it writes the export again, from a snapshot cut at the
// same tree size, to hash it, and proves its rows.
func (s *Server) auditManifest(c *fiber.Ctx) error {
	q, treeSize, err := s.exportQuery(c)
	if err != nil {
		return err
	}
	var m audit.Manifest
	err = s.cfg.Audit.Log.Snapshot(c.UserContext(), treeSize, func(v audit.View) error {
		// The tree's signed checkpoint, the witnessed one at its size: the rows' proofs and the manifest carry it.
		_, signed, err := s.signedHead(c.UserContext(), v)
		if err != nil {
			return err
		}
		var proven []byte
		if q.Proofs {
			proven = signed
		}
		res, err := audit.WriteProven(c.UserContext(), v, q, proven, io.Discard)
		if err != nil {
			return err
		}
		if m, err = audit.NewManifest(v, q, res, s.cfg.Audit.Signer, s.cfg.Audit.VerifierKey); err != nil {
			return err
		}
		m.Checkpoint = string(signed)
		return nil
	})
	if err != nil {
		return auditError(err, "treeSize")
	}
	return c.JSON(fiber.Map{"data": m})
}

type checkpointView struct {
	Origin      string `json:"origin"`
	TreeSize    int64  `json:"treeSize"`
	RootHash    string `json:"rootHash"`
	Checkpoint  string `json:"checkpoint"`
	VerifierKey string `json:"verifierKey"`
}

// signedHead is the view's tree head and its signed checkpoint: the witnessed one, cosignatures and all, when it is
// of this tree; signed by the log alone otherwise.
func (s *Server) signedHead(ctx context.Context, v audit.View) (audit.Checkpoint, []byte, error) {
	root, err := tlog.TreeHash(v.Size(), v.Hashes())
	if err != nil {
		return audit.Checkpoint{}, nil, err
	}
	head := audit.Checkpoint{Origin: audit.Origin, Size: v.Size(), Root: root}
	signed, err := s.witnessedAt(ctx, head)
	if err == nil && signed == nil {
		signed, err = head.Sign(s.cfg.Audit.Signer)
	}
	return head, signed, err
}

// checkpoint signs the tree head of size treeSize (0: now).
func (s *Server) checkpoint(ctx context.Context, treeSize int64, field string) (checkpointView, error) {
	var cp checkpointView
	err := s.cfg.Audit.Log.Snapshot(ctx, treeSize, func(v audit.View) error {
		head, signed, err := s.signedHead(ctx, v)
		root := head.Root
		cp = checkpointView{Origin: head.Origin, TreeSize: head.Size, RootHash: root.String(), Checkpoint: string(signed),
			VerifierKey: s.cfg.Audit.VerifierKey}
		return err
	})
	return cp, auditError(err, field)
}

// witnessedAt is the witnessed checkpoint, with its cosignatures, when it is of the tree head: nil otherwise.
func (s *Server) witnessedAt(ctx context.Context, head audit.Checkpoint) ([]byte, error) {
	if s.cfg.Audit.Witnessed == nil {
		return nil, nil
	}
	signed, err := s.cfg.Audit.Witnessed(ctx)
	if err != nil || signed == nil {
		return nil, err
	}
	w, err := audit.OpenCheckpoint(signed, s.cfg.Audit.VerifierKey)
	if err != nil {
		return nil, fmt.Errorf("the witnessed checkpoint: %w", err)
	}
	if w.Size != head.Size || w.Root != head.Root {
		return nil, nil
	}
	return signed, nil
}

func (s *Server) auditCheckpoint(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c, "treeSize"); err != nil {
		return err
	}
	treeSize, err := treeSizeParam(c, "treeSize")
	if err != nil {
		return err
	}
	cp, err := s.checkpoint(c.UserContext(), treeSize, "treeSize")
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"data": cp})
}

func hashStrings(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.String()
	}
	return out
}

// auditProof proves that entry seq is in the tree of treeSize entries (default: now), with that tree's signed
// checkpoint: as JSON, or with format=tlog-proof as a C2SP tlog-proof to keep and check offline.
func (s *Server) auditProof(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c, "treeSize", "format"); err != nil {
		return err
	}
	format := c.Query("format", "json")
	if format != "json" && format != "tlog-proof" {
		return apikit.Invalid("format", "must be json or tlog-proof")
	}
	seq, err := strconv.ParseInt(c.Params("seq"), 10, 64)
	if err != nil || seq < 0 {
		return apikit.Invalid("seq", "must be a whole number from 0")
	}
	treeSize, err := treeSizeParam(c, "treeSize")
	if err != nil {
		return err
	}
	cp, err := s.checkpoint(c.UserContext(), treeSize, "treeSize")
	if err != nil {
		return err
	}
	if seq >= cp.TreeSize {
		return apikit.Invalid("seq", fmt.Sprintf("the tree has %d entries", cp.TreeSize))
	}
	proof, err := s.cfg.Audit.Log.InclusionProof(c.UserContext(), seq, cp.TreeSize)
	if err != nil {
		return auditError(err, "seq")
	}
	if format == "tlog-proof" {
		c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="audit-%d.tlog-proof"`, seq))
		return c.Send(audit.TLogProof(seq, proof, []byte(cp.Checkpoint)))
	}
	return c.JSON(fiber.Map{"data": fiber.Map{"seq": seq, "treeSize": cp.TreeSize, "proof": hashStrings(proof), "checkpoint": cp}})
}

// auditConsistency proves that the tree of `from` entries is a prefix of the tree of `to` entries (default: now).
func (s *Server) auditConsistency(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c, "from", "to"); err != nil {
		return err
	}
	if c.Query("from") == "" {
		return apikit.Invalid("from", "required: the older tree size")
	}
	from, err := treeSizeParam(c, "from")
	if err != nil {
		return err
	}
	to, err := treeSizeParam(c, "to")
	if err != nil {
		return err
	}
	newer, err := s.checkpoint(c.UserContext(), to, "to")
	if err != nil {
		return err
	}
	older, err := s.checkpoint(c.UserContext(), from, "from")
	if err != nil {
		return err
	}
	if from > newer.TreeSize {
		return apikit.Invalid("from", "must not be larger than to")
	}
	proof, err := s.cfg.Audit.Log.ConsistencyProof(c.UserContext(), from, newer.TreeSize)
	if err != nil {
		return auditError(err, "from")
	}
	return c.JSON(fiber.Map{"data": fiber.Map{"from": older, "to": newer, "proof": hashStrings(proof)}})
}
