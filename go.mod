module github.com/streamledger/streamledger

go 1.26.0

require (
	github.com/google/uuid v1.6.0
	github.com/stellar/go-stellar-sdk v0.7.3
	go.etcd.io/bbolt v1.5.0
)

require (
	github.com/pkg/errors v0.9.1 // indirect
	github.com/stellar/go-xdr v0.0.0-20260806060815-dc590f17552a // indirect
	golang.org/x/sync v0.23.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)
