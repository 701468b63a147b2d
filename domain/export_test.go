package domain

// The layout decoder's parts, for the external tests that compare it with encoding/json over a module's events.
var (
	DecodeLayout  = decodeLayout
	SplitEnvelope = splitEnvelope
	PlainLen      = plainLen
)
