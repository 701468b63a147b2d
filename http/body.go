package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/http/apikit"
)

// requestBody is the request's body as a reader: the stream fasthttp hands over (StreamRequestBody), or the bytes
// it read.
func requestBody(c *fiber.Ctx) io.Reader {
	if c.Request().IsBodyStream() {
		return c.Context().RequestBodyStream()
	}
	return bytes.NewReader(c.Body())
}

// limitBodies holds every route but the push to MaxBodySize. A body that declares more is refused before it is
// read; a chunked one is read up to the limit and refused past it (the connection is then closed: the rest of the
// body is never read).
func limitBodies(c *fiber.Ctx) error {
	if c.Path() == pushPath {
		return c.Next()
	}
	if c.Request().Header.ContentLength() > MaxBodySize {
		c.Set(fiber.HeaderConnection, "close")
		return apikit.New(fiber.StatusRequestEntityTooLarge, apikit.CodeTooLarge, "request body too large")
	}
	if c.Request().IsBodyStream() {
		body, err := io.ReadAll(io.LimitReader(c.Context().RequestBodyStream(), MaxBodySize+1))
		if err != nil {
			return apikit.Invalid("body", "unreadable body: "+err.Error())
		}
		if len(body) > MaxBodySize {
			c.Set(fiber.HeaderConnection, "close")
			return apikit.New(fiber.StatusRequestEntityTooLarge, apikit.CodeTooLarge, "request body too large")
		}
		c.Request().SetBody(body)
	}
	return c.Next()
}

// pushBody is a parsed push: ledgers as JSON, or a raw LedgerCloseMetaBatch.
type pushBody struct {
	ledgers []chain.PushedLedger
	raw     []byte
}

type pushRequest struct {
	Ledgers []chain.PushedLedger `json:"ledgers"`
}

// readPush reads a push body of at most limit bytes from r, by its content type.
func readPush(contentType string, r io.Reader, limit int64) (pushBody, error) {
	lr := &io.LimitedReader{R: r, N: limit + 1}
	tooLarge := func() error {
		return apikit.New(fiber.StatusRequestEntityTooLarge, apikit.CodeTooLarge, "a push is at most 16 MiB")
	}
	mediaType, _, _ := strings.Cut(contentType, ";")
	switch strings.TrimSpace(strings.ToLower(mediaType)) {
	case fiber.MIMEApplicationJSON:
		dec := json.NewDecoder(lr)
		dec.DisallowUnknownFields()
		var req pushRequest
		err := dec.Decode(&req)
		if lr.N <= 0 {
			return pushBody{}, tooLarge()
		}
		if err != nil {
			return pushBody{}, apikit.Invalid("body", "malformed JSON: "+err.Error())
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			if lr.N <= 0 {
				return pushBody{}, tooLarge()
			}
			return pushBody{}, apikit.Invalid("body", "one JSON object expected")
		}
		return pushBody{ledgers: req.Ledgers}, nil
	case fiber.MIMEOctetStream:
		raw, err := io.ReadAll(lr)
		if lr.N <= 0 {
			return pushBody{}, tooLarge()
		}
		if err != nil {
			return pushBody{}, apikit.Invalid("body", "unreadable body: "+err.Error())
		}
		if len(raw) == 0 {
			return pushBody{}, apikit.Invalid("body", "a LedgerCloseMetaBatch is required")
		}
		return pushBody{raw: raw}, nil
	}
	return pushBody{}, apikit.New(fiber.StatusUnsupportedMediaType, apikit.CodeUnsupported,
		"send application/json ({\"ledgers\": [...]}) or application/octet-stream (a LedgerCloseMetaBatch, zstd or not)")
}
