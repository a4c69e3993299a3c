package rest

import (
	"encoding/json"
	"fmt"
	"mime"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
)

// createRequest is the body of POST /v1/papers.
type createRequest struct {
	Title string
	To    string
}

// checkJSONContentType requires application/json (parameters such as
// charset=utf-8 are fine): a body of any other type is never guessed at.
func checkJSONContentType(contentType string) error {
	if contentType == "" {
		return fmt.Errorf("%w: Content-Type must be application/json", domain.ErrUnsupported)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return fmt.Errorf("%w: Content-Type must be application/json", domain.ErrUnsupported)
	}
	return nil
}

// decodeCreate decodes a create body strictly: valid UTF-8, exactly one JSON
// object with keys matched case-sensitively (protocol.DecodeObject, the
// preamble client frames share), "title" a string, "to" a string or null.
// Unknown keys are ignored so clients may send more than we read. Every
// failure wraps domain.ErrInvalid; the title's own rules are the service's
// to check.
func decodeCreate(body []byte) (createRequest, error) {
	var req createRequest
	top, err := protocol.DecodeObject(body, "body")
	if err != nil {
		return req, err
	}
	raw, ok := top["title"]
	if !ok {
		return req, fmt.Errorf("%w: title is required", domain.ErrInvalid)
	}
	if len(raw) == 0 || raw[0] != '"' {
		return req, fmt.Errorf("%w: title must be a string", domain.ErrInvalid)
	}
	if err := json.Unmarshal(raw, &req.Title); err != nil {
		return createRequest{}, fmt.Errorf("%w: title must be a string", domain.ErrInvalid)
	}
	if raw, ok := top["to"]; ok && string(raw) != "null" {
		if len(raw) == 0 || raw[0] != '"' {
			return createRequest{}, fmt.Errorf("%w: to must be a string", domain.ErrInvalid)
		}
		if err := json.Unmarshal(raw, &req.To); err != nil {
			return createRequest{}, fmt.Errorf("%w: to must be a string", domain.ErrInvalid)
		}
	}
	return req, nil
}
