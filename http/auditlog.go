package http

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/http/apikit"
	"github.com/streamledger/streamledger/projections/audit"
)

// The audit log as a C2SP tlog-tiles log (DESIGN §15, c2sp.org/tlog-tiles), under auditLogPrefix: the signed
// checkpoint, the Merkle tree as tiles of height 8 and the entries as bundles, so that anyone can check it with a
// client we did not write (Tessera's fsck, for one). x/mod's tlog computes the tiles; its Tile.Path is the sumdb
// layout (with the height in the path), so the C2SP paths are parsed here.
const auditLogPrefix = "/api/audit/log/"

// tileHeight is C2SP's: a full tile holds 256 hashes, an entry bundle 256 entries.
const tileHeight = 8

const tileWidth = 1 << tileHeight

// Caching (C2SP tlog-tiles): the checkpoint changes, so it is cached for a moment at most; a tile or bundle path
// names its content for good (a partial one by its width), so it is cached for long.
const (
	cacheCheckpoint = "no-cache"
	cacheImmutable  = "public, max-age=31536000, immutable"
)

// tileRequest is a parsed tile or entry-bundle path.
type tileRequest struct {
	entries bool
	level   int
	index   int64
	width   int // tileWidth for a full tile
}

var errTilePath = errors.New("not a tile path")

// parseTilePath reads `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`, where N is written in zero-padded
// 3-digit elements, all but the last prefixed with x (1234067 is x001/x234/067), and W is 1…255.
func parseTilePath(path string) (tileRequest, error) {
	rest, ok := strings.CutPrefix(path, "tile/")
	if !ok {
		return tileRequest{}, errTilePath
	}
	parts := strings.Split(rest, "/")
	var t tileRequest
	switch {
	case len(parts) < 2:
		return tileRequest{}, errTilePath
	case parts[0] == "entries":
		t.entries = true
	default:
		l, err := strconv.Atoi(parts[0])
		if err != nil || l < 0 || l > 63 || strconv.Itoa(l) != parts[0] {
			return tileRequest{}, fmt.Errorf("%w: level %q", errTilePath, parts[0])
		}
		t.level = l
	}
	elems := parts[1:]
	t.width = tileWidth
	if n := len(elems); n >= 2 && strings.HasSuffix(elems[n-2], ".p") {
		w, err := strconv.Atoi(elems[n-1])
		if err != nil || w < 1 || w >= tileWidth || strconv.Itoa(w) != elems[n-1] {
			return tileRequest{}, fmt.Errorf("%w: width %q", errTilePath, elems[n-1])
		}
		t.width = w
		elems = append(elems[:n-2:n-2], strings.TrimSuffix(elems[n-2], ".p"))
	}
	if len(elems) == 0 || len(elems) > 6 { // 10^18 tiles: beyond any log, and within int64
		return tileRequest{}, fmt.Errorf("%w: index", errTilePath)
	}
	for i, e := range elems {
		if i < len(elems)-1 {
			var found bool
			if e, found = strings.CutPrefix(e, "x"); !found {
				return tileRequest{}, fmt.Errorf("%w: index element %q", errTilePath, e)
			}
		}
		if len(e) != 3 || strings.Trim(e, "0123456789") != "" {
			return tileRequest{}, fmt.Errorf("%w: index element %q", errTilePath, e)
		}
		d, _ := strconv.Atoi(e)
		t.index = t.index*1000 + int64(d)
	}
	return t, nil
}

// auditLogCheckpoint serves the log's checkpoint as C2SP tlog-tiles wants it, the note itself: with witnesses, the
// latest one they cosigned, with their cosignatures (the log publishes what they witnessed); without, the current
// tree's.
func (s *Server) auditLogCheckpoint(c *fiber.Ctx) error {
	var signed []byte
	var err error
	if s.cfg.Audit.Witnessed != nil {
		if signed, err = s.cfg.Audit.Witnessed(c.UserContext()); err != nil {
			return err
		}
	}
	if signed == nil {
		cp, err := s.checkpoint(c.UserContext(), 0, "treeSize")
		if err != nil {
			return err
		}
		signed = []byte(cp.Checkpoint)
	}
	c.Set(fiber.HeaderCacheControl, cacheCheckpoint)
	c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
	return c.Send(signed)
}

// auditLogTile serves a tile or an entry bundle of the log as it is now. A tile exists once the tree has its
// hashes: a full one when the tree spans it, a partial one of width W when the tree spans at least W of its
// hashes (every size up to the current one has been published: a checkpoint is signed at the current size on
// request). Anything else is 404.
func (s *Server) auditLogTile(c *fiber.Ctx) error {
	t, err := parseTilePath(strings.TrimPrefix(c.Path(), auditLogPrefix))
	if err != nil {
		return apikit.New(fiber.StatusNotFound, apikit.CodeNotFound, "no such resource in the audit log: "+err.Error())
	}
	var body []byte
	err = s.cfg.Audit.Log.Snapshot(c.UserContext(), 0, func(v audit.View) error {
		// How many hashes the tree has at the tile's level beyond the tile's start.
		span := v.Size() >> (tileHeight * t.level)
		if t.entries {
			span = v.Size()
		}
		if t.index > span/tileWidth || span-t.index*tileWidth < int64(t.width) {
			return errNoTile
		}
		if !t.entries {
			body, err = tlog.ReadTileData(tlog.Tile{H: tileHeight, L: t.level, N: t.index, W: t.width}, v.Hashes())
			return err
		}
		leaves, err := v.Leaves(c.UserContext(), t.index*tileWidth, t.index*tileWidth+int64(t.width))
		if err != nil {
			return err
		}
		body, err = entryBundle(leaves)
		return err
	})
	if errors.Is(err, errNoTile) {
		return apikit.New(fiber.StatusNotFound, apikit.CodeNotFound, "the audit log has no such tile yet")
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, cacheImmutable)
	c.Set(fiber.HeaderContentType, fiber.MIMEOctetStream)
	return c.Send(body)
}

var errNoTile = errors.New("no such tile")

// entryBundle is C2SP's entry bundle: each entry prefixed with its length as a big-endian uint16.
func entryBundle(leaves [][]byte) ([]byte, error) {
	n := 0
	for _, l := range leaves {
		n += 2 + len(l)
	}
	out := make([]byte, 0, n)
	for i, l := range leaves {
		if len(l) > 0xffff {
			return nil, fmt.Errorf("audit entry %d of a bundle has %d bytes, more than an entry bundle holds", i, len(l))
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(l)))
		out = append(out, l...)
	}
	return out, nil
}
