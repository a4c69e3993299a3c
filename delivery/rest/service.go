// Package rest is papercast's REST v1 delivery on echo v4: paper create,
// fetch, finalize, delete, edit policy and bans, health and readiness, the OpenAPI document,
// and the echo instance every HTTP route (the WebSocket one included) shares:
// its middleware, its CORS rule and its single JSON error mapping.
package rest

import (
	"context"

	"github.com/papercast/papercast/domain"
)

// Service is what the REST delivery needs from the application; it is
// declared here, where it is consumed, and *usecase.Papers satisfies it.
// Errors wrap domain errors, which writeError maps to HTTP statuses.
type Service interface {
	// Create makes an open paper with edit policy edit ("" for the
	// default) and returns it with its owner key (shown once).
	Create(ctx context.Context, title, to, edit string) (domain.Paper, string, error)
	// Document returns a paper and its elements in creation order.
	Document(ctx context.Context, id string) (domain.Document, error)
	// Finalize makes a paper final (owner only) and returns the final document.
	Finalize(ctx context.Context, id, ownerKey string) (domain.Document, error)
	// Delete removes a paper (owner only).
	Delete(ctx context.Context, id, ownerKey string) error
	// SetEdit changes a paper's edit policy (owner only) and returns it.
	SetEdit(ctx context.Context, id, ownerKey, edit string) (domain.Paper, error)
	// Ban removes a user from a paper (owner only); Unban lifts it.
	Ban(ctx context.Context, id, ownerKey, user string) error
	Unban(ctx context.Context, id, ownerKey, user string) error
	// Ready reports whether the store and the bus both work.
	Ready(ctx context.Context) error
}
