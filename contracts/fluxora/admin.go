package fluxora

import (
	"fmt"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/scval"
)

// Names of the factory and governance modules in CONTRACTS: the Fluxora family's other two contracts, whose topics
// overlap the stream contract's (`AdminUpd`, `cancelled`) with other meanings, so a contract is bound to the one
// that reads it.
const (
	FactoryName    = "fluxora-factory"
	GovernanceName = "fluxora-governance"
)

// contractTopics decode the events of a contract whose events are all about the contract itself: each reads the
// whole topic list. They are filed in the contract's store stream.
type contractTopics map[string]func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error)

// decode types one event: an unknown topic is observed, a known one that does not decode is observed with its
// error (and decodeErr), as the stream contract's module does.
func (t contractTopics) decode(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, string, error) {
	observed := scval.Observed(m, topics)
	decode, known := t[observed.Topic]
	if !known {
		return observed, observed.Topic, nil
	}
	e, err := decode(m, topics, data)
	if err != nil {
		observed.DecodeError = err.Error()
		return observed, observed.Topic, err
	}
	return e, observed.Topic, nil
}

func (t contractTopics) knows(topic string) bool {
	_, ok := t[topic]
	return ok
}

// Factory is the module of the Fluxora factory contract (contracts/factory at 75b15ca).
type Factory struct{}

// Name is the module's name in CONTRACTS.
func (Factory) Name() string { return FactoryName }

// Decode types one event of a factory contract.
func (Factory) Decode(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, string, error) {
	return factoryTopics.decode(m, topics, data)
}

// StoreStream files every factory event in the factory's store stream.
func (Factory) StoreStream(e domain.Event) string { return contractStream(e) }

// contractStream is the store stream of the contract that emitted e.
func contractStream(e domain.Event) string {
	if ce, ok := e.(domain.ChainEvent); ok {
		return domain.ContractStoreStream(ce.ChainMetadata().ContractID)
	}
	return ""
}

// Implied: the factory's events imply none.
func (Factory) Implied(string, domain.Event) []domain.Implied { return nil }

// Interpret reads a stored event with today's factory decoder (see Module.Interpret).
func (f Factory) Interpret(e domain.Event) domain.Event {
	return scval.Reinterpret(e, factoryTopics.knows, f.Decode)
}

// Governance is the module of the Fluxora governance contract (contracts/governance at 75b15ca).
type Governance struct{}

// Name is the module's name in CONTRACTS.
func (Governance) Name() string { return GovernanceName }

// Decode types one event of a governance contract.
func (Governance) Decode(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, string, error) {
	return governanceTopics.decode(m, topics, data)
}

// StoreStream files every governance event in the governance contract's store stream.
func (Governance) StoreStream(e domain.Event) string { return contractStream(e) }

// Implied: governance events imply none.
func (Governance) Implied(string, domain.Event) []domain.Implied { return nil }

// Interpret reads a stored event with today's governance decoder (see Module.Interpret).
func (g Governance) Interpret(e domain.Event) domain.Event {
	return scval.Reinterpret(e, governanceTopics.knows, g.Decode)
}

// factoryTopics are the factory contract's topics. Its structs are #[contracttype] maps, like the stream's.
var factoryTopics = contractTopics{
	"fct_init": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &FactoryInitialized{ChainMeta: m, Admin: f.Address("admin"), StreamContract: f.Address("stream_contract"),
			MaxDeposit: f.Amount("max_deposit"), MinDuration: f.U64("min_duration")}
		return e, onlyTopic(f.Err(), topics)
	},
	"AdminUpd": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &FactoryAdminUpdated{ChainMeta: m, OldAdmin: f.Address("old_admin"), NewAdmin: f.Address("new_admin")}
		return e, onlyTopic(f.Err(), topics)
	},
	"stm_upd": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &FactoryStreamContractSet{ChainMeta: m, OldContract: f.Address("old_contract"), NewContract: f.Address("new_contract")}
		return e, onlyTopic(f.Err(), topics)
	},
	"allow_upd": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &FactoryAllowlistUpdated{ChainMeta: m, Recipient: f.Address("recipient"), Allowed: f.Bool("allowed")}
		return e, onlyTopic(f.Err(), topics)
	},
	"cap_upd": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &FactoryCapUpdated{ChainMeta: m, OldCap: f.Amount("old_cap"), NewCap: f.Amount("new_cap")}
		return e, onlyTopic(f.Err(), topics)
	},
	"dur_upd": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &FactoryMinDurationUpdated{ChainMeta: m, OldMinDuration: f.U64("old_min_duration"),
			NewMinDuration: f.U64("new_min_duration")}
		return e, onlyTopic(f.Err(), topics)
	},
	"batch_cap": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		return &FactoryBatchCapUpdated{ChainMeta: m, Enabled: f.Bool("enabled")}, onlyTopic(f.Err(), topics)
	},
	"rate_bnd": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &FactoryRateBoundsUpdated{ChainMeta: m, MinRate: f.OptAmount("min_rate"), MaxRate: f.OptAmount("max_rate")}
		return e, onlyTopic(f.Err(), topics)
	},
	// (factory, paused | resumed) with the new flag, a bare bool, as the payload.
	"factory": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		if len(topics) != 2 {
			return nil, fmt.Errorf("%w: %d topics, want factory and paused or resumed", scval.ErrShape, len(topics))
		}
		which, ok := topics[1].GetSym()
		if !ok || (which != "paused" && which != "resumed") {
			return nil, fmt.Errorf("%w: second topic is %s, want the symbol paused or resumed", scval.ErrShape, topics[1].Type)
		}
		paused, ok := data.GetB()
		if !ok {
			return nil, fmt.Errorf("%w: payload is %s, want a bool", scval.ErrShape, data.Type)
		}
		if paused != (which == "paused") {
			return nil, fmt.Errorf("%w: topic %s with the flag %t", scval.ErrShape, which, paused)
		}
		return &FactoryPauseChanged{ChainMeta: m, Paused: paused}, nil
	},
	"fct_strm": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &FactoryStreamCreated{ChainMeta: m, StreamID: f.U64("stream_id"), Sender: f.Address("sender"),
			Recipient: f.Address("recipient"), DepositAmount: f.Amount("deposit_amount"), RatePerSecond: f.Amount("rate_per_second")}
		return e, onlyTopic(f.Err(), topics)
	},
}

// governanceTopics are the governance contract's topics; a proposal's topics carry its u32 id.
var governanceTopics = contractTopics{
	"thr_upd": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &GovernanceThresholdUpdated{ChainMeta: m, OldThreshold: f.U32("old_threshold"), NewThreshold: f.U32("new_threshold")}
		return e, onlyTopic(f.Err(), topics)
	},
	"quor_cfg": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &GovernanceQuorumConfigured{ChainMeta: m, Threshold: f.U32("threshold"), SignerCount: f.U32("signer_count")}
		return e, onlyTopic(f.Err(), topics)
	},
	"sgnr_add": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		return &GovernanceSignerAdded{ChainMeta: m, Signer: f.Address("signer")}, onlyTopic(f.Err(), topics)
	},
	"sgnr_rm": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		return &GovernanceSignerRemoved{ChainMeta: m, Signer: f.Address("signer")}, onlyTopic(f.Err(), topics)
	},
	"adm_chg": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &GovernanceAdminChanged{ChainMeta: m, OldAdmin: f.Address("old"), NewAdmin: f.Address("new")}
		return e, onlyTopic(f.Err(), topics)
	},
	"proposed": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &ProposalCreated{ChainMeta: m, ProposalID: f.U32("proposal_id"), Proposer: f.Address("proposer"),
			Target: f.Address("target")}
		return e, proposalTopic(f.Err(), topics, e.ProposalID)
	},
	"approved": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &ProposalApproved{ChainMeta: m, ProposalID: f.U32("proposal_id"), Approver: f.Address("approver"),
			ApprovalCount: f.U32("approval_count")}
		return e, proposalTopic(f.Err(), topics, e.ProposalID)
	},
	"quorum": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &ProposalQuorumReached{ChainMeta: m, ProposalID: f.U32("proposal_id"), QuorumReachedAt: f.U64("quorum_reached_at"),
			ExecutableAfter: f.U64("executable_after")}
		return e, proposalTopic(f.Err(), topics, e.ProposalID)
	},
	"executed": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &ProposalExecuted{ChainMeta: m, ProposalID: f.U32("proposal_id"), Executor: f.Address("executor"),
			Target: f.Address("target"), Calldata: f.Bytes("calldata")}
		return e, proposalTopic(f.Err(), topics, e.ProposalID)
	},
	"cancelled": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &ProposalCancelled{ChainMeta: m, ProposalID: f.U32("proposal_id"), Canceller: f.Address("canceller")}
		return e, proposalTopic(f.Err(), topics, e.ProposalID)
	},
}

// proposalTopic checks that the second and last topic is the u32 proposal id the payload carries.
func proposalTopic(err error, topics []xdr.ScVal, payloadID uint32) error {
	if err != nil {
		return err
	}
	if len(topics) != 2 {
		return fmt.Errorf("%w: %d topics, want the name and the proposal id", scval.ErrShape, len(topics))
	}
	id, ok := topics[1].GetU32()
	if !ok {
		return fmt.Errorf("%w: second topic is %s, want the u32 proposal id", scval.ErrShape, topics[1].Type)
	}
	if uint32(id) != payloadID {
		return fmt.Errorf("%w: payload is about proposal %d, the topic about proposal %d", scval.ErrShape, payloadID, id)
	}
	return nil
}

// Events are the factory's event types.
func (Factory) Events() []domain.Event { return AdminEvents() }

// Events are the governance contract's event types.
func (Governance) Events() []domain.Event { return AdminEvents() }
