package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"unicode/utf8"

	"github.com/papercast/papercast/domain"
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
// object, keys matched case-sensitively (encoding/json would fold case on a
// struct), "title" a string, "to" a string or null. Unknown keys are ignored
// so clients may send more than we read. Every failure wraps
// domain.ErrInvalid; the title's own rules are the service's to check.
func decodeCreate(body []byte) (createRequest, error) {
	var req createRequest
	if !utf8.Valid(body) {
		return req, fmt.Errorf("%w: body is not valid UTF-8", domain.ErrInvalid)
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return req, fmt.Errorf("%w: body must be one JSON object", domain.ErrInvalid)
	}
	// Unmarshal (unlike a Decoder) rejects anything after the object.
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return req, fmt.Errorf("%w: malformed JSON: %v", domain.ErrInvalid, err)
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
