package audit

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/streamledger/streamledger/domain"
)

// QueryParams are an export query as a person writes it (HTTP query parameters, CLI flags).
type QueryParams struct {
	Format, From, To, ContractID, StreamID, Action string
	// Proofs is "true" for a tlog-proof with every row (JSON Lines only).
	Proofs string
}

// QueryError names the parameter a query is refused for.
type QueryError struct {
	Field  string
	Reason string
}

func (e *QueryError) Error() string { return e.Field + ": " + e.Reason }

func refuse(field, format string, args ...any) error {
	return &QueryError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ParseQuery reads an export query: format csv (default) or jsonl; from and to, each a ledger sequence or an RFC 3339
// time; a contract; a stream as {contractId}:{streamId}, or its bare number when the contract is given or is the
// only one of contracts; an action.
func ParseQuery(p QueryParams, contracts []domain.Address) (Query, error) {
	q := Query{Format: p.Format}
	if q.Format == "" {
		q.Format = FormatCSV
	}
	if q.Format != FormatCSV && q.Format != FormatJSONL {
		return q, refuse("format", "must be csv or jsonl")
	}
	var err error
	if q.FromLedger, q.From, err = parseBound("from", p.From); err != nil {
		return q, err
	}
	if q.ToLedger, q.To, err = parseBound("to", p.To); err != nil {
		return q, err
	}
	if (q.ToLedger != 0 && q.ToLedger < q.FromLedger) || (!q.To.IsZero() && q.To.Before(q.From)) {
		return q, refuse("to", "must not be before from")
	}
	if p.ContractID != "" {
		if q.ContractID, err = domain.ParseAddressOf(p.ContractID, domain.ContractAddress); err != nil {
			return q, refuse("contractId", "%v", err)
		}
	}
	if p.StreamID != "" {
		contract, id, found := strings.Cut(p.StreamID, ":")
		if !found {
			contract, id = string(q.ContractID), p.StreamID
			if contract == "" && len(contracts) == 1 {
				contract = string(contracts[0])
			}
			if contract == "" {
				return q, refuse("streamId", "use {contractId}:{streamId}, or give contractId")
			}
		}
		addr, err := domain.ParseAddressOf(contract, domain.ContractAddress)
		if err != nil {
			return q, refuse("streamId", "contract id: %v", err)
		}
		if q.ContractID != "" && q.ContractID != addr {
			return q, refuse("streamId", "names another contract than contractId")
		}
		n, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			return q, refuse("streamId", "the stream id must be an unsigned integer")
		}
		q.ContractID, q.StreamID = addr, &n
	}
	if p.Action != "" {
		if !slices.Contains(Actions(), p.Action) {
			return q, refuse("action", "must be one of %v", Actions())
		}
		q.Action = p.Action
	}
	switch p.Proofs {
	case "", "false":
	case "true":
		if q.Format != FormatJSONL {
			return q, refuse("proofs", "rows carry their tlog-proofs in JSON Lines exports: add format=jsonl")
		}
		q.Proofs = true
	default:
		return q, refuse("proofs", "must be true or false")
	}
	return q, nil
}

func parseBound(field, raw string) (uint32, time.Time, error) {
	if raw == "" {
		return 0, time.Time{}, nil
	}
	if n, err := strconv.ParseUint(raw, 10, 32); err == nil && n > 0 {
		return uint32(n), time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return 0, time.Time{}, refuse(field, "must be a ledger sequence (from 1) or an RFC 3339 time")
	}
	return 0, t, nil
}
