package domain

// Reconciliation's events (DESIGN §15): what a comparison of the projections with the contracts' storage found.
// They are the core's, filed in ReconciliationStream, and the audit log records them like an operator's action.

// ReconciliationStream is the store stream of reconciliation runs.
const ReconciliationStream = "reconciliation"

// Event types of reconciliation.
const (
	TypeReconciliationRan   EventType = "ReconciliationRan"
	TypeReconciliationDrift EventType = "ReconciliationDrift"
)

// ReconciliationRan is one run: the ledger the storage was read at, what was compared, how many fields differed.
type ReconciliationRan struct {
	RunID     string   `json:"runId"`
	Ledger    uint32   `json:"ledger"`
	StartedAt string   `json:"startedAt"` // RFC 3339
	Contracts int      `json:"contracts"`
	Drifts    int      `json:"drifts"`
	Errors    []string `json:"errors,omitempty"`
}

// ReconciliationDrift is one field on which a projection and the chain disagreed at a run's ledger.
type ReconciliationDrift struct {
	RunID     string  `json:"runId"`
	Ledger    uint32  `json:"ledger"`
	Contract  Address `json:"contract"`
	Module    string  `json:"module"`
	Subject   string  `json:"subject"`
	Field     string  `json:"field"`
	OnChain   string  `json:"onChain"`
	Projected string  `json:"projected"`
	Magnitude Amount  `json:"magnitude"`
}

func (*ReconciliationRan) Type() EventType   { return TypeReconciliationRan }
func (*ReconciliationDrift) Type() EventType { return TypeReconciliationDrift }

// TypeContractDiscovered names ContractDiscovered.
const TypeContractDiscovered EventType = "ContractDiscovered"

// DiscoveredStream is the store stream of discovered contracts.
const DiscoveredStream = "discovered-contracts"

// ContractDiscovered is an instance of a configured executable, found created in a ledger (DESIGN §12): from then
// on the contract's events are its module's. A replay, and a restart, bind the contracts these events name.
type ContractDiscovered struct {
	ChainMeta `json:"chain"`
	Module    string `json:"module"`
	WasmHash  string `json:"wasmHash"` // hex
}

func (*ContractDiscovered) Type() EventType { return TypeContractDiscovered }
