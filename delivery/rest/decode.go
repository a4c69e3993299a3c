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
	Edit  string // "" when not given
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
// preamble client frames share), "title" a string, "to" and "edit" a string
// or null. Unknown keys are ignored so clients may send more than we read.
// Every failure wraps domain.ErrInvalid; the title's and the policy's own
// rules are the service's to check.
func decodeCreate(body []byte) (createRequest, error) {
	var req createRequest
	top, err := protocol.DecodeObject(body, "body")
	if err != nil {
		return req, err
	}
	if _, ok := top["title"]; !ok {
		return req, fmt.Errorf("%w: title is required", domain.ErrInvalid)
	}
	if err := stringMember(top, "title", false, &req.Title); err != nil {
		return createRequest{}, err
	}
	if err := stringMember(top, "to", true, &req.To); err != nil {
		return createRequest{}, err
	}
	if err := stringMember(top, "edit", true, &req.Edit); err != nil {
		return createRequest{}, err
	}
	return req, nil
}

// decodeRequired decodes a body of one required string member, key (the
// PATCH and ban bodies), as strictly as decodeCreate.
func decodeRequired(body []byte, key string) (string, error) {
	top, err := protocol.DecodeObject(body, "body")
	if err != nil {
		return "", err
	}
	if _, ok := top[key]; !ok {
		return "", fmt.Errorf("%w: %s is required", domain.ErrInvalid, key)
	}
	var v string
	if err := stringMember(top, key, false, &v); err != nil {
		return "", err
	}
	return v, nil
}

// stringMember reads member key into dst when present: a JSON string, or
// (nullable) null, which leaves dst alone.
func stringMember(top map[string]json.RawMessage, key string, nullable bool, dst *string) error {
	raw, ok := top[key]
	if !ok || nullable && string(raw) == "null" {
		return nil
	}
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, dst) != nil {
		return fmt.Errorf("%w: %s must be a string", domain.ErrInvalid, key)
	}
	return nil
}
