// Package webhooks signs, delivers and verifies webhook messages (DESIGN §8); Verify is also for consumers.
package webhooks
