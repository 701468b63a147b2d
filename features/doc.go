// Package features holds the user journeys of finance reviewers, API consumers and auditors as Gherkin features,
// run by godog through `go test ./features/...`.
package features
