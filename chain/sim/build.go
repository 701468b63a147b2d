package sim

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"sort"

	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/xdr"
)

// Tx is one simulated Soroban transaction: a contract invocation by Source, with the contract events it
// emitted (none when it failed).
type Tx struct {
	Source   xdr.Uint256
	SeqNum   int64
	Contract xdr.ContractId
	Function string
	Events   []xdr.ContractEvent
	// Changes are the ledger entries the call changed (a contract instance it created, for discovery).
	Changes []xdr.LedgerEntryChange
	Failed  bool
}

// ledgerSpec is what a ledger holds before it is assembled.
type ledgerSpec struct {
	seq       uint32
	prevHash  xdr.Hash
	closeTime uint64
	txs       []Tx // in apply order
	// salt makes the ledgers of two branches differ even when their transactions do not (it stands in for the
	// bucket list, which differs between branches in reality).
	salt string
}

// assembler builds LedgerCloseMeta the way stellar-core lays it out, so that the SDK's readers accept it: the
// transaction set in the header's commitment (hash order, its own phase for Soroban), results paired with
// envelopes by the envelope hash under the network passphrase, Soroban meta v3 (protocol 22) or v4 (protocol
// 23+) carrying the contract events, and a header whose hash is the ledger hash.
type assembler struct {
	passphrase  string
	metaVersion int32
}

type builtTx struct {
	env  xdr.TransactionEnvelope
	hash xdr.Hash
	tx   *Tx
}

func (a assembler) build(spec ledgerSpec) (xdr.LedgerCloseMeta, error) {
	built := make([]builtTx, len(spec.txs))
	for i := range spec.txs {
		env := envelope(&spec.txs[i])
		h, err := network.HashTransactionInEnvelope(env, a.passphrase)
		if err != nil {
			return xdr.LedgerCloseMeta{}, fmt.Errorf("hash tx: %w", err)
		}
		built[i] = builtTx{env: env, hash: h, tx: &spec.txs[i]}
	}

	// The agreed set lists envelopes in hash order; apply order is the order of TxProcessing.
	bySetOrder := append([]builtTx(nil), built...)
	sort.Slice(bySetOrder, func(i, j int) bool { return bytes.Compare(bySetOrder[i].hash[:], bySetOrder[j].hash[:]) < 0 })
	envs := make([]xdr.TransactionEnvelope, len(bySetOrder))
	for i, b := range bySetOrder {
		envs[i] = b.env
	}
	baseFee := xdr.Int64(100)
	classic := []xdr.TxSetComponent{}
	var sorobanPhase xdr.TransactionPhase
	if a.metaVersion >= 4 {
		stage := xdr.ParallelTxExecutionStage{xdr.DependentTxCluster(envs)}
		sorobanPhase = xdr.TransactionPhase{V: 1, ParallelTxsComponent: &xdr.ParallelTxsComponent{
			BaseFee: &baseFee, ExecutionStages: []xdr.ParallelTxExecutionStage{stage}}}
	} else {
		comps := []xdr.TxSetComponent{{Type: xdr.TxSetComponentTypeTxsetCompTxsMaybeDiscountedFee,
			TxsMaybeDiscountedFee: &xdr.TxSetComponentTxsMaybeDiscountedFee{BaseFee: &baseFee, Txs: envs}}}
		sorobanPhase = xdr.TransactionPhase{V: 0, V0Components: &comps}
	}
	txSet := xdr.GeneralizedTransactionSet{V: 1, V1TxSet: &xdr.TransactionSetV1{
		PreviousLedgerHash: spec.prevHash,
		Phases:             []xdr.TransactionPhase{{V: 0, V0Components: &classic}, sorobanPhase},
	}}
	setBytes, err := txSet.MarshalBinary()
	if err != nil {
		return xdr.LedgerCloseMeta{}, fmt.Errorf("encode tx set: %w", err)
	}

	results := make([]xdr.TransactionResultPair, len(built))
	for i, b := range built {
		results[i] = xdr.TransactionResultPair{TransactionHash: b.hash, Result: result(b.tx.Failed)}
	}
	resultBytes, err := xdr.TransactionResultSet{Results: results}.MarshalBinary()
	if err != nil {
		return xdr.LedgerCloseMeta{}, fmt.Errorf("encode results: %w", err)
	}
	header := xdr.LedgerHeader{
		LedgerVersion:      22,
		PreviousLedgerHash: spec.prevHash,
		ScpValue: xdr.StellarValue{
			TxSetHash: sha256.Sum256(setBytes),
			CloseTime: xdr.TimePoint(spec.closeTime),
			Ext:       xdr.StellarValueExt{V: xdr.StellarValueTypeStellarValueBasic},
		},
		TxSetResultHash: sha256.Sum256(resultBytes),
		BucketListHash:  sha256.Sum256(fmt.Appendf(nil, "%s|%d", spec.salt, spec.seq)),
		LedgerSeq:       xdr.Uint32(spec.seq),
		TotalCoins:      1_000_000_000_000_000_000,
		BaseFee:         100,
		BaseReserve:     5_000_000,
		MaxTxSetSize:    1000,
	}
	if a.metaVersion >= 4 {
		header.LedgerVersion = 23
	}
	headerBytes, err := header.MarshalBinary()
	if err != nil {
		return xdr.LedgerCloseMeta{}, fmt.Errorf("encode header: %w", err)
	}
	entry := xdr.LedgerHeaderHistoryEntry{Hash: sha256.Sum256(headerBytes), Header: header}

	if a.metaVersion >= 4 {
		processing := make([]xdr.TransactionResultMetaV1, len(built))
		for i, b := range built {
			processing[i] = xdr.TransactionResultMetaV1{Result: results[i], TxApplyProcessing: metaV4(b.tx)}
		}
		return xdr.LedgerCloseMeta{V: 2, V2: &xdr.LedgerCloseMetaV2{
			LedgerHeader: entry, TxSet: txSet, TxProcessing: processing}}, nil
	}
	processing := make([]xdr.TransactionResultMeta, len(built))
	for i, b := range built {
		processing[i] = xdr.TransactionResultMeta{Result: results[i], TxApplyProcessing: metaV3(b.tx)}
	}
	return xdr.LedgerCloseMeta{V: 1, V1: &xdr.LedgerCloseMetaV1{
		LedgerHeader: entry, TxSet: txSet, TxProcessing: processing}}, nil
}

func envelope(tx *Tx) xdr.TransactionEnvelope {
	source := tx.Source
	contract := tx.Contract
	op := xdr.Operation{Body: xdr.OperationBody{
		Type: xdr.OperationTypeInvokeHostFunction,
		InvokeHostFunctionOp: &xdr.InvokeHostFunctionOp{HostFunction: xdr.HostFunction{
			Type: xdr.HostFunctionTypeHostFunctionTypeInvokeContract,
			InvokeContract: &xdr.InvokeContractArgs{
				ContractAddress: xdr.ScAddress{Type: xdr.ScAddressTypeScAddressTypeContract, ContractId: &contract},
				FunctionName:    xdr.ScSymbol(tx.Function),
			},
		}},
	}}
	return xdr.TransactionEnvelope{Type: xdr.EnvelopeTypeEnvelopeTypeTx, V1: &xdr.TransactionV1Envelope{
		Tx: xdr.Transaction{
			SourceAccount: xdr.MuxedAccount{Type: xdr.CryptoKeyTypeKeyTypeEd25519, Ed25519: &source},
			Fee:           100_000,
			SeqNum:        xdr.SequenceNumber(tx.SeqNum),
			Cond:          xdr.Preconditions{Type: xdr.PreconditionTypePrecondNone},
			Memo:          xdr.Memo{Type: xdr.MemoTypeMemoNone},
			Operations:    []xdr.Operation{op},
			Ext: xdr.TransactionExt{V: 1, SorobanData: &xdr.SorobanTransactionData{
				Resources:   xdr.SorobanResources{Instructions: 2_000_000, DiskReadBytes: 4096, WriteBytes: 1024},
				ResourceFee: 50_000,
			}},
		},
	}}
}

func result(failed bool) xdr.TransactionResult {
	code := xdr.TransactionResultCodeTxSuccess
	inner := xdr.InvokeHostFunctionResult{Code: xdr.InvokeHostFunctionResultCodeInvokeHostFunctionSuccess, Success: &xdr.Hash{}}
	if failed {
		code = xdr.TransactionResultCodeTxFailed
		inner = xdr.InvokeHostFunctionResult{Code: xdr.InvokeHostFunctionResultCodeInvokeHostFunctionTrapped}
	}
	ops := []xdr.OperationResult{{Code: xdr.OperationResultCodeOpInner, Tr: &xdr.OperationResultTr{
		Type: xdr.OperationTypeInvokeHostFunction, InvokeHostFunctionResult: &inner}}}
	return xdr.TransactionResult{FeeCharged: 60_000, Result: xdr.TransactionResultResult{Code: code, Results: &ops}}
}

func metaV4(tx *Tx) xdr.TransactionMeta {
	ret := Void()
	return xdr.TransactionMeta{V: 4, V4: &xdr.TransactionMetaV4{
		Operations:  []xdr.OperationMetaV2{{Events: tx.Events, Changes: tx.Changes}},
		SorobanMeta: &xdr.SorobanTransactionMetaV2{ReturnValue: &ret},
	}}
}

func metaV3(tx *Tx) xdr.TransactionMeta {
	return xdr.TransactionMeta{V: 3, V3: &xdr.TransactionMetaV3{
		Operations:  []xdr.OperationMeta{{Changes: tx.Changes}},
		SorobanMeta: &xdr.SorobanTransactionMeta{Events: tx.Events, ReturnValue: Void()},
	}}
}
