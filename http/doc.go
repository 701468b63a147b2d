// Package http is the Fiber REST API, WebSocket feed, health and metrics endpoints (DESIGN §6, §7).
package http
