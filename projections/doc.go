// Package projections rebuilds read models from the event store (DESIGN §5): a checkpointed runner and the
// streams, audit-log and webhook-outbox projections, each with a PostgreSQL and an in-memory store.
package projections
