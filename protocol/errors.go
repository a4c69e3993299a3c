package protocol

// Error codes: the `code` of the WebSocket error frame and of REST error
// bodies. This file is their one table (docs/protocol.md lists the same, and
// a test holds the two together); each delivery maps domain errors to them
// in one function of its own.
const (
	CodeInvalid          = "invalid"
	CodeNotFound         = "not_found"
	CodeFinalized        = "finalized"
	CodeTooLarge         = "too_large"
	CodeRateLimited      = "rate_limited"
	CodeUnavailable      = "unavailable"
	CodeOverloaded       = "overloaded"
	CodeFull             = "full"
	CodeUnsupported      = "unsupported"
	CodeForbidden        = "forbidden"
	CodeFiltered         = "filtered"
	CodeInternal         = "internal"
	CodeUnauthorized     = "unauthorized"
	CodeConflict         = "conflict"
	CodeMethodNotAllowed = "method_not_allowed"
)

// Error is one error code: what it means, where it is used, and the text
// sent with it when the error's own text must stay on the server.
type Error struct {
	Code    string
	Meaning string
	// Message, when set, is sent instead of the error's own text: the
	// trouble is on the server's side and its details (a Redis address, a
	// dial error) are for the operator. Empty: the error's own text is sent,
	// since it tells the client what to fix.
	Message string
	// Frame: the code appears in WebSocket error frames. REST: in REST
	// error bodies.
	Frame, REST bool
}

// Errors is every error code, in the order docs/protocol.md lists them.
var Errors = []Error{
	{Code: CodeInvalid, Frame: true, REST: true,
		Meaning: "malformed frame or body, or a value that breaks the paper's rules"},
	{Code: CodeNotFound, Frame: true, REST: true,
		Meaning: "no such paper, element or route"},
	{Code: CodeFinalized, Frame: true,
		Meaning: "the paper is final; no more edits"},
	{Code: CodeTooLarge, Frame: true, REST: true,
		Meaning: "a value, element, paper, presence state or body over its limit"},
	{Code: CodeRateLimited, Frame: true, REST: true,
		Meaning: "too many frames or requests; slow down"},
	{Code: CodeUnavailable, Frame: true, REST: true, Message: "the service is temporarily unavailable, try again shortly",
		Meaning: "the store did not confirm in time; usually not applied, but a timed-out op can still land"},
	{Code: CodeOverloaded, Frame: true, REST: true, Message: "not applied, too many ops in flight on this replica; retry after backoff",
		Meaning: "refused before the store: too many ops in flight on this replica; not applied"},
	{Code: CodeFull, Frame: true, REST: true,
		Meaning: "capacity reached: the replica or the paper holds its maximum of sessions"},
	{Code: CodeUnsupported, Frame: true, REST: true,
		Meaning: "unknown frame type, binary frame, or a body that is not JSON"},
	{Code: CodeForbidden, Frame: true, REST: true,
		Meaning: "not allowed: someone else's element, a ban, a wrong owner key, origin or token scope"},
	{Code: CodeFiltered, Frame: true, REST: true,
		Meaning: "a blocked word in a field value, title, recipient or display name (content filter, reject policy); nothing stored"},
	{Code: CodeInternal, REST: true, Message: "internal error",
		Meaning: "a server bug; the details are in the server log"},
	{Code: CodeUnauthorized, REST: true,
		Meaning: "no owner key, or no valid token"},
	{Code: CodeConflict, REST: true,
		Meaning: "the paper is already final"},
	{Code: CodeMethodNotAllowed, REST: true,
		Meaning: "the route exists with other methods"},
}

var errorsByCode = func() map[string]Error {
	m := make(map[string]Error, len(Errors))
	for _, e := range Errors {
		m[e.Code] = e
	}
	return m
}()

// ErrorOf returns the table entry of a code (the zero Error if unknown).
func ErrorOf(code string) Error { return errorsByCode[code] }

// FrameCodes are the codes that appear in WebSocket error frames, in table
// order.
func FrameCodes() []string {
	var codes []string
	for _, e := range Errors {
		if e.Frame {
			codes = append(codes, e.Code)
		}
	}
	return codes
}

// MessageFor is the text to send with code for err: the table's fixed
// message for server-side trouble, else err's own text.
func MessageFor(code string, err error) string {
	if m := errorsByCode[code].Message; m != "" {
		return m
	}
	return err.Error()
}
