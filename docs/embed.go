// Package docs embeds the documents the server itself serves, so the binary
// and its published contract can never drift apart.
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml, the REST v1 contract, served at
// GET /v1/openapi.yaml. Treat it as read-only.
//
//go:embed openapi.yaml
var OpenAPI []byte
